"""Issue 14's matrix: every mix of TLM and RTL units against the pure TLM and the full RTL.

    python bench/mixed_check.py [--config tiny] [--count 200] [--others 20] [--seed 0]
                                [--mixes all16|NAME,...] [--workloads all|none|NAME,...]
                                [--jobs N] [--no-rtl] [--bound 0.02] [--json PATH]

A mix is a set of units run as their MyHDL RTL inside the SimPy TLM (vta.cosim.mixed.run_mixed),
named by its units joined with '+' in pipeline order ("load+compute"), "tlm" (none: the pure
TLM through run_mixed), "all" (the four units); "gemm" and "alu" (the cores inside a TLM
compute unit) join the default list once vta.cosim.cores exists. Default: the 16 subsets of
{fetch, load, compute, store} (+ gemm, alu).

Programs: every reference workload (vta.compiler.workload_names(); --workloads to choose)
and random programs (vta.compiler.fuzz.random_program, drawn as bench/fuzz_rtl.py draws them,
seeds --seed..): --count for each single-unit mix and "all" (and gemm, alu), --others for the
other mixes (a mix gets the first N seeds). Each program runs once on the pure TLM
(vta.tlm.run_program) and once on the full RTL (Verilator, fast harness, one batch:
vta.cosim.sim.run_many_on_rtl), then under every mix. A mix's run must give outputs identical
to the TLM's, the RTL's and the expected ones (the compiler's numpy, or tests/reference.py
for random programs), and cycles within --bound (relative) of the RTL's.

Runs are spread over --jobs processes (MyHDL runs one Simulation per process at a time).
Prints a table per mix: programs, data mismatches, worst and mean |cycle error| vs the RTL,
how many exceed the bound, wall time and simulated cycles per second; then the failures.
Exit status: 0 all good, 1 a mismatch, an error or a cycle error over the bound, 2 bad usage.
"""
from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_rtl import make_program  # noqa: E402 -- random programs as the RTL fuzzer draws them

from vta.compiler import build_workload, workload_names  # noqa: E402
from vta.cosim.mixed import CORES, UNITS, parse_units, run_mixed  # noqa: E402
from vta.isa import VTAError, load_config  # noqa: E402
from vta.tlm import run_program  # noqa: E402

BOUND = 0.02


def cores_available():
    """The GEMM/ALU core refinements exist (cosim/cores.py, imported by run_mixed on demand)."""
    return "gemm" in CORES and importlib.util.find_spec("vta.cosim.cores") is not None


def mix_name(units):
    units = frozenset(units)
    if not units:
        return "tlm"
    if units == frozenset(UNITS):
        return "all"
    return "+".join(u for u in UNITS + CORES if u in units)


def parse_mix(name):
    """"load+compute" -> frozenset; "tlm" -> empty (errors name --mixes)."""
    if name.strip() == "tlm":
        return frozenset()
    return parse_units(name.replace("+", ","), where="--mixes")


def default_mixes():
    """The 16 subsets of the four units (small first), then gemm and alu if they exist."""
    subsets = [frozenset(c) for n in range(len(UNITS) + 1) for c in itertools.combinations(UNITS, n)]
    if cores_available():
        subsets += [frozenset({c}) for c in CORES]
    return subsets


def is_major(units):
    """Single-unit mixes and all-RTL get the full random count; the others --others."""
    return len(units) == 1 or frozenset(units) == frozenset(UNITS)


class Spec:
    """How to (re)build a program in any process: a workload name or a random seed."""

    def __init__(self, workload=None, seed=None):
        self.workload, self.seed = workload, seed

    @property
    def label(self):
        return self.workload if self.workload is not None else f"random-{self.seed}"

    def build(self, cfg):
        if self.workload is not None:
            return build_workload(self.workload, cfg)
        return make_program(cfg, self.seed)


def outputs_differ(got, want):
    """Names of the output segments whose arrays differ (missing counts as differing)."""
    return sorted(k for k, v in want.items()
                  if k not in got or got[k].shape != v.shape or not np.array_equal(got[k], v))


