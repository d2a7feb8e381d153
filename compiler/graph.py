"""A small graph IR for networks, a float executor, the numpy int8 reference executor (the
oracle) and a VTA executor that lowers each node to an operator.

A :class:`Graph` is a list of :class:`Node` in topological order over named tensors, NCHW
activations. The same structure holds a float network (from ONNX: float weights, no shifts)
and its quantized form (from :func:`vta.compiler.quantize.quantize`: int8 weights, int32
biases, per-node shifts, and a power-of-two scale exponent per tensor: value = int * 2**-e).

Ops and their attributes (params hold the arrays):

==================  ==========================================  =====================
op                  attrs                                       params
==================  ==========================================  =====================
conv2d              stride, pad, relu, shift                    weight OIHW, bias (O,)
dense               relu, shift                                 weight (M, K), bias (M,)
conv2d_transpose    stride, pad, relu, shift                    weight (I,O,KH,KW), bias
add                 relu, shift_a, shift_b, shift               --
relu                --                                          --
max_pool            kernel, stride, pad                         --
global_avg_pool     shift (int graph: output exponent - input)  --
flatten             --                                          --
==================  ==========================================  =====================

Int semantics (the oracle, :func:`run_reference`, built on the operators' numpy
``*_reference`` functions): conv2d/dense/conv2d_transpose are the requantization
``clip((acc + bias) >> shift, lo, hi)``; add is ``clip(((a << shift_a) + (b << shift_b)) >>
shift, lo, hi)``; max_pool pads with the type's minimum; global_avg_pool is
``clip(floor(sum * 2**shift / (H*W)))`` on the host (the shift keeps the finer scale an
average allows; pool.global_avg_pool_reference has none); relu, flatten are exact. :func:`run_vta` runs the same graph with every node that has a VTA operator on
the executor it is given (it imports no simulator: the caller passes one in) and the rest
on the host, recording per-layer figures; a node whose VTA operator is missing or refuses
the shape falls back to the host and says why.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from vta.isa import ConfigError

from .builder import dtype_for
from .conv2d import conv2d, conv2d_reference, conv_acc, out_size
from .dense import dense, dense_reference
from .requant import clip_bounds

from .conv2d_transpose import conv2d_transpose, conv2d_transpose_reference
from .eltwise import add, add_reference
from .pool import max_pool, max_pool_reference

OPS = ("conv2d", "dense", "conv2d_transpose", "add", "relu", "max_pool", "global_avg_pool", "flatten")
WEIGHTED = ("conv2d", "dense", "conv2d_transpose")
#: ops that run on the host by design, and why (shown in the per-layer table)
HOST_OPS = {"flatten": "layout change only", "relu": "a ReLU not fused into an operator",
            "global_avg_pool": "host by design (the final pool)"}


@dataclass
class Node:
    name: str
    op: str
    inputs: list
    output: str
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


@dataclass
class Graph:
    name: str
    input: str
    input_shape: tuple            # (C, H, W) or (K,): the batch axis is free
    output: str
    nodes: list
    scales: dict = field(default_factory=dict)    # tensor -> exponent (quantized graphs)

    def consumers(self, tensor):
        return [n for n in self.nodes if tensor in n.inputs]

    def check(self, max_elements=None):
        """Ops known, every input defined before use (topological order), one producer
        per tensor, the output produced."""
        defined = {self.input}
        for n in self.nodes:
            if n.op not in OPS:
                raise ConfigError(f"graph '{self.name}': node '{n.name}' has unknown op '{n.op}'")
            for t in n.inputs:
                if t not in defined:
                    raise ConfigError(f"graph '{self.name}': node '{n.name}' reads '{t}' before "
                                      "it is produced (nodes must be in topological order)")
            if n.output in defined:
                raise ConfigError(f"graph '{self.name}': tensor '{n.output}' is produced twice")
            defined.add(n.output)
        if self.output not in defined:
            raise ConfigError(f"graph '{self.name}': output '{self.output}' is never produced")
        self.shapes(max_elements)
        return self

    def shapes(self, max_elements=None):
        """Per tensor, its shape without the batch axis; refuses inconsistent shapes and any
        tensor above ``max_elements`` (default MAX_TENSOR_ELEMENTS) per image: attributes
        such as a huge stride must not make the executors allocate without bound."""
        limit = MAX_TENSOR_ELEMENTS if max_elements is None else max_elements
        sh = {self.input: tuple(self.input_shape)}
        for n in self.nodes:
            a = [sh[t] for t in n.inputs]
            try:
                out = _node_shape(n, a)
            except (KeyError, TypeError, ValueError, IndexError) as e:
                raise ConfigError(f"graph '{self.name}': node '{n.name}' ({n.op}): bad attributes or "
                                  f"params ({type(e).__name__}: {e})") from None
            if isinstance(out, str) or min(out, default=1) < 1:
                why = out if isinstance(out, str) else f"gives an empty output {list(out)}"
                raise ConfigError(f"graph '{self.name}': node '{n.name}' ({n.op}) on input "
                                  f"{[list(x) for x in a]}: {why}")
            if int(np.prod(out)) > limit:
                raise ConfigError(f"graph '{self.name}': node '{n.name}' ({n.op}) output {list(out)} is "
                                  f"above the {limit}-element limit per image")
            sh[n.output] = out
        return sh


MAX_TENSOR_ELEMENTS = 1 << 24      # per image; ResNet-18's largest activation is 0.8 M


def _node_shape(n, a):
    """The output shape (no batch axis) of node ``n`` on input shapes ``a``, or a message."""
    at, w, b = n.attrs, n.params.get("weight"), n.params.get("bias")
    if b is not None and np.shape(b) != (w.shape[1 if n.op == "conv2d_transpose" else 0],):
        return f"bias of shape {list(np.shape(b))} is not one per output channel (weight {list(w.shape)})"
    if n.op in ("conv2d", "conv2d_transpose", "max_pool"):
        if len(a[0]) != 3:
            return "needs a (C, H, W) input"
        s, p = at["stride"], at["pad"]
        if not (isinstance(s, (int, np.integer)) and 1 <= s <= 64 and isinstance(p, (int, np.integer)) and 0 <= p <= 64):
            return f"stride {s} / pad {p} out of range (stride 1..64, pad 0..64)"
    if n.op == "conv2d":
        if w.ndim != 4 or w.shape[1] != a[0][0]:
            return f"weight {list(w.shape)} does not take {a[0][0]} input channels"
        return (w.shape[0], out_size(a[0][1], w.shape[2], s, p), out_size(a[0][2], w.shape[3], s, p))
    if n.op == "conv2d_transpose":
        if w.ndim != 4 or w.shape[0] != a[0][0]:
            return f"weight {list(w.shape)} does not take {a[0][0]} input channels"
        if p >= min(w.shape[2:]):
            return f"pad {p} must be below the {w.shape[2]}x{w.shape[3]} kernel"
        return (w.shape[1], (a[0][1] - 1) * s + w.shape[2] - 2 * p, (a[0][2] - 1) * s + w.shape[3] - 2 * p)
    if n.op == "max_pool":
        k = at["kernel"]
        if not 1 <= k or p >= k:
            return f"kernel {k} must be >= 1 and above the pad {p}"
        return (a[0][0], out_size(a[0][1], k, s, p), out_size(a[0][2], k, s, p))
    if n.op == "dense":
        if len(a[0]) != 1 or w.ndim != 2 or w.shape[1] != a[0][0]:
            return f"weight {list(w.shape)} does not take a ({a[0][0]},) input (flatten first)"
        return (w.shape[0],)
    if n.op == "add":
        return a[0] if a[0] == a[1] else f"operand shapes {list(a[0])} and {list(a[1])} differ"
    if n.op == "global_avg_pool":
        return (a[0][0], 1, 1) if len(a[0]) == 3 else "needs a (C, H, W) input"
    if n.op == "flatten":
        return (int(np.prod(a[0])),)
    return a[0]                                  # relu


def fuse_relu(graph):
    """Fold each Relu into the conv/dense/transposed conv/add that produces its input when
    that tensor has no other consumer and is not the graph's output (VTA clips at 0 in the
    requantization tail for free). Returns a new Graph."""
    nodes = list(graph.nodes)
    out = []
    by_output = {}
    for n in nodes:
        src = by_output.get(n.inputs[0]) if n.op == "relu" else None
        if (src is not None and src.op in WEIGHTED + ("add",) and not src.attrs.get("relu")
                and len(graph.consumers(n.inputs[0])) == 1 and n.inputs[0] != graph.output):
            fused = Node(src.name, src.op, src.inputs, n.output, {**src.attrs, "relu": True}, src.params)
            out[out.index(src)] = fused
            by_output[n.output] = fused
            continue
        out.append(n)
        by_output[n.output] = n
    return Graph(graph.name, graph.input, graph.input_shape, graph.output, out, dict(graph.scales))


# ---- dtype-generic numpy arithmetic (float executor and host fallbacks) ------------------
def conv_transpose_acc(x, w, stride, pad):
    """ONNX ConvTranspose (w (I, O, KH, KW), no output padding) without requantization:
    each input pixel scatters w * x onto a stride-spaced grid, then ``pad`` is cropped."""
    n, _, h, wd = x.shape
    _, o, kh, kw = w.shape
    full = np.zeros((n, o, (h - 1) * stride + kh, (wd - 1) * stride + kw), x.dtype)
    for i in range(kh):
        for j in range(kw):
            full[:, :, i:i + stride * (h - 1) + 1:stride, j:j + stride * (wd - 1) + 1:stride] += \
                np.einsum("nchw,co->nohw", x, w[:, :, i, j])
    return full[:, :, pad:full.shape[2] - pad, pad:full.shape[3] - pad]


def max_pool_np(x, kernel, stride, pad, fill):
    n, c, h, wd = x.shape
    oh, ow = out_size(h, kernel, stride, pad), out_size(wd, kernel, stride, pad)
    xp = np.full((n, c, h + 2 * pad, wd + 2 * pad), fill, x.dtype)
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    y = None
    for i in range(kernel):
        for j in range(kernel):
            win = xp[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
            y = win.copy() if y is None else np.maximum(y, win)
    return y


def macs_of(node, args, y):
    """Multiply-accumulates of a weighted node (real channel counts), else 0."""
    w = node.params.get("weight")
    if node.op == "conv2d":
        return int(np.prod(y.shape)) * int(np.prod(w.shape[1:]))
    if node.op == "dense":
        return int(y.shape[0]) * int(w.shape[0]) * int(w.shape[1])
    if node.op == "conv2d_transpose":
        return int(np.prod(args[0].shape)) * int(np.prod(w.shape[1:]))
    return 0


# ---- the float executor (calibration, and a check of the importer) -----------------------
def run_float(graph, x, *, keep=False):
    """Run the float graph on float input ``x`` (batch first); returns the output, or with
    ``keep`` the dict of every tensor."""
    env = {graph.input: np.asarray(x, np.float32)}
    for n in graph.nodes:
        a = [env[t] for t in n.inputs]
        p, at = n.params, n.attrs
        if n.op == "conv2d":
            y = conv_acc(a[0], p["weight"], at["stride"], at["pad"])
            y = y + (p["bias"].reshape(1, -1, 1, 1) if p.get("bias") is not None else 0)
        elif n.op == "conv2d_transpose":
            y = conv_transpose_acc(a[0], p["weight"], at["stride"], at["pad"])
            y = y + (p["bias"].reshape(1, -1, 1, 1) if p.get("bias") is not None else 0)
        elif n.op == "dense":
            y = a[0] @ p["weight"].T + (p["bias"] if p.get("bias") is not None else 0)
        elif n.op == "add":
            y = a[0] + a[1]
        elif n.op == "relu":
            y = np.maximum(a[0], 0)
        elif n.op == "max_pool":
            y = max_pool_np(a[0], at["kernel"], at["stride"], at["pad"], -np.inf)
        elif n.op == "global_avg_pool":
            y = a[0].mean(axis=(2, 3), keepdims=True)
        else:   # flatten
            y = a[0].reshape(a[0].shape[0], -1)
        if at.get("relu"):
            y = np.maximum(y, 0)
        env[n.output] = y.astype(np.float32)
    return env if keep else env[graph.output]


# ---- the int executors ------------------------------------------------------------------
def _gap_host(x, shift, out_bits):
    """Global average pool on the host: floor(sum * 2**shift / (H*W)), clipped."""
    s = x.astype(np.int64).sum(axis=(2, 3), keepdims=True)
    hw = x.shape[2] * x.shape[3]
    y = (s << shift) // hw if shift >= 0 else s // (hw << -shift)
    lo, hi = clip_bounds(out_bits, False)
    return np.clip(y, lo, hi).astype(x.dtype)


def reference_node(node, args, *, acc_bits=32, out_bits=8):
    """One node of an int graph in plain numpy: the oracle's semantics (module docstring)."""
    p, at = node.params, node.attrs
    bits = dict(acc_bits=acc_bits, out_bits=out_bits)
    if node.op == "conv2d":
        return conv2d_reference(args[0], p["weight"], p.get("bias"), at["stride"], at["pad"],
                                at["shift"], at.get("relu", False), **bits)
    if node.op == "dense":
        return dense_reference(args[0], p["weight"], p.get("bias"), at["shift"], at.get("relu", False), **bits)
    if node.op == "conv2d_transpose":
        return conv2d_transpose_reference(args[0], p["weight"], p.get("bias"), at["stride"], at["pad"],
                                          at["shift"], at.get("relu", False), **bits)
    if node.op == "add":
        return add_reference(args[0], args[1], shift_a=at["shift_a"], shift_b=at["shift_b"], shift=at["shift"],
                             relu=at.get("relu", False), **bits)
    if node.op == "relu":
        return np.maximum(args[0], 0)
    if node.op == "max_pool":
        return max_pool_reference(args[0], at["kernel"], at["stride"], at["pad"], out_bits=out_bits)
    if node.op == "global_avg_pool":
        return _gap_host(args[0], at["shift"], out_bits)
    return args[0].reshape(args[0].shape[0], -1)    # flatten


