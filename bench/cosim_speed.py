"""Simulation speed of each mix of TLM and RTL units, in simulated clock cycles per second.

    python bench/cosim_speed.py [--configs tiny,default] [--workloads tiny=W1,W2;default=W3]
                                [--modes tlm,fetch,load,compute,store,all,verilator-fast,verilator-cocotb]
                                [--json PATH]

Modes: ``tlm`` (vta.tlm.run_program), one unit as RTL (``fetch``, ``load``, ``compute``,
``store``: vta.cosim.mixed.run_mixed, MyHDL in this process), ``all`` (the four units as RTL in
this process), ``gemm``/``alu`` (the cores inside a TLM compute unit, when vta.cosim.cores
exists), and the whole design in Verilator: ``verilator-fast`` (the fast harness, AXI RAM in
the simulator; vta.cosim.sim.run_on_rtl(fast=True)) and ``verilator-cocotb`` (the cocotb
harness with its Python AXI RAM model). A Verilated single unit stepped from Python is not
available in this tree: the whole-design Verilator figures are the reference.

"wall s" is the whole call (for a mix: MyHDL elaboration and the run; for Verilator: the
simulator process, the build being cached beforehand); "cycles/s" is the program's cycles per
wall second, and for Verilator also "run cycles/s", the simulated cycles per second of the run
alone (RtlResult.cycles_per_second). "set-up s" is the wall time of the same mode on a
FINISH-only program (elaboration, simulator start), "net cycles/s" = cycles / (wall - set-up):
the rate a longer program approaches. Every mode must give the expected outputs (checked);
a run that fails is a FAILED row (exit status 1), the others still run.
Short programs measure mostly the set-up: the default workloads are the longest that keep a
compute-RTL mix under a minute.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from vta.compiler import build_workload, workload_names
from vta.cosim.mixed import CORES, UNITS, run_mixed
from vta.compiler import ProgramBuilder
from vta.isa import Finish, VTAError, load_config
from vta.tlm import run_program

WORKLOADS = {"tiny": ("alu_add_vv", "gemm_blocked_vt2"), "default": ("gemm_4x4", "alu_add_vv")}
RTL_MODES = ("verilator-fast", "verilator-cocotb")


def all_modes():
    cores = list(CORES) if importlib.util.find_spec("vta.cosim.cores") is not None else []
    return ["tlm", *UNITS, "all", *cores, *RTL_MODES]


def measure(program, cfg, mode):
    """{cycles, wall, run_cps (Verilator only), outputs} of one run of ``program``."""
    t0 = time.perf_counter()
    if mode == "tlm":
        r = run_program(program, cfg)
    elif mode in RTL_MODES:
        from vta.cosim.sim import run_on_rtl
        r = run_on_rtl(program, cfg, sim="verilator", fast=mode == "verilator-fast")
        return {"cycles": r.cycles, "wall": time.perf_counter() - t0, "run_cps": r.cycles_per_second,
                "outputs": r.outputs}
    else:
        r = run_mixed(program, cfg, rtl=set(UNITS) if mode == "all" else {mode})
    return {"cycles": r.cycles, "wall": time.perf_counter() - t0, "run_cps": None, "outputs": r.outputs}


def warm_up(cfg, modes):
    """Build (or find cached) the Verilator models first: their build time is not speed."""
    from vta.cosim.sim import build
    if "verilator-fast" in modes:
        from vta.cosim.fastsim import build_fast
        build_fast(cfg, sim="verilator")
    if "verilator-cocotb" in modes:
        build(cfg, sim="verilator")


def attempt(program, cfg, mode, console):
    """``measure``, or None (the error printed) if the run fails."""
    try:
        return measure(program, cfg, mode)
    except VTAError as e:
        msg = f"{cfg.name} {program.name} {mode}: {type(e).__name__}: {str(e).splitlines()[0]}"
        if console:
            console.print(f"[red]FAILED[/] {msg}", highlight=False)
        else:
            print(f"FAILED {msg}", file=sys.stderr)
        return None


def finish_only(cfg):
    pb = ProgramBuilder(cfg, "finish-only")
    pb.emit(Finish())
    return pb.build({})


def bench(configs, workloads, modes, console=None):
    rows = []
    for cname in configs:
        cfg = load_config(cname)
        warm_up(cfg, modes)
        setup = {mode: attempt(finish_only(cfg), cfg, mode, console) for mode in modes}
        setup = {mode: (m["wall"] if m else None) for mode, m in setup.items()}
        for w in workloads[cname]:
            program = build_workload(w, cfg)
            for mode in modes:
                m = attempt(program, cfg, mode, console)
                if m is None:
                    rows.append({"config": cfg.name, "workload": w, "mode": mode, "cycles": None,
                                 "wall": None, "cps": None, "run_cps": None, "setup": setup[mode],
                                 "net_cps": None, "outputs_ok": False})
                    continue
                net = m["wall"] - setup[mode] if setup[mode] is not None else 0
                same = all(np.array_equal(m["outputs"].get(k), v) for k, v in program.expect.items())
                row = {"config": cfg.name, "workload": w, "mode": mode, "cycles": m["cycles"],
                       "wall": m["wall"], "cps": m["cycles"] / m["wall"], "run_cps": m["run_cps"],
                       "setup": setup[mode], "net_cps": m["cycles"] / net if net > 0 else None,
                       "outputs_ok": bool(same)}
                rows.append(row)
                if console:
                    console.print(f"  {cfg.name} {w} {mode}: {m['cycles']} cycles, {m['wall']:.2f} s",
                                  highlight=False)
    return rows


def table(rows):
    t = Table(title="co-simulation speed (simulated cycles per second)")
    for col in ("config", "workload", "mode", "cycles", "wall s", "cycles/s", "set-up s",
                "net cycles/s", "run cycles/s", "outputs"):
        t.add_column(col, justify="left" if col in ("config", "workload", "mode", "outputs") else "right")
    for r in rows:
        if r["cycles"] is None:
            t.add_row(r["config"], r["workload"], r["mode"], "-", "-", "-", "-", "-", "-", "[red]FAILED[/]")
            continue
        t.add_row(r["config"], r["workload"], r["mode"], str(r["cycles"]), f"{r['wall']:.2f}",
                  f"{r['cps']:,.0f}", f"{r['setup']:.2f}" if r["setup"] is not None else "-",
                  f"{r['net_cps']:,.0f}" if r["net_cps"] else "-",
                  f"{r['run_cps']:,.0f}" if r["run_cps"] else "-",
                  "ok" if r["outputs_ok"] else "[red]WRONG[/]")
    return t


def parse_workloads(text, configs):
    """"tiny=a,b;default=c" -> {config: (names)} (configs not named keep WORKLOADS')."""
    out = {c: WORKLOADS.get(c, ("gemm_4x4",)) for c in configs}
    names = workload_names()
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        cfg, sep, ws = part.partition("=")
        ws = tuple(w.strip() for w in ws.split(",") if w.strip())
        if not sep or cfg not in configs or not ws:
            raise VTAError(f"--workloads: {part!r} is not CONFIG=W1,W2 for one of {', '.join(configs)}")
        if unknown := [w for w in ws if w not in names]:
            raise VTAError(f"--workloads: unknown workload {unknown[0]!r}")
        out[cfg] = ws
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="tiny,default", help="comma-separated (default tiny,default)")
    ap.add_argument("--workloads", help="per config, e.g. 'tiny=gemm_4x4;default=load_pad'")
    ap.add_argument("--modes", help=f"comma-separated, default all of: {', '.join(all_modes())}")
    ap.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = ap.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 130)
    try:
        configs = [c.strip() for c in args.configs.split(",") if c.strip()]
        for c in configs:
            load_config(c)
        modes = all_modes() if not args.modes else [m.strip() for m in args.modes.split(",") if m.strip()]
        if unknown := [m for m in modes if m not in all_modes()]:
            raise VTAError(f"--modes: unknown mode {unknown[0]!r}; choose from {', '.join(all_modes())}")
        workloads = parse_workloads(args.workloads, configs)
    except VTAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = bench(configs, workloads, modes, console)
    console.print(table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if all(r["outputs_ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
