"""GEMM programs: Apache VTA's blocked GEMM with virtual threads, and a plain GEMM.

Blocked GEMM (C = A @ W^T [+ bias], out = C truncated): the output is computed in
blocks of bm x bn tiles; for each block the K dimension is walked in k-blocks of bk
tiles. With ``vt`` virtual threads the inp/wgt buffers hold vt regions and the
acc/out buffers vt regions, used round-robin, so the load unit fills region t+1 while
compute multiplies region t, and compute starts the next block while store drains the
previous one. Dependence tokens make the reuse safe:

* load of k-block n (n >= vt) pops g2l (compute released its region); the INP load
  pushes l2g; GEMM n pops l2g and pushes g2l unless no later load reuses the region;
* the last GEMM of an output block pushes g2s; STORE pops it and pushes s2g when a
  later block reuses its acc region (and for the last block, for FINISH);
* the first instruction of block b >= vt (ACC load of the bias, or a reset GEMM)
  pops s2g; FINISH pops the last store's token.
"""
from __future__ import annotations

import numpy as np

from vta.isa import (MEM_ACC, MEM_INP, MEM_OUT, MEM_WGT, ConfigError,
                     Finish, Gemm, Load, Store)
from vta.isa.semantics import wrap_signed as wrap

from .builder import ProgramBuilder, dtype_for, rand_int, tile_acc, tile_inp, tile_wgt


def _fits(cfg, size, block, vt):
    lane = max(cfg.batch, cfg.block_in, cfg.block_out)
    if size % block or block % lane:
        return False
    bm, bk, bn = block // cfg.batch, block // cfg.block_in, block // cfg.block_out
    return (vt * bm * bk <= cfg.inp_depth and vt * bn * bk <= cfg.wgt_depth
            and vt * bm * bn <= cfg.acc_depth and vt * vt * bk + vt <= cfg.uop_depth
            and max(bm, bn) <= cfg.layout.field("gemm", "iter_out").max)


def blocked_shape(cfg, vt=2):
    """(size, block) of the blocked GEMM for a config: 256x256x256 in blocks of
    4*BLOCK elements on the default config; scaled down (16 blocks of GEMM core size
    per side) for small configs and shrunk until the vt buffer regions fit."""
    lane = max(cfg.batch, cfg.block_in, cfg.block_out)
    size = min(256, 16 * lane)
    while size >= lane:
        block = min(size, 4 * lane)
        while block >= lane:
            if _fits(cfg, size, block, vt):
                return size, block
            block //= 2
        size //= 2
    raise ConfigError(f"config '{cfg.name}': its buffers are too small for a blocked GEMM")


def blocked_gemm(cfg, vt=2, *, bias=True, size=None, block=None, seed=0, name=None):
    """Blocked size^3 GEMM with ``vt`` virtual threads; ``bias`` initializes the
    accumulators with an ACC load (else with a reset GEMM)."""
    if size is None or block is None:
        size, block = blocked_shape(cfg, vt)
    if not _fits(cfg, size, block, vt):
        raise ConfigError(f"config '{cfg.name}': a {size}^3 GEMM in blocks of {block} with "
                          f"{vt} virtual threads does not fit its buffers")
    rng = np.random.default_rng(seed)
    inp_dt, wgt_dt = dtype_for(cfg.inp_bits, "input"), dtype_for(cfg.wgt_bits, "weight")
    acc_dt, out_dt = dtype_for(cfg.acc_bits, "accumulator"), dtype_for(cfg.out_bits, "output")
    M = K = N = size
    a = rand_int(rng, cfg.inp_bits, (M, K))
    w = rand_int(rng, cfg.wgt_bits, (N, K))
    c0 = rand_int(rng, cfg.acc_bits, (M, N), -(1 << 20), 1 << 20) if bias else np.zeros((M, N), np.int64)
    c = wrap(c0 + a @ w.T, cfg.acc_bits)
    expect = tile_acc(wrap(c, cfg.out_bits), cfg).astype(out_dt)

    name = name or f"gemm_blocked_vt{vt}"
    pb = ProgramBuilder(cfg, name)
    inp_seg = pb.segment("inp", tile_inp(a, cfg).astype(inp_dt), "input")
    wgt_seg = pb.segment("wgt", tile_wgt(w, cfg).astype(wgt_dt), "weight")
    bias_seg = pb.segment("bias", tile_acc(c0, cfg).astype(acc_dt), "bias") if bias else None
    out_seg = pb.segment("out", np.zeros(expect.shape, out_dt), "output")

    mt, kt, nt = M // cfg.batch, K // cfg.block_in, N // cfg.block_out
    bm, bk, bn = block // cfg.batch, block // cfg.block_in, block // cfg.block_out
    nbm, nbn, nkb = mt // bm, nt // bn, kt // bk
    nacc = vt
    inp_base = [t * bm * bk for t in range(vt)]
    wgt_base = [t * bn * bk for t in range(vt)]
    acc_base = [r * bm * bn for r in range(nacc)]
    # Micro-ops: one set of bk per (thread, acc region), plus a reset uop per region.
    sets = {}
    for t in range(vt):
        for r in range(nacc):
            sets[t, r] = pb.add_uops([(acc_base[r], inp_base[t] + k, wgt_base[t] + k) for k in range(bk)])
    reset_uop = {r: pb.add_uops([(acc_base[r], 0, 0)]) for r in range(nacc)}
    pb.load_uops(0, len(pb.uops))

    tile_loop = dict(iter_out=bm, iter_in=bn, dst_factor_out=bn, dst_factor_in=1)
    n_blocks, total = nbm * nbn, nbm * nbn * nkb
    g = 0
    for b in range(n_blocks):
        i, j = divmod(b, nbn)
        r = b % nacc
        if bias:
            pb.emit(Load(memory_type=MEM_ACC, sram_base=acc_base[r],
                         dram_base=pb.elem(bias_seg, i * bm * nt + j * bn),
                         y_size=bm, x_size=bn, x_stride=nt, pop_next=b >= nacc))
        else:
            u = reset_uop[r]
            pb.emit(Gemm(reset=True, uop_bgn=u, uop_end=u + 1, pop_next=b >= nacc, **tile_loop))
        for kb in range(nkb):
            t = g % vt
            pb.emit(Load(memory_type=MEM_WGT, sram_base=wgt_base[t],
                         dram_base=pb.elem(wgt_seg, j * bn * kt + kb * bk),
                         y_size=bn, x_size=bk, x_stride=kt, pop_next=g >= vt))
            pb.emit(Load(memory_type=MEM_INP, sram_base=inp_base[t],
                         dram_base=pb.elem(inp_seg, i * bm * kt + kb * bk),
                         y_size=bm, x_size=bk, x_stride=kt, push_next=True))
            u = sets[t, r]
            pb.emit(Gemm(uop_bgn=u, uop_end=u + bk, src_factor_out=bk, src_factor_in=0,
                         wgt_factor_out=0, wgt_factor_in=bk, pop_prev=True,
                         push_prev=g + vt < total, push_next=kb == nkb - 1, **tile_loop))
            g += 1
        pb.emit(Store(memory_type=MEM_OUT, sram_base=acc_base[r],
                      dram_base=pb.elem(out_seg, i * bm * nt + j * bn),
                      y_size=bm, x_size=bn, x_stride=nt, pop_prev=True,
                      push_prev=b + nacc < n_blocks or b == n_blocks - 1))
    pb.emit(Finish(pop_next=True))
    return pb.build({"out": expect})


