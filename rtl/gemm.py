"""GEMM datapath: BATCH x BLOCK_OUT dot products of BLOCK_IN int elements per cycle.

Pipeline (stage numbers as in compute.py): S2 inp/wgt buffer data -> multipliers ->
product registers (S3) -> per-lane adder trees -> sum registers (S4) -> acc update.

Multiplier mapping: out[b][o] = sum_i inp[b][i] * wgt[o][i], so the products of lanes
o and o+1 share the operand inp[b][i]. When the operands are narrow enough
(inp_bits + 2*wgt_bits + 1 <= 25, e.g. int8 x int8) two products are computed by ONE
multiplier, the way Xilinx packs two int8 MACs into a DSP48 (WP486, adapted to the
DSP48E1's 25x18 multiplier): P = a * (w1 * 2^S + w0) with S = inp_bits + wgt_bits (a 25-bit operand for int8);
the low product is P[S-1:0] (it fits S bits signed) and the high one is
P[2S-1:S] + P[S-1] (undoing the borrow of a negative low product). For the default
config this maps the 256 int8 products to 128 8x25-bit multipliers = 128 DSP48E1
(of 220 on the xc7z020); the adder trees stay in LUT carry chains.
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv, modbv

from .fields import join_lanes, log2, svec


def can_pack(cfg):
    """Whether two products share one 25x18 multiplier (see the module docstring)."""
    shift = cfg.inp_bits + cfg.wgt_bits
    return (cfg.block_out % 2 == 0 and packed_bits(cfg.wgt_bits, shift) <= 25
            and cfg.inp_bits <= 18)


def packed_bits(wgt_bits, shift):
    """Width of the packed operand w1 * 2^shift + w0 (signed): one bit more than
    w1 * 2^shift alone, because w1 = min and w0 < 0 goes below -2^(wgt_bits+shift-1)."""
    return wgt_bits + shift + 1


def sum_bits(cfg):
    """Width of one lane's dot product (signed, exact)."""
    return cfg.inp_bits + cfg.wgt_bits + max(1, log2(cfg.block_in))


@block
def mul_pair(clk, a, w0, w1, p0, p1, shift):
    """p0 = a*w0 and p1 = a*w1 (one cycle later) with one packed multiplier."""
    pw = packed_bits(len(w1), shift)
    packed = svec(pw)
    prod = Signal(intbv(0, min=-(1 << (len(a) + pw - 1)), max=1 << (len(a) + pw - 1)))

    @always_comb
    def pack():
        packed.next = (w1.signed() << shift) + w0.signed()

    @always(clk.posedge)
    def mul():
        prod.next = a.signed() * packed

    @always_comb
    def split():
        p0.next = prod[shift:].signed()
        p1.next = prod[2 * shift:shift].signed() + prod[shift - 1]

    return pack, mul, split


@block
def mul_one(clk, a, w, p):
    """p = a*w, registered."""
    @always(clk.posedge)
    def mul():
        p.next = a.signed() * w.signed()

    return mul


@block
def add2(a, b, s):
    @always_comb
    def add():
        s.next = a + b

    return add


@block
def reg(clk, d, q):
    @always(clk.posedge)
    def r():
        q.next = d

    return r


@block
def adder_tree(clk, leaves, width, q):
    """q = registered sum of the signed ``leaves`` (a binary tree of adders)."""
    insts = []
    level = list(leaves)
    while len(level) > 1:
        nxt = []
        for k in range(0, len(level) - 1, 2):
            s = svec(width)
            insts.append(add2(level[k], level[k + 1], s))
            nxt.append(s)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    insts.append(reg(clk, level[0], q))
    return insts


@block
def gemm_core(cfg, clk, inp_data, wgt_data, sums):
    """inp_data/wgt_data (S2, buffer read data) -> sums (S4): lane (b, o) at bits
    [(b*block_out + o) * sum_bits(cfg), ...), signed."""
    ib, wb, sw = cfg.inp_bits, cfg.wgt_bits, sum_bits(cfg)
    B, I, O = cfg.batch, cfg.block_in, cfg.block_out
    pbits = ib + wb
    inp = [[inp_data((b * I + i + 1) * ib, (b * I + i) * ib) for i in range(I)] for b in range(B)]
    wgt = [[wgt_data((o * I + i + 1) * wb, (o * I + i) * wb) for i in range(I)] for o in range(O)]
    prods = [[[svec(pbits) for _ in range(I)] for _ in range(O)] for _ in range(B)]
    insts = []
    for b in range(B):
        for i in range(I):
            if can_pack(cfg):
                for o in range(0, O, 2):
                    insts.append(mul_pair(clk, inp[b][i], wgt[o][i], wgt[o + 1][i],
                                          prods[b][o][i], prods[b][o + 1][i], pbits))
            else:
                for o in range(O):
                    insts.append(mul_one(clk, inp[b][i], wgt[o][i], prods[b][o][i]))
    lanes = []
    for b in range(B):
        for o in range(O):
            q = svec(sw)
            insts.append(adder_tree(clk, prods[b][o], sw, q))
            lanes.append(q)
    return insts, join_lanes(lanes, sums)


@block
def acc_lane(acc_old, s, acc_new):
    """acc_new = acc_old + s modulo 2^acc_bits (both read as signed)."""
    @always_comb
    def add():
        acc_new.next = acc_old.signed() + s.signed()

    return add


@block
def acc_update(cfg, acc_old, sums, acc_new):
    """Per lane: acc_new = acc_old + sum (int wrap). Reset and truncation to out are
    applied by the writeback (writeback.py)."""
    ab, sw = cfg.acc_bits, sum_bits(cfg)
    n = cfg.batch * cfg.block_out
    outs = [Signal(modbv(0)[ab:]) for _ in range(n)]
    insts = [acc_lane(acc_old((k + 1) * ab, k * ab), sums((k + 1) * sw, k * sw), outs[k])
             for k in range(n)]
    return insts, join_lanes(outs, acc_new)


@block
def gemm_pipe(cfg, clk, s1, is_gemm, inp_r, wgt_r, acc_old, acc_new):
    """The GEMM stages of the compute pipeline (see compute.py): S1 reads inp[src] and
    wgt[wgt] (``s1``: loops.StageOne) of a GEMM instruction, S2-S3 multiply and add,
    S4 acc_new = acc_old + sums (acc_old = acc[dst], read at S3)."""
    sums = Signal(intbv(0)[cfg.batch * cfg.block_out * sum_bits(cfg):])
    dp = gemm_core(cfg, clk, inp_r.data, wgt_r.data, sums)
    upd = acc_update(cfg, acc_old, sums, acc_new)

    @always_comb
    def reads():
        inp_r.re.next = s1.valid and is_gemm
        wgt_r.re.next = s1.valid and is_gemm
        inp_r.addr.next = s1.src_inp
        wgt_r.addr.next = s1.wgt

    return dp, upd, reads
