"""``vta-fpga``: FPGA figures for a config.

    vta-fpga synth CONFIG [--part PART] [-o DIR] [-q]
                              Yosys synth_xilinx; LUT/FF/BRAM/DSP against the part
    vta-fpga formal CONFIG [--depth N] [--cover] [--verilog FILE] [-o DIR] [--timeout S]
                              SymbiYosys: AXI4 protocol properties of the AXI master

Exit codes: 0 ok, 1 the design does not fit the part / a property fails (or a formal task
errs or times out), 2 bad input or a tool error
(one line, never a traceback). ``vta-rtl synth`` is the same command.
"""
from __future__ import annotations

import argparse
import sys

from vta.cli import run_command
from vta.isa import load_config


def cmd_synth(a):
    from vta.cosim.sim import export_dir

    from .synth import part_info, stderr_progress, synth
    cfg = load_config(a.config)
    part = a.part or cfg.fpga_part or "xc7z020"
    part_info(part)  # reject an unknown part before the long run
    d = export_dir(cfg, a.out)
    print(f"synthesizing config '{cfg.name}' for {part} with yosys synth_xilinx "
          f"(the default config takes minutes; log in {d})", file=sys.stderr, flush=True)
    res = synth(d, part, progress=None if a.quiet else stderr_progress)
    print(f"config {cfg.name}, part {res.part}, yosys {res.seconds:.0f} s")
    print(res.table())
    if not res.fits():
        print("does NOT fit the part")
        return 1
    return 0


def add_synth_parser(sub, help="Yosys synth_xilinx and resource use"):
    """The ``synth`` subcommand (shared with ``vta-rtl synth``, its alias)."""
    p = sub.add_parser("synth", help=help)
    p.add_argument("config", help="config YAML/JSON path or bundled name (tiny, default, ...)")
    p.add_argument("--part", help="FPGA part (default: the config's fpga.part, else xc7z020)")
    p.add_argument("-o", "--out", help="export here (default: the build cache)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_synth)
    return p


def cmd_formal(a):
    from . import axi_formal as F
    cfg = load_config(a.config)
    work = F.fresh_dir(a.out or F.default_work_dir(cfg))
    tasks = F.BMC_TASKS + (F.COVER_TASKS if a.cover else ())
    print(f"formal AXI checks of the master, config '{cfg.name}', depth {a.depth} cycles "
          f"(in {work})", file=sys.stderr, flush=True)
    results = F.run(cfg, work, a.depth, tasks, a.verilog, a.timeout)
    for r in results:
        print(r.line())
    ok = all(r.status == "PASS" for r in results)
    print(f"{'PASS' if ok else 'FAIL'}: {sum(r.status == 'PASS' for r in results)} of "
          f"{len(results)} tasks passed at depth {a.depth}")
    return 0 if ok else 1


def add_formal_parser(sub, help="SymbiYosys AXI4 protocol checks of the AXI master"):
    """The ``formal`` subcommand."""
    from .axi_formal import DEFAULT_DEPTH
    p = sub.add_parser("formal", help=help)
    p.add_argument("config", help="config YAML/JSON path or bundled name (tiny, default, ...)")
    p.add_argument("--depth", type=int, default=DEFAULT_DEPTH,
                   help=f"BMC bound in cycles from reset (default {DEFAULT_DEPTH})")
    p.add_argument("--cover", action="store_true",
                   help="also run the cover tasks (the properties are not vacuous)")
    p.add_argument("--verilog", help="check this Verilog of module axi_master instead of the export")
    p.add_argument("-o", "--out", help="work folder (default: under the build cache)")
    p.add_argument("--timeout", type=float, help="seconds per task (default: none)")
    p.set_defaults(func=cmd_formal)
    return p


def build_parser():
    ap = argparse.ArgumentParser(prog="vta-fpga", description="VTA on FPGAs: synthesis estimates, formal AXI checks")
    sub = ap.add_subparsers(dest="cmd", required=True)
    add_synth_parser(sub)
    add_formal_parser(sub)
    return ap


def main(argv=None):
    return run_command("vta-fpga", build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
