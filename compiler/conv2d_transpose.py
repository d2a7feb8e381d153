"""conv2d_transpose on VTA (ONNX ConvTranspose): y = clip((convT(X, W) + bias) >> shift, lo, hi).

X int (N, I, H, W) NCHW, W int (I, O, KH, KW) as ONNX ConvTranspose (group 1, no dilation,
no output padding), bias int32 (O,) or None, stride s, zero padding p on both spatial axes:
output size (H - 1) * s - 2p + KH. Same requantization as conv2d.

Lowering (sub-pixel decomposition, no zero insertion): output row oy = s*m + r receives
input row iy through kernel row ky exactly when iy*s - p + ky = oy, i.e. ky = (r + p) mod s
+ s*t and iy = m + (r + p) div s - t. So each of the s x s output phases (r, q) is an ordinary
stride-1 conv2d of the unchanged input with a sub-kernel of every s-th kernel row/column in
reverse order and its own (asymmetric) LOAD pads, e.g. for the DCGAN layers (k 4, s 2, p 1)
four 2x2 convs with pads (1, 0) or (0, 1) per axis. Zero insertion would move s^2 times the
input and spend 1 - 1/s^2 of the MACs on zeros; here every MAC is useful. All phases are one
program (conv2d.emit_conv per phase, each with its own schedule from the tiling search);
each phase is stored to its own part of the output buffer, and the unpack interleaves the
phases (the output is packed phase-major, like the NCHWnc packing).
:func:`conv2d_transpose_reference` is the numpy oracle (a direct scatter of the definition).
"""
from __future__ import annotations

import numpy as np

from vta.isa import ConfigError

from . import tiling
from .builder import dtype_for
from .conv2d import MAX_PAD, _pack, alloc_bias, as_schedule, emit_conv
from .eltwise import check_activation, check_dram, unpack_activation
from .requant import check_bias_and_shift, describe, requantize
from .runtime import Runtime, outputs_of


def out_size(n, k, s, p):
    return (n - 1) * s - 2 * p + k


def conv2d_transpose_reference(x, w, bias=None, stride=2, pad=1, shift=0, relu=False, *, acc_bits=32,
                               out_bits=8):
    """The numpy oracle: the transposed convolution as a scatter of every input pixel times the
    kernel, cropped by ``pad``, then requantized like conv2d."""
    x, w = np.asarray(x, np.int64), np.asarray(w, np.int64)
    n, _, h, wd = x.shape
    _, o, kh, kw = w.shape
    s = stride
    full = np.zeros((n, o, (h - 1) * s + kh, (wd - 1) * s + kw), np.int64)
    for i in range(kh):
        for j in range(kw):
            tap = np.einsum("nchw,co->nohw", x, w[:, :, i, j])
            full[:, :, i:i + s * (h - 1) + 1:s, j:j + s * (wd - 1) + 1:s] += tap
    oh, ow = out_size(h, kh, s, pad), out_size(wd, kw, s, pad)
    return requantize(full[:, :, pad:pad + oh, pad:pad + ow], bias, shift, relu, acc_bits=acc_bits,
                      out_bits=out_bits)