def _vta_call(cfg, node, args, executor):
    """(y, result) from the node's VTA operator, or None when it has none."""
    p, at = node.params, node.attrs
    relu = at.get("relu", False)
    if node.op == "conv2d":
        return conv2d(cfg, args[0], p["weight"], p.get("bias"), at["stride"], at["pad"], at["shift"],
                      relu, executor=executor)
    if node.op == "dense":
        return dense(cfg, args[0], p["weight"], p.get("bias"), at["shift"], relu, executor=executor)
    if node.op == "conv2d_transpose":
        return conv2d_transpose(cfg, args[0], p["weight"], p.get("bias"), at["stride"], at["pad"],
                                     at["shift"], relu, executor=executor)
    if node.op == "add":
        return add(cfg, args[0], args[1], shift_a=at["shift_a"], shift_b=at["shift_b"],
                        shift=at["shift"], relu=relu, executor=executor)
    if node.op == "max_pool":
        return max_pool(cfg, args[0], at["kernel"], at["stride"], at["pad"], executor=executor)
    return None


def result_figures(result):
    """cycles, GEMM utilization, roofline cycles, DRAM bytes and instructions of one
    executor result: the TLM's stats dict, or the RTL's cycle count (None where unknown)."""
    stats = getattr(result, "stats", None)
    if isinstance(stats, dict):
        dram = stats.get("dram", {})
        return dict(cycles=stats.get("cycles"), gemm_utilization=stats.get("gemm_utilization"),
                    roofline_cycles=stats.get("roofline_cycles"), dram_bytes_read=dram.get("bytes_read"),
                    dram_bytes_written=dram.get("bytes_written"), instructions=stats.get("instructions"))
    return dict(cycles=getattr(result, "cycles", None), gemm_utilization=None, roofline_cycles=None,
                dram_bytes_read=None, dram_bytes_written=None, instructions=None)