def _run_one(cfg, spec, units):
    """One mixed run: {cycles, outputs, seconds} or {error}."""
    program = spec.build(cfg)
    t0 = time.perf_counter()
    try:
        r = run_mixed(program, cfg, rtl=units)
    except VTAError as e:
        return {"error": f"{type(e).__name__}: {str(e).splitlines()[0]}",
                "seconds": time.perf_counter() - t0}
    return {"cycles": r.cycles, "outputs": r.outputs, "seconds": time.perf_counter() - t0}


_CFG = None   # the run's config: set before the pool forks (a Config does not pickle)


def _job(args):
    spec, units = args
    return spec.label, units, _run_one(_CFG, spec, units)


def baselines(cfg, specs, rtl=True, console=None):
    """{label: {"program", "tlm", "rtl"}}: each program's pure-TLM run and full-RTL run
    (Verilator fast mode, one batch; an entry is a SimError if that program failed there)."""
    base = {}
    for s in specs:
        p = s.build(cfg)
        base[s.label] = {"program": p, "tlm": run_program(p, cfg), "rtl": None}
    if rtl:
        from vta.cosim.sim import run_many_on_rtl
        t0 = time.perf_counter()
        res = run_many_on_rtl([base[s.label]["program"] for s in specs], cfg, sim="verilator",
                              fast=True)
        for s, r in zip(specs, res):
            base[s.label]["rtl"] = r
        if console:
            console.print(f"full RTL (Verilator, fast): {len(specs)} programs in "
                          f"{time.perf_counter() - t0:.1f} s")
    return base


def judge(label, base, run, bound=BOUND):
    """(reasons, cycle error vs RTL or None) of one mixed run."""
    if "error" in run:
        return [run["error"]], None
    reasons = []
    tlm, rtl, program = base["tlm"], base["rtl"], base["program"]
    if bad := outputs_differ(run["outputs"], tlm.outputs):
        reasons.append(f"outputs differ from the pure TLM: {', '.join(bad)}")
    if program.expect and (bad := outputs_differ(run["outputs"], program.expect)):
        reasons.append(f"outputs differ from the expected: {', '.join(bad)}")
    err = None
    if isinstance(rtl, Exception):
        reasons.append(f"full RTL run failed: {str(rtl).splitlines()[0]}")
    elif rtl is not None:
        if bad := outputs_differ(run["outputs"], rtl.outputs):
            reasons.append(f"outputs differ from the full RTL: {', '.join(bad)}")
        err = (run["cycles"] - rtl.cycles) / rtl.cycles
        if abs(err) > bound:
            reasons.append(f"cycles {run['cycles']} vs RTL {rtl.cycles} ({err:+.2%}), over {bound:.0%}")
    return reasons, err


def check(cfg, mixes, workloads, count, others, seed=0, jobs=1, rtl=True, bound=BOUND,
          console=None, progress=True):
    """Run the matrix; returns (rows, failures): a row per mix {mix, programs, mismatches,
    over, worst, mean, seconds, cycles}, a failure (mix, program, reason) per bad run."""
    cfg = load_config(cfg)
    n_random = {m: (count if is_major(m) else others) for m in mixes}
    seeds = range(seed, seed + max(n_random.values(), default=0))
    specs = [Spec(workload=w) for w in workloads] + [Spec(seed=s) for s in seeds]
    base = baselines(cfg, specs, rtl=rtl, console=console)
    todo = [(s, m) for m in mixes for s in specs[:len(workloads) + n_random[m]]]
    results = {m: [] for m in mixes}
    global _CFG
    _CFG = cfg
    t0 = time.perf_counter()
    pool = multiprocessing.get_context("fork").Pool(jobs) if jobs > 1 else None
    try:
        it = pool.imap_unordered(_job, todo) if pool else map(_job, todo)
        for i, (label, units, run) in enumerate(it, 1):
            results[units].append((label, run))
            if console and progress and (i % 25 == 0 or i == len(todo)):
                console.print(f"  {i}/{len(todo)} runs, {time.perf_counter() - t0:.0f} s", highlight=False)
    finally:
        if pool:
            pool.terminate()
    rows, failures = [], []
    for m in mixes:
        errs, bad, over, secs, cyc = [], 0, 0, 0.0, 0
        for label, run in results[m]:
            reasons, err = judge(label, base[label], run, bound)
            secs += run["seconds"]
            cyc += run.get("cycles", 0)
            if err is not None:
                errs.append(abs(err))
                over += abs(err) > bound
            if any("outputs" in r or "Error" in r or "failed" in r for r in reasons):
                bad += 1
            failures += [(mix_name(m), label, r) for r in reasons]
        rows.append({"mix": mix_name(m), "programs": len(results[m]), "mismatches": bad,
                     "over": over, "worst": max(errs) if errs else None,
                     "mean": sum(errs) / len(errs) if errs else None,
                     "seconds": secs, "cycles": cyc})
    return rows, failures


