"""Apache VTA's ALU hardware tests: MIN, MAX, ADD, SHR, vector-scalar (immediate) and
vector-vector, with micro-op compression (one micro-op reused through the loop
factors) or without (one micro-op per accumulator entry).

Program: LOAD UOP; LOAD ACC (A, and B for vector-vector); ALU over A; STORE out; FINISH.
"""
from __future__ import annotations

import numpy as np

from vta.isa import (ALU_ADD, ALU_MAX, ALU_MIN, ALU_SHR, MEM_ACC, MEM_OUT, Alu, Finish,
                     Load, Store)

from vta.isa.semantics import alu_apply, wrap_signed as wrap

from .builder import ProgramBuilder, dtype_for, rand_int

ALU_OPS = {"min": ALU_MIN, "max": ALU_MAX, "add": ALU_ADD, "shr": ALU_SHR}


def alu_program(cfg, op, use_imm, compress=True, *, rows=None, seed=0, name=None):
    """Build the ALU test for ``op`` ("min", "max", "add", "shr")."""
    opc = ALU_OPS[op]
    rng = np.random.default_rng(seed)
    acc_dt = dtype_for(cfg.acc_bits, "accumulator")
    out_dt = dtype_for(cfg.out_bits, "output")
    # Entries processed: as many as fit twice in the acc buffer, at most 256, 4 per row.
    if rows is None:
        rows = max(4, min(256, cfg.acc_depth // 2) // 4 * 4)
    n_out, n_in = 4, rows // 4
    lanes = (rows, cfg.batch, cfg.block_out)
    a = rand_int(rng, cfg.acc_bits, lanes)
    if opc == ALU_SHR:
        imm = int(rng.integers(-(cfg.acc_bits // 2), cfg.acc_bits // 2, endpoint=True))
        b = rand_int(rng, cfg.acc_bits, lanes)  # only the low LOG_ACC_WIDTH bits count
    else:
        imm = int(rand_int(rng, cfg.layout.field("alu", "imm").width, ()))
        b = rand_int(rng, cfg.acc_bits, lanes)
    name = name or f"alu_{op}_{'vs' if use_imm else 'vv'}{'' if compress else '_nouc'}"
    pb = ProgramBuilder(cfg, name)
    src_data = a if use_imm else np.concatenate([a, b])
    acc_seg = pb.segment("acc", src_data.astype(acc_dt), "bias")
    out_seg = pb.segment("out", np.zeros(lanes, out_dt), "output")
    src_off = 0 if use_imm else rows
    if compress:
        start = pb.add_uops([(0, src_off, 0)])
        nu = 1
        loop = dict(iter_out=n_out, iter_in=n_in, dst_factor_out=n_in, dst_factor_in=1,
                    src_factor_out=n_in, src_factor_in=1)
    else:
        start = pb.add_uops([(r, src_off + r, 0) for r in range(rows)])
        nu = rows
        loop = dict(iter_out=1, iter_in=1)
    pb.load_uops(start, nu)
    n_acc = src_data.shape[0]
    pb.emit(Load(memory_type=MEM_ACC, sram_base=0, dram_base=pb.elem(acc_seg), y_size=1,
                 x_size=n_acc, x_stride=n_acc))
    pb.emit(Alu(uop_bgn=start, uop_end=start + nu, alu_opcode=opc, use_imm=use_imm,
                imm=imm if use_imm else 0, push_next=True, **loop))
    pb.emit(Store(memory_type=MEM_OUT, sram_base=0, dram_base=pb.elem(out_seg), y_size=1,
                  x_size=rows, x_stride=rows, pop_prev=True, push_prev=True))
    pb.emit(Finish(pop_next=True))
    res = alu_apply(opc, a, imm if use_imm else b, cfg.acc_bits, cfg.log_acc_width)
    expect = wrap(res, cfg.out_bits).astype(out_dt)
    return pb.build({"out": expect})
