"""conv2d_transpose (compiler/conv2d_transpose.py) bit-exact against its numpy reference on the
TLM: random small shapes on several configs, and the DCGAN layers of TVM's VTA benchmark."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from vta.compiler.conv2d_transpose import (build_conv2d_transpose, conv2d_transpose, conv2d_transpose_reference,
                                           phase)
from vta.isa import ConfigError, load_config
from vta.tlm import run_program

CONFIGS = {
    "tiny": load_config("tiny"),
    "default": load_config("default"),
    "tiny-batch2": load_config("tiny").replace(arch={"log_batch": 1}),
}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=st.sampled_from(sorted(CONFIGS)), n=st.integers(1, 2), c=st.integers(1, 9), o=st.integers(1, 9),
       h=st.integers(2, 6), w=st.integers(2, 6), k=st.integers(2, 5), s=st.integers(1, 3), p=st.integers(0, 2),
       relu=st.booleans(), with_bias=st.booleans(), seed=st.integers(0, 2**16))
def test_conv2d_transpose_bit_exact(config, n, c, o, h, w, k, s, p, relu, with_bias, seed):
    cfg = CONFIGS[config]
    if k < s or p >= k or (h - 1) * s - 2 * p + k < 2 or (w - 1) * s - 2 * p + k < 2:
        return
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (n, c, h, w), dtype=np.int8)
    wt = rng.integers(-128, 128, (c, o, k, k), dtype=np.int8)
    bias = rng.integers(-5000, 5000, (o,), dtype=np.int32) if with_bias else None
    try:
        y, res = conv2d_transpose(cfg, x, wt, bias, s, p, 6, relu, executor=run_program)
    except ConfigError as e:          # only the documented refusals
        assert "one accumulator entry" in str(e) or "LOAD pads" in str(e)
        return
    ref = conv2d_transpose_reference(x, wt, bias, s, p, 6, relu)
    assert y.shape == ref.shape == (n, o, (h - 1) * s - 2 * p + k, (w - 1) * s - 2 * p + k)
    np.testing.assert_array_equal(y, ref)
    assert res.warning_count == 0


def test_reference_definition_and_phases():
    # 1 channel, 2x2 input, 2x2 kernel, stride 2, no pad: each input pixel stamps the kernel
    x = np.array([[[[1, 2], [3, 4]]]], np.int8)
    w = np.array([[[[1, -1], [2, 0]]]], np.int8)
    np.testing.assert_array_equal(conv2d_transpose_reference(x, w, stride=2, pad=0)[0, 0],
                                  [[1, -1, 2, -2], [2, 0, 4, 0], [3, -3, 4, -4], [6, 0, 8, 0]])
    # stride 1, pad 1: x[iy, ix] lands on (iy - 1 + ky, ix - 1 + kx): a tap at kx=2 shifts right
    # (the conv with the same kernel would shift left: the kernel is flipped)
    x = np.arange(9, dtype=np.int8).reshape(1, 1, 3, 3)
    w = np.array([[[[0, 0, 0], [0, 0, 1], [0, 0, 0]]]], np.int8)
    np.testing.assert_array_equal(conv2d_transpose_reference(x, w, stride=1, pad=1)[0, 0],
                                  [[0, 0, 1], [0, 3, 4], [0, 6, 7]])
    # DCGAN phases (k 4, s 2, p 1): even outputs use taps 3, 1 with one pad before; odd: 2, 0 after
    assert phase(4, 4, 2, 1, 0) == ([3, 1], 1, 0, 4)
    assert phase(4, 4, 2, 1, 1) == ([2, 0], 0, 1, 4)


@pytest.mark.parametrize("name,h,i,o", [
    pytest.param("CT1", 4, 1024, 512, marks=pytest.mark.slow),
    pytest.param("CT2", 8, 512, 256, marks=pytest.mark.slow),
    ("CT3", 16, 256, 128),
])
def test_dcgan_layers_default(name, h, i, o):
    cfg = load_config("default")
    rng = np.random.default_rng(h)
    x = rng.integers(-128, 128, (1, i, h, h), dtype=np.int8)
    wt = rng.integers(-128, 128, (i, o, 4, 4), dtype=np.int8)
    bias = rng.integers(-20000, 20000, (o,), dtype=np.int32)
    y, res = conv2d_transpose(cfg, x, wt, bias, 2, 1, 11, True, executor=run_program)
    ref = conv2d_transpose_reference(x, wt, bias, 2, 1, 11, True)
    assert y.shape == (1, o, 2 * h, 2 * h)
    np.testing.assert_array_equal(y, ref)
    assert 0.05 < (ref == 0).mean() < 0.9 and (ref == 127).mean() < 0.25     # not trivially saturated
    assert res.warning_count == 0
    assert res.stats["gemm_utilization"] > (0.35 if name == "CT1" else 0.8)   # CT1 reads 8 MB of weights


@pytest.mark.parametrize("args,msg", [
    ((np.zeros((1, 3, 4, 4), np.int16), np.zeros((3, 4, 4, 4), np.int8)), "input must be a non-empty 4-D int8"),
    ((np.zeros((1, 3, 4, 4), np.int8), np.zeros((2, 4, 4, 4), np.int8)), "I=2"),
    ((np.zeros((1, 3, 4, 4), np.int8), np.zeros((3, 4, 4, 4), np.int8), None, 0), "stride 0"),
    ((np.zeros((1, 3, 4, 4), np.int8), np.zeros((3, 4, 1, 1), np.int8), None, 2), "smaller than the stride"),
    ((np.zeros((1, 3, 4, 4), np.int8), np.zeros((3, 4, 4, 4), np.int8), np.zeros(3, np.int32)), "bias must be"),
    ((np.zeros((1, 3, 4, 4), np.int8), np.zeros((3, 4, 4, 4), np.int8), None, 2, 3), "LOAD pads"),
])
def test_bad_arguments_are_named(args, msg):
    with pytest.raises(ConfigError, match=msg):
        build_conv2d_transpose(load_config("tiny"), *args)
