"""ONNX import: each supported operator against onnxruntime's float result, BatchNormalization
folding, MatMul + Add as dense with bias, and one clear error per unsupported construct."""
from __future__ import annotations

import numpy as np
import pytest

from vta.compiler.graph import run_float
from vta.compiler.onnx_import import load_onnx
from vta.compiler.zoo import OnnxWriter
from vta.isa import ConfigError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import helper  # noqa: E402


def _save(tmp_path, model, name="m.onnx"):
    path = tmp_path / name
    onnx.save(model, str(path))
    return str(path)


def _compare(path, x):
    g = load_onnx(path)
    f = ort.InferenceSession(path).run(None, {"input": x})[0]
    np.testing.assert_allclose(run_float(g, x), f, rtol=1e-4, atol=1e-4)
    return g


def test_conv_bn_relu_pool_gap_flatten_gemm(tmp_path):
    rng = np.random.default_rng(0)
    wr = OnnxWriter("m")
    y = wr.conv("input", rng.normal(0, 0.3, (6, 3, 3, 3)), rng.normal(0, 0.1, 6), stride=2, pad=1)
    y = wr.node("Relu", [wr.bn(y, rng.uniform(.5, 1, 6), rng.normal(0, .1, 6), rng.normal(0, .1, 6),
                               rng.uniform(.5, 1.5, 6))])
    y = wr.node("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    y = wr.node("Flatten", [wr.node("GlobalAveragePool", [y])], axis=1)
    y = wr.node("Gemm", [y, wr.const("w", rng.normal(0, .3, (6, 5)))])        # transB = 0: W (K, M)
    path = _save(tmp_path, wr.model((3, 9, 9), y, (5,)))
    g = _compare(path, rng.normal(0, 1, (2, 3, 9, 9)).astype(np.float32))
    assert [n.op for n in g.nodes] == ["conv2d", "max_pool", "global_avg_pool", "flatten", "dense"]
    assert g.nodes[0].attrs == dict(stride=2, pad=1, relu=True)     # BN folded, ReLU fused
    assert g.nodes[4].params["weight"].shape == (5, 6)


def test_conv_transpose_and_add_and_matmul_bias(tmp_path):
    rng = np.random.default_rng(1)
    wr = OnnxWriter("m")
    a = wr.node("ConvTranspose", ["input", wr.const("w", rng.normal(0, .3, (4, 2, 4, 4)))],
                kernel_shape=[4, 4], strides=[2, 2], pads=[1, 1, 1, 1])
    b = wr.conv(a, rng.normal(0, .3, (2, 2, 3, 3)), None, 1, 1)
    y = wr.node("Flatten", [wr.node("Relu", [wr.node("Add", [a, b])])], axis=1)
    y = wr.node("Add", [wr.node("MatMul", [y, wr.const("w", rng.normal(0, .1, (2 * 8 * 8, 3)))]),
                        wr.const("b", np.array([1.0, -1.0, 0.5]))])
    path = _save(tmp_path, wr.model((4, 4, 4), y, (3,)))
    g = _compare(path, rng.normal(0, 1, (2, 4, 4, 4)).astype(np.float32))
    assert [n.op for n in g.nodes] == ["conv2d_transpose", "conv2d", "add", "flatten", "dense"]
    assert g.nodes[2].attrs["relu"] is True
    np.testing.assert_array_equal(g.nodes[4].params["bias"], np.float32([1.0, -1.0, 0.5]))


def _one_node_model(tmp_path, op, attrs=None, inits=(), shape=(2, 4, 4)):
    from onnx import TensorProto, numpy_helper
    names = ["input"] + [f"c{i}" for i in range(len(inits))]
    node = helper.make_node(op, names, ["y"], name="the_node", **(attrs or {}))
    graph = helper.make_graph([node], "m", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *shape])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.asarray(a, np.float32), n) for n, a in zip(names[1:], inits)])
    return _save(tmp_path, helper.make_model(graph))


@pytest.mark.parametrize("op, attrs, inits, message", [
    ("Softmax", {}, (), "operator Softmax is not supported"),
    ("Conv", {"group": 2}, (np.ones((2, 1, 3, 3)),), "group=2 is not supported"),
    ("Conv", {"strides": [1, 2]}, (np.ones((2, 2, 3, 3)),), r"strides=\[1, 2\] must be the same"),
    ("Conv", {"dilations": [2, 2]}, (np.ones((2, 2, 3, 3)),), "dilations"),
    ("MaxPool", {"kernel_shape": [2, 2], "ceil_mode": 1}, (), "ceil_mode"),
    ("Gemm", {"alpha": 2.0}, (np.ones((3, 32)),), "alpha=2.0 is not supported"),
    ("BatchNormalization", {}, (np.ones(2), np.ones(2), np.ones(2), np.ones(2)), "only right after a Conv"),
    ("Flatten", {"axis": 2}, (), "axis=2"),
])
def test_unsupported_constructs_are_named(tmp_path, op, attrs, inits, message):
    path = _one_node_model(tmp_path, op, attrs, inits)
    with pytest.raises(ConfigError, match=message) as e:
        load_onnx(path)
    assert path in str(e.value) and "the_node" in str(e.value)


def test_not_a_model_and_bad_inputs(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x0a\xff\xff\xff garbage")
    with pytest.raises(ConfigError, match="not an ONNX model"):
        load_onnx(str(bad))
    with pytest.raises(FileNotFoundError):
        load_onnx(str(tmp_path / "missing.onnx"))
    path = _one_node_model(tmp_path, "Relu", shape=(3, 0, 4))
    with pytest.raises(ConfigError, match="must have a fixed shape"):
        load_onnx(path)


def test_external_data_is_refused_not_followed(tmp_path):
    from onnx import TensorProto
    wr = OnnxWriter("m")
    y = wr.conv("input", np.ones((2, 1, 3, 3)), None, 1, 1)
    m = wr.model((1, 4, 4), y, (2, 4, 4))
    w = m.graph.initializer[0]
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value="../../outside.bin")
    path = _save(tmp_path, m)
    with pytest.raises(ConfigError, match="external file"):
        load_onnx(path)


def test_huge_model_is_refused_before_parsing(tmp_path, monkeypatch):
    import vta.compiler.onnx_import as imp
    path = _one_node_model(tmp_path, "Relu")
    monkeypatch.setattr(imp, "MAX_MODEL_BYTES", 10)
    with pytest.raises(ConfigError, match="model limit"):
        load_onnx(path)


@pytest.mark.parametrize("attrs, inits, message", [
    ({"strides": [100000, 100000], "pads": [0] * 4}, (np.ones((2, 2, 1, 1)),), "stride 100000"),
    ({}, (np.ones((2, 3, 3, 3)),), "does not take 2 input channels"),
    ({}, (np.ones((2, 2, 3, 3)), np.ones(5)), "bias of shape"),
    ({"pads": [1] * 4}, (np.ones((2, 2, 9, 9)),), "empty output"),
])
def test_inconsistent_shapes_are_named(tmp_path, attrs, inits, message):
    path = _one_node_model(tmp_path, "Conv", attrs, inits)
    with pytest.raises(ConfigError, match=message) as e:
        load_onnx(path)
    assert "the_node" in str(e.value)
