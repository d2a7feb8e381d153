"""Post-training quantization of a float Graph to power-of-two scales (TVM's VTA scheme).

Every tensor t gets an exponent e_t: float value ~ int * 2**-e_t. From calibration inputs
the float graph is run once (graph.run_float); a tensor's exponent is the largest that
keeps its ``percentile``-th absolute value within the int range, so few values saturate
and small ones still get distinct levels. Per weighted node (conv2d, dense,
conv2d_transpose) the weight exponent e_w fits max |w| the same way (per tensor), the bias
is rounded at the accumulator's scale 2**-(e_in + e_w), and the requantization shift is
``e_in + e_w - e_out`` (0..max_shift: a shift below 0 coarsens the output to shift 0, above
max_shift coarsens the weights). An add aligns both inputs to the finer of the two scales
(shift_a, shift_b) and shifts down to its output's; max_pool, relu, flatten keep their
input's scale; the host global average pool may refine it (its shift). Relu was fused
before (lo = 0 in the clip), so a ReLU output's range is its positive part.
"""
from __future__ import annotations

import math

import numpy as np

from vta.isa import ConfigError

from .builder import dtype_for
from .graph import Graph, Node, run_float

MAX_EXP = 30          # exponents beyond this mean an all-zero tensor: keep them finite
CALIB_CHUNK = 64      # calibration images run through the float graph at a time, at most
CHUNK_ELEMENTS = 1 << 26  # ... and fewer when one image's tensors together are larger
MAX_SAMPLES = 4 << 20  # absolute values kept per tensor for its percentile (bounded memory)


def calibration_ranges(fgraph, calib, percentile):
    """Per tensor, the ``percentile``-th absolute value over the calibration inputs. The
    float graph runs on chunks of at most CALIB_CHUNK images (and CHUNK_ELEMENTS values), so
    memory does not grow with the calibration set beyond MAX_SAMPLES values per tensor (a
    seeded subsample past that)."""
    rng = np.random.default_rng(0)
    kept = {}
    per_image = sum(int(np.prod(s)) for s in fgraph.shapes().values())
    chunk = max(1, min(CALIB_CHUNK, CHUNK_ELEMENTS // per_image))
    per_chunk = max(1, MAX_SAMPLES * chunk // len(calib))
    for i in range(0, len(calib), chunk):
        for t, v in run_float(fgraph, calib[i:i + chunk], keep=True).items():
            a = np.abs(v).ravel()
            if a.size > per_chunk:
                a = rng.choice(a, per_chunk, replace=False)
            kept.setdefault(t, []).append(a)
    return {t: float(np.percentile(np.concatenate(v), percentile)) for t, v in kept.items()}


def exponent_for(absmax, bits):
    """The largest e with absmax * 2**e <= 2**(bits-1) - 1 (MAX_EXP for an all-zero range)."""
    hi = (1 << (bits - 1)) - 1
    if not absmax > 0 or not math.isfinite(absmax):
        return MAX_EXP
    return min(MAX_EXP, math.floor(math.log2(hi / absmax)))


def to_int(x, e, bits, dtype):
    """round(x * 2**e), clipped to a signed ``bits``-wide range."""
    hi = (1 << (bits - 1)) - 1
    return np.clip(np.rint(np.asarray(x, np.float64) * 2.0 ** e), -hi - 1, hi).astype(dtype)


def quantize_input(graph, x, bits=8):
    """Float network input -> int, at the graph's input scale."""
    x = np.asarray(x)
    if x.dtype.kind != "f" or x.shape[1:] != tuple(graph.input_shape):
        raise ConfigError(f"model '{graph.name}': input must be float of shape "
                          f"[N, {', '.join(map(str, graph.input_shape))}], got {x.dtype}{list(x.shape)}")
    if not np.all(np.isfinite(x)):
        raise ConfigError(f"model '{graph.name}': input holds NaN or infinity")
    return to_int(x, graph.scales[graph.input], bits, dtype_for(bits, "input"))


def dequantize(graph, y, tensor=None):
    return np.asarray(y, np.float64) * 2.0 ** -graph.scales[tensor or graph.output]


def quantize(fgraph, calib, *, act_bits=8, wgt_bits=8, acc_bits=32, percentile=99.99):
    """The int Graph of float Graph ``fgraph`` calibrated on float inputs ``calib`` (batch
    first). Returns a Graph whose ``scales`` hold every tensor's exponent."""
    calib = np.asarray(calib)
    if calib.dtype.kind != "f" or calib.shape[1:] != tuple(fgraph.input_shape) or calib.shape[0] < 1:
        raise ConfigError(f"model '{fgraph.name}': calibration data must be float of shape "
                          f"[N, {', '.join(map(str, fgraph.input_shape))}], got {calib.dtype}{list(calib.shape)}")
    if not np.all(np.isfinite(calib)):
        raise ConfigError(f"model '{fgraph.name}': calibration data holds NaN or infinity")
    wanted = {t: exponent_for(r, act_bits) for t, r in calibration_ranges(fgraph, calib, percentile).items()}
    max_shift = acc_bits // 2 - 1           # what the operators' SHR accepts
    wdt, bdt = dtype_for(wgt_bits, "weight"), dtype_for(acc_bits, "accumulator")
    bhi = (1 << (acc_bits - 1)) - 1
    e = {fgraph.input: wanted[fgraph.input]}
    nodes = []
    for n in fgraph.nodes:
        at, ein = dict(n.attrs), e[n.inputs[0]]
        params = {}
        if n.op in ("conv2d", "dense", "conv2d_transpose"):
            w = n.params["weight"]
            ew = exponent_for(float(np.abs(w).max()), wgt_bits)
            shift = ein + ew - wanted[n.output]
            if shift > max_shift:                  # finer output than the shifter reaches
                ew -= shift - max_shift
                shift = max_shift
            shift = max(shift, 0)
            e[n.output] = ein + ew - shift
            params["weight"] = to_int(w, ew, wgt_bits, wdt)
            b = n.params.get("bias")
            params["bias"] = None if b is None else np.clip(np.rint(b.astype(np.float64) * 2.0 ** (ein + ew)),
                                                            -bhi - 1, bhi).astype(bdt)
            at["shift"] = shift
            at["weight_exponent"] = ew
        elif n.op == "add":
            ea, eb = ein, e[n.inputs[1]]
            common = max(ea, eb)
            shift = min(max(common - wanted[n.output], 0), max_shift)
            e[n.output] = common - shift
            at.update(shift_a=common - ea, shift_b=common - eb, shift=shift)
        elif n.op == "global_avg_pool":
            # an average has the input's range at most; refine up to what calibration shows
            at["shift"] = max(0, wanted[n.output] - ein)
            e[n.output] = ein + at["shift"]
        else:                                       # relu, max_pool, flatten: same scale
            e[n.output] = ein
        nodes.append(Node(n.name, n.op, list(n.inputs), n.output, at, params))
    return Graph(fgraph.name, fgraph.input, fgraph.input_shape, fgraph.output, nodes, e).check()


__all__ = ["quantize", "quantize_input", "dequantize", "exponent_for", "to_int"]