def table(rows, bound, title):
    t = Table(title=title)
    for col in ("mix", "programs", "data mismatches", "worst |err|", "mean |err|",
                f"> {bound:.0%}", "wall s", "cycles/s"):
        t.add_column(col, justify="left" if col == "mix" else "right")
    pct = lambda v: "-" if v is None else f"{v:.2%}"  # noqa: E731
    for r in rows:
        t.add_row(r["mix"], str(r["programs"]), str(r["mismatches"]), pct(r["worst"]),
                  pct(r["mean"]), str(r["over"]), f"{r['seconds']:.1f}",
                  f"{r['cycles'] / r['seconds']:,.0f}" if r["seconds"] else "-")
    return t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="tiny", help="config name or file (default tiny)")
    ap.add_argument("--count", type=int, default=200,
                    help="random programs for single-unit mixes and all (default 200)")
    ap.add_argument("--others", type=int, default=20, help="random programs for the other mixes (default 20)")
    ap.add_argument("--seed", type=int, default=0, help="first random seed (default 0)")
    ap.add_argument("--mixes", default="all16",
                    help="comma-separated mixes (units joined by '+', 'tlm', 'all'), or all16 "
                         "(the 16 subsets, + gemm and alu when they exist; the default)")
    ap.add_argument("--workloads", default="all",
                    help="reference workloads: all (default), none, or comma-separated names")
    ap.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    ap.add_argument("--no-rtl", action="store_true", help="compare with the pure TLM only (no Verilator)")
    ap.add_argument("--bound", type=float, default=BOUND, help="cycle error bound vs the RTL (default 0.02)")
    ap.add_argument("--json", metavar="PATH", help="also write the rows and failures as JSON")
    args = ap.parse_args(argv)
    for name in ("count", "others", "seed"):
        if getattr(args, name) < 0:
            ap.error(f"--{name} must be at least 0")
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    console = Console(width=None if sys.stdout.isatty() else 130)   # a pipe: no 80-column wrap
    try:
        cfg = load_config(args.config)
        mixes = (default_mixes() if args.mixes == "all16"
                 else list(dict.fromkeys(parse_mix(n) for n in args.mixes.split(",") if n.strip())))
        if any(m & set(CORES) for m in mixes) and not cores_available():
            raise VTAError("--mixes: gemm/alu need vta.cosim.cores, which this tree does not have")
        names = workload_names()
        if args.workloads == "all":
            workloads = names
        elif args.workloads == "none":
            workloads = []
        else:
            workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
            if unknown := [w for w in workloads if w not in names]:
                raise VTAError(f"--workloads: unknown workload {unknown[0]!r}; choose from {', '.join(names)}")
    except VTAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows, failures = check(cfg, mixes, workloads, args.count, args.others, args.seed, args.jobs,
                           rtl=not args.no_rtl, bound=args.bound, console=console)
    console.print(table(rows, args.bound, f"mixed TLM/RTL vs {'pure TLM' if args.no_rtl else 'full RTL'} "
                        f"on {cfg.name}: {len(workloads)} workloads + random programs "
                        f"({time.perf_counter() - t0:.0f} s, {args.jobs} jobs)"))
    for mix, label, reason in failures[:50]:
        console.print(f"[red]FAIL[/] {mix} {label}: {reason}", highlight=False)
    if len(failures) > 50:
        console.print(f"... and {len(failures) - 50} more failures")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"config": cfg.name, "rows": rows, "failures": failures},
                                              indent=1) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
