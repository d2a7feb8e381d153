"""max pool (compiler/pool.py) and the residual add (compiler/eltwise.py) bit-exact against
their numpy references on the TLM, on tiny, default and batch-2 / 16-bit configs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from vta.compiler.eltwise import add, add_reference, build_add
from vta.compiler.pool import build_max_pool, global_avg_pool_reference, max_pool, max_pool_reference
from vta.isa import ALU_MIN, Alu, ConfigError, load_config
from vta.tlm import run_program

CONFIGS = {
    "tiny": load_config("tiny"),
    "default": load_config("default"),
    "tiny-batch2": load_config("tiny").replace(arch={"log_batch": 1}),
    "tiny-int16": load_config("tiny").replace(arch={"log_inp_width": 4, "log_wgt_width": 4}),
}


def _rand(cfg, rng, shape, lo=None, hi=None):
    bits = cfg.inp_bits
    dt = np.int8 if bits == 8 else np.int16
    lo = -(1 << (bits - 1)) if lo is None else lo
    hi = (1 << (bits - 1)) if hi is None else hi
    return rng.integers(lo, hi, shape, dtype=dt)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=st.sampled_from(sorted(CONFIGS)), n=st.integers(1, 3), c=st.integers(1, 20),
       h=st.integers(1, 9), w=st.integers(1, 9), k=st.integers(1, 3), s=st.integers(1, 2),
       p=st.integers(0, 2), negative=st.booleans(), seed=st.integers(0, 2**16))
def test_max_pool_bit_exact(config, n, c, h, w, k, s, p, negative, seed):
    cfg = CONFIGS[config]
    p = min(p, k - 1)
    if h + 2 * p < k or w + 2 * p < k:
        return
    rng = np.random.default_rng(seed)
    # all-negative inputs: a zero pad would win every edge window; the pad must be the minimum
    x = _rand(cfg, rng, (n, c, h, w), hi=0 if negative else None)
    y, res = max_pool(cfg, x, k, s, p, executor=run_program)
    ref = max_pool_reference(x, k, s, p, out_bits=cfg.out_bits)
    assert y.shape == ref.shape and y.dtype == ref.dtype
    np.testing.assert_array_equal(y, ref)
    assert res.warning_count == 0


def test_max_pool_pads_with_the_minimum():
    cfg = CONFIGS["tiny"]
    x = np.full((1, 4, 4, 4), -5, np.int8)
    x[0, :, 1, 1] = -3
    y, _ = max_pool(cfg, x, 3, 2, 1, executor=run_program)
    # window (0, 0) covers pads and x[0:2, 0:2] -> -3; a zero pad would give 0
    np.testing.assert_array_equal(y[0, :, 0, 0], [-3] * 4)
    np.testing.assert_array_equal(y, max_pool_reference(x, 3, 2, 1))
    assert (y < 0).all()


def test_max_pool_resnet18_default_and_forced_tiles():
    cfg = CONFIGS["default"]
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 0, (1, 64, 112, 112), dtype=np.int8)    # ResNet-18's pool after C1
    y, res = max_pool(cfg, x, 3, 2, 1, executor=run_program)
    np.testing.assert_array_equal(y, max_pool_reference(x, 3, 2, 1))
    assert y.shape == (1, 64, 56, 56) and res.warning_count == 0
    prog, unpack, rt = build_max_pool(CONFIGS["tiny"], x[:, :8, :20, :20], 3, 2, 1, tiles=(1, 1))
    # the halo strips are MIN with the immediate -128
    assert any(isinstance(i, Alu) and i.alu_opcode == ALU_MIN and i.use_imm and i.imm == -128 for i in prog.insns)
    assert rt.stats["kernel_hits"] > rt.stats["uop_loads"]
    np.testing.assert_array_equal(unpack(run_program(prog).outputs), max_pool_reference(x[:, :8, :20, :20], 3, 2, 1))


def test_global_avg_pool_reference_rounds_to_nearest():
    x = np.array([[[[1, 2], [3, 5]], [[-1, -2], [-3, -5]], [[1, 1], [0, 0]], [[127, 127], [127, 127]]]], np.int8)
    np.testing.assert_array_equal(global_avg_pool_reference(x).ravel(), [3, -3, 1, 127])
    assert global_avg_pool_reference(x).shape == (1, 4, 1, 1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=st.sampled_from(sorted(CONFIGS)), n=st.integers(1, 3), c=st.integers(1, 20),
       h=st.integers(1, 7), w=st.integers(1, 7), sa=st.integers(0, 7), sb=st.integers(0, 7),
       shift=st.integers(0, 7), relu=st.booleans(), seed=st.integers(0, 2**16))
def test_add_bit_exact(config, n, c, h, w, sa, sb, shift, relu, seed):
    cfg = CONFIGS[config]
    rng = np.random.default_rng(seed)
    a, b = _rand(cfg, rng, (n, c, h, w)), _rand(cfg, rng, (n, c, h, w))
    y, res = add(cfg, a, b, shift_a=sa, shift_b=sb, shift=shift, relu=relu, executor=run_program)
    ref = add_reference(a, b, shift_a=sa, shift_b=sb, shift=shift, relu=relu, acc_bits=cfg.acc_bits,
                        out_bits=cfg.out_bits)
    assert y.shape == ref.shape and y.dtype == ref.dtype
    np.testing.assert_array_equal(y, ref)
    assert res.warning_count == 0


def test_add_reference_definition_and_many_tiles():
    a = np.array([[[[100, -100, 3, -3]]]], np.int8)
    b = np.array([[[[100, -100, -4, 1]]]], np.int8)
    np.testing.assert_array_equal(add_reference(a, b), [[[[127, -128, -1, -2]]]])
    np.testing.assert_array_equal(add_reference(a, b, shift=1), [[[[100, -100, -1, -1]]]])
    np.testing.assert_array_equal(add_reference(a, b, shift_a=2, shift=2, relu=True), [[[[125, 0, 2, 0]]]])
    cfg = CONFIGS["tiny"]
    rng = np.random.default_rng(1)
    a, b = (rng.integers(-128, 128, (2, 9, 11, 13), dtype=np.int8) for _ in range(2))
    prog, unpack, rt = build_add(cfg, a, b, shift_a=3, shift_b=1, shift=4, tile=37)
    assert rt.schedule == {"vt": 2, "tile": 37}
    np.testing.assert_array_equal(unpack(run_program(prog).outputs), add_reference(a, b, shift_a=3, shift_b=1, shift=4))


@pytest.mark.parametrize("kwargs,msg", [
    (dict(a=np.zeros((1, 2, 3, 3), np.int16)), "a must be a non-empty 4-D int8"),
    (dict(b=np.zeros((1, 2, 3, 4), np.int8)), "must match"),
    (dict(shift=16), "shift 16 must be an integer in 0..15"),
    (dict(shift_a=-1), "shift_a -1"),
    (dict(tile=10**6), "tile 1000000"),
])
def test_add_bad_arguments_are_named(kwargs, msg):
    args = dict(a=np.zeros((1, 2, 3, 3), np.int8), b=np.zeros((1, 2, 3, 3), np.int8))
    args.update(kwargs)
    with pytest.raises(ConfigError, match=msg):
        build_add(CONFIGS["default"], args.pop("a"), args.pop("b"), **args)


@pytest.mark.parametrize("args,msg", [
    ((np.zeros((1, 2, 3), np.int8), 2, 2, 0), "input must be a non-empty 4-D int8"),
    ((np.zeros((1, 2, 3, 3), np.int8), 0, 1, 0), "kernel 0"),
    ((np.zeros((1, 2, 3, 3), np.int8), 3, 1, 3), "pad 3 must be at most 2"),
    ((np.zeros((1, 2, 2, 2), np.int8), 5, 1, 1), "larger than"),
])
def test_max_pool_bad_arguments_are_named(args, msg):
    with pytest.raises(ConfigError, match=msg):
        build_max_pool(CONFIGS["tiny"], *args)


def test_wide_inputs_tile_the_width_and_unfit_tiles_are_refused():
    cfg = CONFIGS["tiny"]
    rng = np.random.default_rng(3)
    # 1200 padded columns x 3 rows: more than the tiny config's 256-entry INP buffer
    x = rng.integers(-128, 0, (1, 4, 5, 1198), dtype=np.int8)
    prog, unpack, rt = build_max_pool(cfg, x, 3, 2, 1)
    assert rt.schedule["tow"] < 599
    np.testing.assert_array_equal(unpack(run_program(prog).outputs), max_pool_reference(x, 3, 2, 1))
    y, _ = max_pool(cfg, x[:, :, :, :50], 3, 1, 1, executor=run_program, tiles=(1, 2, 7))
    np.testing.assert_array_equal(y, max_pool_reference(x[:, :, :, :50], 3, 1, 1))
    with pytest.raises(ConfigError, match=r"max_pool: tiles \(tc=1, toh=3, tow=10\) with vt=2 do not fit config"):
        build_max_pool(cfg, np.zeros((1, 4, 20, 20), np.int8), 3, 2, 1, tiles=(1, 3))
    with pytest.raises(ConfigError, match="max_pool: no tiling fits config 'tiny'.*INP buffer"):
        build_max_pool(cfg, np.zeros((1, 4, 20, 20), np.int8), 17, 1, 0)


def test_identity_copy_needs_equal_blocks():
    odd = CONFIGS["tiny"].replace(arch={"log_block_out": 3, "log_wgt_buff_size": 13, "log_acc_buff_size": 13})
    with pytest.raises(ConfigError, match="block_in 4 != block_out 8"):
        build_add(odd, np.zeros((1, 2, 3, 3), np.int8), np.zeros((1, 2, 3, 3), np.int8))


def test_tensors_larger_than_the_dram_are_refused_before_emission():
    a = np.zeros((1, 8, 1024, 1024), np.int8)        # 8 MiB each, plus the output: > tiny's 16 MiB
    with pytest.raises(ConfigError, match=r"add: its tensors need 24\.0 MiB, more than the 16 MiB DRAM"):
        build_add(CONFIGS["tiny"], a, a)