def plain_gemm(cfg, *, tiles=4, seed=0, name="gemm_4x4"):
    """GEMM over tiles x tiles blocks (of GEMM-core size): LOAD INP, LOAD WGT, reset
    GEMM, GEMM, STORE."""
    rng = np.random.default_rng(seed)
    inp_dt, wgt_dt = dtype_for(cfg.inp_bits, "input"), dtype_for(cfg.wgt_bits, "weight")
    out_dt = dtype_for(cfg.out_bits, "output")
    M, K, N = tiles * cfg.batch, tiles * cfg.block_in, tiles * cfg.block_out
    a = rand_int(rng, cfg.inp_bits, (M, K))
    w = rand_int(rng, cfg.wgt_bits, (N, K))
    expect = tile_acc(wrap(wrap(a @ w.T, cfg.acc_bits), cfg.out_bits), cfg).astype(out_dt)
    pb = ProgramBuilder(cfg, name)
    inp_seg = pb.segment("inp", tile_inp(a, cfg).astype(inp_dt), "input")
    wgt_seg = pb.segment("wgt", tile_wgt(w, cfg).astype(wgt_dt), "weight")
    out_seg = pb.segment("out", np.zeros(expect.shape, out_dt), "output")
    gemm_u = pb.add_uops([(0, k, k) for k in range(tiles)])
    reset_u = pb.add_uops([(0, 0, 0)])
    pb.load_uops(0, len(pb.uops))
    loop = dict(iter_out=tiles, iter_in=tiles, dst_factor_out=tiles, dst_factor_in=1)
    pb.emit(Gemm(reset=True, uop_bgn=reset_u, uop_end=reset_u + 1, **loop))
    pb.emit(Load(memory_type=MEM_INP, sram_base=0, dram_base=pb.elem(inp_seg), y_size=tiles,
                 x_size=tiles, x_stride=tiles))
    pb.emit(Load(memory_type=MEM_WGT, sram_base=0, dram_base=pb.elem(wgt_seg), y_size=tiles,
                 x_size=tiles, x_stride=tiles, push_next=True))
    pb.emit(Gemm(uop_bgn=gemm_u, uop_end=gemm_u + tiles, src_factor_out=tiles, src_factor_in=0,
                 wgt_factor_out=0, wgt_factor_in=tiles, pop_prev=True, push_next=True, **loop))
    pb.emit(Store(memory_type=MEM_OUT, sram_base=0, dram_base=pb.elem(out_seg), y_size=tiles,
                  x_size=tiles, x_stride=tiles, pop_prev=True, push_prev=True))
    pb.emit(Finish(pop_next=True))
    return pb.build({"out": expect})
