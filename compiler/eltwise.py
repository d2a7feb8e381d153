"""Residual add on VTA: y = clip(((a << shift_a) + (b << shift_b)) >> shift, lo, hi).

a and b int NCHW of the same shape in the config's input width; lo = 0 with ReLU else the
output type's minimum, hi its maximum; arithmetic shifts.

How int8 activations reach the accumulator: VTA's ALU works on the acc buffer only, and an
ACC load reads acc_width (int32) elements, so loading the activations directly would need
the host to widen them to int32 in DRAM (4x the traffic, and a host pass between two VTA
layers). Instead each operand is loaded as an INP tile and copied into the accumulator by a
GEMM with an identity weight tile (:func:`copy_to_acc`: acc = inp @ I^T, one micro-op per
entry at the GEMM rate), so activations stay int8 in DRAM as the previous layer's STORE
left them. max pool (pool.py) uses the same copy.

Shifts: with m = min(shift_a, shift_b) and d = |shift_a - shift_b|, the ALU computes
((x1 << d) + x2) then shifts by shift - m (SHR with a negative amount shifts left), x1 being
the operand with the larger shift. Exact (no intermediate wrap in either form) because
|x| <= 2^(inp_bits-1), shifts are at most acc_bits/2 - 1 and inp_bits <= acc_bits/2
(checked). The data is elementwise, so it is tiled as one flat run of entries.
"""
from __future__ import annotations

import numpy as np

from vta.isa import ALU_SHR, MEM_ACC, MEM_INP, ConfigError
from vta.isa.semantics import wrap_signed

from .builder import dtype_for
from .requant import clip_bounds, describe, emit_shift_and_clip
from .runtime import Runtime, outputs_of


def add_reference(a, b, *, shift_a=0, shift_b=0, shift=0, relu=False, acc_bits=32, out_bits=8):
    """The numpy oracle: clip(((a << shift_a) + (b << shift_b)) >> shift, lo, hi)."""
    t = wrap_signed((np.asarray(a, np.int64) << shift_a) + (np.asarray(b, np.int64) << shift_b), acc_bits)
    lo, hi = clip_bounds(out_bits, relu)
    return np.clip(t >> shift, lo, hi).astype(dtype_for(out_bits, "output"))


def check_activation(op, cfg, x, what="input"):
    """One clear message for an activation that is not a 4-D array of the input type."""
    inp_dt = dtype_for(cfg.inp_bits, "input")
    if not isinstance(x, np.ndarray) or x.ndim != 4 or x.dtype != inp_dt or 0 in x.shape:
        raise ConfigError(f"{op}: {what} must be a non-empty 4-D {np.dtype(inp_dt).name} array "
                          f"(N, C, H, W), got {describe(x)}")


def check_identity_copy(op, cfg):
    """The identity GEMM copy maps input lane i to output lane i: it needs equal blocks."""
    if cfg.block_in != cfg.block_out:
        raise ConfigError(f"{op}: config '{cfg.name}' has block_in {cfg.block_in} != block_out "
                          f"{cfg.block_out}; the identity-GEMM copy into the accumulator needs them equal")


def check_shift(op, cfg, name, v):
    max_shift = cfg.acc_bits // 2 - 1      # SHR reads a signed log_acc_width-bit amount
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= max_shift:
        raise ConfigError(f"{op}: {name} {v!r} must be an integer in 0..{max_shift} "
                          f"({cfg.acc_bits}-bit accumulators)")


