"""conv2d on VTA: y = clip((conv2d(X, W) + bias) >> shift, lo, hi), built with the runtime.

X int (N, C, H, W) NCHW, W int (O, C, KH, KW) OIHW in the config's input/weight widths,
bias int32 (O,) or None, stride 1 or 2, zero padding P on both spatial axes; accumulation
in acc_bits with wrap-around, arithmetic shift right, lo = 0 with ReLU else the output
type's minimum, hi its maximum -- the same requantization as dense, on the ALU before
every store (STORE truncates).

Layout: data is packed to NCHW{batch}n{block}c (input (N/b, C/bi, H, W, b, bi), weights
(O/bo, C/bi, KH, KW, bo, bi), output (N/b, O/bo, OH, OW, b, bo)); channels are padded with
zeros to the GEMM block, so C=3 works. The halo is made by LOAD pads (one 2-D load per
input-channel block, zero rows/columns on the spatial axes only, 4-bit pad fields): no
im2col on the host.

Lowering of one output tile (to channel blocks x toh rows x OW columns, reduction walked
in steps of tc input-channel blocks): per step one GEMM whose two folded loops are two of
the output axes (channel block, row, column) and whose micro-kernel unrolls the input
channel block, kh, kw and the third output axis, innermost. The innermost axis always has
extent >= 2 so that two consecutive micro-ops never write the same acc entry (checked).
Kernels are cached by their micro-ops, so tiles of the same shape issue no new LOAD UOP.

Tiling heuristic (:func:`choose_tiles`): every (to, toh) with the largest tc whose vt
regions fit the inp, wgt and acc buffers (acc also holds to bias entries) and whose kernel
fits half the uop buffer; pick the one with the fewest modeled DRAM bytes (inputs re-read
once per output-channel group, weights once per row tile), then the fewest tiles.
:func:`conv2d_reference` is the numpy oracle, independent of any model of the hardware.
"""
from __future__ import annotations

import numpy as np

from vta.isa import ALU_ADD, MEM_ACC, MEM_INP, MEM_WGT, ConfigError

from .builder import dtype_for
from .requant import check_bias_and_shift, describe, emit_shift_and_clip, requantize
from .runtime import Runtime, outputs_of

MAX_PAD = 15      # LOAD pad fields are 4 bits


def out_size(n, k, stride, pad):
    return (n + 2 * pad - k) // stride + 1


