#!/usr/bin/env python3
"""ResNet-18 end to end on VTA: the generated ONNX model (ImageNet topology, 224x224, seeded
random weights; vta.compiler.zoo) imported, quantized to power-of-two scales from seeded
random calibration images, run layer by layer on the TLM (or the RTL) and compared with the
numpy int8 reference.

    python bench/resnet18_net.py [CONFIG] [--backend tlm|rtl] [--calib N] [--seed S] [--json OUT]

Prints the per-layer table (where each layer ran, cycles, GEMM utilization, fraction of the
roofline bound when the TLM reports one, DRAM bytes, zeros and saturated fractions of the int8
output), the total cycles and latency at the config clock next to Apache VTA's figures, and
the host time of the timed run (import + quantization excluded, printed separately).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from vta.compiler.cli import _console, _executor, layer_table, prepare
from vta.compiler.graph import run_reference, run_vta
from vta.compiler.quantize import quantize_input
from vta.compiler.zoo import resnet18_path
from vta.isa import load_config

CACHE = Path(__file__).resolve().parents[1] / "build" / "models"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default="default")
    ap.add_argument("--backend", choices=("tlm", "rtl"), default="tlm")
    ap.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    ap.add_argument("--calib", type=int, default=2, help="calibration images (default 2)")
    ap.add_argument("--seed", type=int, default=0, help="weights seed (default 0)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    cfg = load_config(a.config)
    t0 = time.perf_counter()
    model = resnet18_path(CACHE, a.seed)
    rng = np.random.default_rng(1)
    calib = rng.normal(0, 1, (a.calib, 3, 224, 224)).astype(np.float32)
    g = prepare(model, calib, cfg)
    x = quantize_input(g, calib[:1], cfg.inp_bits)
    t1, c1 = time.perf_counter(), time.process_time()
    run = run_vta(g, x, cfg, _executor(a, cfg))
    t2, c2 = time.perf_counter(), time.process_time()
    ref = run_reference(g, x, acc_bits=cfg.acc_bits, out_bits=cfg.out_bits)
    same = np.array_equal(ref, run.output)
    con = _console()
    con.print(layer_table(f"ResNet-18 (seed {a.seed}) on {cfg.name} ({a.backend}), batch 1", run.layers))
    tot = run.totals()
    host_ops = sorted({r["op"] for r in run.layers if r["where"] == "host"})
    con.print(f"VTA ran {tot['vta_layers']} of {len(run.layers)} layers: {tot['cycles']:,} cycles = "
              f"{tot['cycles'] / (cfg.clock_mhz * 1e6):.4f} s at {cfg.clock_mhz:g} MHz "
              f"(Apache VTA: about 31 M cycles on its cycle-accurate simulator; 0.42-0.43 s on PYNQ with "
              f"C1, pooling and FC on the ARM); GEMM utilization {100 * tot['gemm_utilization']:.1f}%; "
              f"{tot['instructions']:,} instructions; host: {', '.join(host_ops)}")
    con.print(f"logits identical to the numpy int8 reference: {'yes' if same else 'NO'}; "
              f"{len(np.unique(run.output))} distinct logit values; max zeros "
              f"{100 * max(r['zeros'] for r in run.layers):.1f}%, max saturated "
              f"{100 * max(r['saturated'] for r in run.layers):.2f}%")
    # on a shared machine wall time includes waiting for a core: CPU time is shown too
    con.print(f"host time: timed run {t2 - t1:.2f} s wall, {c2 - c1:.2f} s CPU "
              f"(model generation/import/quantization {t1 - t0:.2f} s wall)")
    if a.json:
        a.json.write_text(json.dumps(dict(totals=tot, layers=run.layers, identical=same,
                                          host_seconds=t2 - t1, host_cpu_seconds=c2 - c1), indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
