#!/usr/bin/env python3
"""TLM simulation speed: host microseconds per instruction (timing model included) on short
programs (random fuzz programs on tiny and default, Apache VTA's test workloads), on
ResNet-18 end to end, and a per-workload table.

    python bench/tlm_speed.py [CONFIG] [--repeat N] [--fuzz N] [--no-resnet]

Anchors: Apache VTA's HLS C++ model (g++ -O2) on the same default-config programs, measured
on the 2-core machine of these figures (HLS_US below); its functional-only simulator runs
ResNet-18 in 1.01 s. Each program is built once (not timed)
and run N times (default 3); the fastest run counts ("first run": the first of them, before
the TLM's caches of instruction encodings/decodings hold the program's). Host time is process CPU time (the machine may
be shared); ResNet-18 runs once, when the generated model can be built.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vta.compiler import build_workload, workload_names
from vta.compiler.fuzz import random_program
from vta.isa import load_config
from vta.tlm import run_program

CACHE = Path(__file__).resolve().parents[1] / "build" / "models"
# Apache VTA's HLS C++ model (apache/tvm-vta d4a15f6 vta.cc, g++ -O2, Xilinx's open ap_int
# headers; driver and build outside this repository) on the default config, us per
# instruction, best of 3, vta() calls only, on the machine of tlm/README.md's figures
# (2026-12-02, three passes, load 2-3): outputs identical to the TLM's on all 221 programs.
# Short programs cost it little; its GEMM loop (ap_int arithmetic) ~9 us per micro-op.
HLS_US = {"random (fuzz)": (6.1, 7.8), "Apache VTA tests": (1959.0, 2409.0)}
FSIM_RESNET_S = 1.01   # Apache VTA functional-only simulator, ResNet-18


def best_run(prog, cfg, repeat):
    """(fastest CPU seconds of ``repeat`` runs, CPU seconds of the first, the result). The
    first run of a program pays for the TLM's per-ISA caches of instruction encodings and
    decodings (tlm/image.py, tlm/fetch.py); later runs, like a network's repeated layers,
    find them filled."""
    best = first = res = None
    for _ in range(repeat):
        t0 = time.process_time()
        res = run_program(prog, cfg)
        dt = time.process_time() - t0
        best = dt if best is None else min(best, dt)
        first = dt if first is None else first
    return best, first, res


def short_programs(cfg, n_fuzz, repeat):
    """[(label, instructions, best CPU seconds, first run's, result)]: n_fuzz random
    programs, then the workloads."""
    progs = [("fuzz", random_program(cfg, seed)) for seed in range(n_fuzz)]
    progs += [(name, build_workload(name, cfg)) for name in workload_names()]
    rows = []
    for label, prog in progs:
        dt, first, res = best_run(prog, cfg, repeat)
        rows.append((label, res.stats["instructions_fetched"], dt, first, res))
    return rows


def resnet18(cfg):
    """(instructions, CPU seconds of the timed run) of ResNet-18 on the TLM, or None."""
    try:
        import numpy as np
        from vta.compiler.cli import prepare
        from vta.compiler.graph import run_vta
        from vta.compiler.quantize import quantize_input
        from vta.compiler.zoo import resnet18_path
        model = resnet18_path(CACHE, 0)
    except Exception as e:   # the model cannot be generated here (e.g. no onnx)
        Console(stderr=True).print(f"ResNet-18 skipped: {e}")
        return None
    rng = np.random.default_rng(1)
    calib = rng.normal(0, 1, (2, 3, 224, 224)).astype(np.float32)
    g = prepare(model, calib, cfg)
    x = quantize_input(g, calib[:1], cfg.inp_bits)
    c0 = time.process_time()
    run = run_vta(g, x, cfg, lambda prog: run_program(prog, cfg))
    return run.totals()["instructions"], time.process_time() - c0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default="default")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fuzz", type=int, default=200, help="random programs per config (default 200)")
    ap.add_argument("--no-resnet", action="store_true")
    args = ap.parse_args(argv)
    con = Console(highlight=False, width=max(120, Console().width))
    cfg = load_config(args.config)

    s = Table(title=f"host us per instruction, timing included (best of {args.repeat}); "
                    "anchor: Apache VTA's HLS C++ model (g++ -O2) on the default config's programs, "
                    "measured once (HLS_US)", title_justify="left")
    for col in ("programs", "config", "count", "insns", "CPU s", "us/insn", "first run", "HLS C++ us/insn"):
        s.add_column(col, justify="left" if col in ("programs", "config") else "right")
    per_cfg = {}
    for cname in dict.fromkeys(("tiny", args.config)):
        rows = short_programs(load_config(cname), args.fuzz, args.repeat)
        per_cfg[cname] = rows
        for kind, keep in (("random (fuzz)", lambda r: r[0] == "fuzz"),
                           ("Apache VTA tests", lambda r: r[0] != "fuzz")):
            sel = [r for r in rows if keep(r)]
            n, dt, first = (sum(r[k] for r in sel) for k in (1, 2, 3))
            lo, hi = HLS_US[kind]
            anchor = f"{lo:,.0f}-{hi:,.0f}" if cname == "default" and args.fuzz == 200 else ""
            s.add_row(kind, cname, f"{len(sel)}", f"{n:,}", f"{dt:.3f}", f"{1e6 * dt / n:.1f}",
                      f"{1e6 * first / n:.1f}", anchor)
    if not args.no_resnet:
        rn = resnet18(cfg)
        if rn is not None:
            n, dt = rn
            s.add_row("ResNet-18 end to end", cfg.name, "1", f"{n:,}", f"{dt:.2f}", f"{1e6 * dt / n:.1f}",
                      f"{1e6 * dt / n:.1f}", "", style="bold")
            con.print(s)
            con.print(f"ResNet-18 timed run: {dt:.2f} s CPU (anchor: Apache VTA functional-only "
                      f"simulator {FSIM_RESNET_S} s, no timing)")
        else:
            con.print(s)
    else:
        con.print(s)

    t = Table(title=f"vta-tlm speed per workload on config '{cfg.name}' (best of {args.repeat})",
              title_justify="left")
    for col in ("workload", "insns", "sim cycles", "GEMM util", "CPU s", "us/insn", "cycles/s", "PASS"):
        t.add_column(col, justify="left" if col == "workload" else "right")
    for label, n, dt, _, res in per_cfg[args.config]:
        if label == "fuzz":
            continue
        t.add_row(label, f"{n:,}", f"{res.cycles:,}", f"{100 * res.stats['gemm_utilization']:.1f} %",
                  f"{dt:.4f}", f"{1e6 * dt / n:.1f}", f"{res.cycles / dt:,.0f}",
                  "yes" if res.passed else "[red]NO[/]")
    con.print(t)


if __name__ == "__main__":
    main()
