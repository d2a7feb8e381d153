"""The execution rules shared by the models (vta.isa.semantics) against the scalar Python
of the reference interpreter (tests/reference.py): wrap-around, truncation, SHR's signed
amount, MIN/MAX/ADD/SHR, and the buffer indices of a GEMM/ALU loop nest."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from reference import alu, loop_executions, loop_nest, wrap

from vta.isa import (ALU_ADD, ALU_MAX, ALU_MIN, ALU_MUL, ALU_SHR, Alu, Gemm, alu_apply, first_out_of_range,
                     loop_indices, shift_amount, truncate, uop_range, wrap_signed)


int32 = st.integers(-(1 << 31), (1 << 31) - 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(1 << 40), 1 << 40), min_size=1, max_size=20), st.sampled_from([8, 16, 32]))
def test_wrap_and_truncate(xs, bits):
    got = wrap_signed(np.array(xs, dtype=np.int64), bits)
    assert got.tolist() == [wrap(x, bits) for x in xs]
    assert truncate(np.array(xs, dtype=np.int64), bits).tolist() == [wrap(x, bits) for x in xs]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-(1 << 63), (1 << 63) - 1), min_size=1, max_size=8),
       st.integers(1, 63))
def test_wrap_whole_int64_range_any_width(xs, bits):
    # the cast path (8/16/32 bits, arrays) and the arithmetic path (other widths, scalars)
    arr = np.array(xs, dtype=np.int64)
    assert wrap_signed(arr, bits).tolist() == [wrap(x, bits) for x in xs]
    assert int(wrap_signed(np.int64(xs[0]), bits)) == wrap(xs[0], bits)


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
    assert got.tolist() == [alu(op, x, y, 32, 5) for x, y in pairs]


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
    assert got.tolist() == [alu(op, x, y, acc_bits, log_w) for x, y in pairs]


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


# ---- loop nest indices ---------------------------------------------------------------------
# Small buffers and factors up to twice their depth, so indices wrap (often several times);
# uop_end may pass the micro-op buffer's end (it wraps too).
LOG_DEPTHS = st.integers(0, 5)
# loop counts 0..4, an empty loop 1 time in 20 (uniform 0..4 spent a third of the examples
# on empty nests)
ITERS = st.integers(0, 19).map(lambda v: 0 if v == 0 else 1 + v % 4)


@st.composite
def loop_cases(draw):
    log_u = draw(st.integers(1, 4))
    uop_depth = 1 << log_u
    depths = {"dst": 1 << draw(LOG_DEPTHS), "src": 1 << draw(LOG_DEPTHS), "wgt": 1 << draw(LOG_DEPTHS)}
    uops = draw(st.lists(st.tuples(*(st.integers(0, d - 1) for d in depths.values())),
                         min_size=uop_depth, max_size=uop_depth))
    bgn = draw(st.integers(0, uop_depth - 1))
    end = draw(st.integers(bgn, 2 * uop_depth - 1))
    factors = {f"{name}_factor_{w}": draw(st.integers(0, 2 * d))
               for name, d in depths.items() for w in ("out", "in")}
    loop = dict(uop_bgn=bgn, uop_end=end, iter_out=draw(ITERS), iter_in=draw(ITERS))
    if draw(st.booleans()):
        insn = Gemm(**loop, **factors)
    else:
        del depths["wgt"]
        insn = Alu(**loop, **{k: v for k, v in factors.items() if not k.startswith("wgt")})
    return insn, uops, uop_depth, depths


def operands(insn, uops, uop_depth, depths):
    """(name, base, depth) for loop_indices: the micro-op fields at uop_range."""
    ks = uop_range(insn, uop_depth)
    fields = np.array(uops, dtype=np.int64).reshape(-1, 3)[ks]
    return [(name, fields[:, c], depth) for c, (name, depth) in enumerate(depths.items())]


@settings(max_examples=300, deadline=None)
@given(loop_cases())
def test_loop_indices_match_the_scalar_loop_nest(case):
    insn, uops, uop_depth, depths = case
    got = loop_indices(insn, operands(insn, uops, uop_depth, depths))
    want = list(loop_nest(insn, uops, uop_depth, depths))
    assert [tuple(int(v[p]) for v in got) for p in range(len(got[0]))] == want


@settings(max_examples=200, deadline=None)
@given(loop_cases(), st.integers(1, 7))
def test_loop_indices_in_chunks_concatenate_to_the_whole(case, chunk):
    insn, uops, uop_depth, depths = case
    ops = operands(insn, uops, uop_depth, depths)
    whole = loop_indices(insn, ops)
    total = len(whole[0])
    parts = [loop_indices(insn, ops, p0, p0 + chunk) for p0 in range(0, total, chunk)]
    for n, w in enumerate(whole):
        got = np.concatenate([part[n] for part in parts]) if parts else np.zeros(0, np.int64)
        np.testing.assert_array_equal(got, w)


@settings(max_examples=300, deadline=None)
@given(loop_cases())
def test_first_out_of_range_is_the_first_unwrapped_index_past_the_buffer(case):
    insn, uops, uop_depth, depths = case
    unwrapped = {name: 1 << 40 for name in depths}     # too deep to wrap
    for (name, base, depth) in operands(insn, uops, uop_depth, depths):
        c = list(depths).index(name)
        bad = [(i, j, k - insn.uop_bgn, idx[c]) for (i, j, k), idx
               in zip(loop_executions(insn), loop_nest(insn, uops, uop_depth, unwrapped)) if idx[c] >= depth]
        assert first_out_of_range(insn, name, base, depth) == (bad[0] if bad else None)


def test_loop_indices_example():
    # 2 x 3 iterations of micro-ops 1..2 (of a 4-entry uop buffer) into an 8-entry buffer:
    # dst = uop.dst + 3*i + 2*j mod 8.
    insn = Alu(uop_bgn=1, uop_end=3, iter_out=2, iter_in=3, dst_factor_out=3, dst_factor_in=2)
    uops = [(0, 0, 0), (1, 0, 0), (6, 0, 0), (0, 0, 0)]
    (dst,) = loop_indices(insn, operands(insn, uops, 4, {"dst": 8}))
    assert dst.tolist() == [1, 6, 3, 0, 5, 2, 4, 1, 6, 3, 0, 5]
    assert first_out_of_range(insn, "dst", [1, 6], 8) == (0, 1, 1, 8)
    assert first_out_of_range(insn, "dst", [1, 6], 16) is None
