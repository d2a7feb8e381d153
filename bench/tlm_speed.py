#!/usr/bin/env python3
"""TLM simulation speed: instructions per second and simulated cycles per second for
every built-in workload (default config unless given), as a table.

    python bench/tlm_speed.py [CONFIG] [--repeat N]

Each workload is built once and run N times (default 3); the fastest run counts
(program building is not timed).
"""
from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from vta.compiler import build_workload, workload_names
from vta.isa import load_config
from vta.tlm import run_program


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default="default")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    t = Table(title=f"vta-tlm speed on config '{cfg.name}' (best of {args.repeat})", title_justify="left")
    for col in ("workload", "insns", "sim cycles", "GEMM util", "wall s", "insns/s", "cycles/s", "PASS"):
        t.add_column(col, justify="left" if col == "workload" else "right")
    tot_i = tot_c = tot_w = 0.0
    for name in workload_names():
        prog = build_workload(name, cfg)
        best, res = None, None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = run_program(prog)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        n = res.stats["instructions"]
        tot_i, tot_c, tot_w = tot_i + n, tot_c + res.cycles, tot_w + best
        t.add_row(name, f"{n:,}", f"{res.cycles:,}", f"{100 * res.stats['gemm_utilization']:.1f} %",
                  f"{best:.4f}", f"{n / best:,.0f}", f"{res.cycles / best:,.0f}",
                  "yes" if res.passed else "[red]NO[/]")
    t.add_row("all", f"{int(tot_i):,}", f"{int(tot_c):,}", "", f"{tot_w:.3f}", f"{tot_i / tot_w:,.0f}",
              f"{tot_c / tot_w:,.0f}", "", style="bold")
    Console(highlight=False, width=max(120, Console().width)).print(t)


if __name__ == "__main__":
    main()
