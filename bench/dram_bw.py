"""Sustained DRAM bandwidth of long loads and stores, TLM and RTL, as a table.

    python bench/dram_bw.py [--config default] [--sim verilator] [--latencies 1,32,64]
                            [--limits 1,4,8,16] [--workloads all] [--scale 1.0] [--tlm-only]
                            [--json FILE]

Workloads (issue 11's, sized for the config; on default a bus beat is 8 B, an input element
16 B):
- ``load_1k``: a stream of 1 KiB LOADs (contiguous, one request each), 64 KiB in all;
- ``rows_64b``: 2-D LOADs of 64 B rows (4 input elements on default), 1,024 rows, rows 128 B
  apart (so every row is its own request);
- ``rows_1elem``: 2-D LOADs of one input element per row, 1,024 rows;
- ``store_long``: long STOREs (whole output buffer, contiguous), 64 KiB in all.
Each program ends with FINISH waiting for the last load's / store's token, so its cycle
count (start to done, as the CYCLES register counts) covers all the data. Bandwidth =
bytes moved / cycles; "% bus" = of min(bus bytes, dram.bytes_per_cycle) per cycle.

Every (latency, outstanding limit) is a config variant (dram.latency,
dram.max_outstanding_reads = dram.max_outstanding_writes = limit); the RTL runs all the
programs of one limit in one simulator session. Outputs of the RTL are not compared here
(the store programs write an output buffer nobody computed).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from vta.isa import MEM_INP, MEM_OUT, Finish, Load, Program, Segment, Store, VTAError, load_config

WORKLOADS = ("load_1k", "rows_64b", "rows_1elem", "store_long")
TOTAL = 64 << 10     # bytes per load/store workload at --scale 1


def _loads(cfg, name, rows, row_elems, stride_elems, count, total_rows=None):
    """``count`` LOAD INP of ``rows`` x ``row_elems`` elements (rows ``stride_elems`` apart),
    each into SRAM 0 onwards, then FINISH after the last load's token."""
    eb = cfg.elem_bytes(MEM_INP)
    span = ((rows - 1) * stride_elems + row_elems) * count
    data = np.zeros((span, cfg.batch, cfg.block_in), dtype=np.int8)
    seg = Segment("inp", 0x10000, data, "input")
    insns = []
    for i in range(count):
        base = seg.base // eb + i * ((rows - 1) * stride_elems + row_elems)
        insns.append(Load(memory_type=MEM_INP, sram_base=0, dram_base=base, y_size=rows,
                          x_size=row_elems, x_stride=stride_elems, push_next=i == count - 1))
    insns.append(Finish(pop_prev=True))
    return Program(config=cfg, insns=insns, segments=[seg], name=name), count * rows * row_elems * eb


def _stores(cfg, name, elems, count):
    """``count`` STOREs of ``elems`` output elements each (contiguous), FINISH after the
    last one's token (which the store unit pushes after its B responses)."""
    eb = cfg.elem_bytes(MEM_OUT)
    data = np.zeros((elems * count, cfg.batch, cfg.block_out), dtype=np.int8)
    seg = Segment("out", 0x10000, data, "output")
    insns = [Store(memory_type=MEM_OUT, sram_base=0, dram_base=seg.base // eb + i * elems,
                   y_size=1, x_size=elems, x_stride=elems, push_prev=i == count - 1)
             for i in range(count)]
    insns.append(Finish(pop_next=True))
    return Program(config=cfg, insns=insns, segments=[seg], name=name), count * elems * eb


