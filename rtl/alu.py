"""ALU datapath: one operation on BATCH x BLOCK_OUT accumulator lanes (``alu_core``,
combinational) and the compute pipeline's two ALU stages (``alu_pipe``).

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
def shift_amount(cfg, b_low, left, mag):
    """SHR's shift from the low LOG_ACC_WIDTH bits of b read as signed (n): ``left`` = n < 0,
    ``mag`` = n when n >= 0 and ~n = -n - 1 when n < 0 (lane_parts shifts left by one more):
    an inversion, not a negation, so no carry chain sits in front of b's registers."""
    lw = cfg.log_acc_width
    ones = (1 << lw) - 1
    n = Signal(intbv(0)[lw:])   # n's bits (its sign is the top one)

    @always_comb
    def cast():
        n.next = b_low

    @always_comb
    def split():
        left.next = n[lw - 1]
        if n[lw - 1]:
            mag.next = n ^ ones
        else:
            mag.next = n

    return cast, split


@block
def lane_parts(cfg, a, b, mag, lt, eq, total, shl, shr):
    """A lane's first half: the signed compare of a and b (``lt``, and ``eq`` so that MIN and
    MAX share one compare carry chain), ``total`` = a + b (ADD) and a shifted by b's
    ``mag`` (:func:`shift_amount`) both ways, ``shl`` = a << (mag + 1) and ``shr`` = a >> mag
    (SHR; which one is :func:`arith_pick`'s business, so that no mux follows the shifters
    here)."""
    w = cfg.acc_bits
    a_s, b_s = svec(w), svec(w)

    @always_comb
    def cast():
        a_s.next = a.signed()
        b_s.next = b.signed()

    @always_comb
    def parts():
        lt.next = a_s < b_s
        eq.next = a == b
        total.next = a_s + b_s
        shl.next = (a_s << 1) << mag
        shr.next = a_s >> mag

    return cast, parts


@block
def arith_pick(op, left, total, shl, shr, arith):
    """ADD's sum or SHR's shift (left when b's shift is negative) from :func:`lane_parts`."""

    @always_comb
    def pick():
        if op == ALU_ADD:
            arith.next = total
        elif left:
            arith.next = shl
        else:
            arith.next = shr

    return pick


@block
def lane_arith(cfg, op, a, b, left, mag, lt, eq, arith):
    """lane_parts and arith_pick in one cycle (the combinational ALUs)."""
    w = cfg.acc_bits
    total, shl, shr = (Signal(modbv(0)[w:]) for _ in range(3))
    return [lane_parts(cfg, a, b, mag, lt, eq, total, shl, shr),
            arith_pick(op, left, total, shl, shr, arith)]


@block
def lane_pick(op, a, b, lt, eq, arith, r):
    """A lane's second half: MIN/MAX pick a or b from the compare, ADD and SHR take
    ``arith``; MUL (reserved) and the unused opcodes keep a."""
    take_a = Signal(bool(0))

    @always_comb
    def pick():
        if op == ALU_MIN:
            take_a.next = lt
        else:   # MAX: a > b
            take_a.next = not lt and not eq

    @always_comb
    def lane():
        if op == ALU_MIN or op == ALU_MAX:
            if take_a:
                r.next = a
            else:
                r.next = b
        elif op == ALU_ADD or op == ALU_SHR:
            r.next = arith
        else:
            r.next = a

    return pick, lane


@block
def repeat_lane(cfg, op, a, b, left, mag, r):
    """A lane that only ever applies an immediate micro-op to the result of the same
    micro-op (same op, same b): MIN and MAX are idempotent there (min(min(x, b), b) =
    min(x, b)), so their result is a and the lane needs no compare chain."""
    w = cfg.acc_bits
    lt, eq, arith = Signal(bool(0)), Signal(bool(0)), Signal(modbv(0)[w:])
    first = lane_arith(cfg, op, a, b, left, mag, lt, eq, arith)

    @always_comb
    def lane():
        if op == ALU_ADD or op == ALU_SHR:
            r.next = arith
        else:   # MIN, MAX (idempotent) and the opcodes that keep a
            r.next = a

    return first, lane


def shift_vectors(cfg):
    """Signals for every lane's shift: (left bits, one per lane; magnitudes, lane k at
    bits [k*lw, (k+1)*lw))."""
    n, lw = cfg.batch * cfg.block_out, cfg.log_acc_width
    return Signal(intbv(0)[n:]), Signal(intbv(0)[n * lw:])


@block
def lane_shifts(cfg, b, left_vec, mag_vec):
    """Every lane's :func:`shift_amount` of the acc word ``b``, packed as shift_vectors."""
    w, lw = cfg.acc_bits, cfg.log_acc_width
    n = cfg.batch * cfg.block_out
    lefts = [Signal(bool(0)) for _ in range(n)]
    mags = [Signal(intbv(0)[lw:]) for _ in range(n)]
    insts = [shift_amount(cfg, b(k * w + lw, k * w), lefts[k], mags[k]) for k in range(n)]
    return insts, join_lanes(lefts, left_vec), join_lanes(mags, mag_vec)


