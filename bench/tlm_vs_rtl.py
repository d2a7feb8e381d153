"""TLM vs RTL on the reference workloads: cycles, relative error and wall-clock time of each model.

    python bench/tlm_vs_rtl.py                    # tiny on Verilator and Icarus, default on Verilator
    python bench/tlm_vs_rtl.py --runs tiny:verilator default:verilator --workloads alu_add_vv gemm_4x4
    python bench/tlm_vs_rtl.py --runs default:verilator --latencies 1 32 64 --outstanding 1 8

Each (config, simulator, outstanding limit, latency) is one simulator session
(vta.cosim.crosscheck.check_many) on ``cfg.replace(dram={"latency": L,
"max_outstanding_reads": N})``; both models see the same memory. The RTL wall time of a
workload is its simulated run plus an equal share of the session's start-up. Outputs are
compared bit for bit too. With several latencies or limits a summary (worst |error| per
combination) follows. Exit status 1 if any workload disagrees or is off by more than the
tolerance (--tolerance, default 2%: issue 11's goal; the cross-check tests allow 5%).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from rich.console import Console
from rich.table import Table

from vta.compiler.workloads import build_workload, workload_names
from vta.isa import VTAError, load_config
from vta.cosim.crosscheck import CYCLE_TOLERANCE, check_many

DEFAULT_RUNS = ("tiny:verilator", "tiny:icarus", "default:verilator")
GOAL = 0.02   # |TLM - RTL| / RTL on every reference workload


def variant(cfg, latency, outstanding):
    """The config with another DRAM latency / outstanding-read limit (None: as it is)."""
    dram = {}
    if latency is not None:
        dram["latency"] = latency
    if outstanding is not None:
        dram["max_outstanding_reads"] = outstanding
    return cfg.replace(dram=dram) if dram else cfg


def run_pair(cfg, sim, names, console, tolerance, rows):
    """One session; prints its table, appends (config, sim, out, lat, name, tlm, rtl, err)
    to ``rows``; returns the number of failures."""
    t0 = time.perf_counter()
    results = check_many([build_workload(n, cfg) for n in names], cfg, sim=sim)
    session = time.perf_counter() - t0
    lat, out = cfg.dram_latency, cfg.dram_max_outstanding_reads
    t = Table(title=f"config {cfg.name}, {sim}: AXI RAM latency {lat}, outstanding reads "
                    f"{out}, bursts <= {cfg.dram_max_burst_beats} beats, TLM axi_req_cycles "
                    f"{cfg.timing['axi_req_cycles']} (session {session:.1f} s)")
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
        ok = abs(err) <= tolerance
        bad += (not ok) + (not r.agree)
        rows.append((cfg.name, sim, out, lat, name, r.tlm_cycles, r.rtl_cycles, err))
        t.add_row(name, f"{r.tlm_cycles:,}", f"{r.rtl_cycles:,}",
                  f"[{'green' if ok else 'red'}]{err:+.2%}[/]",
                  "[green]bit-exact[/]" if r.agree else "[red]DIFFER[/]",
                  f"{r.tlm.wall_seconds:.3f}", f"{r.rtl.wall_seconds:.2f}")
    console.print(t)
    console.print(f"worst |error| {worst:.2%} (tolerance {tolerance:.0%})\n")
    return bad


def summary(rows, console):
    """Worst |error| per (config, sim, outstanding, latency)."""
    t = Table(title="summary: worst |error| per run")
    for col in ("config", "sim", "outstanding", "latency", "workloads", "worst", "of"):
        t.add_column(col, justify="left" if col in ("config", "sim", "of") else "right")
    keys = sorted({r[:4] for r in rows}, key=lambda k: (k[0], k[1], k[2], k[3]))
    for k in keys:
        sel = [r for r in rows if r[:4] == k]
        w = max(sel, key=lambda r: abs(r[7]))
        t.add_row(k[0], k[1], str(k[2]), str(k[3]), str(len(sel)), f"{w[7]:+.2%}", w[4])
    console.print(t)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS), metavar="CONFIG:SIM",
                    help=f"config:simulator pairs (default: {' '.join(DEFAULT_RUNS)})")
    ap.add_argument("--workloads", nargs="+", help="workload names (default: all built-in)")
    ap.add_argument("--latencies", nargs="+", type=int, metavar="L",
                    help="dram.latency values (default: the config's)")
    ap.add_argument("--outstanding", nargs="+", type=int, metavar="N",
                    help="dram.max_outstanding_reads values (default: the config's)")
    ap.add_argument("--tolerance", type=float, default=GOAL,
                    help=f"allowed |error| as a fraction (default {GOAL}; the cross-check "
                         f"tests allow {CYCLE_TOLERANCE})")
    ap.add_argument("--json", metavar="FILE", help="also write every row as JSON")
    a = ap.parse_args(argv)
    console = Console(highlight=False, width=max(Console().width, 112))
    names = a.workloads or workload_names()
    bad = 0
    rows = []
    try:
        for pair in a.runs:
            config, _, sim = pair.partition(":")
            base = load_config(config)
            for out in a.outstanding or [None]:
                for lat in a.latencies or [None]:
                    bad += run_pair(variant(base, lat, out), sim or "verilator", names, console,
                                    a.tolerance, rows)
    except VTAError as e:
        print(f"tlm_vs_rtl: error: {e}", file=sys.stderr)
        return 2
    if len(a.latencies or []) > 1 or len(a.outstanding or []) > 1:
        summary(rows, console)
    if a.json:
        keys = ("config", "sim", "outstanding", "latency", "workload", "tlm_cycles",
                "rtl_cycles", "error")
        with open(a.json, "w") as f:
            json.dump([dict(zip(keys, r)) for r in rows], f, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
