"""The graph IR: its executors (float, numpy int8 reference, VTA on the TLM), ReLU fusion,
power-of-two quantization, and the shipped digits CNN (held-out predictions identical on the
TLM and the reference; int8 accuracy within 2 points of onnxruntime's float accuracy)."""
from __future__ import annotations

import numpy as np
import pytest

from vta.compiler.graph import (Graph, Node, activation_fractions, fuse_relu, reference_node,
                                run_float, run_reference, run_vta)
from vta.compiler.onnx_import import load_onnx
from vta.compiler.quantize import exponent_for, quantize, quantize_input
from vta.compiler.zoo import DIGITS_ONNX, digits_data
from vta.isa import ConfigError
from vta.tlm import run_program

ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def digits():
    return digits_data()


@pytest.fixture(scope="module")
def digits_q(digits):
    x_tr = digits[0]
    return quantize(load_onnx(str(DIGITS_ONNX)), x_tr)


@pytest.fixture(scope="module")
def digits_run(digits, digits_q, default_cfg):
    """The whole held-out split on the TLM of the default config, once for the module."""
    xi = quantize_input(digits_q, digits[2])
    return xi, run_vta(digits_q, xi, default_cfg, run_program)


def test_shipped_model_is_small_and_matches_onnxruntime(digits):
    assert DIGITS_ONNX.stat().st_size < 200_000
    g = load_onnx(str(DIGITS_ONNX))
    x = digits[2][:50]
    f = ort.InferenceSession(str(DIGITS_ONNX)).run(None, {"input": x})[0]
    np.testing.assert_allclose(run_float(g, x), f, atol=1e-4)
    # ReLUs were fused: conv+relu x2, conv, add+relu, two pools, flatten, dense
    assert [n.op for n in g.nodes] == ["conv2d", "conv2d", "max_pool", "conv2d", "add", "max_pool",
                                       "flatten", "dense"]
    assert [n.attrs.get("relu", False) for n in g.nodes] == [True, True, False, False, True, False, False, False]


def test_digits_predictions_identical_on_tlm_and_reference(digits, digits_q, digits_run, default_cfg):
    xi, run = digits_run
    ref = run_reference(digits_q, xi)
    np.testing.assert_array_equal(run.output, ref)          # logits, not only the argmax
    y_te = digits[3]
    int8_acc = np.mean(run.output.argmax(1) == y_te)
    f = ort.InferenceSession(str(DIGITS_ONNX)).run(None, {"input": digits[2]})[0]
    float_acc = np.mean(f.argmax(1) == y_te)
    assert float_acc > 0.95
    assert int8_acc >= float_acc - 0.02, (int8_acc, float_acc)
    where = {r["op"]: r["where"] for r in run.layers}
    assert where == dict(conv2d="vta", max_pool="vta", add="vta", dense="vta", flatten="host")
    conv = run.layers[0]
    assert conv["cycles"] > 0 and conv["instructions"] > 0 and conv["dram_bytes_read"] > 0
    assert conv["macs"] == 360 * 16 * 8 * 8 * 9
    tot = run.totals()
    assert tot["cycles"] == sum(r["cycles"] for r in run.layers if r["where"] == "vta")
    assert 0 < tot["gemm_utilization"] < 1


def test_digits_activations_use_the_int8_range(digits_run):
    _, run = digits_run
    for r in run.layers:
        assert r["zeros"] < 0.9 and r["saturated"] < 0.1, r
    assert len(np.unique(run.output.argmax(1))) == 10


def test_exponent_for():
    assert exponent_for(1.0, 8) == 6            # 64 <= 127 < 128
    assert exponent_for(127.0, 8) == 0
    assert exponent_for(128.0, 8) == -1
    assert exponent_for(0.0, 8) == 30
    assert exponent_for(0.01, 8) == 13          # 81.92


def _tiny_float_graph(rng):
    w1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    w2 = rng.normal(0, 0.3, (8, 8, 1, 1)).astype(np.float32)
    nodes = [Node("c1", "conv2d", ["x"], "a", dict(stride=1, pad=1), dict(weight=w1, bias=np.full(8, 0.1, np.float32))),
             Node("r1", "relu", ["a"], "b"),
             Node("c2", "conv2d", ["b"], "c", dict(stride=1, pad=0), dict(weight=w2, bias=None)),
             Node("s", "add", ["c", "b"], "d"),
             Node("r2", "relu", ["d"], "e"),
             Node("p", "max_pool", ["e"], "f", dict(kernel=2, stride=2, pad=0)),
             Node("g", "global_avg_pool", ["f"], "h"),
             Node("fl", "flatten", ["h"], "y")]
    return Graph("tiny", "x", (3, 6, 6), "y", nodes).check()


