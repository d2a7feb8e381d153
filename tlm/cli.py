"""``vta-tlm``: run programs on the transaction-level model.

    vta-tlm run CONFIG [PROGRAM] [--workload NAME] [--out DIR] [--trace FILE.json] [--wrap] [--quiet]
                [--max-cycles N] [--timeout S] [--strict] [--sram-init zero|random|SEED]
                [--inject-fault CH:TARGET[:RESP][:N]] [--rtl UNIT[,UNIT]] [--waves FILE.vcd]
    vta-tlm list [CONFIG]

PROGRAM is an assembly source (.s) or a bundle (.vtab); without it the built-in
``default`` workload runs. Exit status: 0 PASS (or nothing to check), 1 FAIL (outputs
differ from the expected ones), 2 error (bad config, program or input; a program
that deadlocks or breaks a rule, or reaches --max-cycles / --timeout; a warning under
--strict), never a traceback. Warnings (accesses outside the declared segments, reads
of SRAM entries the run never wrote) go to stderr.

``--rtl load,compute`` (or the config's ``refine:`` section) runs those units as their
MyHDL RTL inside the TLM run (progressive refinement, cosim/mixed.py): units fetch, load,
compute, store, or the GEMM/ALU cores (gemm, alu) of a TLM compute unit.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vta.cli import program_from_args
from vta.isa import VTAError, load_config
from vta.isa.errors import shorten

from .stats import roofline_line
from .watch import DEFAULT_MAX_CYCLES, DEFAULT_TIMEOUT, parse_sram_init

EXIT_FAIL, EXIT_ERROR = 1, 2


def _parser():
    p = argparse.ArgumentParser(prog="vta-tlm", description="VTA transaction-level model (SimPy).")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a program (or a built-in workload) and check its outputs")
    r.add_argument("config", help="config YAML path or bundled name (default, tiny, ...)")
    r.add_argument("program", nargs="?", help="assembly source (.s) or bundle directory (.vtab)")
    r.add_argument("--workload", metavar="NAME", help="run built-in workload NAME (see `vta-tlm list`)")
    r.add_argument("--out", metavar="DIR", help="write DIR/<segment>.bin per output and DIR/stats.json")
    r.add_argument("--trace", metavar="FILE.json", help="write a Chrome trace (open in Perfetto)")
    r.add_argument("--wrap", action="store_true",
                   help="wrap out-of-range buffer indices as hardware would instead of failing")
    r.add_argument("--quiet", action="store_true", help="print only the PASS/FAIL line")
    r.add_argument("--max-cycles", type=_positive(int), default=DEFAULT_MAX_CYCLES, metavar="N",
                   help="stop with an error at cycle N (default: %(default)s)")
    r.add_argument("--timeout", type=_positive(float), default=DEFAULT_TIMEOUT, metavar="S",
                   help="stop with an error after S seconds of host time (default: %(default)s)")
    r.add_argument("--strict", action="store_true",
                   help="warnings (DRAM outside every segment, writes over code, reads of SRAM "
                        "entries never written) are errors")
    r.add_argument("--sram-init", type=_sram_init, default=None, metavar="zero|random|SEED",
                   help="fill every on-chip buffer before the run: zeros (default), random "
                        "(the seed is printed) or the values of SEED")
    r.add_argument("--inject-fault", type=_fault, metavar="CH:TARGET[:RESP][:N]",
                   help="fault mode: the N-th AXI burst (default 1) of TARGET gets an error "
                        "response and the run stops with a report; e.g. r:fetch, r:load, r:uop, "
                        "r:acc, b:store, r:load:decerr (see tlm/faults.py)")
    r.add_argument("--rtl", type=_units, metavar="UNIT[,UNIT]",
                   help="run these units as their RTL (MyHDL) inside the TLM run: fetch, load, "
                        "compute, store, gemm, alu, all or none (default: the config's refine: "
                        "section)")
    r.add_argument("--waves", metavar="FILE.vcd",
                   help="with RTL units: write their signals as a VCD on the trace's time base")
    ls = sub.add_parser("list", help="list the built-in workloads")
    ls.add_argument("config", nargs="?", default="default",
                    help="config to describe sizes for (default: default)")
    return p


def _positive(kind):
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, found {text[:40]!r}") from None
        if not v > 0 or v == float("inf"):   # refuses NaN too
            raise argparse.ArgumentTypeError(f"expected a positive number, found {text[:40]!r}")
        return v
    return parse


def _sram_init(text):
    try:
        return parse_sram_init(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _units(text):
    from vta.cosim.mixed import parse_units
    try:
        return parse_units(text)
    except VTAError as e:
        raise argparse.ArgumentTypeError(str(e).replace("--rtl: ", "")) from None


def _fault(text):
    from .faults import parse_fault
    try:
        return parse_fault(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _fmt_int(n):
    return f"{int(n):,}"


def _fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.2f} us"


def _summary(console, result):
    st = result.stats
    cyc = max(st["cycles"], 1)
    t = Table(title=f"vta-tlm: {st['program']} on {st['config']}", show_header=False,
              title_justify="left")
    t.add_column(style="bold")
    t.add_column(justify="right")
    if st.get("refined"):
        t.add_row("RTL units", ", ".join(st["refined"]) + " (MyHDL, in this run)")
    t.add_row("instructions", f"{_fmt_int(st['instructions'])}  ("
              + ", ".join(f"{k} {v}" for k, v in sorted(st["instructions_by_opcode"].items())) + ")")
    t.add_row("cycles", _fmt_int(st["cycles"]))
    t.add_row("wall time", f"{_fmt_time(st['time_seconds'])} at {st['clock_mhz']:g} MHz")
    t.add_row("GEMM", f"{_fmt_int(st['gemm_uops'])} uops, {_fmt_int(st['macs'])} MACs, "
              f"{st['gops']:.3f} GOPS")
    t.add_row("GEMM-core utilization", f"{100 * st['gemm_utilization']:.1f} %")
    t.add_row("ALU", f"{_fmt_int(st['alu_uops'])} uops ({100 * st['alu_utilization']:.1f} % of cycles)")
    t.add_row("roofline", roofline_line(st, st["cycles"]))
    d = st["dram"]
    t.add_row("DRAM read / written", f"{_fmt_int(d['bytes_read'])} B / {_fmt_int(d['bytes_written'])} B")
    t.add_row("DRAM bandwidth", f"{d['bytes_per_cycle']:.2f} B/cycle = {d['bandwidth_gbs']:.3f} GB/s "
              f"(port busy {100 * d['read_busy_cycles'] / cyc:.1f} % read, "
              f"{100 * d['write_busy_cycles'] / cyc:.1f} % write)")
    t.add_row("simulation", f"{st['sim']['wall_seconds']:.2f} s host, "
              f"{_fmt_int(st['sim']['cycles_per_second'])} cycles/s")
    console.print(t)
    s = Table(title="stages", title_justify="left")
    for col in ("stage", "instructions", "busy cycles", "busy %", "stall cycles", "stall %",
                "DRAM bytes", "DRAM wait"):
        s.add_column(col, justify="left" if col == "stage" else "right")
    for name, v in st["stages"].items():
        rq = d["requesters"][name]
        s.add_row(name + (" [RTL]" if v.get("rtl") else ""), _fmt_int(v["instructions"]), _fmt_int(v["busy_cycles"]),
                  f"{100 * v['busy_cycles'] / cyc:.1f}", _fmt_int(v["stall_cycles"]),
                  f"{100 * v['stall_cycles'] / cyc:.1f}",
                  _fmt_int(rq["bytes_read"] + rq["bytes_written"]), _fmt_int(rq["wait_cycles"]))
    console.print(s)


def _write_out(out, result):
    from vta.isa.paths import file_name
    from vta.isa.program import results_dir
    d = results_dir(Path(out))   # stays inside DIR, never replaces a bundle's own files
    for name, arr in result.outputs.items():
        d.write_bytes(file_name(name, ".bin", what="segment name"),
                      arr.astype(arr.dtype.newbyteorder("<")).tobytes())
    d.write_text("stats.json", json.dumps(result.stats, indent=2) + "\n")


def _cmd_list(args, console):
    from vta.compiler import describe, workload_names
    cfg = load_config(args.config)
    t = Table(title=f"built-in workloads (sizes for config '{cfg.name}')", title_justify="left")
    t.add_column("name", style="bold")
    t.add_column("description")
    for name in workload_names():
        t.add_row(name, describe(name, cfg))
    console.print(t)
    return 0


def _cmd_run(args, console):
    from .top import run_program
    cfg = load_config(args.config)
    program = program_from_args(args.program, args.workload, cfg, default_workload="default")
    if isinstance(args.sram_init, int):
        print(f"vta-tlm: SRAM buffers filled from seed {args.sram_init}", file=sys.stderr)
    opts = dict(wrap=args.wrap, trace=args.trace, progress=not args.quiet,
                max_cycles=args.max_cycles, timeout=args.timeout, strict=args.strict,
                sram_init=args.sram_init, inject_fault=args.inject_fault)
    units = cfg.refined if args.rtl is None else args.rtl
    if args.waves and not units:
        raise VTAError("--waves records RTL units: name them with --rtl (or the config's "
                       "refine: section)")
    if units:
        from vta.cosim.mixed import run_mixed
        result = run_mixed(program, cfg, rtl=units, waves=args.waves, **opts)
    else:
        result = run_program(program, cfg, **opts)
    for w in result.warnings:
        print(f"vta-tlm: warning: {w}", file=sys.stderr)
    if args.inject_fault and result.dram.faults.injector.fired is None:
        seen = result.dram.faults.injector.seen
        print(f"vta-tlm: warning: --inject-fault {shorten(args.inject_fault.text)}: the run had only {seen} "
              "matching burst(s); no error response was injected", file=sys.stderr)
    if result.warning_count > len(result.warnings):
        print(f"vta-tlm: warning: {result.warning_count - len(result.warnings)} more warnings "
              "not shown", file=sys.stderr)
    if args.out:
        _write_out(args.out, result)
    if not args.quiet:
        _summary(console, result)
        if args.trace:
            console.print(f"trace written to {args.trace} (open in https://ui.perfetto.dev)")
        if args.out:
            console.print(f"outputs and stats.json written to {args.out}")
    head = f"{program.name} on {cfg.name}: {result.cycles:,} cycles"
    if units:
        head += f" (RTL: {', '.join(result.stats['refined'])}; the rest TLM)"
        if args.waves and not args.quiet:
            console.print(f"RTL waveform written to {args.waves}")
    if not result.checked:
        console.print(f"[yellow]NO CHECK[/] {head}: the program has no expected outputs")
        return 0
    if result.passed:
        console.print(f"[bold green]PASS[/] {head}")
        return 0
    for m in result.mismatches:
        console.print(f"  {m}", markup=False)
    console.print(f"[bold red]FAIL[/] {head}")
    return EXIT_FAIL


def main(argv=None):
    args = _parser().parse_args(argv)
    console = Console(highlight=False)
    try:
        if args.cmd == "list":
            return _cmd_list(args, console)
        return _cmd_run(args, console)
    except VTAError as e:
        print(f"vta-tlm: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("vta-tlm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
