"""``vta-rtl``: export, lint, synthesize and simulate the RTL.

    vta-rtl export CONFIG -o DIR          vta_top.v, vta_pkg.sv, vta_top.sv, files.f, FuseSoC core
    vta-rtl lint CONFIG [-o DIR]          Verilator -Wall, pyslang, Icarus compile
    vta-rtl synth CONFIG [--part PART]    Yosys synth_xilinx; LUT/FF/BRAM/DSP against the part
    vta-rtl run BUNDLE [--sim icarus|verilator] [--config CONFIG]   run a bundle under cocotb

Bad input gives a one-line error and exit code 2.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from vta.isa import load_config
from vta.isa.errors import VTAError

EXIT_BAD_INPUT = 2


def _export_dir(cfg, out):
    from .export import export
    if out:
        export(cfg, out)
        return Path(out)
    from .sim import exported
    return exported(cfg, "vta_top")


def cmd_export(a):
    from .export import export
    cfg = load_config(a.config)
    files = export(cfg, a.out)
    for name in sorted(files):
        print(files[name])
    return 0


def cmd_lint(a):
    from .lint import run_all
    cfg = load_config(a.config)
    d = _export_dir(cfg, a.out)
    ok = True
    for res in run_all(d):
        print(res.summary())
        for m in res.messages[:50]:
            print(f"  {m}")
        ok &= res.ok
    return 0 if ok else 1


def cmd_synth(a):
    from .synth import part_info, stderr_progress, synth
    cfg = load_config(a.config)
    part = a.part or cfg.fpga_part or "xc7z020"
    part_info(part)  # reject an unknown part before the long run
    d = _export_dir(cfg, a.out)
    print(f"synthesizing config '{cfg.name}' for {part} with yosys synth_xilinx "
          f"(the default config takes minutes; log in {d})", file=sys.stderr, flush=True)
    res = synth(d, part, progress=None if a.quiet else stderr_progress)
    print(f"config {cfg.name}, part {res.part}, yosys {res.seconds:.0f} s")
    print(res.table())
    if not res.fits():
        print("does NOT fit the part")
        return 1
    return 0


def cmd_run(a):
    from vta.isa import read_bundle

    from .sim import run_on_rtl
    prog = read_bundle(a.bundle, config=a.config)
    res = run_on_rtl(prog, sim=a.sim, waves=a.waves, max_cycles=a.max_cycles,
                     workdir=a.workdir or tempfile.mkdtemp(prefix="vta-rtl-run-"))
    print(f"{prog.name}: {res.cycles} cycles on {a.sim} ({res.wall_seconds:.1f} s wall)")
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


def build_parser():
    ap = argparse.ArgumentParser(prog="vta-rtl", description="VTA RTL: export, lint, synth, run")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("export", help="write Verilog/SystemVerilog, file list and FuseSoC core")
    p.add_argument("config", help="config YAML/JSON path or bundled name (tiny, default, ...)")
    p.add_argument("-o", "--out", required=True, help="output directory")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("lint", help="Verilator -Wall, pyslang and Icarus checks of the export")
    p.add_argument("config")
    p.add_argument("-o", "--out", help="export here (default: the build cache)")
    p.set_defaults(func=cmd_lint)
    p = sub.add_parser("synth", help="Yosys synth_xilinx and resource use")
    p.add_argument("config")
    p.add_argument("--part", help="FPGA part (default: the config's fpga.part, else xc7z020)")
    p.add_argument("-o", "--out", help="export here (default: the build cache)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_synth)
    p = sub.add_parser("run", help="run a program bundle on the RTL under cocotb")
    p.add_argument("bundle")
    p.add_argument("--config", help="config (default: the one the bundle names)")
    p.add_argument("--sim", choices=("icarus", "verilator"), default="icarus")
    p.add_argument("--waves", action="store_true", help="dump waveforms")
    p.add_argument("--max-cycles", type=int, help="watchdog limit")
    p.add_argument("--workdir", help="keep the run's files here")
    p.set_defaults(func=cmd_run)
    return ap


def main(argv=None):
    ap = build_parser()
    a = ap.parse_args(argv)
    try:
        return a.func(a)
    except VTAError as e:
        print(f"vta-rtl: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:
        print(f"vta-rtl: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
