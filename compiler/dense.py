"""dense on VTA: y = clip((X @ W.T + bias) >> shift, lo, hi), built with the runtime.

X int (N, K), W int (M, K) in the config's input/weight widths, bias int32 (M,) or None;
accumulation in acc_bits with wrap-around; arithmetic shift right; lo = 0 with ReLU else
the output type's minimum, hi its maximum (-128/0 and 127 for int8). N, K, M are padded to
the GEMM batch/block internally. The ALU does the bias add (ADD from the bias tiles loaded
into the accumulator buffer), SHR and the MAX/MIN clip before every store (STORE truncates).

Tiling: output blocks of tn x tm tiles, the K dimension walked in blocks of tk tiles; with
``vt`` = 2 the inp/wgt and acc buffers are split in two regions used in turn so that loads
of the next K block (and the next output block) overlap compute on the current one.
:func:`dense_reference` is the numpy oracle, independent of any model of the hardware.
"""
from __future__ import annotations

import numpy as np

from vta.isa import ALU_ADD, MEM_ACC, MEM_INP, MEM_WGT, ConfigError

from .builder import dtype_for, tile_inp, tile_wgt
from .requant import check_bias_and_shift, emit_shift_and_clip, requantize
from .runtime import Runtime, outputs_of


def dense_reference(x, w, bias=None, shift=0, relu=False, *, acc_bits=32, out_bits=8):
    """The numpy oracle: clip((x @ w.T + bias) >> shift, lo, hi) with acc_bits wrap."""
    acc = np.asarray(x, np.int64) @ np.asarray(w, np.int64).T
    return requantize(acc, bias, shift, relu, acc_bits=acc_bits, out_bits=out_bits)


def _pad_to(a, shape):
    out = np.zeros(shape, a.dtype)
    out[tuple(slice(0, n) for n in a.shape)] = a
    return out


def _check(cfg, x, w, bias, shift):
    """One clear message per wrong argument."""
    inp_dt, wgt_dt = dtype_for(cfg.inp_bits, "input"), dtype_for(cfg.wgt_bits, "weight")
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype != inp_dt:
        raise ConfigError(f"dense: input must be a 2-D {np.dtype(inp_dt).name} array (N, K), got "
                          f"{getattr(x, 'dtype', type(x).__name__)}{list(getattr(x, 'shape', []))}")
    if not isinstance(w, np.ndarray) or w.ndim != 2 or w.dtype != wgt_dt:
        raise ConfigError(f"dense: weight must be a 2-D {np.dtype(wgt_dt).name} array (M, K), got "
                          f"{getattr(w, 'dtype', type(w).__name__)}{list(getattr(w, 'shape', []))}")
    if x.shape[1] != w.shape[1]:
        raise ConfigError(f"dense: input has K={x.shape[1]} columns, weight has K={w.shape[1]}")
    if 0 in x.shape or 0 in w.shape:
        raise ConfigError(f"dense: empty operand (input {list(x.shape)}, weight {list(w.shape)})")
    check_bias_and_shift("dense", cfg, bias, w.shape[0], shift)


