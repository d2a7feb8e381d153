"""Random, token-correct VTA programs for the RTL core tests (built with vta.isa objects).

Each program has ``phases``; a phase loads micro-ops, a bias tile (ACC, padded), an
input tile (INP, padded) and weights, runs an init ALU pass over the bias tile (so
every out entry it stores is written), a few GEMMs and ALU ops with random loop
nests, and stores the out tile. Half of the phases end with an ALU SHR by 0/8/16/24
over the tile (the stored out exposes that byte of every accumulator); the others run
the ALU ops first and end with the GEMMs, among them a reset GEMM hitting one dst on
consecutive micro-ops, so the store sees GEMM's out write-back and its reset rule.
Tokens: load -> compute (l2g) before the GEMMs,
compute -> load (g2l) to let the next phase's loads reuse the buffers, compute ->
store (g2s) before the store, store -> compute (s2g) before the next phase's compute
and before FINISH.
"""
from __future__ import annotations

import numpy as np

from vta.isa import (ALU_ADD, ALU_MAX, ALU_MIN, ALU_SHR, MEM_ACC, MEM_INP, MEM_OUT, MEM_UOP,
                     MEM_WGT, Alu, Finish, Gemm, Load, Program, Segment, Store, Uop)

INSN_BASE, UOP_BASE, DATA_BASE = 0x1000, 0x4000, 0x10000


def _factors(rng, io, ii, n, maxf=2):
    """(f_out, f_in, idx_limit): loop factors keeping idx + i*f_out + j*f_in < n."""
    fo, fi = int(rng.integers(0, maxf + 1)), int(rng.integers(0, maxf + 1))
    while (io - 1) * fo + (ii - 1) * fi >= n:
        fo, fi = fo // 2, fi // 2
    return fo, fi, n - ((io - 1) * fo + (ii - 1) * fi)


def _int8(rng, shape):
    """int8 data, half of it drawn from the extremes (where packed products overflow)."""
    x = rng.integers(-128, 128, size=shape)
    edge = rng.choice(np.array([-128, -127, -1, 0, 1, 126, 127]), size=shape)
    return np.where(rng.integers(0, 2, size=shape) == 1, edge, x).astype(np.int8)


