"""Pooling: max pool on VTA, global average pool on the host.

max_pool: y[n, c, oy, ox] = max over the k x k window at (oy*s - pad, ox*s - pad) of x, the
padding being the input type's minimum (-128 for int8), so a pad never wins a max.

Lowering of one tile (tc channel blocks x toh output rows x tow output columns): a LOAD with pads
brings the padded input rows into the INP buffer (zeros on the halo); an identity-weight GEMM
copies them into the accumulator (eltwise.copy_to_acc: activations stay int8 in DRAM); ALU
MIN with the immediate -128 turns the halo strips (top/bottom rows, left/right columns) from
0 into -128; a reset GEMM clears the output entries, ALU ADD puts the window's first element
in them and one ALU MAX per further window offset (i, j) takes the maximum, each over the
tile with a kernel of one micro-op per channel block and the rows/columns in the two loops
(strides s*row and s). Values stay in the int8 range, so the STORE's truncation is exact.

global_avg_pool has no clean VTA lowering (the divisor H*W is not a power of two for 7x7,
and there is no ALU multiply), so it exists as a host reference only.
"""
from __future__ import annotations

import numpy as np

from vta.isa import ALU_ADD, ALU_MAX, ALU_MIN, MEM_ACC, MEM_INP, ConfigError

from .builder import dtype_for
from .eltwise import (check_activation, check_dram, check_identity_copy, copy_to_acc, identity_weight, pack_activation,
                      unpack_activation)
from .requant import clip_bounds
from .tiling import MAX_ITER, sizes
from .runtime import Runtime, outputs_of

MAX_PAD = 15      # LOAD pad fields are 4 bits


def _out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


def max_pool_reference(x, kernel, stride, pad, *, out_bits=8):
    """The numpy oracle: k x k max over windows of stride s, padding with the type minimum."""
    x = np.asarray(x)
    n, c, h, w = x.shape
    lo = clip_bounds(out_bits, False)[0]
    xp = np.full((n, c, h + 2 * pad, w + 2 * pad), lo, np.int64)
    xp[:, :, pad:pad + h, pad:pad + w] = x
    oh, ow = _out(h, kernel, stride, pad), _out(w, kernel, stride, pad)
    y = np.full((n, c, oh, ow), lo, np.int64)
    for i in range(kernel):
        for j in range(kernel):
            y = np.maximum(y, xp[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride])
    return y.astype(x.dtype)


def global_avg_pool_reference(x, *, out_bits=8):
    """Host global average pool: mean over H, W rounded to nearest (halves away from
    zero), clipped to the output type; shape (N, C, 1, 1)."""
    x = np.asarray(x, np.int64)
    hw = x.shape[2] * x.shape[3]
    s = x.sum(axis=(2, 3), keepdims=True)
    q = (2 * np.abs(s) + hw) // (2 * hw) * np.sign(s)
    lo, hi = clip_bounds(out_bits, False)
    return np.clip(q, lo, hi).astype(dtype_for(out_bits, "output"))