def test_fuse_relu_and_quantized_graph_runs_bit_exact(default_cfg):
    rng = np.random.default_rng(3)
    g = _tiny_float_graph(rng)
    fg = fuse_relu(g)
    assert [n.op for n in fg.nodes] == ["conv2d", "conv2d", "add", "max_pool", "global_avg_pool", "flatten"]
    x = rng.normal(0, 1, (2, 3, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(run_float(fg, x), run_float(g, x), rtol=1e-6)
    q = quantize(fg, x)
    # the add aligns its inputs to the finer scale and shifts to its output's
    add = q.nodes[2]
    e = q.scales
    assert max(e["c"], e["b"]) - add.attrs["shift"] == e["e"]
    assert {add.attrs["shift_a"], add.attrs["shift_b"]} >= {0}
    xi = quantize_input(q, x)
    run = run_vta(q, xi, default_cfg, run_program)
    np.testing.assert_array_equal(run.output, run_reference(q, xi))
    deq = run.output * 2.0 ** -e["y"]
    np.testing.assert_allclose(deq, run_float(fg, x), atol=0.15)   # close to the float result


def test_reference_node_semantics():
    a = np.array([[[[100, -100]]]], np.int8)
    b = np.array([[[[100, 50]]]], np.int8)
    add = Node("s", "add", ["a", "b"], "y", dict(shift_a=1, shift_b=0, shift=2, relu=False))
    np.testing.assert_array_equal(reference_node(add, [a, b]), [[[[75, -38]]]])   # floor((200+100)/4), floor(-150/4)
    add.attrs["relu"] = True
    np.testing.assert_array_equal(reference_node(add, [a, b]), [[[[75, 0]]]])
    gap = Node("g", "global_avg_pool", ["a"], "y", dict(shift=1))
    x = np.arange(9, dtype=np.int8).reshape(1, 1, 3, 3)
    assert reference_node(gap, [x])[0, 0, 0, 0] == (36 * 2) // 9
    mp = Node("m", "max_pool", ["a"], "y", dict(kernel=3, stride=2, pad=1))
    neg = -np.ones((1, 1, 2, 2), np.int8)
    assert reference_node(mp, [neg]).tolist() == [[[[-1]]]]     # pads never win


def test_activation_fractions():
    y = np.array([0, 0, 127, -128, 5], np.int8)
    assert activation_fractions(y, 8, False) == (0.4, 0.4)
    assert activation_fractions(np.array([0, 127, 3, 3], np.int8), 8, True) == (0.25, 0.25)


def test_graph_check_and_input_errors(default_cfg, digits_q):
    n = Node("a", "softmax", ["x"], "y")
    with pytest.raises(ConfigError, match="unknown op 'softmax'"):
        Graph("g", "x", (4,), "y", [n]).check()
    with pytest.raises(ConfigError, match="reads 'z' before"):
        Graph("g", "x", (4,), "y", [Node("a", "relu", ["z"], "y")]).check()
    with pytest.raises(ConfigError, match=r"input must be int8 of shape \[N, 1, 8, 8\]"):
        run_reference(digits_q, np.zeros((1, 1, 8, 8), np.float32))
    with pytest.raises(ConfigError, match="input must be float"):
        quantize_input(digits_q, np.zeros((1, 1, 8, 8), np.int8))


def test_an_operator_that_refuses_the_shape_falls_back_to_the_host(default_cfg):
    # a 1x1 output of <= 16 channels is one accumulator entry: conv2d refuses it
    rng = np.random.default_rng(0)
    w = rng.integers(-5, 5, (4, 2, 3, 3), dtype=np.int8)
    g = Graph("g", "x", (2, 3, 3), "y", [Node("c", "conv2d", ["x"], "y", dict(stride=1, pad=0, shift=2),
                                               dict(weight=w, bias=None))])
    x = rng.integers(-5, 5, (1, 2, 3, 3), dtype=np.int8)
    run = run_vta(g, x, default_cfg, run_program)
    assert run.layers[0]["where"] == "host" and "accumulator entry" in run.layers[0]["why"]
    np.testing.assert_array_equal(run.output, run_reference(g, x))
    with pytest.raises(ConfigError, match="accumulator entry"):
        run_vta(g, x, default_cfg, run_program, fallback=False)