def choose_tiles(cfg, nt, mt, kt, vt):
    """(tn, tm, tk) in tiles: the largest output block (then K block) whose vt regions fit
    the inp, wgt and acc buffers (acc also holds vt bias rows of tm entries)."""
    tn, tm = min(nt, 64), min(mt, 64)
    while True:
        tk = min(kt, cfg.inp_depth // (vt * tn), cfg.wgt_depth // (vt * tm))
        if tk >= 1 and vt * (tn * tm + tm) <= cfg.acc_depth:
            return tn, tm, tk
        if tn == 1 and tm == 1:
            raise ConfigError(f"dense: config '{cfg.name}' buffers cannot hold {vt} regions of one tile")
        if tm >= tn:
            tm = max(1, tm // 2)
        else:
            tn = max(1, tn // 2)


def build_dense(cfg, x, w, bias=None, shift=0, relu=False, *, vt=2, tiles=None, name="dense"):
    """The Program computing dense on ``cfg``; returns (program, unpack) where
    ``unpack(outputs)`` turns the output segment into the (N, M) result."""
    _check(cfg, x, w, bias, shift)
    if vt not in (1, 2):
        raise ConfigError(f"dense: vt must be 1 or 2, got {vt!r}")
    b, bi, bo = cfg.batch, cfg.block_in, cfg.block_out
    n, k = x.shape
    m = w.shape[0]
    nt, kt, mt = -(-n // b), -(-k // bi), -(-m // bo)
    tn, tm, tk = tiles if tiles is not None else choose_tiles(cfg, nt, mt, kt, vt)
    out_dt = dtype_for(cfg.out_bits, "output")
    acc_dt = dtype_for(cfg.acc_bits, "accumulator")

    rt = Runtime(cfg, name)
    xb = rt.alloc("input", tile_inp(_pad_to(x, (nt * b, kt * bi)), cfg), "input")
    wb = rt.alloc("weight", tile_wgt(_pad_to(w, (mt * bo, kt * bi)), cfg), "weight")
    # one batch row of bias tiles, the bias repeated over the batch lanes: (mt, b, bo)
    bb = None
    if bias is not None:
        brow = np.broadcast_to(_pad_to(bias, (mt * bo,)).reshape(mt, 1, bo), (mt, b, bo))
        bb = rt.alloc("bias", brow.astype(acc_dt), "bias")
    yb = rt.alloc("output", np.zeros((nt, mt, b, bo), out_dt), "output")

    inp_r, wgt_r = rt.regions(MEM_INP, vt), rt.regions(MEM_WGT, vt)
    acc_r = rt.regions(MEM_ACC, vt)           # each: tn*tm outputs, then tm bias entries
    t = 0                                     # K-block counter: inp/wgt region = t % vt
    for blk, (m0, n0) in enumerate((m0, n0) for m0 in range(0, mt, tm) for n0 in range(0, nt, tn)):
        bn, bm = min(tn, nt - n0), min(tm, mt - m0)
        acc = acc_r[blk % vt][0]
        out_loop = dict(iter_out=bn, iter_in=bm, dst_factor_out=bm, dst_factor_in=1)
        for k0 in range(0, kt, tk):
            bk = min(tk, kt - k0)
            ib, wgb = inp_r[t % vt][0], wgt_r[t % vt][0]
            rt.load(xb, ib, offset=n0 * kt + k0, y_size=bn, x_size=bk, x_stride=kt)
            rt.load(wb, wgb, offset=m0 * kt + k0, y_size=bm, x_size=bk, x_stride=kt)
            if k0 == 0:   # reset reads this region's first tiles: no extra dependence
                rt.gemm(rt.kernel([(acc, ib, wgb)]), reset=True, **out_loop)
            kern = rt.kernel([(acc, ib + kk, wgb + kk) for kk in range(bk)])
            rt.gemm(kern, src_factor_out=bk, wgt_factor_in=bk, **out_loop)
            t += 1
        whole = rt.kernel([(acc, acc, 0)])
        if bb is not None:
            bias_at = acc + tn * tm
            rt.load(bb, bias_at, offset=m0, y_size=1, x_size=bm)
            rt.alu(rt.kernel([(acc, bias_at, 0)]), ALU_ADD, src_factor_in=1, **out_loop)
        emit_shift_and_clip(rt, whole, shift, relu, cfg.out_bits, out_loop)
        rt.store(yb, acc, offset=n0 * mt + m0, y_size=bn, x_size=bm, x_stride=mt)
    prog = rt.finish()

    def unpack(outputs):
        y = np.asarray(outputs["output"])
        return y.transpose(0, 2, 1, 3).reshape(nt * b, mt * bo)[:n, :m]

    return prog, unpack, rt


def dense(cfg, x, w, bias=None, shift=0, relu=False, *, executor, vt=2, tiles=None):
    """Run dense on ``executor`` (a callable Program -> outputs, e.g. vta.tlm.run_program);
    returns (y, the executor's result)."""
    prog, unpack, _ = build_dense(cfg, x, w, bias, shift, relu, vt=vt, tiles=tiles)
    result = executor(prog)
    return unpack(outputs_of(result)), result
