"""Slow set for networks: ResNet-18 end to end on the TLM (identical int8 logits to the numpy
reference, every conv, add, ReLU, max pool and requantization on VTA, meaningful
activations), and on the RTL in Verilator the whole digits CNN and ResNet-18's C12 layer,
bit-exact."""
from __future__ import annotations

import numpy as np
import pytest

from vta.compiler import conv2d_reference
from vta.compiler.conv2d import conv2d
from vta.compiler.graph import run_reference, run_vta
from vta.compiler.onnx_import import load_onnx
from vta.compiler.quantize import quantize, quantize_input
from vta.compiler.zoo import DIGITS_ONNX, digits_data, resnet18_path

pytestmark = pytest.mark.slow


def test_resnet18_end_to_end_on_tlm(tmp_path_factory, default_cfg):
    from vta.tlm import run_program
    path = resnet18_path(tmp_path_factory.mktemp("models"))
    g = load_onnx(str(path))
    assert sum(n.op == "conv2d" for n in g.nodes) == 20 and g.input_shape == (3, 224, 224)
    rng = np.random.default_rng(1)
    calib = rng.normal(0, 1, (2, 3, 224, 224)).astype(np.float32)
    q = quantize(g, calib)
    x = quantize_input(q, calib[:1])
    run = run_vta(q, x, default_cfg, run_program)
    np.testing.assert_array_equal(run.output, run_reference(q, x))
    assert len(np.unique(run.output)) > 10                     # logits not constant
    host = {r["op"] for r in run.layers if r["where"] == "host"}
    assert host == {"global_avg_pool", "flatten"}, host
    for r in run.layers:
        assert r["zeros"] < 0.9 and r["saturated"] < 0.1, r
    tot = run.totals()
    assert 5_000_000 < tot["cycles"] < 31_000_000               # below Apache VTA's ~31 M



@pytest.mark.rtl
def test_digits_cnn_on_rtl_verilator(default_cfg, tmp_path):
    from vta.cosim.sim import run_on_rtl
    x_tr, _, x_te, _ = digits_data()
    q = quantize(load_onnx(str(DIGITS_ONNX)), x_tr)
    x = quantize_input(q, x_te[:4])
    run = run_vta(q, x, default_cfg, lambda p: run_on_rtl(p, default_cfg, sim="verilator"))
    np.testing.assert_array_equal(run.output, run_reference(q, x))
    assert [r["where"] for r in run.layers if r["op"] != "flatten"] == ["vta"] * 7
    assert all(r["cycles"] > 0 for r in run.layers if r["where"] == "vta")


@pytest.mark.rtl
def test_resnet18_c12_on_rtl_verilator(default_cfg):
    from vta.cosim.sim import run_on_rtl
    rng = np.random.default_rng(12)
    x = rng.integers(-128, 128, (1, 512, 7, 7), dtype=np.int8)
    w = rng.integers(-128, 128, (512, 512, 3, 3), dtype=np.int8)
    b = rng.integers(-1 << 20, 1 << 20, 512, dtype=np.int32)
    y, res = conv2d(default_cfg, x, w, b, 1, 1, 10, True,
                    executor=lambda p: run_on_rtl(p, default_cfg, sim="verilator"))
    np.testing.assert_array_equal(y, conv2d_reference(x, w, b, 1, 1, 10, True))
    assert res.cycles > 0
