"""``vta-rtl``: export, lint and simulate the RTL, and check it against the TLM.

    vta-rtl export CONFIG -o DIR          vta_top.v, vta_pkg.sv, vta_top.sv, files.f, FuseSoC core
    vta-rtl lint CONFIG [-o DIR]          Verilator -Wall, pyslang, Icarus compile
    vta-rtl synth CONFIG [--part PART]    alias of `vta-fpga synth` (Yosys resource estimate)
    vta-rtl run BUNDLE [--sim icarus|verilator] [--config CONFIG] [--fast]   run a bundle
    vta-rtl check CONFIG PROGRAM|--workload NAME [--sim S] [--out DIR] [--waves] [--keep] [--fast]
                                          TLM vs RTL vs expected, bit for bit, and cycles
    --fast: the AXI memory inside the simulator, no cocotb (same cycles; no waves/--sram-init)
    ... run/check --inject-fault r:uop    an AXI error response (SLVERR/DECERR) on one burst:
                                          the run stops with a report (check: both models agree)

Exit codes: 0 ok/agree, 1 check failed (lint, fit, output mismatch, RTL hang in check),
2 bad input or a tool error (also: the RTL outran a --max-cycles the user gave; `run` ended
on an AXI error response).
A run's temporary folder is removed afterwards unless --keep (or --workdir) is given.

Bad input gives a one-line error and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys
import tempfile

from vta.cli import positive_int, program_from_args, run_command
from vta.isa import load_config
from vta.isa.errors import VTAError, shorten



def cmd_export(a):
    from vta.rtl.export import export
    cfg = load_config(a.config)
    files = export(cfg, a.out)
    for name in sorted(files):
        print(files[name])
    return 0


def cmd_lint(a):
    from .lint import run_all
    from .sim import export_dir
    cfg = load_config(a.config)
    d = export_dir(cfg, a.out)
    ok = True
    for res in run_all(d):
        print(res.summary())
        for m in res.messages[:50]:
            print(f"  {m}")
        ok &= res.ok
    return 0 if ok else 1


def cmd_run(a):
    from vta.isa import read_bundle

    from .sim import run_on_rtl
    prog = read_bundle(a.bundle, config=a.config)
    res = run_on_rtl(prog, sim=a.sim, waves=a.waves, max_cycles=a.max_cycles,
                     workdir=_workdir(a, "vta-rtl-run-"), fast=a.fast, inject_fault=a.inject_fault)
    if a.inject_fault:   # reaching here: the injected response never went out
        print(f"vta-rtl: warning: --inject-fault {shorten(a.inject_fault.text)}: no matching burst in this "
              "run; no error response was injected", file=sys.stderr)
    print(f"{prog.name}: {res.cycles} cycles on {a.sim}{' (fast mode)' if a.fast else ''} "
          f"({res.wall_seconds:.1f} s wall)")
    if res.waves:
        print(f"  waves: {res.waves}")
    for k, v in res.counters.items():
        if k.startswith("BUSY"):
            print(f"  {k.lower()}: {v}")
    bad = res.mismatches(prog.expect)
    if not prog.expect:
        print("no expected outputs in the bundle")
        return 0
    for name in prog.expect:
        print(f"  {name}: {'MISMATCH (%d elements)' % bad[name] if name in bad else 'ok'}")
    return 1 if bad else 0


def _workdir(a, prefix):
    """--workdir, or with --keep a new temporary folder (named on stdout) that stays;
    None: the run uses a temporary folder and removes it afterwards."""
    if a.workdir or not a.keep:
        return a.workdir
    d = tempfile.mkdtemp(prefix=prefix)
    print(f"the run's files are kept in {d}")
    return d


def cmd_check(a):
    import json

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from .crosscheck import check_program
    from .sim import WatchdogError
    console = Console(highlight=False)
    cfg = load_config(a.config)
    prog = program_from_args(a.program, a.workload, cfg)
    if a.inject_fault:
        return _check_fault(a, prog, cfg, console)
    mode = f"{a.sim}, fast mode" if a.fast else a.sim
    console.print(f"check [bold]{escape(prog.name)}[/] on config '{escape(cfg.name)}': TLM vs RTL ({mode}), "
                  f"AXI RAM latency {cfg.dram_latency} cycles (dram.latency)")
    if cfg.dram_bytes_per_cycle < cfg.bus_bytes:
        console.print(f"AXI RAM throttled to dram.bytes_per_cycle = {cfg.dram_bytes_per_cycle} "
                      f"(bus {cfg.bus_bytes} B per beat)")
    try:
        res = check_program(prog, cfg, sim=a.sim, waves=a.waves, max_cycles=a.max_cycles,
                            workdir=_workdir(a, "vta-rtl-check-"), sram_init=a.sram_init,
                            fast=a.fast)
    except WatchdogError as e:
        if a.max_cycles:   # the user's own limit: not evidence against the RTL
            raise VTAError(f"the RTL did not finish within --max-cycles {a.max_cycles} (the "
                           f"watchdog limit given); raise it or leave it out to use the default "
                           f"from the program's size; {e}") from None
        # the TLM finished this program (it ran first), the RTL did not: a disagreement
        console.print(f"[bold red]MISMATCH[/]: the RTL hung; {escape(str(e))}")
        return 1
    t = Table(title="outputs")
    for col in ("segment", "elements", "TLM vs RTL", "vs expected"):
        t.add_column(col)
    diffs = {d.segment: d for d in res.differences}
    for name, arr in res.tlm.outputs.items():
        d = diffs.get(name)
        pair = "differ" if d and "TLM vs RTL" in d.between else "equal"
        if name not in prog.expect:
            exp = "-"
        else:
            exp = "differ" if d and "expected" in d.between else "equal"
        style = "red" if d else "green"
        t.add_row(escape(name), str(arr.size), f"[{style}]{pair}[/]", f"[{style}]{exp}[/]")
    console.print(t)
    c = Table(title="cycles")
    for col in ("RTL cycles", "TLM cycles", "error", "RTL wall s", "TLM wall s"):
        c.add_column(col, justify="right")
    err = res.cycle_error
    c.add_row(str(res.rtl_cycles), str(res.tlm_cycles), f"{err:+.2%}",
              f"{res.rtl.wall_seconds:.1f}", f"{res.tlm.wall_seconds:.2f}")
    console.print(c)
    for label, text in res.report_lines():
        console.print(f"{label}: {text}")
    if res.rtl.waves:
        console.print(f"waves: {res.rtl.waves}")
    if a.out:
        from vta.isa.paths import file_name
        from vta.isa.program import results_dir
        out = results_dir(a.out)   # stays inside DIR, never replaces a bundle's own files
        for name, arr in res.rtl.outputs.items():
            out.write_bytes(file_name(name, ".bin", what="segment name"),
                            arr.astype(arr.dtype.newbyteorder("<")).tobytes())
        out.write_text("stats.json", json.dumps(res.stats(), indent=2) + "\n")
        console.print(f"RTL outputs and stats.json in {escape(str(a.out))}")
    for d in res.differences:
        console.print(f"[bold red]MISMATCH[/] {escape(str(d))}", soft_wrap=True)
    if res.differences:
        return 1
    console.print(f"[bold green]AGREE[/]: {len(res.tlm.outputs)} output segment(s) bit-exact"
                  + (" and equal to the expected outputs" if prog.expect else "")
                  + f"; cycle error {err:+.2%}")
    return 0


def _check_fault(a, prog, cfg, console):
    """check --inject-fault: both models must stop on the same burst with an error report
    (0), else 1 (one of them did not stop, or on another burst)."""
    from rich.markup import escape

    from vta.tlm import run_program
    from vta.tlm.faults import AxiFaultError

    from .sim import AxiResponseError, run_on_rtl
    console.print(f"check [bold]{escape(prog.name)}[/] on config '{escape(cfg.name)}' with "
                  f"--inject-fault {escape(a.inject_fault.text)}: TLM fault mode vs RTL ({a.sim})")
    got = {}
    try:
        run_program(prog, cfg, inject_fault=a.inject_fault, sram_init=a.sram_init)
        console.print("TLM: [red]finished without an error[/] (no matching burst)")
    except AxiFaultError as e:
        got["TLM"] = e.burst
        console.print(f"TLM: {escape(str(e))}", soft_wrap=True)
    try:
        run_on_rtl(prog, cfg, sim=a.sim, waves=a.waves, max_cycles=a.max_cycles,
                   workdir=_workdir(a, "vta-rtl-check-"), sram_init=a.sram_init,
                   inject_fault=a.inject_fault, fast=a.fast)
        console.print("RTL: [red]finished without an error[/] (no matching burst)")
    except AxiResponseError as e:
        f = e.fault or {}
        got["RTL"] = (f.get("channel"), f.get("addr"), f.get("beats")) if f.get("flagged") else None
        console.print(f"RTL: {escape(str(e))}", soft_wrap=True)
    if len(got) == 2 and got["TLM"] == got["RTL"]:
        console.print("[bold green]AGREE[/]: both models stopped on the injected error response "
                      "of the same burst")
        return 0
    console.print("[bold red]MISMATCH[/]: the models did not both stop on the same burst")
    return 1


def _fault(text):
    """argparse type of --inject-fault (vta.tlm.faults.parse_fault)."""
    from vta.tlm.faults import parse_fault
    try:
        return parse_fault(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


FAULT_HELP = ("the N-th AXI burst (default 1) of TARGET gets an SLVERR (or DECERR) response; "
              "the run stops with a report: r:fetch, r:load, r:uop, r:acc, b:store, "
              "r:load:decerr:3, r:SEGMENT")


def build_parser():
    ap = argparse.ArgumentParser(prog="vta-rtl", description="VTA RTL: export, lint, run, check against the TLM")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("export", help="write Verilog/SystemVerilog, file list and FuseSoC core")
    p.add_argument("config", help="config YAML/JSON path or bundled name (tiny, default, ...)")
    p.add_argument("-o", "--out", required=True, help="output directory")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("lint", help="Verilator -Wall, pyslang and Icarus checks of the export")
    p.add_argument("config")
    p.add_argument("-o", "--out", help="export here (default: the build cache)")
    p.set_defaults(func=cmd_lint)
    from vta.fpga.cli import add_synth_parser  # late: vta.fpga.cli imports this module
    add_synth_parser(sub, help="alias of `vta-fpga synth`: Yosys synth_xilinx and resource use")
    p = sub.add_parser("run", help="run a program bundle on the RTL under cocotb")
    p.add_argument("bundle")
    p.add_argument("--config", help="config (default: the one the bundle names)")
    p.add_argument("--sim", choices=("icarus", "verilator"), default="icarus")
    p.add_argument("--waves", action="store_true", help="dump waveforms")
    p.add_argument("--max-cycles", type=positive_int, help="watchdog limit")
    p.add_argument("--workdir", help="keep the run's files here")
    p.add_argument("--keep", action="store_true",
                   help="keep the run's temporary folder (default: removed after the run)")
    _add_fast(p)
    p.add_argument("--inject-fault", type=_fault, metavar="CH:TARGET[:RESP][:N]", help=FAULT_HELP)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("check", help="run a program on the TLM and the RTL and compare them")
    p.add_argument("config", help="config YAML/JSON path or bundled name (tiny, default, ...)")
    p.add_argument("program", nargs="?", help="assembly source (.s) or bundle directory (.vtab)")
    p.add_argument("--workload", metavar="NAME", help="a built-in workload (see `vta-tlm list`)")
    p.add_argument("--sim", choices=("icarus", "verilator"), default="icarus")
    p.add_argument("--out", metavar="DIR", help="write DIR/<segment>.bin (RTL) and DIR/stats.json")
    p.add_argument("--waves", action="store_true", help="dump waveforms (FST on Icarus, VCD on Verilator)")
    p.add_argument("--max-cycles", type=positive_int, help="RTL watchdog limit (default: from the program)")
    p.add_argument("--workdir", help="keep the RTL run's files here")
    p.add_argument("--keep", action="store_true",
                   help="keep the RTL run's temporary folder (default: removed after the run)")
    p.add_argument("--sram-init", type=_sram_init, metavar="zero|random|SEED",
                   help="fill every on-chip buffer of both models with the same values before "
                        "the run: zeros, random (the seed is printed) or the values of SEED")
    _add_fast(p)
    p.add_argument("--inject-fault", type=_fault, metavar="CH:TARGET[:RESP][:N]",
                   help=FAULT_HELP + "; check passes when the TLM's fault mode and the RTL stop "
                        "on the same burst")
    p.set_defaults(func=cmd_check)
    return ap


def _add_fast(p):
    p.add_argument("--fast", action="store_true",
                   help="fast mode: the AXI RAM inside the simulator and no cocotb (same cycles "
                        "and outputs; no --waves or --sram-init)")


def _sram_init(text):
    """argparse type of --sram-init: "zero" or a seed (vta.tlm.watch.parse_sram_init)."""
    from vta.tlm.watch import parse_sram_init
    try:
        seed = parse_sram_init(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if str(text).strip().lower() == "random":
        print(f"vta-rtl: SRAM buffers filled from seed {seed}", file=sys.stderr)
    return seed


def main(argv=None):
    return run_command("vta-rtl", build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
