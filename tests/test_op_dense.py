"""dense on VTA (compiler/dense.py) bit-exact against its numpy reference on the TLM."""
from __future__ import annotations

import numpy as np
import pytest

from vta.compiler.dense import dense, dense_reference
from vta.isa import ConfigError, load_config
from vta.tlm import run_program

SHAPES = [  # (N, K, M, relu, bias, tiles)
    (1, 16, 16, False, False, None),
    (3, 37, 21, True, True, None),
    (5, 70, 40, False, True, (2, 2, 2)),      # several output and K blocks, ragged edges
    (2, 9, 50, True, False, (1, 3, 1)),
]


@pytest.mark.parametrize("config", ["tiny", "default"])
@pytest.mark.parametrize("n,k,m,relu,with_bias,tiles", SHAPES)
def test_dense_bit_exact(config, n, k, m, relu, with_bias, tiles):
    cfg = load_config(config)
    rng = np.random.default_rng(n * 1000 + k * 10 + m)
    x = rng.integers(-128, 128, (n, k), dtype=np.int8)
    w = rng.integers(-128, 128, (m, k), dtype=np.int8)
    bias = rng.integers(-20000, 20000, (m,), dtype=np.int32) if with_bias else None
    y, res = dense(cfg, x, w, bias, 7, relu, executor=run_program, tiles=tiles)
    ref = dense_reference(x, w, bias, 7, relu)
    assert y.shape == (n, m) and y.dtype == np.int8
    np.testing.assert_array_equal(y, ref)
    assert res.warning_count == 0
    # the values are not trivially saturated or zero
    assert 0 < np.count_nonzero(ref) and np.count_nonzero(np.abs(ref.astype(int)) == 127) < ref.size


def test_reference_definition():
    x = np.array([[100, -100]], np.int8)
    w = np.array([[100, 100], [127, -128], [1, 0]], np.int8)
    b = np.array([0, 2**31 - 1, -9], np.int32)
    # acc: 0; 25500+2**31-1 wraps negative; 100-9 = 91 >> 1 = 45
    np.testing.assert_array_equal(dense_reference(x, w, b, 1, False), [[0, -128, 45]])
    np.testing.assert_array_equal(dense_reference(x, w, b, 1, True), [[0, 0, 45]])
    np.testing.assert_array_equal(dense_reference(x, w, None, 0, False), [[0, 127, 100]])


@pytest.mark.parametrize("x,w,bias,shift,msg", [
    (np.zeros((2, 3), np.int16), np.zeros((4, 3), np.int8), None, 0, "input must be a 2-D int8"),
    (np.zeros((2, 3), np.int8), np.zeros((4, 5), np.int8), None, 0, "K=3"),
    (np.zeros((2, 3), np.int8), np.zeros((4, 3), np.int8), np.zeros(3, np.int32), 0, "bias must be"),
    (np.zeros((2, 3), np.int8), np.zeros((4, 3), np.int8), None, 16, "shift 16"),
])
def test_bad_arguments_are_named(x, w, bias, shift, msg):
    with pytest.raises(ConfigError, match=msg):
        dense(load_config("tiny"), x, w, bias, shift, executor=run_program)
