"""GEMM datapath: BATCH x BLOCK_OUT dot products of BLOCK_IN int elements per cycle.

Pipeline (stage numbers as in compute.py; one register between stages, so that no cycle
holds more than one slow element: a block-RAM read, a multiplier or two adder levels):
  S2 inp/wgt buffer read data -> operand registers
  S3 pack two weights for one multiplier -> multiplier input registers
  S4 multiply -> product registers (the multiplier's output register)
  S5 split the packed products, first half of the adder tree -> registers
  S6 second half of the adder tree -> sum registers; acc[dst] arrives from the buffer
  S7 acc_new = acc_old + sum -> write-back
Xilinx DSP48E1/E2 absorb the S3 and S4 registers (AREG/BREG, PREG). Yosys does not pack
registers into the Lattice ECP5's MULT18X18D, so for an ECP5 part the export instantiates
the MULT18X18D with its own input and output registers (mul_one_ecp5): fabric flip-flops
the placer can put far from the multiplier cost a cycle's worth of routing.

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
    """Whether two products share one 25x18 multiplier (see the module docstring). Not on
    a Lattice ECP5 (``fpga.part`` LFE5*, as ``vta-fpga pnr`` sets it): its MULT18X18D is
    18x18, so a 25-bit packed operand takes two of them and an adder, where two products
    take two multipliers and no adder."""
    shift = cfg.inp_bits + cfg.wgt_bits
    return (cfg.block_out % 2 == 0 and packed_bits(cfg.wgt_bits, shift) <= 25
            and cfg.inp_bits <= 18 and not is_ecp5(cfg))


def is_ecp5(cfg):
    """Whether the config's ``fpga.part`` is a Lattice ECP5 (LFE5*)."""
    return (cfg.fpga_part or "").upper().startswith("LFE5")


def uses_mult18x18d(cfg):
    """Whether mul_one becomes an instantiated MULT18X18D (mul_one_ecp5): an ECP5 part and
    operands narrower than its 18-bit ports (they are sign-extended into them)."""
    return is_ecp5(cfg) and max(cfg.inp_bits, cfg.wgt_bits) < 18


def packed_bits(wgt_bits, shift):
    """Width of the packed operand w1 * 2^shift + w0 (signed): one bit more than
    w1 * 2^shift alone, because w1 = min and w0 < 0 goes below -2^(wgt_bits+shift-1)."""
    return wgt_bits + shift + 1


CORE_LATENCY = 5        # gemm_core: clock edges from inp/wgt data (S2) to sums (S6)
WB_STAGE = 2 + CORE_LATENCY          # S7: acc_new = acc_old + sums is written back
ACC_READ_STAGE = WB_STAGE - 2        # acc[dst] read issued at S5, registered at S6


def sum_bits(cfg):
    """Width of one lane's dot product (signed, exact)."""
    return cfg.inp_bits + cfg.wgt_bits + max(1, log2(cfg.block_in))


@block
def mul_pair(clk, a, w0, w1, p0, p1, shift):
    """p0 = a*w0 and p1 = a*w1 two cycles later with one packed multiplier: S3 packs into
    the multiplier's input registers, S4 multiplies into its output register, p0/p1 are
    split from that register (combinational, S5)."""
    pw = packed_bits(len(w1), shift)
    packed, packed_q, a_q = svec(pw), svec(pw), svec(len(a))
    prod = Signal(intbv(0, min=-(1 << (len(a) + pw - 1)), max=1 << (len(a) + pw - 1)))

    @always_comb
    def pack():
        packed.next = (w1.signed() << shift) + w0.signed()

    @always(clk.posedge)
    def mul():
        a_q.next = a.signed()
        packed_q.next = packed
        prod.next = a_q * packed_q

    @always_comb
    def split():
        p0.next = prod[shift:].signed()
        p1.next = prod[2 * shift:shift].signed() + prod[shift - 1]

    return pack, mul, split


@block
def mul_one(clk, a, w, p):
    """p = a*w two cycles later: input registers (S3), output register (S4)."""
    a_q, w_q = svec(len(a)), svec(len(w))

    @always(clk.posedge)
    def mul():
        a_q.next = a.signed()
        w_q.next = w.signed()
        p.next = a_q * w_q

    return mul


