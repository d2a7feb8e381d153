# Stand-ins for the Vivado commands build.tcl may call, for running it under plain tclsh
# (tests/test_fpga_build.py). Only whitelisted commands with whitelisted option names are
# accepted; anything else is an error, so a typo or a new command in the generator fails the
# test instead of passing unchecked. Every call is logged to $env(VTA_STUB_LOG), one line per
# call, the command and its arguments separated by \x1f.
#
# Return values: create_bd_cell returns the cell name; get_bd_pins, get_bd_intf_pins,
# get_bd_addr_spaces, get_bd_addr_segs return "<kind>:<name>" so that the log shows which
# objects a connect/assign call received; get_files for *.hwh creates and returns an empty
# file (as generate_target would have written it); get_property SLACK returns 0.25 (timing met).

set ::stub_log [open $::env(VTA_STUB_LOG) w]
set ::stub_version [expr {[info exists ::env(VTA_STUB_VERSION)] ? $::env(VTA_STUB_VERSION) : "2023.2"}]

array set ::stub_options {
    version               {-short}
    create_project        {-in_memory -part}
    read_verilog          {}
    update_compile_order  {-fileset}
    create_bd_design      {-dir}
    create_bd_cell        {-type -vlnv -reference}
    set_property          {-dict}
    connect_bd_net        {}
    connect_bd_intf_net   {}
    get_bd_pins           {}
    get_bd_intf_pins      {}
    get_bd_addr_spaces    {}
    get_bd_addr_segs      {}
    assign_bd_address     {-offset -range -target_address_space}
    validate_bd_design    {}
    save_bd_design        {}
    generate_target       {}
    get_files             {-all -of_objects}
    make_wrapper          {-files -top}
    synth_design          {-top -part}
    opt_design            {}
    place_design          {}
    phys_opt_design       {}
    route_design          {}
    report_utilization    {-file}
    report_timing_summary {-max_paths -file}
    get_timing_paths      {-max_paths -nworst -setup}
    get_property          {}
    write_bitstream       {-force}
    write_hw_platform     {-fixed -include_bit -force -file}
}

proc stub_call {cmd args} {
    foreach a $args {
        if {[string match -* $a] && ![string is double -strict $a] && $a ni $::stub_options($cmd)} {
            error "stub: $cmd does not take option $a (whitelist: $::stub_options($cmd))"
        }
    }
    puts $::stub_log [join [list $cmd {*}$args] "\x1f"]
    flush $::stub_log
    switch -- $cmd {
        version { return $::stub_version }
        create_bd_cell { return [lindex $args end] }
        get_bd_pins { return "pin:[lindex $args 0]" }
        get_bd_intf_pins { return "intf:[lindex $args 0]" }
        get_bd_addr_spaces { return "space:[lindex $args 0]" }
        get_bd_addr_segs { return "seg:[lindex $args 0]" }
        get_property { return 0.25 }
        get_timing_paths { return "path:setup" }
        get_files {
            if {[string match *.hwh [lindex $args end]]} {
                set f stub_vta_bd.hwh
                close [open $f w]
                return $f
            }
            return "file:[lindex $args end]"
        }
    }
    return ""
}

foreach cmd [array names ::stub_options] {
    proc $cmd {args} "stub_call $cmd {*}\$args"
}
# not Vivado, not whitelisted: fail (tclsh would otherwise try to exec a program of that name)
proc unknown {cmd args} { error "stub: '$cmd' is not a whitelisted Vivado command" }
