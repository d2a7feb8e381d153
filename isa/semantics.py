"""Element-level arithmetic of VTA (VTA_SPEC.md), vectorized with numpy.

These are the integer rules both models and every reference share: wrap-around of
accumulators, truncation to the output width, and the ALU operations. Arrays are
int64 holding signed values.
"""
from __future__ import annotations

import numpy as np

from .opcodes import ALU_ADD, ALU_MAX, ALU_MIN, ALU_NAMES, ALU_SHR


def wrap_signed(x, bits):
    """Reduce integers modulo 2**bits into the signed range (two's complement wrap)."""
    x = np.asarray(x, dtype=np.int64)
    if bits >= 64:
        return x
    half = np.int64(1) << np.int64(bits - 1)
    return ((x + half) & ((np.int64(1) << np.int64(bits)) - 1)) - half


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
