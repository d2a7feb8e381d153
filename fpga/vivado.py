"""Vivado non-project batch flow for a Zynq board: ``vta-fpga build CONFIG --board BOARD -o DIR``.

Writes a self-contained folder: the exported RTL (``vta_top.v``), ``vta_axi.v`` (a pass-through
wrapper whose X_INTERFACE attributes tell IP integrator which clock and reset belong to the
AXI interfaces), and ``build.tcl``, which

1. creates an in-memory project for the board's part and a block design: the PS
   (``processing_system7`` on Zynq-7000, ``zynq_ultra_ps_e`` on Zynq UltraScale+), VTA as a
   module reference, a reset block and two SmartConnects: PS general-purpose master
   (M_AXI_GP0 / M_AXI_HPM0_FPD) -> VTA's AXI-Lite slave, VTA's AXI4 master -> the PS
   high-performance slave (S_AXI_HP0 / S_AXI_HP0_FPD; the SmartConnect converts AXI4 to the
   Zynq-7000's AXI3 and splits bursts);
2. sets the fabric clock to the config's ``clock.mhz`` and assigns addresses: the registers
   4 KiB at the GP window's usual base, the whole PS DDR for VTA's master (the driver puts
   its buffers wherever the allocator finds room);
3. synth_design -> opt_design -> place_design -> phys_opt_design -> route_design, the
   utilization and timing reports, then (only if timing is met) the bitstream, ``vta.hwh``
   next to ``vta.bit`` (what PYNQ's Overlay loads) and ``vta.xsa``.

No XDC: the only clock is the PS fabric clock, constrained by the PS IP's own XDC, and the
design uses no package pins. The PS's DDR/MIO settings are the IP defaults: on a PYNQ image
the boot loader has configured the PS already and an overlay only programs the PL and the
fabric clock (from the .hwh); a bare-metal or PetaLinux flow applies the board preset.

Written for Vivado ``VIVADO_VERSION``; IP versions are those of that release. Part numbers,
PS IP names and properties: Digilent PYNQ-Z1 reference manual (XC7Z020-1CLG400C), Avnet
Ultra96 hardware user guide (XCZU3EG-SBVA484-1-E), Xilinx UG1267 ZCU104 (XCZU7EV-2FFVC1156E);
PG082 (processing_system7), PG201 (zynq_ultra_ps_e).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vta.isa import VTAError

VIVADO_VERSION = "2023.2"
AXIL_RANGE = "4K"
#: what vta.rtl.export writes (vta_config.yaml is rewritten for the config at hand)
EXPORT_FILES = ("vta_top.v", "vta_pkg.sv", "vta_top.sv", "lint.vlt", "files.f", "vta_top.core")   # rtl/regs.py's 12-bit register window


@dataclass(frozen=True)
class Board:
    name: str
    target: str          # the configs' ``target`` value
    part: str
    family: str          # "zynq" (Zynq-7000) or "zynqmp" (Zynq UltraScale+)
    ddr: str             # PS DDR size as Vivado writes ranges
    bus_widths: tuple    # data widths the HP port takes


BOARDS = {
    "pynq-z1": Board("pynq-z1", "pynq", "xc7z020clg400-1", "zynq", "512M", (32, 64)),
    "ultra96": Board("ultra96", "ultra96", "xczu3eg-sbva484-1-e", "zynqmp", "2G", (32, 64, 128)),
    "zcu104": Board("zcu104", "zcu104", "xczu7ev-ffvc1156-2-e", "zynqmp", "2G", (32, 64, 128)),
}
ALIASES = {"pynq": "pynq-z1"}
NO_FLOW = {"de10nano": "de10nano is an Intel (Cyclone V) board: vta-fpga build has no Quartus flow "
                       "for it (only Vivado flows: pynq-z1, ultra96, zcu104)"}

#: What differs between the two PS families: IP, its ports and the property names.
PS = {
    "zynq": dict(
        vlnv="xilinx.com:ip:processing_system7:5.5",
        clk="FCLK_CLK0", resetn="FCLK_RESET0_N",
        gp="M_AXI_GP0", gp_clk="M_AXI_GP0_ACLK", hp="S_AXI_HP0", hp_clk="S_AXI_HP0_ACLK",
        data_space="Data", hp_seg="HP0_DDR_LOWOCM", ddr_base="0x00000000",
        axil_base="0x43C00000",
        props=lambda mhz, bus: [("PCW_USE_M_AXI_GP0", 1), ("PCW_USE_S_AXI_HP0", 1),
                                ("PCW_S_AXI_HP0_DATA_WIDTH", bus),
                                ("PCW_FPGA0_PERIPHERAL_FREQMHZ", mhz), ("PCW_EN_CLK0_PORT", 1),
                                ("PCW_EN_RST0_PORT", 1)]),
    "zynqmp": dict(
        vlnv="xilinx.com:ip:zynq_ultra_ps_e:3.5",
        clk="pl_clk0", resetn="pl_resetn0",
        gp="M_AXI_HPM0_FPD", gp_clk="maxihpm0_fpd_aclk", hp="S_AXI_HP0_FPD",
        hp_clk="saxihp0_fpd_aclk", data_space="Data", hp_seg="HP0_DDR_LOW",
        ddr_base="0x00000000", axil_base="0xA0000000",
        props=lambda mhz, bus: [("PSU__USE__M_AXI_GP0", 1), ("PSU__USE__M_AXI_GP1", 0),
                                ("PSU__USE__M_AXI_GP2", 0), ("PSU__MAXIGP0__DATA_WIDTH", 32),
                                ("PSU__USE__S_AXI_GP2", 1), ("PSU__SAXIGP2__DATA_WIDTH", bus),
                                ("PSU__FPGA_PL0_ENABLE", 1),
                                ("PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ", mhz)]),
}


def resolve_board(name, cfg):
    """The Board for ``--board`` (default: the config's target); VTAError on a mismatch."""
    if name is None:
        name = cfg.target
        if name in ("sim", "tsim"):
            raise VTAError(f"config '{cfg.name}' has target '{name}' (no board): give --board "
                           f"({', '.join(BOARDS)})")
    key = ALIASES.get(name.lower(), name.lower())
    if key in NO_FLOW:
        raise VTAError(NO_FLOW[key])
    if key not in BOARDS:
        raise VTAError(f"unknown board '{name}' (known: {', '.join([*BOARDS, *ALIASES])}; "
                       f"de10nano has no flow)")
    board = BOARDS[key]
    part = cfg.fpga_part
    if part is not None and part.lower() != board.part:
        raise VTAError(f"config '{cfg.name}' has fpga.part {part}, but board {board.name} is "
                       f"{board.part}: use the board's config or set fpga.part: {board.part}")
    if cfg.bus_bits not in board.bus_widths:
        raise VTAError(f"config '{cfg.name}' has a {cfg.bus_bits}-bit AXI bus; {board.name}'s HP port "
                       f"takes {', '.join(map(str, board.bus_widths))} bits")
    return board


def _mhz(cfg):
    mhz = cfg.clock_mhz
    return int(mhz) if float(mhz).is_integer() else mhz


def axi_wrapper(cfg, vtext):
    """``vta_axi``: vta_top's ports with the interface attributes IP integrator reads."""
    from vta.rtl.export import verilog_ports
    hz = int(round(cfg.clock_mhz * 1e6))
    lines = ["// vta_axi: vta_top with X_INTERFACE attributes for Vivado IP integrator (vta-fpga build).",
             "module vta_axi ("]
    decls = []
    for d, width, name in verilog_ports(vtext):
        rng = f"[{width - 1}:0] " if width > 1 else ""
        attr = ""
        if name == "clk":
            attr = ('(* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 clk CLK", '
                    f'X_INTERFACE_PARAMETER = "ASSOCIATED_BUSIF m_axi:s_axil, ASSOCIATED_RESET rst, '
                    f'FREQ_HZ {hz}" *) ')
        elif name == "rst":
            attr = ('(* X_INTERFACE_INFO = "xilinx.com:signal:reset:1.0 rst RST", '
                    'X_INTERFACE_PARAMETER = "POLARITY ACTIVE_HIGH" *) ')
        decls.append(f"  {attr}{d} wire {rng}{name}")
    lines.append(",\n".join(decls))
    lines.append(");")
    ports = [n for _, _, n in verilog_ports(vtext)]
    lines.append("  vta_top core (" + ", ".join(f".{n}({n})" for n in ports) + ");")
    lines += ["endmodule", ""]
    return "\n".join(lines)


def build_tcl(cfg, board):
    """The text of build.tcl for ``cfg`` on ``board``."""
    ps = PS[board.family]
    mhz = _mhz(cfg)
    props = " ".join(f"CONFIG.{k} {{{v}}}" for k, v in ps["props"](mhz, cfg.bus_bits))
    return f"""\
# build.tcl: VTA config '{cfg.name}' on {board.name} ({board.part}), fabric clock {mhz} MHz.
# Written by vta-fpga build for Vivado {VIVADO_VERSION} (non-project batch mode). Run in this folder:
#   vivado -mode batch -source build.tcl
# Outputs: vta.bit, vta.hwh (PYNQ overlay), vta.xsa, reports/*.rpt
set vivado_version {VIVADO_VERSION}
if {{[version -short] ne $vivado_version}} {{
    puts "WARNING: written for Vivado $vivado_version, running [version -short] (IP versions may differ)"
}}
set part {board.part}
file mkdir reports
create_project -in_memory -part $part
read_verilog {{vta_top.v vta_axi.v}}
update_compile_order -fileset sources_1

# ---- block design ----
create_bd_design -dir ./bd vta_bd
set ps [create_bd_cell -type ip -vlnv {ps['vlnv']} ps]
set_property -dict [list {props}] $ps
set vta [create_bd_cell -type module -reference vta_axi vta]
set rst [create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset:5.0 rst]
set sc_ctl [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect:1.0 sc_ctl]
set_property -dict [list CONFIG.NUM_SI {{1}} CONFIG.NUM_MI {{1}}] $sc_ctl
set sc_mem [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect:1.0 sc_mem]
set_property -dict [list CONFIG.NUM_SI {{1}} CONFIG.NUM_MI {{1}}] $sc_mem

# one clock: the PS fabric clock drives VTA, both SmartConnects and both PS AXI ports
connect_bd_net [get_bd_pins ps/{ps['clk']}] [get_bd_pins vta/clk] [get_bd_pins rst/slowest_sync_clk] \\
    [get_bd_pins sc_ctl/aclk] [get_bd_pins sc_mem/aclk] [get_bd_pins ps/{ps['gp_clk']}] [get_bd_pins ps/{ps['hp_clk']}]
connect_bd_net [get_bd_pins ps/{ps['resetn']}] [get_bd_pins rst/ext_reset_in]
connect_bd_net [get_bd_pins rst/peripheral_reset] [get_bd_pins vta/rst]
connect_bd_net [get_bd_pins rst/interconnect_aresetn] [get_bd_pins sc_ctl/aresetn] [get_bd_pins sc_mem/aresetn]
# control: PS general-purpose master -> VTA registers (AXI-Lite)
connect_bd_intf_net [get_bd_intf_pins ps/{ps['gp']}] [get_bd_intf_pins sc_ctl/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins sc_ctl/M00_AXI] [get_bd_intf_pins vta/s_axil]
# data: VTA's AXI4 master -> PS high-performance port (DDR, not cache coherent)
connect_bd_intf_net [get_bd_intf_pins vta/m_axi] [get_bd_intf_pins sc_mem/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins sc_mem/M00_AXI] [get_bd_intf_pins ps/{ps['hp']}]

# ---- address map ----
assign_bd_address -offset {ps['axil_base']} -range {AXIL_RANGE} -target_address_space [get_bd_addr_spaces ps/{ps['data_space']}] [get_bd_addr_segs vta/s_axil/reg0]
assign_bd_address -offset {ps['ddr_base']} -range {board.ddr} -target_address_space [get_bd_addr_spaces vta/m_axi] [get_bd_addr_segs ps/{ps['hp']}/{ps['hp_seg']}]

validate_bd_design
save_bd_design
generate_target all [get_files vta_bd.bd]
make_wrapper -files [get_files vta_bd.bd] -top
read_verilog [file join bd vta_bd hdl vta_bd_wrapper.v]

# ---- implementation ----
synth_design -top vta_bd_wrapper -part $part
report_utilization -file reports/synth_utilization.rpt
opt_design
place_design
phys_opt_design
route_design
report_utilization -file reports/utilization.rpt
report_timing_summary -max_paths 10 -file reports/timing.rpt
set wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]
puts "VTA: worst negative slack $wns ns at {mhz} MHz (reports/timing.rpt)"
if {{$wns < 0}} {{
    error "timing not met at {mhz} MHz: WNS $wns ns; no bitstream (see reports/timing.rpt)"
}}
write_bitstream -force vta.bit
file copy -force [lindex [get_files -all -of_objects [get_files vta_bd.bd] *.hwh] 0] vta.hwh
write_hw_platform -fixed -include_bit -force -file vta.xsa
puts "VTA: wrote vta.bit, vta.hwh, vta.xsa"
"""


def copy_export(cfg, out_dir):
    """The export of ``cfg`` (from the build cache, made once) copied into ``out_dir``."""
    from vta.cosim.sim import exported
    from vta.rtl.export import _cfg_yaml
    src = exported(cfg)
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in EXPORT_FILES:
        shutil.copyfile(src / name, d / name)
        files[name] = d / name
    # the cache is shared by configs differing only in DRAM/timing figures: this config's own
    (d / "vta_config.yaml").write_text(_cfg_yaml(cfg))
    files["vta_config.yaml"] = d / "vta_config.yaml"
    return files


def write_flow(cfg, board, out_dir):
    """Export the RTL and write the flow into ``out_dir``; returns the paths written."""
    d = Path(out_dir)
    files = copy_export(cfg, d)
    vtext = (d / "vta_top.v").read_text()
    extra = {"vta_axi.v": axi_wrapper(cfg, vtext), "build.tcl": build_tcl(cfg, board)}
    for name, text in extra.items():
        (d / name).write_text(text)
        files[name] = d / name
    return files


def run_command(out_dir):
    """The shell command that runs the flow written into ``out_dir``."""
    return f"cd {shlex.quote(str(out_dir))} && vivado -mode batch -source build.tcl"


def run_vivado(out_dir, warn=print):
    """Run Vivado on a written flow; VTAError (exit 2) with the exact command if it is absent."""
    exe = shutil.which("vivado")
    if exe is None:
        raise VTAError(f"vivado is not on PATH; on a machine with Vivado {VIVADO_VERSION} run: "
                       f"{run_command(out_dir)}")
    ver = subprocess.run([exe, "-version"], capture_output=True, text=True).stdout
    m = re.search(r"v(\d{4}\.\d)", ver)
    if not m or m.group(1) != VIVADO_VERSION:
        warn(f"warning: the flow is written for Vivado {VIVADO_VERSION}, found "
             f"{m.group(1) if m else 'an unknown version'}")
    return subprocess.run([exe, "-mode", "batch", "-source", "build.tcl", "-nojournal",
                           "-log", "vivado.log"], cwd=out_dir, env=dict(os.environ)).returncode