def lane_views(cfg, *vecs):
    """Per lane, the slices of acc-word vectors (lane k at bits [k*acc_bits, (k+1)*acc_bits))."""
    w = cfg.acc_bits
    return [[v((k + 1) * w, k * w) for v in vecs] for k in range(cfg.batch * cfg.block_out)]


@block
def alu_core(cfg, op, a, b, res, shifts=None, repeat=False):
    """res = op(a, b) lane by lane, combinational; a, b, res are acc-buffer words.
    ``shifts``: b's shifts (shift_vectors), when the caller computes them ahead (alu_pipe
    registers them with b); by default they are computed here from b. ``repeat``: the
    lanes are :func:`repeat_lane`."""
    w, lw = cfg.acc_bits, cfg.log_acc_width
    n = cfg.batch * cfg.block_out
    insts = []
    if shifts is None:
        shifts = shift_vectors(cfg)
        insts.append(lane_shifts(cfg, b, *shifts))
    left_vec, mag_vec = shifts
    outs = [Signal(modbv(0)[w:]) for _ in range(n)]
    for k, (ak, bk) in enumerate(lane_views(cfg, a, b)):
        sh = (left_vec(k), mag_vec((k + 1) * lw, k * lw))
        if repeat:
            insts.append(repeat_lane(cfg, op, ak, bk, *sh, outs[k]))
        else:
            lt, eq, arith = Signal(bool(0)), Signal(bool(0)), Signal(modbv(0)[w:])
            insts += [lane_arith(cfg, op, ak, bk, *sh, lt, eq, arith),
                      lane_pick(op, ak, bk, lt, eq, arith, outs[k])]
    return insts, join_lanes(outs, res)


@block
def alu_first_half(cfg, clk, a, b, mag_vec, a_q, lt_q, eq_q, total_q, shl_q, shr_q):
    """S4 of alu_pipe: every lane's :func:`lane_parts`, registered with a (``a_q``; b and
    its shifts still hold at S5, see alu_pipe)."""
    w, lw = cfg.acc_bits, cfg.log_acc_width
    n = cfg.batch * cfg.block_out
    lts = [Signal(bool(0)) for _ in range(n)]
    eqs = [Signal(bool(0)) for _ in range(n)]
    parts = [[Signal(modbv(0)[w:]) for _ in range(n)] for _ in range(3)]   # total, shl, shr
    lt_v, eq_v = Signal(intbv(0)[n:]), Signal(intbv(0)[n:])
    vecs = [Signal(intbv(0)[n * w:]) for _ in range(3)]
    insts = [lane_parts(cfg, ak, bk, mag_vec((k + 1) * lw, k * lw), lts[k], eqs[k],
                        parts[0][k], parts[1][k], parts[2][k])
             for k, (ak, bk) in enumerate(lane_views(cfg, a, b))]
    total_v, shl_v, shr_v = vecs

    @always(clk.posedge)
    def register():
        a_q.next = a
        lt_q.next = lt_v
        eq_q.next = eq_v
        total_q.next = total_v
        shl_q.next = shl_v
        shr_q.next = shr_v

    return (insts, join_lanes(lts, lt_v), join_lanes(eqs, eq_v),
            [join_lanes(p, v) for p, v in zip(parts, vecs)], register)


@block
def alu_second_half(cfg, op, a_q, b, left_vec, lt_q, eq_q, total_q, shl_q, shr_q, new):
    """S5 of alu_pipe: every lane's :func:`arith_pick` and :func:`lane_pick` from the
    registered first half."""
    w = cfg.acc_bits
    n = cfg.batch * cfg.block_out
    outs = [Signal(modbv(0)[w:]) for _ in range(n)]
    ariths = [Signal(modbv(0)[w:]) for _ in range(n)]
    insts = []
    for k, (ak, bk, tk, lk, rk) in enumerate(lane_views(cfg, a_q, b, total_q, shl_q, shr_q)):
        insts += [arith_pick(op, left_vec(k), tk, lk, rk, ariths[k]),
                  lane_pick(op, ak, bk, lt_q(k), eq_q(k), ariths[k], outs[k])]
    return insts, join_lanes(outs, new)