def build(cfg, name, scale=1.0):
    """(Program, bytes moved) of workload ``name`` on ``cfg``."""
    eb = cfg.elem_bytes(MEM_INP)
    total = max(1, int(TOTAL * scale))
    depth = cfg.inp_depth
    if name == "load_1k":
        per = max(1, 1024 // eb)
        return _loads(cfg, name, 1, per, per, max(1, total // (per * eb)))
    if name in ("rows_64b", "rows_1elem"):
        row = max(1, 64 // eb) if name == "rows_64b" else 1
        rows = max(1, int(1024 * scale))
        per_load = max(1, min(rows, depth // row))   # one LOAD fits the input buffer
        return _loads(cfg, name, per_load, row, 2 * row, max(1, rows // per_load))
    if name == "store_long":
        ob = cfg.elem_bytes(MEM_OUT)
        elems = min(cfg.out_depth, max(1, total // ob))
        return _stores(cfg, name, elems, max(1, total // (elems * ob)))
    raise VTAError(f"unknown workload '{name}' (choose from {', '.join(WORKLOADS)})")


def variant(cfg, latency, limit):
    return cfg.replace(dram={"latency": latency, "max_outstanding_reads": limit,
                             "max_outstanding_writes": limit})


def peak(cfg):
    return min(float(cfg.dram_bytes_per_cycle), float(cfg.bus_bytes))


def measure(cfg, workloads, latencies, limits, sim="verilator", rtl=True, scale=1.0):
    """[{workload, latency, limit, bytes, tlm_cycles, rtl_cycles}] for every combination."""
    from vta.tlm import run_program
    progs = {w: build(cfg, w, scale) for w in workloads}
    rows = []
    for limit in limits:
        batch = []
        for lat in latencies:
            vcfg = variant(cfg, lat, limit)
            for w in workloads:
                prog, nbytes = progs[w]
                tlm = run_program(prog, vcfg)
                rows.append({"workload": w, "latency": lat, "limit": limit, "bytes": nbytes,
                             "tlm_cycles": tlm.cycles, "rtl_cycles": None})
                batch.append((rows[-1], prog, lat))
        if rtl:
            from vta.cosim.sim import run_many_on_rtl
            res = run_many_on_rtl([p for _, p, _ in batch], variant(cfg, cfg.dram_latency, limit),
                                  sim=sim, mem=[{"latency": lat} for _, _, lat in batch])
            for (row, _, _), r in zip(batch, res):
                if isinstance(r, Exception):
                    raise r
                row["rtl_cycles"] = r.cycles
    return rows


def table(cfg, rows, limits, title):
    pk = peak(cfg)
    t = Table(title=title, caption="cells: bytes/cycle (% of peak); columns: outstanding limit")
    t.add_column("workload")
    t.add_column("lat", justify="right")
    t.add_column("KiB", justify="right")
    t.add_column("model")
    for lim in limits:
        t.add_column(f"limit {lim}", justify="right")
    keys = []
    for r in rows:
        k = (r["workload"], r["latency"])
        if k not in keys:
            keys.append(k)
    by = {(r["workload"], r["latency"], r["limit"]): r for r in rows}
    for w, lat in keys:
        for model in ("rtl", "tlm"):
            cells = []
            for lim in limits:
                r = by.get((w, lat, lim))
                cyc = r and r[f"{model}_cycles"]
                if not cyc:
                    cells.append("-")
                    continue
                bpc = r["bytes"] / cyc
                cells.append(f"{bpc:.2f} ({100 * bpc / pk:4.1f}%)")
            if all(c == "-" for c in cells):
                continue
            t.add_row(w, str(lat), f"{by[(w, lat, limits[0])]['bytes'] / 1024:g}", model.upper(), *cells)
    return t


def _ints(text):
    try:
        vals = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, not {text[:40]!r}") from None
    if not vals or min(vals) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative integers, not {text[:40]!r}")
    return vals


def _workloads(text):
    names = WORKLOADS if text == "all" else tuple(text.split(","))
    bad = [n for n in names if n not in WORKLOADS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown workload {bad[0][:30]!r} (choose from "
                                         f"{', '.join(WORKLOADS)} or all)")
    return names


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="default")
    ap.add_argument("--sim", choices=("icarus", "verilator"), default="verilator")
    ap.add_argument("--latencies", type=_ints, default=[1, 32, 64])
    ap.add_argument("--limits", type=_ints, default=[1, 4, 8, 16],
                    help="dram.max_outstanding_reads = _writes values (1..64)")
    ap.add_argument("--workloads", type=_workloads, default=WORKLOADS,
                    help=f"comma-separated subset of {', '.join(WORKLOADS)} (default all)")
    ap.add_argument("--scale", type=float, default=1.0, help="size factor of every workload")
    ap.add_argument("--tlm-only", action="store_true", help="skip the RTL")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    a = ap.parse_args(argv)
    console = Console(highlight=False, width=max(100, 40 + 16 * len(a.limits)))
    try:
        if not 0 < a.scale <= 16:
            raise VTAError(f"--scale {a.scale} must be in (0, 16]")
        cfg = load_config(a.config)
        limits = [variant(cfg, 1, n).dram_max_outstanding_reads for n in a.limits]  # validated
        t0 = time.perf_counter()
        rows = measure(cfg, a.workloads, a.latencies, limits, a.sim, not a.tlm_only, a.scale)
    except VTAError as e:
        print(f"dram_bw: error: {e}", file=sys.stderr)
        return 2
    wall = time.perf_counter() - t0
    console.print(table(cfg, rows, limits, f"DRAM bandwidth on {cfg.name}: bus {cfg.bus_bytes} B/beat, "
                                           f"peak {peak(cfg):g} B/cycle"
                                           + ("" if a.tlm_only else f"; RTL on {a.sim}")))
    console.print(f"{len(rows)} combinations in {wall:.0f} s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"config": cfg.name, "peak_bytes_per_cycle": peak(cfg), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
