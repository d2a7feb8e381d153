"""ONNX import: a float model file -> a float :class:`vta.compiler.graph.Graph`.

Supported: Conv, ConvTranspose (group 1, no dilation, the same stride and pad on both axes
and every side), Gemm (alpha = beta = 1, transA = 0) and MatMul with a constant weight (a
following Add of a constant becomes its bias), Relu, Add, MaxPool, GlobalAveragePool,
Flatten (axis 1), BatchNormalization (folded into the Conv/ConvTranspose that feeds it),
Identity and Dropout (inference: pass-through). One graph input (NCHW or (N, K), any batch)
and one output. Relu after a conv/dense/add is fused into it (graph.fuse_relu). Anything
else is a ConfigError naming the file, the node and the attribute.
"""
from __future__ import annotations

import os

import numpy as np

from vta.isa import ConfigError

from .graph import Graph, Node, fuse_relu

#: models above this size are refused before parsing (a file from someone else must not
#: cost unbounded memory); ResNet-18 in float32 is about 47 MB
MAX_MODEL_BYTES = 512 << 20


class _Ctx:
    def __init__(self, path):
        self.path = path

    def err(self, node, text):
        where = f"node '{node.name or node.op_type}' ({node.op_type})" if node is not None else "graph"
        return ConfigError(f"{self.path}: {where}: {text}")


def _attrs(node):
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _uniform(ctx, node, at, key, default, n=None):
    """A per-axis attribute that must hold one value on every axis (and side): that value."""
    vals = at.get(key)
    if vals is None:
        return default
    vals = [int(v) for v in vals]
    if not vals or len(set(vals)) != 1 or (n is not None and len(vals) != n):
        raise ctx.err(node, f"attribute {key}={vals} must be the same on every axis and side")
    return vals[0]


def _common_conv(ctx, node, at):
    if at.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise ctx.err(node, f"attribute auto_pad={at['auto_pad']!r} is not supported (give pads)")
    if int(at.get("group", 1)) != 1:
        raise ctx.err(node, f"attribute group={at['group']} is not supported (only 1)")
    if _uniform(ctx, node, at, "dilations", 1) != 1:
        raise ctx.err(node, f"attribute dilations={list(at['dilations'])} is not supported (only 1)")
    return _uniform(ctx, node, at, "strides", 1), _uniform(ctx, node, at, "pads", 0)