@block
def alu_pipe(cfg, clk, latch, op, use_imm, imm, src, a, res, fwd_a, fwd_a2, fix_b):
    """The ALU stages of the compute pipeline (see compute.py): when ``latch`` the operand
    b = the immediate (sign-extended to every lane; at S2) or ``src`` (vector-vector: at S3,
    acc[src] from the acc operand register, which took it at S2 with the write-back of S2
    forwarded). ``a`` = acc[dst] (read at S2, registered at S3 by the caller). S4: the
    compare, the sum and both shifts of every lane (:func:`alu_first_half`), registered;
    S5: the pick (:func:`alu_second_half`: sum or shift, then the op's result) into the
    result register ``res``, written back at S6.

    Two stages so that no stage holds a carry chain and the muxes behind it. b still holds
    at S5: the next micro-op latches the same immediate, and a vector-vector one latches
    two cycles later. The micro-op right behind one on the same dst (immediate only: the
    vector-vector ones issue every other cycle) cannot wait for its result: at S5 a second
    ALU on ``res`` applies the same op and b to it (``fwd_a``: the micro-op at S6 writes this
    one's dst; :func:`repeat_lane`), picked after both, so the one-cycle loop res -> ALU ->
    res has no mux in front of its carry chains. Two behind: at S4 a is taken from ``res``
    (``fwd_a2``: the micro-op at S6 writes this one's dst), and b at its latch from the
    first ALU's pick (``fix_b``: the vector-vector micro-op at S5 writes this one's src,
    which is at S3; never a forwarded result, so the second ALU is not in front of b)."""
    ab = cfg.acc_bits
    lanes = cfg.batch * cfg.block_out
    b, b_in = Signal(intbv(0)[ab * lanes:]), Signal(intbv(0)[ab * lanes:])
    load_b = Signal(bool(0))
    new_a, new_res = Signal(intbv(0)[ab * lanes:]), Signal(intbv(0)[ab * lanes:])
    imm_ext = Signal(modbv(0)[ab:])
    imm_vec = ConcatSignal(*([imm_ext] * lanes)) if lanes > 1 else imm_ext
    # b's shifts are registered with b: the SHR's negation is not in the S4 path
    left_in, mag_in = shift_vectors(cfg)
    left, mag = shift_vectors(cfg)
    b_vv = Signal(intbv(0)[ab * lanes:])          # vector-vector b: acc[src] or fix_b's
    vv_left, vv_mag = shift_vectors(cfg)
    shifts_vv = lane_shifts(cfg, b_vv, vv_left, vv_mag)
    # an immediate's shift is one for every lane and the whole instruction: computed from
    # the instruction register and registered (b latches at S2, cycles after the
    # instruction came), so the negation is not between the instruction and b's registers
    lw = cfg.log_acc_width
    imm_left, imm_left_q = Signal(bool(0)), Signal(bool(0))
    imm_mag, imm_mag_q = Signal(intbv(0)[lw:]), Signal(intbv(0)[lw:])
    imm_shift = shift_amount(cfg, imm_ext(lw, 0), imm_left, imm_mag)
    imm_mags = ConcatSignal(*([imm_mag_q] * lanes)) if lanes > 1 else imm_mag_q
    all_left = (1 << lanes) - 1
    a_in, a_q = Signal(intbv(0)[ab * lanes:]), Signal(intbv(0)[ab * lanes:])
    total_q, shl_q, shr_q = (Signal(intbv(0)[ab * lanes:]) for _ in range(3))
    lt_q, eq_q = Signal(intbv(0)[lanes:]), Signal(intbv(0)[lanes:])
    dp = [alu_first_half(cfg, clk, a_in, b, mag, a_q, lt_q, eq_q, total_q, shl_q, shr_q),
          alu_second_half(cfg, op, a_q, b, left, lt_q, eq_q, total_q, shl_q, shr_q, new_a),
          alu_core(cfg, op, res, b, new_res, (left, mag), repeat=True)]

    @always_comb
    def extend():
        imm_ext.next = imm.signed()

    @always(clk.posedge)
    def imm_shift_reg():
        imm_left_q.next = imm_left
        imm_mag_q.next = imm_mag

    @always_comb
    def operand_vv():
        if fix_b:
            b_vv.next = new_a
        else:
            b_vv.next = src

    @always_comb
    def operand_in():
        load_b.next = fix_b or latch
        if use_imm:   # (fix_b is vector-vector only)
            b_in.next = imm_vec
            mag_in.next = imm_mags
            if imm_left_q:
                left_in.next = all_left
            else:
                left_in.next = 0
        else:
            b_in.next = b_vv
            left_in.next = vv_left
            mag_in.next = vv_mag

    @always(clk.posedge)
    def operand():
        if load_b:
            b.next = b_in
            left.next = left_in
            mag.next = mag_in

    @always_comb
    def forward_a():
        if fwd_a2:
            a_in.next = res
        else:
            a_in.next = a

    @always(clk.posedge)
    def result():
        if fwd_a:
            res.next = new_res
        else:
            res.next = new_a

    return (dp, extend, shifts_vv, imm_shift, imm_shift_reg, operand_vv, operand_in, operand,
            forward_a, result)