def pack_activation(x, cfg):
    """NCHW -> (N/batch, C/block, H, W, batch, block), zero-padded (the INP layout)."""
    b, bi = cfg.batch, cfg.block_in
    n, c = x.shape[:2]
    n0, c0 = -(-n // b) * b, -(-c // bi) * bi
    out = np.zeros((n0, c0) + x.shape[2:], x.dtype)
    out[:n, :c] = x
    out = out.reshape(n0 // b, b, c0 // bi, bi, *x.shape[2:])
    return np.ascontiguousarray(out.transpose(0, 2, 4, 5, 1, 3))


def unpack_activation(y, n, c):
    """(N/batch, C/block, H, W, batch, block) -> NCHW, cut to n images and c channels."""
    nb, cb, h, w, b, bo = y.shape
    return y.transpose(0, 4, 1, 5, 2, 3).reshape(nb * b, cb * bo, h, w)[:n, :c]


def check_dram(rt, op):
    """Refuse data that cannot fit the DRAM before any instruction is emitted (a large layer
    would otherwise spend seconds emitting a program that is refused at the end)."""
    end = max(seg.end for seg in rt.segments)
    if end > rt.cfg.dram_bytes:
        raise ConfigError(f"{op}: its tensors need {end / 2**20:.1f} MiB, more than the "
                          f"{rt.cfg.dram_bytes >> 20} MiB DRAM of config '{rt.cfg.name}'")


def identity_weight(rt):
    """DRAM buffer of one identity weight tile (block_out x block_in), for copy_to_acc."""
    cfg = rt.cfg
    eye = np.eye(cfg.block_out, cfg.block_in, dtype=dtype_for(cfg.wgt_bits, "weight"))
    return rt.alloc("identity", eye.reshape(1, cfg.block_out, cfg.block_in), "weight")


def copy_to_acc(rt, acc, src, wgt, rows, cols=1, *, row_stride=None, src_row_stride=None, accumulate=False):
    """acc[acc + r*row_stride + c] (+)= inp[src + r*src_row_stride + c] for r < rows, c < cols:
    an identity-weight GEMM (``wgt`` = the identity tile's wgt entry). Without
    ``accumulate`` a reset GEMM clears the entries first. Consecutive executions write
    different entries as long as rows * cols >= 2."""
    loop = dict(iter_out=rows, iter_in=cols, dst_factor_out=cols if row_stride is None else row_stride,
                dst_factor_in=1)
    if not accumulate:
        rt.gemm(rt.kernel([(acc, 0, wgt)]), reset=True, **loop)
    rt.gemm(rt.kernel([(acc, src, wgt)]), src_factor_out=cols if src_row_stride is None else src_row_stride,
            src_factor_in=1, **loop)


def build_add(cfg, a, b, *, shift_a=0, shift_b=0, shift=0, relu=False, vt=2, tile=None, name="add"):
    """The Program computing the residual add on ``cfg``; returns (program, unpack, runtime)."""
    op = "add"
    check_activation(op, cfg, a, "a")
    check_activation(op, cfg, b, "b")
    if a.shape != b.shape:
        raise ConfigError(f"add: a has shape {list(a.shape)}, b has shape {list(b.shape)}; they must match")
    for nm, v in (("shift_a", shift_a), ("shift_b", shift_b), ("shift", shift)):
        check_shift(op, cfg, nm, v)
    check_identity_copy(op, cfg)
    if 2 * cfg.inp_bits > cfg.acc_bits:
        raise ConfigError(f"add: {cfg.inp_bits}-bit inputs with {cfg.acc_bits}-bit accumulators could "
                          "wrap when shifted; the lowering needs inp_bits <= acc_bits / 2")
    if vt not in (1, 2):
        raise ConfigError(f"add: vt must be 1 or 2, got {vt!r}")
    pa, pb = pack_activation(a, cfg), pack_activation(b, cfg)
    entries = pa.size // (cfg.batch * cfg.block_in)
    # a and b share an inp region; the acc region holds one tile
    cap = min(cfg.inp_depth // (2 * vt), cfg.acc_depth // vt, (1 << 14) - 1)
    t = min(entries, cap) if tile is None else tile
    if not (isinstance(t, (int, np.integer)) and 1 <= t <= cap):
        raise ConfigError(f"add: tile {tile!r} must be an integer in 1..{cap} entries")
    if t < 2 <= entries:
        t = 2    # a one-entry tile would make the copy write one entry twice in a row
    x1, x2 = (pa, pb) if shift_a >= shift_b else (pb, pa)
    d, m = abs(shift_a - shift_b), min(shift_a, shift_b)

    rt = Runtime(cfg, name)
    rt.schedule = dict(vt=vt, tile=t)
    b1 = rt.alloc("input_1", x1, "input")
    b2 = rt.alloc("input_2", x2, "input")
    ident = identity_weight(rt)
    yb = rt.alloc("output", np.zeros(pa.shape[:4] + (cfg.batch, cfg.block_out), dtype_for(cfg.out_bits, "output")),
                  "output")
    check_dram(rt, op)
    rt.load(ident, 0, x_size=1)
    inp_r, acc_r = rt.regions(MEM_INP, vt), rt.regions(MEM_ACC, vt)
    for i, e0 in enumerate(range(0, entries, t)):
        n = min(t, entries - e0)
        ib, acc = inp_r[i % vt][0], acc_r[i % vt][0]
        rt.load(b1, ib, offset=e0, x_size=n)
        rt.load(b2, ib + t, offset=e0, x_size=n)
        loop = dict(iter_out=n, dst_factor_out=1, src_factor_out=1)
        whole = rt.kernel([(acc, acc, 0)])
        copy_to_acc(rt, acc, ib, 0, n)
        if d:
            rt.alu(whole, ALU_SHR, imm=-d, **loop)
        copy_to_acc(rt, acc, ib + t, 0, n, accumulate=True)
        emit_shift_and_clip(rt, whole, shift - m, relu, cfg.out_bits, loop)
        rt.store(yb, acc, offset=e0, x_size=n)
    prog = rt.finish()

    def unpack(outputs):
        return unpack_activation(np.asarray(outputs["output"]), *a.shape[:2])

    return prog, unpack, rt


def add(cfg, a, b, *, shift_a=0, shift_b=0, shift=0, relu=False, executor, vt=2, tile=None):
    """Run the residual add on ``executor`` (Program -> outputs, e.g. vta.tlm.run_program);
    returns (y, the executor's result)."""
    prog, unpack, _ = build_add(cfg, a, b, shift_a=shift_a, shift_b=shift_b, shift=shift, relu=relu,
                                vt=vt, tile=tile)
    result = executor(prog)
    return unpack(outputs_of(result)), result