def conv2d_reference(x, w, bias=None, stride=1, pad=0, shift=0, relu=False, *, acc_bits=32, out_bits=8):
    """The numpy oracle: clip((conv2d(x, w) + bias) >> shift, lo, hi) with acc_bits wrap."""
    x, w = np.asarray(x, np.int64), np.asarray(w, np.int64)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = out_size(h, kh, stride, pad), out_size(wd, kw, stride, pad)
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad), np.int64)
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    acc = np.zeros((n, o, oh, ow), np.int64)
    for i in range(kh):
        for j in range(kw):
            win = xp[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
            acc += np.einsum("nchw,oc->nohw", win, w[:, :, i, j])
    return requantize(acc, bias, shift, relu, acc_bits=acc_bits, out_bits=out_bits)


def _check(cfg, x, w, bias, stride, pad, shift):
    """One clear message per wrong argument."""
    inp_dt, wgt_dt = dtype_for(cfg.inp_bits, "input"), dtype_for(cfg.wgt_bits, "weight")
    if not isinstance(x, np.ndarray) or x.ndim != 4 or x.dtype != inp_dt:
        raise ConfigError(f"conv2d: input must be a 4-D {np.dtype(inp_dt).name} array (N, C, H, W), got {describe(x)}")
    if not isinstance(w, np.ndarray) or w.ndim != 4 or w.dtype != wgt_dt:
        raise ConfigError(f"conv2d: weight must be a 4-D {np.dtype(wgt_dt).name} array (O, C, KH, KW), "
                          f"got {describe(w)}")
    if 0 in x.shape or 0 in w.shape:
        raise ConfigError(f"conv2d: empty operand (input {list(x.shape)}, weight {list(w.shape)})")
    if x.shape[1] != w.shape[1]:
        raise ConfigError(f"conv2d: input has C={x.shape[1]} channels, weight has C={w.shape[1]}")
    check_bias_and_shift("conv2d", cfg, bias, w.shape[0], shift)
    if isinstance(stride, bool) or stride not in (1, 2):
        raise ConfigError(f"conv2d: stride {stride!r} must be 1 or 2")
    kh, kw = w.shape[2:]
    # pad < kernel keeps every output row's window on at least one real input row
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or not 0 <= pad <= min(MAX_PAD, kh - 1, kw - 1):
        raise ConfigError(f"conv2d: pad {pad!r} must be an integer in 0..{min(MAX_PAD, kh - 1, kw - 1)} "
                          f"(below the {kh}x{kw} kernel; LOAD pad fields are 4 bits)")
    if x.shape[2] + 2 * pad < kh or x.shape[3] + 2 * pad < kw:
        raise ConfigError(f"conv2d: the {kh}x{kw} kernel is larger than the padded "
                          f"{x.shape[2] + 2 * pad}x{x.shape[3] + 2 * pad} input")


def _inner_axis(bo, boh, bow):
    """The output axis unrolled innermost in the kernel: one with extent >= 2, so that two
    consecutive micro-ops write different acc entries. None if the tile is one entry."""
    for axis, ext in (("ob", bo), ("ow", bow), ("oh", boh)):
        if ext >= 2:
            return axis
    return None


def choose_tiles(cfg, shape, vt):
    """(to, toh, tc): see the module docstring for the heuristic."""
    nb, cb, h, w, ob, oh, ow, kh, kw, s, p = shape
    wp, kk = w + 2 * p, kh * kw
    inp_eb, wgt_eb = cfg.elem_bytes(MEM_INP), cfg.elem_bytes(MEM_WGT)
    best = None
    for to in range(1, ob + 1):
        for toh in range(1, oh + 1):
            ihp = (toh - 1) * s + kh
            if vt * to * (toh * ow + 1) > cfg.acc_depth:
                break
            # the kernel may unroll the columns when a tile has one channel block
            inner = to if to >= 2 and ob % to != 1 else max(to, ow)
            tc = min(cb, cfg.inp_depth // (vt * ihp * wp), cfg.wgt_depth // (vt * to * kk),
                     cfg.uop_depth // (2 * kk * inner))
            if tc < 1:
                continue
            n_ob, n_oh = -(-ob // to), -(-oh // toh)
            if any(_inner_axis(a, b, ow) is None for a in {to, ob - (n_ob - 1) * to}
                   for b in {toh, oh - (n_oh - 1) * toh}):
                continue
            traffic = (nb * n_ob * n_oh * cb * ihp * w * inp_eb + nb * n_oh * ob * cb * kk * wgt_eb)
            key = (traffic, nb * n_ob * n_oh * -(-cb // tc))
            if best is None or key < best[0]:
                best = (key, (to, toh, tc))
    if best is None:
        raise ConfigError(f"conv2d: no tiling of this layer fits config '{cfg.name}' with vt={vt} "
                          f"(a {kh}x{kw} window over {wp} padded columns, {ow} output columns)")
    return best[1]


def _pack(a, lead, inner):
    """(A, B, *spatial) zero-padded to multiples (lead, inner) of its first two axes and
    packed to (A/lead, B/inner, *spatial, lead, inner)."""
    a0, b0 = -(-a.shape[0] // lead) * lead, -(-a.shape[1] // inner) * inner
    out = np.zeros((a0, b0) + a.shape[2:], a.dtype)
    out[:a.shape[0], :a.shape[1]] = a
    sp = a.shape[2:]
    out = out.reshape(a0 // lead, lead, b0 // inner, inner, *sp)
    return np.ascontiguousarray(out.transpose(0, 2, 4, 5, 1, 3))


def build_conv2d(cfg, x, w, bias=None, stride=1, pad=0, shift=0, relu=False, *, vt=None, tiles=None,
                 name="conv2d"):
    """The Program computing conv2d on ``cfg``; returns (program, unpack, runtime) where
    ``unpack(outputs)`` turns the output segment into the (N, O, OH, OW) result.
    ``vt`` None: 2 if a tiling with two regions exists, else 1."""
    _check(cfg, x, w, bias, stride, pad, shift)
    b, bi, bo_ = cfg.batch, cfg.block_in, cfg.block_out
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    s, p = stride, pad
    oh, ow = out_size(h, kh, s, p), out_size(wd, kw, s, p)
    nb, cb, ob = -(-n // b), -(-c // bi), -(-o // bo_)
    wp, kk = wd + 2 * p, kh * kw
    shape = (nb, cb, h, wd, ob, oh, ow, kh, kw, s, p)
    if ob == oh == ow == 1:
        raise ConfigError(f"conv2d: a 1x1 output of at most {bo_} channels is one accumulator entry; "
                          "its GEMM would write it on consecutive micro-ops (use dense)")
    if tiles is not None and (len(tiles) != 3 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                                                     or v < 1 for v in tiles)):
        raise ConfigError(f"conv2d: tiles {tiles!r} must be three positive integers (to, toh, tc)")
    if vt is None:
        try:
            tiles = tiles or choose_tiles(cfg, shape, 2)
            vt = 2
        except ConfigError:
            vt = 1
    elif vt not in (1, 2):
        raise ConfigError(f"conv2d: vt must be 1 or 2, got {vt!r}")
    to, toh, tc = tiles if tiles is not None else choose_tiles(cfg, shape, vt)
    out_dt, acc_dt = dtype_for(cfg.out_bits, "output"), dtype_for(cfg.acc_bits, "accumulator")

    rt = Runtime(cfg, name)
    rt.schedule = dict(vt=vt, to=to, toh=toh, tc=tc)
    xb = rt.alloc("input", _pack(x, b, bi), "input")                   # (nb, cb, h, w, b, bi)
    wb = rt.alloc("weight", _pack(w, bo_, bi), "weight")               # (ob, cb, kh, kw, bo, bi)
    bb = None
    if bias is not None:       # one bias entry per channel block, repeated over the batch lanes
        bpad = np.zeros(ob * bo_, np.int64)
        bpad[:o] = bias
        bb = rt.alloc("bias", np.broadcast_to(bpad.reshape(ob, 1, bo_), (ob, b, bo_)).astype(acc_dt), "bias")
    yb = rt.alloc("output", np.zeros((nb, ob, oh, ow, b, bo_), out_dt), "output")

    inp_r, wgt_r, acc_r = rt.regions(MEM_INP, vt), rt.regions(MEM_WGT, vt), rt.regions(MEM_ACC, vt)
    t = blk = 0
    for n0 in range(nb):
        for o0 in range(0, ob, to):
            for h0 in range(0, oh, toh):
                bo, boh, bow = min(to, ob - o0), min(toh, oh - h0), ow
                acc = acc_r[blk % vt][0]
                blk += 1
                r0, r1 = h0 * s, (h0 + boh - 1) * s + kh          # padded input rows [r0, r1)
                h_lo, h_hi = max(r0 - p, 0), min(r1 - p, h)
                ihp = r1 - r0
                for c0 in range(0, cb, tc):
                    bc = min(tc, cb - c0)
                    ib, wgb = inp_r[t % vt][0], wgt_r[t % vt][0]
                    t += 1
                    for ci in range(bc):
                        rt.load(xb, ib + ci * ihp * wp, offset=((n0 * cb + c0 + ci) * h + h_lo) * wd,
                                y_size=h_hi - h_lo, x_size=wd, x_stride=wd,
                                pads=(h_lo + p - r0, r1 - p - h_hi, p, p))
                    rt.load(wb, wgb, offset=(o0 * cb + c0) * kk, y_size=bo, x_size=bc * kk, x_stride=cb * kk)
                    if c0 == 0:   # reset reads this region's first entries: no extra dependence
                        rt.gemm(rt.kernel([(acc, ib, wgb)]), reset=True, iter_out=bo * boh, iter_in=bow,
                                dst_factor_out=bow, dst_factor_in=1)
                    _tile_gemm(rt, acc, ib, wgb, bo, boh, bow, bc, ihp, wp, kh, kw, s)
                loop = dict(iter_out=bo * boh, iter_in=bow, dst_factor_out=bow, dst_factor_in=1,
                            src_factor_out=bow, src_factor_in=1)
                whole = rt.kernel([(acc, acc, 0)])
                if bb is not None:
                    bias_at = acc + to * toh * ow
                    rt.load(bb, bias_at, offset=o0, y_size=1, x_size=bo)
                    rt.alu(rt.kernel([(acc, bias_at, 0)]), ALU_ADD, iter_out=bo, iter_in=boh * bow,
                           dst_factor_out=boh * bow, dst_factor_in=1, src_factor_out=1, src_factor_in=0)
                emit_shift_and_clip(rt, whole, shift, relu, cfg.out_bits, loop)
                for oi in range(bo):
                    rt.store(yb, acc + oi * boh * bow, offset=((n0 * ob + o0 + oi) * oh + h0) * ow,
                             y_size=boh, x_size=bow, x_stride=ow)
    prog = rt.finish()

    def unpack(outputs):
        y = np.asarray(outputs["output"])                  # (nb, ob, oh, ow, b, bo)
        return y.transpose(0, 4, 1, 5, 2, 3).reshape(nb * b, ob * bo_, oh, ow)[:n, :o]

    return prog, unpack, rt


def _tile_gemm(rt, acc, ib, wgb, bo, boh, bow, bc, ihp, wp, kh, kw, s):
    """One reduction step of a tile: acc[ob, oh, ow] += sum over (c, kh, kw) of
    inp[c, oh*s+kh, ow*s+kw] @ wgt[ob, c, kh, kw]. Two output axes fold into the loops, the
    third is unrolled innermost in the kernel."""
    kk = kh * kw
    # per output axis: (extent, dst factor, src factor, wgt factor) in the tile's SRAM layouts
    axes = {"ob": (bo, boh * bow, 0, bc * kk), "oh": (boh, bow, s * wp, 0), "ow": (bow, 1, s, 0)}
    inner = _inner_axis(bo, boh, bow)
    if inner is None:
        raise ConfigError("conv2d: an output tile of a single accumulator entry would make "
                          "consecutive micro-ops write the same entry")
    outer_axes = [a for a in ("ob", "oh", "ow") if a != inner]
    ext, df, sf, wf = axes[inner]
    uops = [(acc + u * df, ib + (ci * ihp + i) * wp + j + u * sf, wgb + ci * kk + i * kw + j + u * wf)
            for ci in range(bc) for i in range(kh) for j in range(kw) for u in range(ext)]
    (e0, d0, s0, w0), (e1, d1, s1, w1) = axes[outer_axes[0]], axes[outer_axes[1]]
    # every execution in loop order, including across loop iterations: no two in a row
    # may write the same acc entry (the hardware's accumulator write-back hazard)
    dst = (np.arange(e0)[:, None, None] * d0 + np.arange(e1)[None, :, None] * d1
           + np.array([u[0] for u in uops])[None, None, :]).ravel()
    if dst.size > 1 and not np.all(np.diff(dst)):
        raise ConfigError(f"conv2d: a {bo}x{boh}x{bow} output tile would make consecutive "
                          "micro-ops write the same accumulator entry")
    rt.gemm(rt.kernel(uops), iter_out=e0, iter_in=e1, dst_factor_out=d0, dst_factor_in=d1,
            src_factor_out=s0, src_factor_in=s1, wgt_factor_out=w0, wgt_factor_in=w1)


def conv2d(cfg, x, w, bias=None, stride=1, pad=0, shift=0, relu=False, *, executor, vt=None, tiles=None):
    """Run conv2d on ``executor`` (a callable Program -> outputs, e.g. vta.tlm.run_program);
    returns (y, the executor's result)."""
    prog, unpack, _ = build_conv2d(cfg, x, w, bias, stride, pad, shift, relu, vt=vt, tiles=tiles)
    result = executor(prog)
    return unpack(outputs_of(result)), result