def activation_fractions(y, out_bits, relu):
    """(zeros, saturated) fractions of an int output: saturated = at the clip bounds."""
    lo, hi = clip_bounds(out_bits, relu)
    y = np.asarray(y)
    if not y.size:
        return 0.0, 0.0
    sat = (y == hi) | ((y == lo) & (lo != 0))
    return float(np.mean(y == 0)), float(np.mean(sat))


@dataclass
class GraphRun:
    output: np.ndarray
    layers: list                  # one dict per node (see run_vta)
    tensors: dict = field(default_factory=dict)

    def totals(self):
        """Sums over the layers that ran on VTA (cycles, DRAM bytes, instructions)."""
        vta = [r for r in self.layers if r["where"] == "vta"]

        def total(key):
            vals = [r[key] for r in vta if r.get(key) is not None]
            return sum(vals) if vals else None
        cycles = total("cycles")
        gemm = [r["gemm_utilization"] * r["cycles"] for r in vta
                if r.get("gemm_utilization") is not None and r.get("cycles")]
        return dict(cycles=cycles, gemm_utilization=(sum(gemm) / cycles if gemm and cycles else None),
                    roofline_cycles=total("roofline_cycles"), dram_bytes_read=total("dram_bytes_read"),
                    dram_bytes_written=total("dram_bytes_written"), instructions=total("instructions"),
                    macs=sum(r["macs"] for r in self.layers),
                    vta_layers=len(vta), host_layers=len(self.layers) - len(vta))


