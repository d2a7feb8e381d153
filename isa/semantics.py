"""Execution rules of VTA (docs/isa.md), vectorized with numpy.

The integer rules both models share: wrap-around of accumulators, truncation to the
output width, the ALU operations (arrays are int64 holding signed values), and the
buffer indices a GEMM/ALU loop nest visits.
"""
from __future__ import annotations

import numpy as np

from .opcodes import ALU_ADD, ALU_MAX, ALU_MIN, ALU_NAMES, ALU_SHR


# Widths numpy has an integer type for: a cast there wraps the same way, in one C loop
# (the models call this on every GEMM/ALU step; tests/test_isa_semantics.py checks both ways).
_WRAP_DTYPES = {8: np.int8, 16: np.int16, 32: np.int32}


def wrap_signed(x, bits):
    """Reduce integers modulo 2**bits into the signed range (two's complement wrap)."""
    x = np.asarray(x, dtype=np.int64)
    if bits >= 64:
        return x
    half = 1 << (bits - 1)
    if not x.ndim:
        # one value (an immediate): Python int arithmetic, then the np.int64 that numpy's
        # arithmetic on the 0-d array gives (several times cheaper)
        return np.int64(((int(x) + half) & ((1 << bits) - 1)) - half)
    dt = _WRAP_DTYPES.get(bits)
    if dt is not None:
        return x.astype(dt).astype(np.int64)
    return ((x + half) & ((1 << bits) - 1)) - half


def truncate(acc, out_bits):
    """Low ``out_bits`` of each accumulator read as signed (no saturation)."""
    return wrap_signed(acc, out_bits)


def shift_amount(b, log_acc_width):
    """SHR amount: the low LOG_ACC_WIDTH bits of b read as a signed number."""
    return wrap_signed(b, log_acc_width)


def alu_apply(op, a, b, acc_bits, log_acc_width):
    """One ALU operation over arrays a (acc[dst]) and b (imm or acc[src])."""
    a = np.asarray(a, dtype=np.int64)
    # b is an accumulator value: the HLS design casts the 16-bit immediate to acc_T, so on
    # 8/16-bit accumulators MIN/MAX compare the truncated immediate (ADD/SHR are unaffected).
    b = wrap_signed(b, acc_bits)
    if op == ALU_MIN:
        r = np.minimum(a, b)
    elif op == ALU_MAX:
        r = np.maximum(a, b)
    elif op == ALU_ADD:
        r = a + b
    elif op == ALU_SHR:
        n = shift_amount(b, log_acc_width)
        # Shifting a 32-bit value by more than 31 is out of the amount's range anyway
        # (the amount is at most 2**(LOG_ACC_WIDTH-1)); left shift wraps below.
        r = np.where(n >= 0, a >> np.maximum(n, 0), a << np.maximum(-n, 0))
    else:
        raise ValueError(f"ALU operation {ALU_NAMES.get(op, op)} is not executable")
    return wrap_signed(r, acc_bits)


# ---- loop nest (GEMM and ALU) -------------------------------------------------------------
def uop_range(insn, uop_depth):
    """Micro-op buffer indices k of the innermost loop (uop_bgn .. uop_end-1), in order,
    modulo the micro-op buffer depth (the same wrap rule as :func:`loop_indices`)."""
    return np.arange(insn.uop_bgn, insn.uop_end, dtype=np.int64) & (uop_depth - 1)


def loop_factors(insn, name):
    """(factor_out, factor_in) of operand ``name`` ("dst", "src" or "wgt") of a GEMM/ALU."""
    return getattr(insn, f"{name}_factor_out"), getattr(insn, f"{name}_factor_in")


def loop_indices(insn, operands, start=0, stop=None):
    """Buffer indices of the executions ``start .. stop-1`` of a GEMM/ALU loop nest.

    ``operands`` is a sequence of (name, base, depth): ``name`` ("dst", "src", "wgt")
    selects the instruction's factors, ``base[n]`` is that micro-op field of the n-th
    micro-op of the innermost loop (the micro-ops at :func:`uop_range`), ``depth`` is
    the entries of the buffer it indexes (a power of two). Returns one int64 array per
    operand. Executions are numbered in loop order (i outer, then j, then the micro-op);
    with ``n = len(base)``, execution p has i = p // (iter_in*n), j = p // n % iter_in,
    micro-op n' = p % n and::

        index = (base[n'] + i * factor_out + j * factor_in) mod depth

    Wrap rule: the hardware adds the factors in index registers of log2(depth) bits (the
    RTL's offset registers, the HLS design's index types), so a sum past the end of the
    buffer wraps around to its start. A program that relies on it is still reported as
    an error by the TLM (unless run with ``wrap``; see :func:`first_out_of_range`); for
    every index inside the buffer the modulo changes nothing.
    """
    n = len(operands[0][1])
    io, ii = insn.iter_out, insn.iter_in
    total = n * io * ii
    if start == 0 and (stop is None or stop >= total) and total:
        # the whole nest: base + i*factor_out + j*factor_in broadcast over (i, j, n), in
        # loop order (cheaper than numbering the executions and dividing)
        i, j = np.arange(io, dtype=np.int64)[:, None, None], np.arange(ii, dtype=np.int64)[:, None]
        out = []
        for name, base, depth in operands:
            fo, fi = loop_factors(insn, name)
            v = (np.asarray(base, dtype=np.int64) + j * fi + i * fo).reshape(-1)
            v &= depth - 1
            out.append(v)
        return out
    p = np.arange(start, total if stop is None else min(stop, total), dtype=np.int64)
    if p.size == 0:
        return [p.copy() for _ in operands]
    ij, k = np.divmod(p, n)
    i, j = np.divmod(ij, insn.iter_in)
    out = []
    for name, base, depth in operands:
        fo, fi = loop_factors(insn, name)
        v = np.asarray(base, dtype=np.int64)[k] + i * fo + j * fi
        v &= depth - 1
        out.append(v)
    return out


def first_out_of_range(insn, name, base, depth):
    """The first execution, in loop order, whose unwrapped index
    ``base[n] + i*factor_out + j*factor_in`` (see :func:`loop_indices`) is ``depth`` or
    more: (i, j, n, index), or None if every index stays inside the buffer.

    Found without materializing the loop nest: factors are unsigned, so indices grow
    with i and j."""
    base = np.asarray(base, dtype=np.int64)
    io, ii = insn.iter_out, insn.iter_in
    fo, fi = loop_factors(insn, name)
    if base.size == 0 or io == 0 or ii == 0:
        return None
    top = int(base.max())
    if top + (io - 1) * fo + (ii - 1) * fi < depth:
        return None
    need = depth - top - (ii - 1) * fi          # smallest i with a bad index in its row
    i = 0 if need <= 0 else -(-need // fo)
    need = depth - top - i * fo
    j = 0 if need <= 0 else -(-need // fi)
    n = int(np.argmax(base + i * fo + j * fi >= depth))
    return i, j, n, int(base[n]) + i * fo + j * fi
