#!/usr/bin/env python3
"""ResNet-18's conv layers C1-C12 (the VTA papers' table) on the TLM, bit-exact against the
numpy reference, with cycles, GEMM-core utilization and the fraction of each layer's ideal
bound.

    python bench/resnet18_layers.py [CONFIG] [--layers C2,C12] [--confirm N] [--json OUT]

ideal = max(MACs / (batch * block_in * block_out), compulsory bytes / DRAM bytes per cycle),
compulsory bytes = input + weights + bias read once (real channel counts) + output written
once, so a schedule cannot score by moving more data. Every layer: batch 1, bias, ReLU,
shift 10, seeded random int8 data. The schedule is the tiling search's best-modeled one;
with --confirm N the N best-modeled schedules run on the TLM and the fewest cycles wins.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from vta.compiler.conv2d import build_conv2d, conv2d_reference, lower
from vta.compiler.resnet18 import LAYERS, REPEATS, layer_data  # noqa: F401  (the bench's table)
from vta.compiler import tiling
from vta.isa import load_config
from vta.tlm import run_program

def ideal_cycles(cfg, x, w, s, p):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = (h + 2 * p - kh) // s + 1, (wd + 2 * p - kw) // s + 1
    macs = n * o * oh * ow * c * kh * kw
    compulsory = x.nbytes + w.nbytes + o * cfg.acc_bits // 8 + n * o * oh * ow * cfg.out_bits // 8
    bpc = min(cfg.dram_bytes_per_cycle or cfg.bus_bytes, cfg.bus_bytes)
    return max(macs / (cfg.batch * cfg.block_in * cfg.block_out), compulsory / bpc), macs


def run_layer(cfg, name, confirm=1):
    x, w, b, s, p = layer_data(name)
    args = (cfg, x, w, b, s, p, 10, True)
    g, how = lower(cfg, x, w, s, p, b)[2::2]
    ranked = tiling.rank(cfg, g)

    def tlm_cycles(sc):
        prog, _, _ = build_conv2d(*args, tiles=sc)
        return run_program(prog).cycles

    sc = ranked[0][1]
    tried = []
    if confirm > 1:
        sc, tried = tiling.confirm(ranked, tlm_cycles, top=confirm)
    modeled = next(c for c, s_ in ranked if s_ == sc).cycles
    t0 = time.perf_counter()
    prog, unpack, rt = build_conv2d(*args, tiles=sc)
    res = run_program(prog)
    host = time.perf_counter() - t0
    y = unpack(res.outputs)
    exact = bool(np.array_equal(y, conv2d_reference(x, w, b, s, p, 10, True)))
    ideal, macs = ideal_cycles(cfg, x, w, s, p)
    st = res.stats
    return {"layer": name, "shape": LAYERS[name], "schedule": str(sc), "lowering": how,
            "bias": "gemm" if rt.bias_fold else "alu",
            "modeled_cycles": round(modeled),
            "cycles": res.cycles, "ideal_cycles": round(ideal), "fraction_of_ideal": ideal / res.cycles,
            "gemm_utilization": st["gemm_utilization"], "macs": macs, "instructions": st["instructions"],
            "dram_bytes_read": st["dram"]["bytes_read"], "dram_bytes_written": st["dram"]["bytes_written"],
            "bit_exact": exact, "host_seconds": host,
            "confirmed": [(str(s_), round(m), c) for s_, m, c in tried]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default="default")
    ap.add_argument("--layers", default=",".join(LAYERS))
    ap.add_argument("--confirm", type=int, default=1, help="run the N best-modeled schedules on the TLM")
    ap.add_argument("--json", help="write the rows as JSON here")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    names = [n.strip().upper() for n in args.layers.split(",") if n.strip()]
    bad = [n for n in names if n not in LAYERS]
    if bad:
        print(f"error: unknown layer(s) {', '.join(bad)}; known: {', '.join(LAYERS)}", file=sys.stderr)
        return 2
    print(f"ResNet-18 conv layers on the TLM, config '{cfg.name}' ({cfg.clock_mhz} MHz), batch 1, "
          f"bias + ReLU + shift 10")
    hdr = (f"{'layer':5} {'H, C->O, k, s':18} {'schedule':44} {'cycles':>10} {'model':>10} {'ideal':>9} "
           f"{'of ideal':>8} {'GEMM util':>9} {'DRAM rd':>10} {'exact':>5} {'host s':>6}")
    print(hdr)
    rows, ok = [], True
    for n in names:
        r = run_layer(cfg, n, args.confirm)
        rows.append(r)
        ok &= r["bit_exact"]
        hw, c, o, k, s = r["shape"]
        print(f"{n:5} {f'{hw}, {c}->{o}, {k}, {s}':18} {r['schedule']:44} {r['cycles']:>10,} "
              f"{r['modeled_cycles']:>10,} {r['ideal_cycles']:>9,} {r['fraction_of_ideal']:>8.3f} "
              f"{r['gemm_utilization']:>9.3f} {r['dram_bytes_read']:>10,} {'yes' if r['bit_exact'] else 'NO':>5} "
              f"{r['host_seconds']:>6.2f}", flush=True)
        if r["lowering"] != "direct":
            print(f"      lowering: {r['lowering']}")
        for sc, m, cyc in r["confirmed"]:
            print(f"      confirmed: {sc:44} model {m:>10,} TLM {cyc:>10,}")
    tot = sum(r["cycles"] for r in rows)
    ideal = sum(r["ideal_cycles"] for r in rows)
    print(f"total {tot:,} cycles = {tot / cfg.clock_mhz / 1e3:.2f} ms at {cfg.clock_mhz} MHz; ideal {ideal:,} "
          f"({ideal / tot:.3f} of ideal); all bit-exact: {'yes' if ok else 'NO'}")
    if {r["layer"] for r in rows} >= {n for n, k in REPEATS.items() if k}:
        net = sum(r["cycles"] * REPEATS[r["layer"]] for r in rows)
        print("ResNet-18's convs with their repeats (C1 + 4 C2 + C4 + C5 + 3 C6 + C7 + C8 + 3 C9 + C10 + C11 "
              f"+ 3 C12): {net:,} cycles = {net / cfg.clock_mhz / 1e3:.2f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": cfg.name, "layers": rows, "cycles": tot, "ideal_cycles": ideal}, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
