"""Padded 2-D load test: an INP load and an ACC load of a strided window with zero
padding on all four sides, made visible in the output buffer.

The INP block goes through GEMM with an identity weight tile (out = inp); the ACC
block through ALU ADD with immediate 0 (out = low bits of acc). Both land in one
output segment: the INP block's entries, then the ACC block's.
"""
from __future__ import annotations

import numpy as np

from vta.isa import ALU_ADD, MEM_ACC, MEM_INP, MEM_OUT, MEM_WGT, Alu, Finish, Gemm, Load, Store

from vta.isa.semantics import wrap_signed as wrap

from .builder import ProgramBuilder, dtype_for, rand_int

PADS = (1, 2, 1, 3)  # y_pad_0, y_pad_1, x_pad_0, x_pad_1


def padded_load_program(cfg, *, grid=(6, 10), window=(2, 3, 3, 4), pads=PADS, seed=0,
                        name="load_pad"):
    """``grid`` = DRAM matrix in tiles (rows, cols); ``window`` = (row0, col0, y_size,
    x_size) of the loaded part; ``pads`` = (y_pad_0, y_pad_1, x_pad_0, x_pad_1)."""
    rng = np.random.default_rng(seed)
    inp_dt, wgt_dt = dtype_for(cfg.inp_bits, "input"), dtype_for(cfg.wgt_bits, "weight")
    acc_dt, out_dt = dtype_for(cfg.acc_bits, "accumulator"), dtype_for(cfg.out_bits, "output")
    rows, cols = grid
    r0, c0, ys, xs = window
    yp0, yp1, xp0, xp1 = pads
    ph, pw = yp0 + ys + yp1, xp0 + xs + xp1
    e = ph * pw  # entries of one padded block
    b, bi, bo = cfg.batch, cfg.block_in, cfg.block_out
    inp = rand_int(rng, cfg.inp_bits, (rows, cols, b, bi))
    acc = rand_int(rng, cfg.acc_bits, (rows, cols, b, bo))
    ident = (np.arange(bo)[:, None] == np.arange(bi)[None, :]).astype(np.int64)

    # Expected: the padded windows, in plain numpy.
    p_inp = np.zeros((ph, pw, b, bi), np.int64)
    p_inp[yp0:yp0 + ys, xp0:xp0 + xs] = inp[r0:r0 + ys, c0:c0 + xs]
    p_acc = np.zeros((ph, pw, b, bo), np.int64)
    p_acc[yp0:yp0 + ys, xp0:xp0 + xs] = acc[r0:r0 + ys, c0:c0 + xs]
    gemm_out = np.einsum("ebi,oi->ebo", p_inp.reshape(e, b, bi), ident)
    expect = wrap(np.concatenate([gemm_out, p_acc.reshape(e, b, bo)]), cfg.out_bits).astype(out_dt)

    pb = ProgramBuilder(cfg, name)
    inp_seg = pb.segment("inp", inp.astype(inp_dt), "input")
    wgt_seg = pb.segment("wgt", ident.reshape(1, bo, bi).astype(wgt_dt), "weight")
    acc_seg = pb.segment("acc", acc.astype(acc_dt), "bias")
    out_seg = pb.segment("out", np.zeros(expect.shape, out_dt), "output")
    u_gemm = pb.add_uops([(0, 0, 0)])
    u_alu = pb.add_uops([(e, e, 0)])
    pb.load_uops(0, len(pb.uops))
    pad = dict(y_pad_0=yp0, y_pad_1=yp1, x_pad_0=xp0, x_pad_1=xp1)
    pb.emit(Load(memory_type=MEM_WGT, sram_base=0, dram_base=pb.elem(wgt_seg), y_size=1,
                 x_size=1, x_stride=1))
    pb.emit(Load(memory_type=MEM_INP, sram_base=0, dram_base=pb.elem(inp_seg, r0 * cols + c0),
                 y_size=ys, x_size=xs, x_stride=cols, push_next=True, **pad))
    flat = dict(iter_out=e, iter_in=1, dst_factor_out=1, dst_factor_in=0)
    pb.emit(Gemm(reset=True, uop_bgn=u_gemm, uop_end=u_gemm + 1, **flat))
    pb.emit(Gemm(uop_bgn=u_gemm, uop_end=u_gemm + 1, src_factor_out=1, pop_prev=True, **flat))
    pb.emit(Load(memory_type=MEM_ACC, sram_base=e, dram_base=pb.elem(acc_seg, r0 * cols + c0),
                 y_size=ys, x_size=xs, x_stride=cols, **pad))
    pb.emit(Alu(uop_bgn=u_alu, uop_end=u_alu + 1, alu_opcode=ALU_ADD, use_imm=True, imm=0,
                src_factor_out=1, push_next=True, **flat))
    pb.emit(Store(memory_type=MEM_OUT, sram_base=0, dram_base=pb.elem(out_seg), y_size=1,
                  x_size=2 * e, x_stride=2 * e, pop_prev=True, push_prev=True))
    pb.emit(Finish(pop_next=True))
    return pb.build({"out": expect})
