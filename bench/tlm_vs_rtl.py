"""TLM vs RTL on the reference workloads: cycles, relative error and wall-clock time of each model.

    python bench/tlm_vs_rtl.py                    # tiny on Verilator and Icarus, default on Verilator
    python bench/tlm_vs_rtl.py --runs tiny:verilator default:verilator --workloads alu_add_vv gemm_4x4

Each (config, simulator) pair is one simulator session (vta.cosim.crosscheck.check_many); the
RTL wall time of a workload is its simulated run plus an equal share of the session's
start-up. Outputs are compared bit for bit too. Exit status 1 if any workload disagrees or
is off by more than the tolerance (5%).
"""
from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console
from rich.table import Table

from vta.compiler.workloads import build_workload, workload_names
from vta.isa import VTAError, load_config
from vta.cosim.crosscheck import CYCLE_TOLERANCE, check_many

DEFAULT_RUNS = ("tiny:verilator", "tiny:icarus", "default:verilator")


def run_pair(config, sim, names, console):
    cfg = load_config(config)
    t0 = time.perf_counter()
    results = check_many([build_workload(n, cfg) for n in names], cfg, sim=sim)
    session = time.perf_counter() - t0
    t = Table(title=f"config {cfg.name}, {sim}: AXI RAM latency {cfg.dram_latency}, "
                    f"TLM axi_req_cycles {cfg.timing['axi_req_cycles']} "
                    f"(session {session:.1f} s)")
    for col in ("workload", "TLM cycles", "RTL cycles", "error", "outputs", "TLM wall s",
                "RTL wall s"):
        t.add_column(col, justify="left" if col in ("workload", "outputs") else "right")
    bad = 0
    worst = 0.0
    for name, r in zip(names, results):
        if isinstance(r, Exception):
            t.add_row(name, "-", "-", "-", f"[red]{type(r).__name__}[/]", "-", "-")
            console.print(f"[red]{name}[/]: {r}", soft_wrap=True)
            bad += 1
            continue
        err = r.cycle_error
        worst = max(worst, abs(err))
        ok = abs(err) <= CYCLE_TOLERANCE
        bad += (not ok) + (not r.agree)
        t.add_row(name, f"{r.tlm_cycles:,}", f"{r.rtl_cycles:,}",
                  f"[{'green' if ok else 'red'}]{err:+.2%}[/]",
                  "[green]bit-exact[/]" if r.agree else "[red]DIFFER[/]",
                  f"{r.tlm.wall_seconds:.3f}", f"{r.rtl.wall_seconds:.2f}")
    console.print(t)
    console.print(f"worst |error| {worst:.2%} (tolerance {CYCLE_TOLERANCE:.0%})\n")
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS), metavar="CONFIG:SIM",
                    help=f"config:simulator pairs (default: {' '.join(DEFAULT_RUNS)})")
    ap.add_argument("--workloads", nargs="+", help="workload names (default: all built-in)")
    a = ap.parse_args(argv)
    console = Console(highlight=False, width=max(Console().width, 112))
    names = a.workloads or workload_names()
    bad = 0
    try:
        for pair in a.runs:
            config, _, sim = pair.partition(":")
            bad += run_pair(config, sim or "verilator", names, console)
    except VTAError as e:
        print(f"tlm_vs_rtl: error: {e}", file=sys.stderr)
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