def random_program(cfg, rng, phases=1, name="random"):
    B, I, O = cfg.batch, cfg.block_in, cfg.block_out
    insns, uops, segs = [], [], []
    base = DATA_BASE
    g2l_pending = False   # a g2l token from the previous phase's compute
    s2g_pending = False

    def seg(name, data, role, mem_type):
        nonlocal base
        align = max(cfg.elem_bytes(mem_type), 64)
        base = (base + align - 1) // align * align
        s = Segment(name, base, data, role)
        base += data.nbytes + 64
        segs.append(s)
        return s

    expect_out = []
    for p in range(phases):
        # tile shapes (entries), with padding
        ai_y, ai_x = int(rng.integers(1, 4)), int(rng.integers(1, 5))
        ap = [int(rng.integers(0, 2)) for _ in range(4)]
        acc_rows, acc_cols = ai_y + ap[0] + ap[1], ai_x + ap[2] + ap[3]
        n_acc = acc_rows * acc_cols
        in_y, in_x = int(rng.integers(1, 4)), int(rng.integers(1, 5))
        ip = [int(rng.integers(0, 3)) for _ in range(4)]
        n_inp = (in_y + ip[0] + ip[1]) * (in_x + ip[2] + ip[3])
        w_y, w_x = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        n_wgt = w_y * w_x
        wgt_stride = w_x + int(rng.integers(0, 2))
        acc_stride = ai_x + int(rng.integers(0, 3))
        inp_stride = in_x + int(rng.integers(0, 3))
        bias = rng.integers(-2**31, 2**31, size=(ai_y * acc_stride, B, O), dtype=np.int64).astype(np.int32)
        inp = _int8(rng, (in_y * inp_stride, B, I))
        wgt = _int8(rng, (w_y * wgt_stride, O, I))
        s_bias = seg(f"bias{p}", bias, "bias", MEM_ACC)
        s_inp = seg(f"inp{p}", inp, "input", MEM_INP)
        s_wgt = seg(f"wgt{p}", wgt, "weight", MEM_WGT)

        # micro-ops of this phase
        u0 = len(uops)
        code = []  # compute instructions after the loads
        # init pass: ALU MAX with the smallest immediate over every acc entry
        uops.append(Uop(0, 0, 0))
        code.append(Alu(uop_bgn=u0, uop_end=u0 + 1, iter_out=1, iter_in=n_acc, dst_factor_in=1,
                        alu_opcode=ALU_MAX, use_imm=True, imm=-32768))
        direct = bool(rng.integers(0, 2))   # store GEMM results directly (no SHR pass)
        gemms, alus = [], []
        for _ in range(int(rng.integers(1, 4))):
            io, ii = int(rng.integers(1, 4)), int(rng.integers(1, 4))
            fo, fi, lim = _factors(rng, io, ii, n_acc)
            so, si, slim = _factors(rng, io, ii, n_inp)
            wo, wi, wlim = _factors(rng, io, ii, n_wgt, 1)
            k = int(rng.integers(1, 5))
            ub = len(uops)
            for _ in range(k):
                uops.append(Uop(int(rng.integers(0, lim)), int(rng.integers(0, slim)),
                                int(rng.integers(0, wlim))))
            gemms.append(Gemm(reset=bool(rng.integers(0, 6) == 0), uop_bgn=ub, uop_end=ub + k,
                              iter_out=io, iter_in=ii, dst_factor_out=fo, dst_factor_in=fi,
                              src_factor_out=so, src_factor_in=si, wgt_factor_out=wo, wgt_factor_in=wi))
        if direct:
            # one micro-op, inner loop on the same dst: every execution after the first
            # must see acc[dst] = 0 (the reset of the one before, through the read bypass)
            io, ii = int(rng.integers(1, 3)), int(rng.integers(2, 5))
            fo, _, lim = _factors(rng, io, 1, n_acc)
            so, si, slim = _factors(rng, io, ii, n_inp)
            wo, wi, wlim = _factors(rng, io, ii, n_wgt, 1)
            uops.append(Uop(int(rng.integers(0, lim)), int(rng.integers(0, slim)),
                            int(rng.integers(0, wlim))))
            gemms.insert(int(rng.integers(0, len(gemms) + 1)),
                         Gemm(reset=True, uop_bgn=len(uops) - 1, uop_end=len(uops), iter_out=io, iter_in=ii,
                              dst_factor_out=fo, dst_factor_in=0, src_factor_out=so, src_factor_in=si,
                              wgt_factor_out=wo, wgt_factor_in=wi))
        for _ in range(int(rng.integers(1, 5))):
            io, ii = int(rng.integers(1, 4)), int(rng.integers(1, 4))
            fo, fi, lim = _factors(rng, io, ii, n_acc)
            so, si, slim = _factors(rng, io, ii, n_acc)
            k = int(rng.integers(1, 4))
            ub = len(uops)
            for _ in range(k):
                uops.append(Uop(int(rng.integers(0, lim)), int(rng.integers(0, slim)), 0))
            op = int(rng.choice([ALU_MIN, ALU_MAX, ALU_ADD, ALU_SHR]))
            use_imm = bool(rng.integers(0, 2))
            imm = int(rng.integers(-40, 40)) if op == ALU_SHR else int(rng.integers(-2**15, 2**15))
            alus.append(Alu(uop_bgn=ub, uop_end=ub + k, iter_out=io, iter_in=ii,
                            dst_factor_out=fo, dst_factor_in=fi, src_factor_out=so, src_factor_in=si,
                            alu_opcode=op, use_imm=use_imm, imm=imm))
        if direct:
            code += alus + gemms
        else:
            code += gemms + alus
            # expose a random byte of every accumulator (bits above out_bits included)
            uops.append(Uop(0, 0, 0))
            code.append(Alu(uop_bgn=len(uops) - 1, uop_end=len(uops), iter_out=1, iter_in=n_acc,
                            dst_factor_in=1, alu_opcode=ALU_SHR, use_imm=True,
                            imm=int(rng.choice([0, 8, 16, 24]))))
        n_uop = len(uops) - u0

        # loads: INP (pops g2l of the previous phase), WGT (pushes l2g)
        insns.append(Load(memory_type=MEM_INP, pop_next=g2l_pending, sram_base=0,
                          dram_base=s_inp.base // cfg.inp_bytes, y_size=in_y, x_size=in_x,
                          x_stride=inp_stride, y_pad_0=ip[0], y_pad_1=ip[1], x_pad_0=ip[2], x_pad_1=ip[3]))
        insns.append(Load(memory_type=MEM_WGT, push_next=True, sram_base=0,
                          dram_base=s_wgt.base // cfg.wgt_bytes, y_size=w_y, x_size=w_x, x_stride=wgt_stride))
        # compute: uop + acc loads (the first compute instruction waits for the previous store)
        insns.append(Load(memory_type=MEM_UOP, pop_next=s2g_pending, sram_base=u0,
                          dram_base=UOP_BASE // 4 + u0, y_size=1, x_size=n_uop, x_stride=n_uop))
        insns.append(Load(memory_type=MEM_ACC, sram_base=0, dram_base=s_bias.base // cfg.acc_bytes,
                          y_size=ai_y, x_size=ai_x, x_stride=acc_stride,
                          y_pad_0=ap[0], y_pad_1=ap[1], x_pad_0=ap[2], x_pad_1=ap[3]))
        first_gemm = next(n for n, c in enumerate(code) if isinstance(c, Gemm))
        code[first_gemm] = code[first_gemm].replace(pop_prev=True)
        last = p < phases - 1
        # the last GEMM releases the inp/wgt buffers for the next phase's loads
        last_gemm = max(n for n, c in enumerate(code) if isinstance(c, Gemm))
        code[last_gemm] = code[last_gemm].replace(push_prev=last)
        code[-1] = code[-1].replace(push_next=True)
        insns += code
        # store the whole acc tile's out entries
        out = np.zeros((acc_rows * (acc_cols + 1), B, O), np.int8)
        s_out = seg(f"out{p}", out, "output", MEM_OUT)
        insns.append(Store(memory_type=MEM_OUT, pop_prev=True, push_prev=True, sram_base=0,
                           dram_base=s_out.base // cfg.out_bytes, y_size=acc_rows, x_size=acc_cols,
                           x_stride=acc_cols + 1))
        expect_out.append(s_out.name)
        g2l_pending, s2g_pending = last, True
    insns.append(Finish(pop_next=True))
    prog = Program(config=cfg, insns=insns, uops=uops, segments=segs, insn_base=INSN_BASE,
                   uop_base=UOP_BASE, name=name)
    return prog.validate(), expect_out