def phase(n_in, k, s, p, r):
    """Phase r of one axis: (kernel taps in conv order, pad before, pad after, outputs)."""
    k0, c = (r + p) % s, (r + p) // s
    taps = list(range(k0, k, s))[::-1]
    t = len(taps)
    m = -(-(out_size(n_in, k, s, p) - r) // s)
    before = t - 1 - c
    after = m + t - 1 - before - n_in     # the conv of the padded input gives exactly m outputs
    return taps, before, after, m


def _check(cfg, x, w, bias, stride, pad, shift):
    check_activation("conv2d_transpose", cfg, x)
    wgt_dt = dtype_for(cfg.wgt_bits, "weight")
    if not isinstance(w, np.ndarray) or w.ndim != 4 or w.dtype != wgt_dt or 0 in w.shape:
        raise ConfigError(f"conv2d_transpose: weight must be a non-empty 4-D {np.dtype(wgt_dt).name} array "
                          f"(I, O, KH, KW), got {describe(w)}")
    if x.shape[1] != w.shape[0]:
        raise ConfigError(f"conv2d_transpose: input has C={x.shape[1]} channels, weight has I={w.shape[0]}")
    check_bias_and_shift("conv2d_transpose", cfg, bias, w.shape[1], shift)
    for name, v, lo in (("stride", stride, 1), ("pad", pad, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ConfigError(f"conv2d_transpose: {name} {v!r} must be an integer >= {lo}")
    kh, kw = w.shape[2:]
    if kh < stride or kw < stride:
        raise ConfigError(f"conv2d_transpose: the {kh}x{kw} kernel is smaller than the stride {stride} "
                          "(some outputs would get no input)")
    if out_size(x.shape[2], kh, stride, pad) < 1 or out_size(x.shape[3], kw, stride, pad) < 1:
        raise ConfigError(f"conv2d_transpose: pad {pad} leaves no output of the {x.shape[2]}x{x.shape[3]} input")
    for n_in, k in ((x.shape[2], kh), (x.shape[3], kw)):
        for r in range(stride):
            taps, before, after, _ = phase(n_in, k, stride, pad, r)
            if not 0 <= before <= MAX_PAD or after > MAX_PAD:
                raise ConfigError(f"conv2d_transpose: pad {pad} with a {k}-tap kernel and stride {stride} needs "
                                  f"LOAD pads ({before}, {after}) outside 0..{MAX_PAD}")


def build_conv2d_transpose(cfg, x, w, bias=None, stride=2, pad=1, shift=0, relu=False, *, name="conv2d_transpose"):
    """The Program computing conv2d_transpose on ``cfg``; returns (program, unpack, runtime);
    ``runtime.schedule`` lists each phase's schedule."""
    _check(cfg, x, w, bias, stride, pad, shift)
    n, c, h, wd = x.shape
    o, kh, kw = w.shape[1:]
    s = stride
    nb, cb, ob = -(-n // cfg.batch), -(-c // cfg.block_in), -(-o // cfg.block_out)
    phases = []
    for r in range(s):
        ty, pt, pb, my = phase(h, kh, s, pad, r)
        for q in range(s):
            tx, pl, pr, mx = phase(wd, kw, s, pad, q)
            # negative after-pads: the conv gives extra outputs, cut by the unpack
            g = tiling.Geometry(nb, cb, h, wd, ob, len(ty), len(tx), 1, (pt, max(pb, 0), pl, max(pr, 0)))
            if g.ob == g.oh == g.ow == 1:
                raise ConfigError(f"conv2d_transpose: phase ({r}, {q}) has a 1x1 output of at most "
                                  f"{cfg.block_out} channels, one accumulator entry")
            sub = np.ascontiguousarray(w[:, :, ty][:, :, :, tx].transpose(1, 0, 2, 3))     # OIHW
            phases.append((r, q, my, mx, g, as_schedule("conv2d_transpose", cfg, g, None, None), sub))

    rt = Runtime(cfg, name)
    rt.schedule = [(r, q, sc) for r, q, _, _, _, sc, _ in phases]
    xb = rt.alloc("input", _pack(x, cfg.batch, cfg.block_in), "input")
    packed = [_pack(sub, cfg.block_out, cfg.block_in) for *_, sub in phases]
    wb = rt.alloc("weight", np.concatenate([p.reshape(-1) for p in packed]), "weight")
    bb = None if bias is None else alloc_bias(rt, bias, ob)
    out_dt = dtype_for(cfg.out_bits, "output")
    sizes = [g.nb * g.ob * g.oh * g.ow for *_, g, _, _ in phases]
    yb = rt.alloc("output", np.zeros((sum(sizes), cfg.batch, cfg.block_out), out_dt), "output")
    check_dram(rt, "conv2d_transpose")
    w_base = y_base = 0
    for (r, q, my, mx, g, sc, sub), p, size in zip(phases, packed, sizes):
        emit_conv(rt, g, sc, xb, wb, bb, yb, shift, relu, w_base=w_base, y_base=y_base)
        w_base += p.size // (cfg.block_out * cfg.block_in)
        y_base += size
    prog = rt.finish()

    def unpack(outputs):
        flat = np.asarray(outputs["output"])
        y = np.zeros((n, o, out_size(h, kh, s, pad), out_size(wd, kw, s, pad)), out_dt)
        at = 0
        for (r, q, my, mx, g, _, _), size in zip(phases, sizes):
            part = flat[at:at + size].reshape(g.nb, g.ob, g.oh, g.ow, cfg.batch, cfg.block_out)
            y[:, :, r::s, q::s] = unpack_activation(part, n, o)[:, :, :my, :mx]
            at += size
        return y

    return prog, unpack, rt


def conv2d_transpose(cfg, x, w, bias=None, stride=2, pad=1, shift=0, relu=False, *, executor):
    """Run conv2d_transpose on ``executor`` (Program -> outputs, e.g. vta.tlm.run_program);
    returns (y, the executor's result)."""
    prog, unpack, _ = build_conv2d_transpose(cfg, x, w, bias, stride, pad, shift, relu)
    result = executor(prog)
    return unpack(outputs_of(result)), result
