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
def shift_amount(cfg, b_low, left, mag):
    """SHR's shift from the low LOG_ACC_WIDTH bits of b read as signed (n): ``left`` = n < 0,
    ``mag`` = |n|."""
    n = svec(cfg.log_acc_width)

    @always_comb
    def cast():
        n.next = b_low.signed()

    @always_comb
    def split():
        left.next = n < 0
        if n < 0:
            mag.next = -n
        else:
            mag.next = n

    return cast, split


@block
def alu_lane(cfg, op, a, b, left, mag, r, repeat=False):
    """One lane; ``left``/``mag``: the shift of b (:func:`shift_amount`). The four results
    are computed side by side and one is picked (MIN/MAX from one signed compare and an
    equality, so the lane has one compare carry chain, not two).

    ``repeat``: the lane only ever applies an immediate micro-op to the result of the same
    micro-op (same op, same b): MIN and MAX are idempotent there (min(min(x, b), b) =
    min(x, b)), so their result is a and the lane needs no compare chain."""
    w = cfg.acc_bits
    a_s, b_s = svec(w), svec(w)
    lt, eq, take_a = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    total, shifted = Signal(modbv(0)[w:]), Signal(modbv(0)[w:])

    @always_comb
    def cast():
        a_s.next = a.signed()
        b_s.next = b.signed()

    @always_comb
    def arith():
        total.next = a_s + b_s
        if left:
            shifted.next = a_s << mag
        else:
            shifted.next = a_s >> mag

    @always_comb
    def compare():
        lt.next = a_s < b_s
        eq.next = a == b

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
        elif op == ALU_ADD:
            r.next = total
        elif op == ALU_SHR:
            r.next = shifted
        else:
            r.next = a

    @always_comb
    def repeat_lane():
        if op == ALU_ADD:
            r.next = total
        elif op == ALU_SHR:
            r.next = shifted
        else:   # MIN, MAX (idempotent) and the opcodes that keep a
            r.next = a

    if repeat:
        return cast, arith, repeat_lane
    return cast, arith, compare, pick, lane


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


@block
def alu_core(cfg, op, a, b, res, shifts=None, repeat=False):
    """res = op(a, b) lane by lane; a, b, res are acc-buffer words. ``shifts``: b's shifts
    (shift_vectors), when the caller computes them ahead (alu_pipe registers them with b);
    by default they are computed here from b. ``repeat``: see :func:`alu_lane`."""
    w, lw = cfg.acc_bits, cfg.log_acc_width
    n = cfg.batch * cfg.block_out
    insts = []
    if shifts is None:
        shifts = shift_vectors(cfg)
        insts.append(lane_shifts(cfg, b, *shifts))
    left_vec, mag_vec = shifts
    outs = [Signal(modbv(0)[w:]) for _ in range(n)]
    insts += [alu_lane(cfg, op, a((k + 1) * w, k * w), b((k + 1) * w, k * w), left_vec(k),
                       mag_vec((k + 1) * lw, k * lw), outs[k], repeat)
              for k in range(n)]
    return insts, join_lanes(outs, res)


@block
def alu_pipe(cfg, clk, latch, op, use_imm, imm, src, a, res, fwd_a, fix_b):
    """The ALU stages of the compute pipeline (see compute.py): when ``latch`` the operand
    b = the immediate (sign-extended to every lane; at S2) or ``src`` (vector-vector: at S3,
    acc[src] from the acc operand register, which took it at S2 with the write-back of S2
    forwarded); at S4 alu(op, a, b) with ``a`` = acc[dst] (read at S2, registered at S3:
    writeback.acc_operand) is computed into the result register ``res``, written back at S5.

    The result is registered so that the ALU's carry chains are not in series with the
    write-back muxes and the acc operand's forwarding (and b comes from a register, not
    from the acc block RAM's output). The micro-op one stage ahead is then still at S5 when
    the next one computes, so two forwards from ``res`` stand in for the buffer's
    write-first read: ``fwd_a`` (at S4: the micro-op at S5 writes this one's dst, so the
    result is alu(op, res, b); a second ALU computes it beside alu(op, a, b)) and ``fix_b``
    (b = res at this edge, before ``latch``: at S3, the vector-vector micro-op at S5 writes
    this one's src)."""
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
    shifts_in = lane_shifts(cfg, b_in, left_in, mag_in)
    # two ALUs: on a and on the result register (the forward), chosen after them, so the
    # one-cycle loop res -> ALU -> res has no mux in front of the carry chains. The forward
    # only serves immediate micro-ops (vector-vector ones issue every other cycle), so its
    # ALU repeats the same op with the same b (alu_lane's ``repeat``)
    dp = [alu_core(cfg, op, a, b, new_a, (left, mag)),
          alu_core(cfg, op, res, b, new_res, (left, mag), repeat=True)]

    @always_comb
    def extend():
        imm_ext.next = imm.signed()

    @always_comb
    def operand_in():
        load_b.next = fix_b or latch
        if fix_b:
            b_in.next = res
        elif use_imm:
            b_in.next = imm_vec
        else:
            b_in.next = src

    @always(clk.posedge)
    def operand():
        if load_b:
            b.next = b_in
            left.next = left_in
            mag.next = mag_in

    @always(clk.posedge)
    def result():
        if fwd_a:
            res.next = new_res
        else:
            res.next = new_a

    return dp, extend, shifts_in, operand_in, operand, result
