"""ALU datapath: one operation on BATCH x BLOCK_OUT accumulator lanes, combinational.

Per lane (as vta.isa.semantics.alu_apply): a = acc[dst], b = imm (sign-extended) or
acc[src]; MIN/MAX signed; ADD wraps modulo 2^acc_bits; SHR shifts by the low LOG_ACC_WIDTH
bits of b read as signed: arithmetic right for n >= 0, left by -n for n < 0. MUL (reserved, not
executed by the HLS design) and the unused opcodes leave the accumulator unchanged
(the result is a); the assembler and the TLM reject them.
"""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv, modbv

from vta.isa import ALU_ADD, ALU_MAX, ALU_MIN, ALU_SHR

from .fields import join_lanes, svec


@block
def alu_lane(cfg, op, a, b, b_low, r):
    """One lane; b_low is the low LOG_ACC_WIDTH bits of b (the shift amount)."""
    w, lw = cfg.acc_bits, cfg.log_acc_width
    a_s, b_s = svec(w), svec(w)
    n = svec(lw)                           # shift amount
    ls = Signal(intbv(0)[lw + 1:])         # left shift amount (-n when n < 0)

    @always_comb
    def cast():
        a_s.next = a.signed()
        b_s.next = b.signed()
        n.next = b_low.signed()

    @always_comb
    def neg():
        if n < 0:
            ls.next = -n
        else:
            ls.next = 0

    @always_comb
    def lane():
        if op == ALU_MIN:
            if a_s < b_s:
                r.next = a
            else:
                r.next = b
        elif op == ALU_MAX:
            if a_s > b_s:
                r.next = a
            else:
                r.next = b
        elif op == ALU_ADD:
            r.next = a_s + b_s
        elif op == ALU_SHR:
            if n < 0:
                r.next = a_s << ls
            else:
                r.next = a_s >> n
        else:
            r.next = a

    return cast, neg, lane


@block
def alu_core(cfg, op, a, b, res):
    """res = op(a, b) lane by lane; a, b, res are acc-buffer words."""
    w = cfg.acc_bits
    n = cfg.batch * cfg.block_out
    outs = [Signal(modbv(0)[w:]) for _ in range(n)]
    lw = cfg.log_acc_width
    insts = [alu_lane(cfg, op, a((k + 1) * w, k * w), b((k + 1) * w, k * w), b(k * w + lw, k * w), outs[k])
             for k in range(n)]
    return insts, join_lanes(outs, res)


@block
def alu_pipe(cfg, clk, latch, op, use_imm, imm, src, a, res):
    """The ALU stages of the compute pipeline (see compute.py): when ``latch`` (S2) the
    operand b = the immediate (sign-extended to every lane) or ``src`` (acc[src], read at
    S1, with the write-back of S2 forwarded); at S4 res = alu(op, a, b), combinational,
    ``a`` = acc[dst] (read at S2, registered at S3: writeback.acc_operand)."""
    ab = cfg.acc_bits
    lanes = cfg.batch * cfg.block_out
    b = Signal(intbv(0)[ab * lanes:])
    imm_ext = Signal(modbv(0)[ab:])
    imm_vec = ConcatSignal(*([imm_ext] * lanes)) if lanes > 1 else imm_ext
    dp = alu_core(cfg, op, a, b, res)

    @always_comb
    def extend():
        imm_ext.next = imm.signed()

    @always(clk.posedge)
    def operand():
        if latch:
            if use_imm:
                b.next = imm_vec
            else:
                b.next = src

    return dp, extend, operand