def load_onnx(path, *, name=None, max_bytes=None, max_elements=None):
    """Read ``path`` and return the float Graph (Relu fused). ``max_bytes``: file size limit
    (default MAX_MODEL_BYTES); ``max_elements``: per-image tensor limit (Graph.check)."""
    max_bytes = MAX_MODEL_BYTES if max_bytes is None else max_bytes
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as e:  # pragma: no cover - a dependency
        raise ConfigError(f"reading ONNX needs the 'onnx' package ({e})") from None
    ctx = _Ctx(path)
    size = os.path.getsize(path)                  # OSError (missing file) is the caller's message
    if size > max_bytes:
        raise ConfigError(f"{path}: {size} bytes is above the {max_bytes}-byte model limit")
    try:
        # external data would be read from paths the file names: never follow them
        model = onnx.load(path, load_external_data=False)
    except Exception as e:   # protobuf's DecodeError and friends: not a model
        raise ConfigError(f"{path}: not an ONNX model ({type(e).__name__}: {str(e)[:120]})") from None
    g = model.graph
    consts = {}
    for t in g.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise ConfigError(f"{path}: initializer '{t.name}' keeps its data in an external file; "
                              "only self-contained models are read")
        try:
            consts[t.name] = numpy_helper.to_array(t).astype(np.float32)
        except Exception as e:
            raise ConfigError(f"{path}: initializer '{t.name}' cannot be read ({str(e)[:120]})") from None
    inputs = [i for i in g.input if i.name not in consts]
    if len(inputs) != 1 or len(g.output) != 1:
        raise ConfigError(f"{path}: the graph must have one input and one output, it has "
                          f"{len(inputs)} inputs and {len(g.output)} outputs")
    inp = inputs[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
    if len(dims) not in (2, 4) or any(d is None or d < 1 for d in dims[1:]):
        raise ConfigError(f"{path}: input '{inp.name}' must have a fixed shape [N, C, H, W] or [N, K] "
                          f"(the batch may be symbolic), found {dims}")
    alias = {}                 # tensor -> the tensor that holds its value (Identity, Dropout)
    nodes, producer = [], {}

    def src(t):
        while t in alias:
            t = alias[t]
        return t

    def const(node, idx, what, required=True):
        if idx >= len(node.input) or not node.input[idx]:
            if required:
                raise ctx.err(node, f"missing {what}")
            return None
        t = node.input[idx]
        if t not in consts:
            raise ctx.err(node, f"{what} '{t}' must be a constant (initializer)")
        return consts[t]

    def tensor(node, idx):
        t = src(node.input[idx])
        if t in consts:
            raise ctx.err(node, f"input '{t}' is a constant; only weights and biases may be")
        return t

    for node in g.node:
        op, at = node.op_type, _attrs(node)
        out = node.output[0] if node.output else None
        nm = node.name or f"{op.lower()}_{len(nodes)}"
        if op in ("Conv", "ConvTranspose"):
            stride, pad = _common_conv(ctx, node, at)
            w = const(node, 1, "weight")
            if w.ndim != 4:
                raise ctx.err(node, f"weight must be 4-D, found shape {list(w.shape)}")
            b = const(node, 2, "bias", required=False)
            if op == "ConvTranspose" and any(int(v) for v in at.get("output_padding", [])):
                raise ctx.err(node, f"attribute output_padding={list(at['output_padding'])} is not supported")
            kind = "conv2d" if op == "Conv" else "conv2d_transpose"
            nodes.append(Node(nm, kind, [tensor(node, 0)], out, dict(stride=stride, pad=pad),
                              dict(weight=w, bias=b)))
        elif op in ("Gemm", "MatMul"):
            w = const(node, 1, "weight")
            if w.ndim != 2:
                raise ctx.err(node, f"weight must be 2-D, found shape {list(w.shape)}")
            b = None
            if op == "Gemm":
                for key, want in (("alpha", 1.0), ("beta", 1.0), ("transA", 0)):
                    if float(at.get(key, want)) != want:
                        raise ctx.err(node, f"attribute {key}={at[key]} is not supported (only {want})")
                w = w if int(at.get("transB", 0)) else w.T
                b = const(node, 2, "bias", required=False)
                if b is not None:
                    if b.size != w.shape[0]:
                        raise ctx.err(node, f"bias of shape {list(b.shape)} is not one per output ({w.shape[0]})")
                    b = b.reshape(-1)
            else:
                w = w.T                                   # MatMul: X (N, K) @ W (K, M)
            nodes.append(Node(nm, "dense", [tensor(node, 0)], out, {}, dict(weight=np.ascontiguousarray(w), bias=b)))
        elif op == "Add" and any(t in consts for t in node.input):
            # a constant added to a MatMul's only output: its bias
            c = next(consts[t] for t in node.input if t in consts)
            other = src(next(t for t in node.input if t not in consts))
            p = producer.get(other)
            if (p is None or p.op != "dense" or p.params["bias"] is not None
                    or sum(other in n.input for n in g.node) != 1 or c.size != p.params["weight"].shape[0]):
                raise ctx.err(node, "an Add of a constant is supported only as the bias of a MatMul")
            p.params["bias"] = c.reshape(-1)
            p.output = out                 # the fold takes over the Add's output name
            producer[out] = p
            continue
        elif op == "Add":
            if len(node.input) != 2:
                raise ctx.err(node, f"needs two inputs, has {len(node.input)}")
            nodes.append(Node(nm, "add", [tensor(node, 0), tensor(node, 1)], out))
        elif op == "Relu":
            nodes.append(Node(nm, "relu", [tensor(node, 0)], out))
        elif op == "MaxPool":
            if int(at.get("ceil_mode", 0)) or int(at.get("storage_order", 0)) or len(node.output) > 1:
                raise ctx.err(node, "ceil_mode, storage_order and the Indices output are not supported")
            k = _uniform(ctx, node, at, "kernel_shape", None)
            if k is None:
                raise ctx.err(node, "attribute kernel_shape is missing")
            if _uniform(ctx, node, at, "dilations", 1) != 1:
                raise ctx.err(node, "attribute dilations is not supported (only 1)")
            if at.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise ctx.err(node, "attribute auto_pad is not supported (give pads)")
            nodes.append(Node(nm, "max_pool", [tensor(node, 0)], out,
                              dict(kernel=k, stride=_uniform(ctx, node, at, "strides", 1),
                                   pad=_uniform(ctx, node, at, "pads", 0))))
        elif op == "GlobalAveragePool":
            nodes.append(Node(nm, "global_avg_pool", [tensor(node, 0)], out))
        elif op == "Flatten":
            if int(at.get("axis", 1)) != 1:
                raise ctx.err(node, f"attribute axis={at['axis']} is not supported (only 1)")
            nodes.append(Node(nm, "flatten", [tensor(node, 0)], out))
        elif op == "BatchNormalization":
            x = src(node.input[0])
            p = producer.get(x)
            if p is None or p.op not in ("conv2d", "conv2d_transpose") or sum(
                    x in n.input for n in g.node) != 1:
                raise ctx.err(node, "BatchNormalization is supported only right after a Conv or "
                                    "ConvTranspose whose output feeds nothing else (it is folded in)")
            gamma, beta, mean, var = (const(node, i, what) for i, what in
                                      enumerate(("scale", "bias", "mean", "var"), start=1))
            scale = gamma / np.sqrt(var + float(at.get("epsilon", 1e-5)))
            w = p.params["weight"]
            axis = 0 if p.op == "conv2d" else 1
            if scale.shape != (w.shape[axis],):
                raise ctx.err(node, f"has {scale.size} channels, the convolution {w.shape[axis]}")
            p.params["weight"] = (w * scale.reshape([-1 if a == axis else 1 for a in range(4)])).astype(np.float32)
            b = p.params["bias"] if p.params["bias"] is not None else np.zeros_like(mean)
            p.params["bias"] = ((b - mean) * scale + beta).astype(np.float32)
            p.output = out
            producer[out] = p
            continue
        elif op in ("Identity", "Dropout"):
            alias[out] = tensor(node, 0)
            continue
        else:
            raise ctx.err(node, f"operator {op} is not supported (supported: Conv, ConvTranspose, "
                                "Gemm, MatMul, Relu, Add, MaxPool, GlobalAveragePool, Flatten, "
                                "BatchNormalization, Identity, Dropout)")
        producer[out] = nodes[-1]
    graph = Graph(name or os.path.splitext(os.path.basename(path))[0], inp.name, tuple(dims[1:]),
                  src(g.output[0].name), nodes)
    try:
        graph.check(max_elements)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    return fuse_relu(graph)


__all__ = ["load_onnx", "MAX_MODEL_BYTES"]
