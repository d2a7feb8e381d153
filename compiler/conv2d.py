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

Bias: folded into the GEMM when it fits (requant.bias_weights): after the reset, one GEMM
multiplies a constant input entry (kept at the end of each INP region) by the tile's bias
weight tiles (at the end of each WGT region), one micro-op per acc entry instead of an acc
bias load on the compute queue and a 2-cycle ALU ADD per entry. Otherwise (|bias| beyond
about 244k on 8-bit operands, or a forced schedule with no room) the bias is loaded into acc
and added by the ALU. A 1x1 kernel with stride s loads only every s-th input row.

Tiling (:func:`choose_tiles`): the search and cost model of compiler/tiling.py.
:func:`conv2d_reference` is the numpy oracle, independent of any model of the hardware.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from vta.isa import ALU_ADD, MEM_ACC, MEM_INP, MEM_WGT, ConfigError

from . import tiling
from .builder import dtype_for
from .eltwise import check_dram, unpack_activation
from .requant import bias_weights, check_bias_and_shift, describe, emit_shift_and_clip, requantize
from .runtime import Runtime, outputs_of

MAX_PAD = 15      # LOAD pad fields are 4 bits


def out_size(n, k, stride, pad):
    return (n + 2 * pad - k) // stride + 1


def conv_acc(x, w, stride, pad):
    """Sum over taps of x * w (NCHW, OIHW) in x's dtype, no requantization: the reference's
    core, also the graph executor's float convolution."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = out_size(h, kh, stride, pad), out_size(wd, kw, stride, pad)
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad), x.dtype)
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    acc = np.zeros((n, o, oh, ow), x.dtype)
    for i in range(kh):
        for j in range(kw):
            win = xp[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
            acc += np.einsum("nchw,oc->nohw", win, w[:, :, i, j])
    return acc


def conv2d_reference(x, w, bias=None, stride=1, pad=0, shift=0, relu=False, *, acc_bits=32, out_bits=8):
    """The numpy oracle: clip((conv2d(x, w) + bias) >> shift, lo, hi) with acc_bits wrap."""
    acc = conv_acc(np.asarray(x, np.int64), np.asarray(w, np.int64), stride, pad)
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


def choose_tiles(cfg, g, vt=None):
    """The tiling search's best-modeled schedule for geometry ``g`` (compiler/tiling.py)."""
    if vt is None:
        return tiling.best(cfg, g)
    ranked = tiling.rank(cfg, g, vts=(vt,))
    if not ranked:
        raise ConfigError(f"conv2d: no tiling of this layer fits config '{cfg.name}' with vt={vt} "
                          f"(a {g.kh}x{g.kw} window, {g.ow} output columns)")
    return ranked[0][1]