def _check(cfg, x, kernel, stride, pad):
    check_activation("max_pool", cfg, x)
    for name, v, lo in (("kernel", kernel, 1), ("stride", stride, 1), ("pad", pad, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ConfigError(f"max_pool: {name} {v!r} must be an integer >= {lo}")
    if pad > min(MAX_PAD, kernel - 1):
        raise ConfigError(f"max_pool: pad {pad} must be at most {min(MAX_PAD, kernel - 1)} "
                          f"(below the kernel {kernel}; LOAD pad fields are 4 bits)")
    if x.shape[2] + 2 * pad < kernel or x.shape[3] + 2 * pad < kernel:
        raise ConfigError(f"max_pool: the {kernel}x{kernel} window is larger than the padded "
                          f"{x.shape[2] + 2 * pad}x{x.shape[3] + 2 * pad} input")
    check_identity_copy("max_pool", cfg)


def _fit(cfg, tc, toh, tow, k, s, vt):
    """None if tiles (tc, toh, tow) fit vt regions of INP (the padded input window) and acc
    (its copy plus the output entries), else the reason."""
    ihp, iwp = (toh - 1) * s + k, (tow - 1) * s + k
    if vt * tc * ihp * iwp > cfg.inp_depth:
        return f"{vt} x {tc} x {ihp} x {iwp} input entries exceed the {cfg.inp_depth}-entry INP buffer"
    if vt * tc * (ihp * iwp + toh * tow) > cfg.acc_depth:
        return f"{vt} x {tc} x ({ihp} x {iwp} + {toh} x {tow}) entries exceed the {cfg.acc_depth}-entry acc buffer"
    if tc * ihp * iwp > MAX_ITER:
        return "a loop count exceeds the 14-bit iter fields"
    return None


def choose_tiles(cfg, cb, oh, ow, k, s, vt):
    """(tc, toh, tow): the fewest tiles that fit (see _fit), then the most rows per tile."""
    best = None
    for toh in sizes(oh):
        for tow in sizes(ow):
            ihp, iwp = (toh - 1) * s + k, (tow - 1) * s + k
            tc = min(cb, cfg.inp_depth // (vt * ihp * iwp), cfg.acc_depth // (vt * (ihp * iwp + toh * tow)),
                     MAX_ITER // (ihp * iwp))
            if tc < 1:
                continue
            key = (-(-cb // tc) * -(-oh // toh) * -(-ow // tow), -toh, -tow)
            if best is None or key < best[0]:
                best = (key, (tc, toh, tow))
    if best is None:
        raise ConfigError(f"max_pool: no tiling fits config '{cfg.name}' with vt={vt}: "
                          f"{_fit(cfg, 1, 1, 1, k, s, vt)}")
    return best[1]


def build_max_pool(cfg, x, kernel, stride, pad, *, vt=None, tiles=None, name="max_pool"):
    """The Program computing max pool on ``cfg``; returns (program, unpack, runtime)."""
    _check(cfg, x, kernel, stride, pad)
    n, c, h, w = x.shape
    k, s, p = kernel, stride, pad
    oh, ow = _out(h, k, s, p), _out(w, k, s, p)
    px = pack_activation(x, cfg)                 # (nb, cb, h, w, b, bi)
    nb, cb = px.shape[:2]
    if tiles is not None and (len(tiles) not in (2, 3) or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in tiles)):
        raise ConfigError(f"max_pool: tiles {tiles!r} must be two or three positive integers (tc, toh[, tow])")
    if vt is None:
        try:
            tiles = tiles or choose_tiles(cfg, cb, oh, ow, k, s, 2)
            vt = 2
        except ConfigError:
            vt = 1
    if vt not in (1, 2):
        raise ConfigError(f"max_pool: vt must be 1 or 2, got {vt!r}")
    tc, toh, tow = (tuple(tiles) + (ow,))[:3] if tiles is not None else choose_tiles(cfg, cb, oh, ow, k, s, vt)
    why = _fit(cfg, tc, toh, tow, k, s, vt)
    if why:
        raise ConfigError(f"max_pool: tiles (tc={tc}, toh={toh}, tow={tow}) with vt={vt} do not fit config "
                          f"'{cfg.name}': {why}")
    lo = clip_bounds(cfg.out_bits, False)[0]

    rt = Runtime(cfg, name)
    rt.schedule = dict(vt=vt, tc=tc, toh=toh, tow=tow)
    xb = rt.alloc("input", px, "input")
    ident = identity_weight(rt)
    yb = rt.alloc("output", np.zeros((nb, cb, oh, ow, cfg.batch, cfg.block_out), dtype_for(cfg.out_bits, "output")),
                  "output")
    check_dram(rt, "max_pool")
    rt.load(ident, 0, x_size=1)
    inp_r, acc_r = rt.regions(MEM_INP, vt), rt.regions(MEM_ACC, vt)
    t = 0
    for n0 in range(nb):
        for c0 in range(0, cb, tc):
            for h0, w0 in [(h0, w0) for h0 in range(0, oh, toh) for w0 in range(0, ow, tow)]:
                bc, boh, bow = min(tc, cb - c0), min(toh, oh - h0), min(tow, ow - w0)
                ib, a = inp_r[t % vt][0], acc_r[t % vt][0]
                t += 1
                r0, r1 = h0 * s, (h0 + boh - 1) * s + k            # padded input rows [r0, r1)
                q0, q1 = w0 * s, (w0 + bow - 1) * s + k            # padded input columns [q0, q1)
                h_lo, h_hi = max(r0 - p, 0), min(r1 - p, h)
                w_lo, w_hi = max(q0 - p, 0), min(q1 - p, w)
                ihp, iwp = r1 - r0, q1 - q0
                top, bot, left, right = h_lo + p - r0, r1 - p - h_hi, w_lo + p - q0, q1 - p - w_hi
                plane = ihp * iwp
                for ci in range(bc):
                    rt.load(xb, ib + ci * plane, offset=((n0 * cb + c0 + ci) * h + h_lo) * w + w_lo,
                            y_size=h_hi - h_lo, x_size=w_hi - w_lo, x_stride=w, pads=(top, bot, left, right))
                copy_to_acc(rt, a, ib, 0, bc * plane)
                # the halo: zeros from the LOAD pads become the type minimum
                for at, rows, cols, stride in ((a, bc, top * iwp, plane), (a + (ihp - bot) * iwp, bc, bot * iwp, plane),
                                               (a, bc * ihp, left, iwp), (a + iwp - right, bc * ihp, right, iwp)):
                    if rows and cols:
                        rt.alu(rt.kernel([(at, at, 0)]), ALU_MIN, imm=lo, iter_out=rows, iter_in=cols,
                               dst_factor_out=stride, dst_factor_in=1)
                d = a + bc * plane                                 # output entries (bc, boh, bow)
                rt.gemm(rt.kernel([(d, 0, 0)]), reset=True, iter_out=bc * boh * bow, dst_factor_out=1)
                loop = dict(iter_out=boh, iter_in=bow, dst_factor_out=bow, dst_factor_in=1,
                            src_factor_out=s * iwp, src_factor_in=s)
                for i in range(k):
                    for j in range(k):
                        kern = rt.kernel([(d + ci * boh * bow, a + ci * plane + i * iwp + j, 0) for ci in range(bc)])
                        rt.alu(kern, ALU_MAX if i or j else ALU_ADD, **loop)
                for ci in range(bc):
                    rt.store(yb, d + ci * boh * bow, offset=((n0 * cb + c0 + ci) * oh + h0) * ow + w0,
                             y_size=boh, x_size=bow, x_stride=ow)
    prog = rt.finish()

    def unpack(outputs):
        return unpack_activation(np.asarray(outputs["output"]), n, c)

    return prog, unpack, rt


def max_pool(cfg, x, kernel, stride, pad, *, executor, vt=None, tiles=None):
    """Run max pool on ``executor`` (Program -> outputs, e.g. vta.tlm.run_program);
    returns (y, the executor's result)."""
    prog, unpack, _ = build_max_pool(cfg, x, kernel, stride, pad, vt=vt, tiles=tiles)
    result = executor(prog)
    return unpack(outputs_of(result)), result
