"""Verilator (and optionally Icarus) simulation speed of vta_top, in clock cycles per second.

Runs a GEMM-heavy and a DRAM-bound program in each mode: ``cocotb`` (the full cocotb harness:
Python AXI RAM model, AXI-Lite host polling done every 50 cycles, so the figure includes the
Python bus models; what `vta-rtl run` and the cross-checks see by default) and ``fast``
(vta.cosim.fastsim: the AXI RAM inside the simulator, Verilator's own main; `--fast`). Both
modes must give the same cycles (checked here too). Two GEMM lengths also give the GEMM issue
rate (cycles per extra micro-op; the target is 1.0). In fast mode "run s" is the whole
simulator process (start-up, DRAM image load, run, dump). "cpu s" is the CPU time of the
simulator process (cocotb mode: with its Python start-up), "cycles/cpu-s" the cycles per CPU
second: the figure to compare on a loaded machine, where wall time mostly measures the load.

    python bench/rtl_speed.py                 # tiny and default on Verilator, both modes
    python bench/rtl_speed.py --sim icarus --configs tiny --modes fast
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from vta.isa import MEM_INP, MEM_OUT, MEM_UOP, MEM_WGT, Finish, Gemm, Load, Program, Segment, Store, Uop
from vta.isa import load_config


def gemm_program(cfg, iter_out, n_uops=16):
    """LOAD uops/inp/wgt, one long GEMM (iter_out x n_uops x n_uops micro-ops), STORE."""
    rng = np.random.default_rng(0)
    n = n_uops
    inp = Segment("inp", 0x10000, rng.integers(-128, 128, (n, cfg.batch, cfg.block_in), dtype=np.int8),
                  "input")
    wgt = Segment("wgt", 0x20000, rng.integers(-128, 128, (n, cfg.block_out, cfg.block_in),
                                               dtype=np.int8), "weight")
    out = Segment("out", 0x80000, np.zeros((n, cfg.batch, cfg.block_out), dtype=np.int8), "output")
    uops = [Uop(dst_idx=i, src_idx=i, wgt_idx=i) for i in range(n)]
    eb = cfg.elem_bytes
    insns = [
        Load(memory_type=MEM_UOP, sram_base=0, dram_base=0x2000 // eb(MEM_UOP), y_size=1, x_size=n,
             x_stride=n),
        Load(memory_type=MEM_INP, sram_base=0, dram_base=inp.base // eb(MEM_INP), y_size=1, x_size=n,
             x_stride=n),
        Load(memory_type=MEM_WGT, sram_base=0, dram_base=wgt.base // eb(MEM_WGT), y_size=1, x_size=n,
             x_stride=n, push_next=True),
        Gemm(reset=True, uop_bgn=0, uop_end=n, iter_out=1, iter_in=1),
        Gemm(uop_bgn=0, uop_end=n, iter_out=iter_out, iter_in=n, pop_prev=True, push_next=True),
        Store(memory_type=MEM_OUT, sram_base=0, dram_base=out.base // eb(MEM_OUT), y_size=1,
              x_size=n, x_stride=n, pop_prev=True, push_prev=True),
        Finish(pop_next=True),
    ]
    return Program(config=cfg, insns=insns, uops=uops, segments=[inp, wgt, out], uop_base=0x2000,
                   name=f"gemm{iter_out}")


def load_program_(cfg, repeat):
    """DRAM-bound: ``repeat`` LOAD INP of 16 rows x 16 elements (a row = one AXI request)."""
    rng = np.random.default_rng(1)
    inp = Segment("inp", 0x10000, rng.integers(-128, 128, (256, cfg.batch, cfg.block_in), dtype=np.int8),
                  "input")
    eb = cfg.elem_bytes(MEM_INP)
    insns = [Load(memory_type=MEM_INP, sram_base=0, dram_base=inp.base // eb, y_size=16, x_size=16,
                  x_stride=16) for _ in range(repeat)]
    insns.append(Finish())
    return Program(config=cfg, insns=insns, segments=[inp], name=f"load{repeat}")


def _cpu(fn, *args, **kw):
    """fn's result and the CPU seconds its child processes (the simulator) used."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = fn(*args, **kw)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return res, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["tiny", "default"])
    ap.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    ap.add_argument("--iter", type=int, default=256, help="iter_out of the long GEMM")
    ap.add_argument("--loads", type=int, default=64, help="LOAD instructions of the DRAM-bound run")
    ap.add_argument("--modes", nargs="+", choices=("cocotb", "fast"), default=["cocotb", "fast"])
    a = ap.parse_args(argv)
    from vta.cosim.sim import run_on_rtl
    print(f"{'config':<8} {'sim':<9} {'mode':<6} {'workload':<10} {'cycles':>9} {'run s':>7} "
          f"{'cycles/s':>10} {'cpu s':>6} {'cycles/cpu-s':>12} {'GEMM cycles/uop':>16}")
    status = 0
    for name in a.configs:
        cfg = load_config(name)
        seen = {}
        for mode in a.modes:
            fast = mode == "fast"
            short = run_on_rtl(gemm_program(cfg, a.iter // 2), sim=a.sim, fast=fast)
            long, cpu_long = _cpu(run_on_rtl, gemm_program(cfg, a.iter), sim=a.sim, fast=fast)
            extra_uops = (a.iter - a.iter // 2) * 16 * 16
            per_uop = (long.cycles - short.cycles) / extra_uops
            mem, cpu_mem = _cpu(run_on_rtl, load_program_(cfg, a.loads), sim=a.sim, fast=fast)
            for label, r, cpu, extra in (("gemm", long, cpu_long, f"{per_uop:16.3f}"),
                                         ("dram-load", mem, cpu_mem, "")):
                print(f"{name:<8} {a.sim:<9} {mode:<6} {label:<10} {r.cycles:>9} "
                      f"{r.run_seconds:>7.2f} {r.cycles_per_second:>10.0f} {cpu:>6.2f} "
                      f"{r.sim_cycles / cpu if cpu else 0:>12.0f} {extra}", flush=True)
                if seen.setdefault(label, r.cycles) != r.cycles:
                    print(f"  MISMATCH: {label} takes {r.cycles} cycles in {mode} mode, "
                          f"{seen[label]} in {a.modes[0]} mode")
                    status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