def _pack(a, lead, inner):
    """(A, B, *spatial) zero-padded to multiples (lead, inner) of its first two axes and
    packed to (A/lead, B/inner, *spatial, lead, inner)."""
    a0, b0 = -(-a.shape[0] // lead) * lead, -(-a.shape[1] // inner) * inner
    out = np.zeros((a0, b0) + a.shape[2:], a.dtype)
    out[:a.shape[0], :a.shape[1]] = a
    sp = a.shape[2:]
    out = out.reshape(a0 // lead, lead, b0 // inner, inner, *sp)
    return np.ascontiguousarray(out.transpose(0, 2, 4, 5, 1, 3))


def geometry(cfg, x, w, stride, pad, bias=None):
    """The :class:`tiling.Geometry` of a conv2d with symmetric zero padding; the bias is
    folded into the GEMM when :func:`requant.bias_weights` can express it."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ob = -(-o // cfg.block_out)
    how = "gemm" if bias_weights(cfg, bias, ob) is not None else "add"
    return tiling.Geometry(-(-n // cfg.batch), -(-c // cfg.block_in), h, wd, ob, kh, kw,
                           stride, (pad, pad, pad, pad), how)


def as_schedule(op, cfg, g, tiles, vt):
    """The schedule to use: ``tiles`` given as a Schedule, (to, toh, tc) (all columns) or
    (to, toh, tow, tc), checked to fit; None searches (``vt`` None: 2 if possible)."""
    if tiles is None:
        return choose_tiles(cfg, g, vt)
    if isinstance(tiles, tiling.Schedule):
        sc = tiles
    else:
        if (not isinstance(tiles, (tuple, list)) or len(tiles) not in (3, 4)
                or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in tiles)):
            raise ConfigError(f"{op}: tiles {tiles!r} must be three or four positive integers "
                              "(to, toh, tc) or (to, toh, tow, tc)")
        to, toh, tow, tc = (tiles[0], tiles[1], g.ow, tiles[2]) if len(tiles) == 3 else tiles
        sc = tiling.Schedule(int(to), int(toh), int(tow), int(tc), "os", 2 if vt is None else vt)
    if sc.vt not in (1, 2) or sc.order not in ("os", "so"):
        raise ConfigError(f"{op}: vt must be 1 or 2 and order 'os' or 'so', got {sc}")
    why = tiling.fits(cfg, g, sc)
    if why:
        raise ConfigError(f"{op}: tiles ({sc}) do not fit config '{cfg.name}': {why}")
    return sc


def alloc_bias(rt, bias, ob, how="add"):
    """The bias in DRAM for ``how`` = "add": one acc entry per output channel block, the bias
    repeated over the batch lanes; "gemm": (the constant input entry, one weight tile per
    output channel block), see requant.bias_weights."""
    cfg = rt.cfg
    if how == "gemm":
        ones, tiles = bias_weights(cfg, bias, ob)
        return rt.alloc("bias_input", ones, "input"), rt.alloc("bias_weight", tiles, "weight")
    bpad = np.zeros(ob * cfg.block_out, np.int64)
    bpad[:len(bias)] = bias
    data = np.broadcast_to(bpad.reshape(ob, 1, cfg.block_out), (ob, cfg.batch, cfg.block_out))
    return rt.alloc("bias", data.astype(dtype_for(cfg.acc_bits, "accumulator")), "bias")


def emit_conv(rt, g, sc, xb, wb, bb, yb, shift, relu, *, w_base=0, y_base=0):
    """Emit the conv2d of geometry ``g`` with schedule ``sc``: input ``xb`` packed (nb, cb, h,
    w, b, bi), weights at element ``w_base`` of ``wb`` packed (ob, cb, kh, kw, bo, bi), bias
    ``bb`` (or None) from :func:`alloc_bias` with ``g.bias``, output at element ``y_base`` of
    ``yb`` packed (nb, ob, oh, ow, b, bo)."""
    cfg = rt.cfg
    cb, h, wd, ob, kh, kw, s = g.cb, g.h, g.w, g.ob, g.kh, g.kw, g.s
    pt, _, pl, _ = g.pads
    oh, ow, kk = g.oh, g.ow, kh * kw
    to, toh, tow, tc, vt = sc.to, sc.toh, sc.tow, sc.tc, sc.vt
    inp_r, wgt_r, acc_r = rt.regions(MEM_INP, vt), rt.regions(MEM_WGT, vt), rt.regions(MEM_ACC, vt)
    fold = bb is not None and g.bias == "gemm"
    resident = {}                  # (buffer, region) -> what it holds: a repeated load is skipped
    state = {"t": 0, "blk": 0}
    spatial = [(h0, w0) for h0 in range(0, oh, toh) for w0 in range(0, ow, tow)]

    def load_once(where, key, emit):
        if resident.get(where) != key:
            emit()
            resident[where] = key

    def tile(n0, o0, h0, w0):
        bo, boh, bow = min(to, ob - o0), min(toh, oh - h0), min(tow, ow - w0)
        acc = acc_r[state["blk"] % vt][0]
        state["blk"] += 1
        r0, r1 = h0 * s, (h0 + boh - 1) * s + kh          # padded input rows [r0, r1)
        if g.row_skip:                                     # only rows r0, r0 + s, ...: no pads
            r1 = r0 + boh
        c0_, c1_ = w0 * s, (w0 + bow - 1) * s + kw        # padded input columns [c0_, c1_)
        h_lo, h_hi = max(r0 - pt, 0), min(r1 - pt, h)
        w_lo, w_hi = max(c0_ - pl, 0), min(c1_ - pl, wd)
        ihp, iwp = r1 - r0, c1_ - c0_
        sy = 1 if g.row_skip else s                        # SRAM rows per output row
        pads = (h_lo + pt - r0, r1 - pt - h_hi, w_lo + pl - c0_, c1_ - pl - w_hi)
        for c0 in range(0, cb, tc):
            bc = min(tc, cb - c0)
            r = state["t"] % vt
            ib, wgb = inp_r[r][0], wgt_r[r][0]
            state["t"] += 1

            def load_inp():
                for ci in range(bc):
                    rt.load(xb, ib + ci * ihp * iwp, offset=((n0 * cb + c0 + ci) * h + h_lo) * wd + w_lo,
                            y_size=h_hi - h_lo, x_size=w_hi - w_lo, x_stride=wd * (s // sy), pads=pads)
            load_once(("inp", r), (n0, c0, bc, h0, w0, boh, bow), load_inp)
            load_once(("wgt", r), (o0, c0, bo, bc),
                      lambda: rt.load(wb, wgb, offset=w_base + (o0 * cb + c0) * kk, y_size=bo, x_size=bc * kk,
                                      x_stride=cb * kk))
            if c0 == 0:   # reset reads this region's first entries: no extra dependence
                rt.gemm(rt.kernel([(acc, ib, wgb)]), reset=True, iter_out=bo * boh, iter_in=bow,
                        dst_factor_out=bow, dst_factor_in=1)
                if fold:  # bias = constant input entry x bias tiles, kept at the regions' ends
                    ones_at = inp_r[r][0] + inp_r[r][1] - 1
                    bw_at = wgt_r[r][0] + wgt_r[r][1] - to
                    load_once(("ones", r), 0, lambda: rt.load(bb[0], ones_at))
                    load_once(("bias", r), (o0, bo), lambda: rt.load(bb[1], bw_at, offset=o0, y_size=1, x_size=bo))
                    rt.gemm(rt.kernel([(acc, ones_at, bw_at)]), iter_out=bo, iter_in=boh * bow,
                            dst_factor_out=boh * bow, dst_factor_in=1, src_factor_out=0, src_factor_in=0,
                            wgt_factor_out=1, wgt_factor_in=0)
            _tile_gemm(rt, acc, ib, wgb, bo, boh, bow, bc, ihp, iwp, kh, kw, s, sy)
        loop = dict(iter_out=bo * boh, iter_in=bow, dst_factor_out=bow, dst_factor_in=1,
                    src_factor_out=bow, src_factor_in=1)
        whole = rt.kernel([(acc, acc, 0)])
        if bb is not None and not fold:
            bias_at = acc + to * toh * tow
            rt.load(bb, bias_at, offset=o0, y_size=1, x_size=bo)
            rt.alu(rt.kernel([(acc, bias_at, 0)]), ALU_ADD, iter_out=bo, iter_in=boh * bow,
                   dst_factor_out=boh * bow, dst_factor_in=1, src_factor_out=1, src_factor_in=0)
        emit_shift_and_clip(rt, whole, shift, relu, cfg.out_bits, loop)
        for oi in range(bo):
            rt.store(yb, acc + oi * boh * bow, offset=y_base + ((n0 * ob + o0 + oi) * oh + h0) * ow + w0,
                     y_size=boh, x_size=bow, x_stride=ow)

    for n0 in range(g.nb):
        if sc.order == "os":
            for o0 in range(0, ob, to):
                for h0, w0 in spatial:
                    tile(n0, o0, h0, w0)
        else:
            for h0, w0 in spatial:
                for o0 in range(0, ob, to):
                    tile(n0, o0, h0, w0)


def lower(cfg, x, w, stride, pad, bias=None):
    """How conv2d runs: (input, weight, geometry, (OH, OW), description). A strided layer with
    few input channels (C * s^2 <= block_in, e.g. ResNet's C1: 3 channels, 7x7, stride 2) is
    rewritten by space-to-depth when that means fewer micro-ops: the input's s x s pixel
    blocks become channels (a permutation: no data is duplicated, unlike im2col), the kernel
    (extended by e = s*ceil(p/s) - p leading zero taps) is split the same way, and the layer
    becomes a stride-1 conv with ceil((k + e) / s) taps and pads ceil(p/s) (before) and what
    the output count needs (after). C1: 49 taps over one channel block become 16. ``bias``:
    see :func:`geometry`."""
    g = geometry(cfg, x, w, stride, pad, bias)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    s, direct = stride, (x, w, g, (g.oh, g.ow), "direct")
    if s == 1 or h % s or wd % s or c * s * s > cfg.block_in:
        return direct
    big_p, e = -(-pad // s), -(-pad // s) * s - pad
    ksh, ksw = -(-(kh + e) // s), -(-(kw + e) // s)
    after_h, after_w = g.oh + ksh - 1 - big_p - h // s, g.ow + ksw - 1 - big_p - wd // s
    if ksh * ksw >= kh * kw or max(big_p, after_h, after_w) > MAX_PAD:
        return direct
    x2 = x.reshape(n, c, h // s, s, wd // s, s).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * s * s, h // s, wd // s)
    wq = np.zeros((o, c, ksh * s, ksw * s), w.dtype)
    wq[:, :, e:e + kh, e:e + kw] = w
    w2 = wq.reshape(o, c, ksh, s, ksw, s).transpose(0, 1, 3, 5, 2, 4).reshape(o, c * s * s, ksh, ksw)
    # negative after-pads: the stride-1 conv gives extra outputs, cut by the unpack
    g2 = tiling.Geometry(g.nb, -(-(c * s * s) // cfg.block_in), h // s, wd // s, g.ob, ksh, ksw, 1,
                         (big_p, max(after_h, 0), big_p, max(after_w, 0)), g.bias)
    return (np.ascontiguousarray(x2), np.ascontiguousarray(w2), g2, (g.oh, g.ow),
            f"space-to-depth {s}: {kh}x{kw} stride {s} -> {ksh}x{ksw} stride 1 over {c * s * s} channels")


def build_conv2d(cfg, x, w, bias=None, stride=1, pad=0, shift=0, relu=False, *, vt=None, tiles=None,
                 name="conv2d"):
    """The Program computing conv2d on ``cfg``; returns (program, unpack, runtime) where
    ``unpack(outputs)`` turns the output segment into the (N, O, OH, OW) result. ``tiles``:
    see :func:`as_schedule` (for the geometry :func:`lower` gives); the schedule used is
    ``runtime.schedule``, the lowering ``runtime.lowering``."""
    _check(cfg, x, w, bias, stride, pad, shift)
    if vt is not None and vt not in (1, 2):
        raise ConfigError(f"conv2d: vt must be 1 or 2, got {vt!r}")
    n, o = x.shape[0], w.shape[0]
    x, w, g, (oh, ow), how = lower(cfg, x, w, stride, pad, bias)
    if g.ob == g.oh == g.ow == 1:
        raise ConfigError(f"conv2d: a 1x1 output of at most {cfg.block_out} channels is one accumulator "
                          "entry; its GEMM would write it on consecutive micro-ops (use dense)")
    if tiles is not None and g.bias == "gemm":
        try:
            as_schedule("conv2d", cfg, g, tiles, vt)
        except ConfigError:     # a schedule made for the bias in acc, no room to fold it
            g = dataclasses.replace(g, bias="add")
    sc = as_schedule("conv2d", cfg, g, tiles, vt)
    rt = Runtime(cfg, name)
    rt.schedule, rt.lowering = sc, how
    rt.bias_fold = bias is not None and g.bias == "gemm"     # bias added by the GEMM (see alloc_bias)
    xb = rt.alloc("input", _pack(x, cfg.batch, cfg.block_in), "input")            # (nb, cb, h, w, b, bi)
    wb = rt.alloc("weight", _pack(w, cfg.block_out, cfg.block_in), "weight")       # (ob, cb, kh, kw, bo, bi)
    bb = None if bias is None else alloc_bias(rt, bias, g.ob, g.bias)
    yb = rt.alloc("output", np.zeros((g.nb, g.ob, g.oh, g.ow, cfg.batch, cfg.block_out),
                                     dtype_for(cfg.out_bits, "output")), "output")
    check_dram(rt, "conv2d")
    emit_conv(rt, g, sc, xb, wb, bb, yb, shift, relu)
    prog = rt.finish()

    def unpack(outputs):
        return unpack_activation(np.asarray(outputs["output"]), n, o)[:, :, :oh, :ow]

    return prog, unpack, rt


def _tile_gemm(rt, acc, ib, wgb, bo, boh, bow, bc, ihp, wp, kh, kw, s, sy):
    """One reduction step of a tile: acc[ob, oh, ow] += sum over (c, kh, kw) of
    inp[c, oh*sy+kh, ow*s+kw] @ wgt[ob, c, kh, kw] (sy = s, or 1 when only the rows the
    kernel reads were loaded). Two output axes fold into the loops, the third is unrolled
    innermost in the kernel."""
    kk = kh * kw
    # per output axis: (extent, dst factor, src factor, wgt factor) in the tile's SRAM layouts
    axes = {"ob": (bo, boh * bow, 0, bc * kk), "oh": (boh, bow, sy * wp, 0), "ow": (bow, 1, s, 0)}
    inner = tiling.inner_axis(bo, boh, bow)
    if inner is None:
        raise ConfigError("conv2d: an output tile of a single accumulator entry would make "
                          "consecutive micro-ops write the same entry")
    outer_axes = [a for a in ("ob", "oh", "ow") if a != inner]
    ext, df, sf, wf = axes[inner]
    # (dst, src, wgt) for ci, i, j, u nested in that order (u innermost)
    ci, i, j, u = (a.ravel() for a in np.meshgrid(np.arange(bc), np.arange(kh), np.arange(kw),
                                                    np.arange(ext), indexing="ij"))
    uops = np.stack([acc + u * df, ib + (ci * ihp + i) * wp + j + u * sf,
                     wgb + ci * kk + i * kw + j + u * wf], axis=1)
    (e0, d0, s0, w0), (e1, d1, s1, w1) = axes[outer_axes[0]], axes[outer_axes[1]]
    # every execution in loop order, including across loop iterations: no two in a row
    # may write the same acc entry (the hardware's accumulator write-back hazard)
    dst = (np.arange(e0)[:, None, None] * d0 + np.arange(e1)[None, :, None] * d1
           + uops[:, 0][None, None, :]).ravel()
    if dst.size > 1 and not np.all(np.diff(dst)):
        raise ConfigError(f"conv2d: a {bo}x{boh}x{bow} output tile would make consecutive "
                          "micro-ops write the same accumulator entry")
    rt.gemm(rt.kernel(uops), iter_out=e0, iter_in=e1, dst_factor_out=d0, dst_factor_in=d1,
            src_factor_out=s0, src_factor_in=s1, wgt_factor_out=w0, wgt_factor_in=w1)


def conv2d(cfg, x, w, bias=None, stride=1, pad=0, shift=0, relu=False, *, executor, vt=None, tiles=None,
           confirm=1):
    """Run conv2d on ``executor`` (a callable Program -> outputs, e.g. vta.tlm.run_program);
    returns (y, the executor's result). ``confirm`` > 1 (no ``tiles``): the tiling search's
    ``confirm`` best-modeled schedules all run on the executor (whose result must have
    ``.cycles``, as the TLM's does) and the fewest cycles wins (ties: the better modeled)."""
    if confirm == 1 or tiles is not None:
        prog, unpack, _ = build_conv2d(cfg, x, w, bias, stride, pad, shift, relu, vt=vt, tiles=tiles)
        result = executor(prog)
        return unpack(outputs_of(result)), result
    if isinstance(confirm, bool) or not isinstance(confirm, (int, np.integer)) or confirm < 1:
        raise ConfigError(f"conv2d: confirm {confirm!r} must be a positive integer (schedules to run)")
    _check(cfg, x, w, bias, stride, pad, shift)
    g = lower(cfg, x, w, stride, pad, bias)[2]
    ranked = tiling.rank(cfg, g, vts=(2, 1) if vt is None else (vt,))
    runs = {}

    def cycles(sc):
        prog, unpack, _ = build_conv2d(cfg, x, w, bias, stride, pad, shift, relu, tiles=sc)
        result = executor(prog)
        if not hasattr(result, "cycles"):
            raise ConfigError("conv2d: confirm needs an executor whose result reports .cycles (the TLM's)")
        runs[sc] = (unpack(outputs_of(result)), result)
        return result.cycles

    chosen, _ = tiling.confirm(ranked, cycles, top=confirm)
    return runs[chosen]