def _mult18x18d_verilog():
    """MyHDL user-defined Verilog of mul_one_ecp5: a and w sign-extended to the 18-bit A and
    B ports, input registers (REG_INPUTA/B_CLK) and output register (REG_OUTPUT_CLK) on
    CLK0, always enabled, never reset; p = the low bits of P. ``$name``s are filled in by
    the converter (signal names, and the widths mul_one_ecp5 computes)."""
    bits = lambda port, wire, n: ", ".join(f".{port}{i}(${{p}}_{wire}[{i}])" for i in range(n))
    zeros = ", ".join(f".C{i}(1'b0)" for i in range(18))
    return f"""wire [17:0] ${{p}}_a18 = {{{{$a_ext{{$a[$a_msb]}}}}, $a}};
wire [17:0] ${{p}}_b18 = {{{{$w_ext{{$w[$w_msb]}}}}, $w}};
wire [35:0] ${{p}}_p36;
MULT18X18D #(.REG_INPUTA_CLK("CLK0"), .REG_INPUTB_CLK("CLK0"), .REG_OUTPUT_CLK("CLK0"),
             .REG_INPUTA_CE("CE0"), .REG_INPUTB_CE("CE0"), .REG_OUTPUT_CE("CE0"),
             .REG_INPUTA_RST("RST0"), .REG_INPUTB_RST("RST0"), .REG_OUTPUT_RST("RST0"),
             .RESETMODE("SYNC"), .GSR("DISABLED")) ${{p}}_mult (
    {bits("A", "a18", 18)},
    {bits("B", "b18", 18)},
    {zeros},
    .SIGNEDA(1'b1), .SIGNEDB(1'b1), .SOURCEA(1'b0), .SOURCEB(1'b0),
    .CLK0($clk), .CE0(1'b1), .RST0(1'b0),
    {bits("P", "p36", 36)}
);
assign $p = ${{p}}_p36[$p_msb:0];"""


@block
def mul_one_ecp5(clk, a, w, p):
    """mul_one on a Lattice ECP5: the same two cycles, as one MULT18X18D with its input and
    output registers (the converter writes _mult18x18d_verilog; simulation in MyHDL runs
    mul_one's model, in Icarus/Verilator cosim/hdl/mult18x18d_sim.v)."""
    # widths for the Verilog template, which reads this function's locals
    a_ext, a_msb, w_ext, w_msb, p_msb = 18 - len(a), len(a) - 1, 18 - len(w), len(w) - 1, len(p) - 1  # noqa: F841
    clk.read = True
    a.read = True
    w.read = True
    p.driven = "wire"
    return mul_one(clk, a, w, p)


mul_one_ecp5.verilog_code = _mult18x18d_verilog()


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
def regs(clk, ds, qs):
    """qs[k] = ds[k], registered (a row of registers cutting a tree level)."""
    insts = []
    for d, q in zip(ds, qs):
        insts.append(reg(clk, d, q))
    return insts


@block
def adder_tree(clk, leaves, width, q):
    """q = the sum of the signed ``leaves`` two cycles later: a binary tree of adders cut
    by a register row after half of its levels (the first half follows the packed
    products' split, so it gets the smaller share when they differ), and the sum register."""
    insts = []
    level = list(leaves)
    cut = (len(level) - 1).bit_length() // 2     # levels before the register row
    depth = 0
    while True:
        if depth == cut:
            cut_q = [svec(width) for _ in level]
            insts.append(regs(clk, level, cut_q))
            level = cut_q
        if len(level) == 1:
            break
        nxt = []
        for k in range(0, len(level) - 1, 2):
            s = svec(width)
            insts.append(add2(level[k], level[k + 1], s))
            nxt.append(s)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        depth += 1
    insts.append(reg(clk, level[0], q))
    return insts


@block
def gemm_core(cfg, clk, inp_data, wgt_data, sums):
    """inp_data/wgt_data (S2, buffer read data) -> sums (S6, CORE_LATENCY edges later):
    lane (b, o) at bits [(b*block_out + o) * sum_bits(cfg), ...), signed."""
    ib, wb, sw = cfg.inp_bits, cfg.wgt_bits, sum_bits(cfg)
    B, I, O = cfg.batch, cfg.block_in, cfg.block_out
    pbits = ib + wb
    # operand registers: the block RAM's clock-to-out is the whole of S2
    inp_q, wgt_q = Signal(intbv(0)[len(inp_data):]), Signal(intbv(0)[len(wgt_data):])
    insts = [reg(clk, inp_data, inp_q), reg(clk, wgt_data, wgt_q)]
    inp = [[inp_q((b * I + i + 1) * ib, (b * I + i) * ib) for i in range(I)] for b in range(B)]
    wgt = [[wgt_q((o * I + i + 1) * wb, (o * I + i) * wb) for i in range(I)] for o in range(O)]
    prods = [[[svec(pbits) for _ in range(I)] for _ in range(O)] for _ in range(B)]
    for b in range(B):
        for i in range(I):
            if can_pack(cfg):
                for o in range(0, O, 2):
                    insts.append(mul_pair(clk, inp[b][i], wgt[o][i], wgt[o + 1][i],
                                          prods[b][o][i], prods[b][o + 1][i], pbits))
            else:
                mul = mul_one_ecp5 if uses_mult18x18d(cfg) else mul_one
                for o in range(O):
                    insts.append(mul(clk, inp[b][i], wgt[o][i], prods[b][o][i]))
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
    wgt[wgt] (``s1``: loops.StageOne) of a GEMM instruction, S2-S6 multiply and add,
    S7 acc_new = acc_old + sums (acc_old = acc[dst], read at ACC_READ_STAGE and
    registered, with the write-back of S6 forwarded: writeback.acc_operand)."""
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
