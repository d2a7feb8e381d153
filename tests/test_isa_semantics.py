"""Element rules shared by both models (vta.isa.semantics) against scalar Python written
from VTA_SPEC.md: wrap-around, truncation, SHR's signed amount, MIN/MAX/ADD/SHR."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from vta.isa import ALU_ADD, ALU_MAX, ALU_MIN, ALU_MUL, ALU_SHR, alu_apply, shift_amount, truncate, wrap_signed


def wrap(x, bits):
    return ((x + (1 << (bits - 1))) % (1 << bits)) - (1 << (bits - 1))


def ref_alu(op, a, b, acc_bits=32, log_acc_width=5):
    b = wrap(b, acc_bits)                # the operand is an acc_T (HLS: imm cast to acc width)
    if op == ALU_MIN:
        r = min(a, b)
    elif op == ALU_MAX:
        r = max(a, b)
    elif op == ALU_ADD:
        r = a + b
    else:
        n = wrap(b, log_acc_width)       # low LOG_ACC_WIDTH bits of b, as a signed number
        r = a >> n if n >= 0 else a << -n
    return wrap(r, acc_bits)


int32 = st.integers(-(1 << 31), (1 << 31) - 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(1 << 40), 1 << 40), min_size=1, max_size=20), st.sampled_from([8, 16, 32]))
def test_wrap_and_truncate(xs, bits):
    got = wrap_signed(np.array(xs, dtype=np.int64), bits)
    assert got.tolist() == [wrap(x, bits) for x in xs]
    assert truncate(np.array(xs, dtype=np.int64), bits).tolist() == [wrap(x, bits) for x in xs]


def test_truncation_edges():
    assert truncate(np.array([127, 128, 255, 256, -129, 200]), 8).tolist() == [127, -128, -1, 0, 127, -56]


@given(st.integers(-(1 << 20), 1 << 20))
def test_shift_amount_is_low_bits_signed(b):
    assert int(shift_amount(np.int64(b), 5)) == wrap(b, 5)
    assert -16 <= int(shift_amount(np.int64(b), 5)) <= 15


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([ALU_MIN, ALU_MAX, ALU_ADD, ALU_SHR]),
       st.lists(st.tuples(int32, st.one_of(int32, st.integers(-40, 40))), min_size=1, max_size=16))
def test_alu_ops_match_scalar_reference(op, pairs):
    a = np.array([p[0] for p in pairs], dtype=np.int64)
    b = np.array([p[1] for p in pairs], dtype=np.int64)
    got = alu_apply(op, a, b, 32, 5)
    assert got.tolist() == [ref_alu(op, x, y) for x, y in pairs]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([ALU_MIN, ALU_MAX, ALU_ADD, ALU_SHR]), st.sampled_from([(8, 3), (16, 4)]),
       st.lists(st.tuples(st.integers(-128, 127), st.integers(-(1 << 15), (1 << 15) - 1)),
                min_size=1, max_size=16))
def test_alu_narrow_accumulators_read_the_immediate_at_acc_width(op, widths, pairs):
    # A 16-bit immediate on an 8- or 16-bit accumulator config: MIN/MAX compare the
    # immediate as an acc_T (truncated), as the HLS design and the RTL do.
    acc_bits, log_w = widths
    a = np.array([p[0] for p in pairs], dtype=np.int64)
    b = np.array([p[1] for p in pairs], dtype=np.int64)
    got = alu_apply(op, a, b, acc_bits, log_w)
    assert got.tolist() == [ref_alu(op, x, y, acc_bits, log_w) for x, y in pairs]


def test_alu_examples():
    assert alu_apply(ALU_ADD, [2 ** 31 - 1], [1], 32, 5).tolist() == [-(2 ** 31)]      # wraps
    assert alu_apply(ALU_SHR, [-8], [1], 32, 5).tolist() == [-4]                       # arithmetic
    assert alu_apply(ALU_SHR, [3], [-2], 32, 5).tolist() == [12]                       # left shift
    assert alu_apply(ALU_SHR, [3], [31], 32, 5).tolist() == [6]                        # 31 reads as -1
    assert alu_apply(ALU_MAX, [-5, 7], [0, 0], 32, 5).tolist() == [0, 7]
    assert alu_apply(ALU_MAX, [79, -107], [1000, 1000], 8, 3).tolist() == [79, -24]   # 1000 -> int8 -24
    assert alu_apply(ALU_MIN, [79, -107], [-1000, -1000], 8, 3).tolist() == [24, -107]


def test_mul_is_not_executable():
    with pytest.raises(ValueError, match="MUL"):
        alu_apply(ALU_MUL, [1], [1], 32, 5)
