"""Requantization, shared by the operators: y = clip((acc + bias) >> shift, lo, hi).

lo = 0 with ReLU, else the output type's minimum; hi its maximum; the shift is arithmetic and
the accumulator wraps at acc_bits (TVM's VTA quantization scheme). Here once: the numpy
reference tail, the ALU instructions that do it on VTA, and the argument checks.
"""
from __future__ import annotations

import numpy as np

from vta.isa import ALU_MAX, ALU_MIN, ALU_SHR, ConfigError
from vta.isa.semantics import wrap_signed

from .builder import dtype_for


def clip_bounds(out_bits, relu):
    hi = (1 << (out_bits - 1)) - 1
    return (0 if relu else -hi - 1), hi


def requantize(acc, bias, shift, relu, *, acc_bits, out_bits):
    """The reference's last step: ``acc`` (int64 products summed; channels on axis 1) wrapped,
    plus ``bias`` (per channel), shifted and clipped to the output type."""
    acc = wrap_signed(acc, acc_bits)
    if bias is not None:
        per_channel = np.asarray(bias, np.int64).reshape((1, -1) + (1,) * (acc.ndim - 2))
        acc = wrap_signed(acc + per_channel, acc_bits)
    lo, hi = clip_bounds(out_bits, relu)
    return np.clip(acc >> shift, lo, hi).astype(dtype_for(out_bits, "output"))


def emit_shift_and_clip(rt, whole, shift, relu, out_bits, loop):
    """SHR (when shift > 0), then MAX lo and MIN hi over the tile that ``whole`` (the identity
    kernel of the accumulator tile) and ``loop`` (its iteration fields) describe."""
    lo, hi = clip_bounds(out_bits, relu)
    if shift:
        rt.alu(whole, ALU_SHR, imm=shift, **loop)
    rt.alu(whole, ALU_MAX, imm=lo, **loop)
    rt.alu(whole, ALU_MIN, imm=hi, **loop)


def bias_weights(cfg, bias, blocks):
    """The bias as a GEMM operand, so it accumulates at the GEMM rate (one micro-op per acc
    entry) instead of an ALU vector-vector ADD (two cycles per entry) on bias entries loaded
    into the accumulator: a constant input entry ``ones`` (lanes [1, m, ..., m], m the
    largest input value, every batch row alike) and per output channel block one weight
    tile with ones @ tile = bias, i.e. w0 + m * (w1 + ... + w_{bi-1}) = b per channel.
    Returns (ones (batch, block_in), tiles (blocks, block_out, block_in)), or None when a
    channel's bias is outside what one entry can express (about +-244k on 8-bit operands)."""
    bi = cfg.block_in
    m = (1 << (cfg.inp_bits - 1)) - 1
    wmin, wmax = -(1 << (cfg.wgt_bits - 1)), (1 << (cfg.wgt_bits - 1)) - 1
    if bias is None or bi < 2 or m < 2 or m - 1 > wmax:
        return None
    b = np.zeros(blocks * cfg.block_out, np.int64)
    b[:len(bias)] = np.asarray(bias, np.int64)
    r = b % m                       # lane 0 (input 1) takes the residue, 0..m-1
    q = (b - r) // m                # spread over the bi-1 lanes of input m
    k = bi - 1
    if q.min() < k * wmin or q.max() > k * wmax:
        return None
    base, extra = q // k, q % k     # extra lanes get base + 1: all within [wmin, wmax]
    lanes = base[:, None] + (np.arange(k)[None, :] < extra[:, None])
    tiles = np.concatenate([r[:, None], lanes], axis=1).reshape(blocks, cfg.block_out, bi)
    ones = np.full((cfg.batch, bi), m, np.int64)
    ones[:, 0] = 1
    assert np.array_equal(tiles.reshape(-1, bi) @ ones[0], b)    # exact: no wrap anywhere
    return (ones.astype(dtype_for(cfg.inp_bits, "input")), tiles.astype(dtype_for(cfg.wgt_bits, "weight")))


def describe(a):
    """dtype and shape of an argument, for messages."""
    return f"{getattr(a, 'dtype', type(a).__name__)}{list(getattr(a, 'shape', []))}"


def check_bias_and_shift(op, cfg, bias, channels, shift):
    """One clear message for a wrong bias (int acc_bits, one per output channel) or shift."""
    if bias is not None:
        acc_dt = dtype_for(cfg.acc_bits, "accumulator")
        if not isinstance(bias, np.ndarray) or bias.shape != (channels,) or bias.dtype != acc_dt:
            raise ConfigError(f"{op}: bias must be a {np.dtype(acc_dt).name} array of shape "
                              f"[{channels}], got {describe(bias)}")
    max_shift = cfg.acc_bits // 2 - 1      # SHR reads a signed log_acc_width-bit amount
    if isinstance(shift, bool) or not isinstance(shift, (int, np.integer)) or not 0 <= shift <= max_shift:
        raise ConfigError(f"{op}: shift {shift!r} must be an integer in 0..{max_shift} "
                          f"({cfg.acc_bits}-bit accumulators)")