def _check_input(graph, x, dt):
    x = np.asarray(x)
    if x.dtype != dt or x.shape[1:] != tuple(graph.input_shape) or x.shape[0] < 1:
        raise ConfigError(f"graph '{graph.name}': input must be {np.dtype(dt).name} of shape "
                          f"[N, {', '.join(map(str, graph.input_shape))}], got {x.dtype}{list(x.shape)}")
    return x


def run_reference(graph, x, *, acc_bits=32, out_bits=8, keep=False):
    """The numpy int reference (the oracle): every node in plain numpy. Returns the output
    (or with ``keep`` the dict of every tensor)."""
    env = {graph.input: _check_input(graph, x, dtype_for(out_bits, "input"))}
    for n in graph.nodes:
        env[n.output] = reference_node(n, [env[t] for t in n.inputs], acc_bits=acc_bits, out_bits=out_bits)
    return env if keep else env[graph.output]


def run_vta(graph, x, cfg, executor, *, keep=False, progress=None, fallback=True):
    """Run the int graph with every node that has a VTA operator on ``executor`` (a callable
    Program -> result, e.g. vta.tlm.run_program) and the others on the host. Returns a
    :class:`GraphRun`; each layer dict has name, op, shape, macs, where ('vta'/'host'),
    why (host reason), the executor figures (:func:`result_figures`), zeros, saturated,
    host_seconds. ``progress(i, n, node)`` is called before each node. ``fallback`` False:
    a node that cannot run on VTA is an error instead (the single-operator commands)."""
    if cfg.inp_bits != cfg.out_bits:
        raise ConfigError(f"config '{cfg.name}': a network feeds outputs back as inputs, so "
                          f"input ({cfg.inp_bits}) and output ({cfg.out_bits}) widths must match")
    env = {graph.input: _check_input(graph, x, dtype_for(cfg.inp_bits, "input"))}
    layers = []
    for i, n in enumerate(graph.nodes):
        if progress:
            progress(i, len(graph.nodes), n)
        args = [env[t] for t in n.inputs]
        t0 = time.perf_counter()
        why, res = None, None
        try:
            res = _vta_call(cfg, n, args, executor)
            if res is None:
                why = HOST_OPS.get(n.op, "no VTA operator in this build")
        except ConfigError as e:      # the operator refuses this shape on this config
            if not fallback:
                raise
            why = str(e)
        if res is None and not fallback:
            raise ConfigError(f"{n.op}: {why}")
        if res is None:
            y = reference_node(n, args, acc_bits=cfg.acc_bits, out_bits=cfg.out_bits)
            figs = result_figures(None)
        else:
            y, result = res
            figs = result_figures(result)
        zeros, sat = activation_fractions(y, cfg.out_bits, n.attrs.get("relu", False))
        layers.append(dict(name=n.name, op=n.op, shape=list(y.shape), macs=macs_of(n, args, y),
                           where="host" if res is None else "vta", why=why, **figs,
                           zeros=zeros, saturated=sat, host_seconds=time.perf_counter() - t0))
        env[n.output] = y
    return GraphRun(env[graph.output], layers, env if keep else {})


__all__ = ["Graph", "Node", "GraphRun", "OPS", "fuse_relu", "run_float", "run_reference", "run_vta",
           "reference_node", "result_figures", "activation_fractions", "conv_acc",
           "conv_transpose_acc", "max_pool_np"]
