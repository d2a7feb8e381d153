"""The shipped models: the digits CNN (trained by models/train_digits.py, committed as
models/digits_cnn.onnx) and ResNet-18 (ImageNet topology, seeded random weights, generated
on demand: too large to commit). Both are written with ``onnx.helper`` from numpy arrays.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: the committed digits model (installed with the package as data)
DIGITS_ONNX = Path(__file__).resolve().parents[1] / "models" / "digits_cnn.onnx"
DIGITS_TEST_SIZE = 360          # held-out images (20% of the 1797, stratified, seed 0)


def digits_data():
    """scikit-learn's bundled 8x8 digits (no download) as float32 (N, 1, 8, 8) in [0, 1] and
    int labels: (x_train, y_train, x_test, y_test), the same split every time."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.target, test_size=DIGITS_TEST_SIZE, random_state=0,
                                              stratify=d.target)
    return x_tr, y_tr, x_te, y_te


def _init(name, a):
    from onnx import numpy_helper
    return numpy_helper.from_array(np.ascontiguousarray(a, np.float32), name)


class OnnxWriter:
    """Collects nodes and initializers; ``model()`` returns the ModelProto."""

    def __init__(self, name):
        self.name, self.nodes, self.inits, self.n = name, [], [], 0

    def _fresh(self, kind):
        self.n += 1
        return f"{kind}{self.n}"

    def node(self, op, inputs, **attrs):
        from onnx import helper
        out = self._fresh(op.lower() + "_")
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def const(self, kind, a):
        name = self._fresh(kind)
        self.inits.append(_init(name, a))
        return name

    def conv(self, x, w, b=None, stride=1, pad=0):
        ins = [x, self.const("w", w)] + ([self.const("b", b)] if b is not None else [])
        k = w.shape[2]
        return self.node("Conv", ins, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)

    def bn(self, x, gamma, beta, mean, var):
        return self.node("BatchNormalization", [x] + [self.const(k, a) for k, a in
                                                       (("g", gamma), ("be", beta), ("m", mean), ("v", var))])

    def model(self, inp_shape, out_name, out_shape):
        from onnx import TensorProto, helper
        graph = helper.make_graph(
            self.nodes, self.name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *inp_shape])],
            [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", *out_shape])], self.inits)
        m = helper.make_model(graph, producer_name="vta-cosim", opset_imports=[helper.make_opsetid("", 13)])
        m.ir_version = 8           # readable by older onnxruntime releases too
        return m


def digits_onnx(p):
    """The digits CNN as ONNX from its float parameters ``p`` (dict of arrays):
    conv3x3 1->16, relu, conv3x3 16->32, relu, maxpool 2, conv3x3 32->32, + residual, relu,
    maxpool 2, flatten, gemm 128->10."""
    wr = OnnxWriter("digits_cnn")
    x = wr.node("Relu", [wr.conv("input", p["w1"], p["b1"], pad=1)])
    x = wr.node("Relu", [wr.conv(x, p["w2"], p["b2"], pad=1)])
    pool = wr.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = wr.node("Relu", [wr.node("Add", [wr.conv(pool, p["w3"], p["b3"], pad=1), pool])])
    x = wr.node("Flatten", [wr.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])], axis=1)
    y = wr.node("Gemm", [x, wr.const("w", p["w4"]), wr.const("b", p["b4"])], transB=1)
    return wr.model((1, 8, 8), y, (10,))


def resnet18_onnx(seed=0, classes=1000):
    """ResNet-18 (ImageNet topology: 224x224 input, conv 7x7/2 + BN + ReLU, max pool 3x3/2,
    four stages of two basic blocks, 64-128-256-512 channels, 1x1/2 projection shortcuts,
    global average pool, FC) with seeded random weights (He-normal convolutions, random
    BatchNormalization statistics, folded on import)."""
    rng = np.random.default_rng(seed)
    wr = OnnxWriter("resnet18")

    def conv_bn(x, cin, cout, k, stride, gamma=1.0):
        w = rng.normal(0, np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k))
        y = wr.conv(x, w, None, stride, k // 2)
        return wr.bn(y, gamma * rng.uniform(0.5, 1.0, cout), rng.normal(0, 0.1, cout),
                     rng.normal(0, 0.1, cout), rng.uniform(0.5, 1.5, cout))

    x = wr.node("Relu", [conv_bn("input", 3, 64, 7, 2)])
    x = wr.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for blk in range(2):
            s = stride if blk == 0 else 1
            y = wr.node("Relu", [conv_bn(x, cin, cout, 3, s)])
            y = conv_bn(y, cout, cout, 3, 1, gamma=0.5)     # damped, as zero-init-residual nets are
            short = conv_bn(x, cin, cout, 1, s) if (s != 1 or cin != cout) else x
            x = wr.node("Relu", [wr.node("Add", [y, short])])
            cin = cout
    x = wr.node("Flatten", [wr.node("GlobalAveragePool", [x])], axis=1)
    w = rng.normal(0, np.sqrt(1.0 / 512), (classes, 512))
    y = wr.node("Gemm", [x, wr.const("w", w), wr.const("b", rng.normal(0, 0.01, classes))], transB=1)
    return wr.model((3, 224, 224), y, (classes,))


def resnet18_path(cache_dir, seed=0):
    """The generated ResNet-18 in ``cache_dir`` (written on first use)."""
    import onnx
    path = Path(cache_dir) / f"resnet18_seed{seed}.onnx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        onnx.save(resnet18_onnx(seed), str(tmp))
        tmp.replace(path)
    return path


__all__ = ["DIGITS_ONNX", "digits_data", "digits_onnx", "resnet18_onnx", "resnet18_path", "OnnxWriter"]
