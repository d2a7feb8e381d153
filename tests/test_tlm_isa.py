"""Every ISA feature of the TLM against the independent reference (tests/reference.py)
and values computed here: GEMM with random loop factors and micro-ops (repeated dst
included), reset, padding of INP/ACC loads, WGT/UOP loads, every ALU op with edge values
(negative shifts, overflow), order-dependent ALU loops, index wrap, dispatch of UOP/ACC
loads to compute."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import alu_tile, run_reference, wrap

from vta.compiler import ProgramBuilder
from vta.isa import (ALU_ADD, ALU_MAX, ALU_MIN, ALU_SHR, MEM_ACC, MEM_INP, MEM_OUT, MEM_WGT, Alu,
                     Finish, Gemm, Load, Store, load_config)
from vta.tlm import Tlm
from vta.tlm.fetch import route

TINY = load_config("tiny")
DEFAULT = load_config("default")
NARROW = TINY.replace(arch={"log_acc_width": 3})   # 8-bit accumulators: wrap at other widths
INT32_EDGES = [-(1 << 31), (1 << 31) - 1, 0, -1, 1, -2, 2, 1 << 30, -(1 << 30)]


def build(cfg, *, inp=None, wgt=None, acc=None, uops=(), body=(), store_n=0, loads=None):
    """A program: LOAD UOP, LOAD ACC (compute), LOAD INP/WGT (load, push l2g), the body
    (first pops l2g, last pushes g2s), STORE out[0:store_n], FINISH."""
    pb = ProgramBuilder(cfg, "t")
    segs = {}
    if uops:
        pb.add_uops(uops)
        pb.load_uops(0, len(uops))
    if acc is not None:
        segs["acc"] = pb.segment("acc", acc.astype(f"int{cfg.acc_bits}"), "bias")
        pb.emit(Load(memory_type=MEM_ACC, sram_base=0, dram_base=pb.elem(segs["acc"]), y_size=1,
                     x_size=len(acc), x_stride=len(acc)))
    mem = [(n, a, r, t) for n, a, r, t in (("inp", inp, "input", MEM_INP), ("wgt", wgt, "weight", MEM_WGT))
           if a is not None]
    for idx, (n, a, role, mt) in enumerate(mem):
        segs[n] = pb.segment(n, a.astype(np.int8), role)
        pb.emit(Load(memory_type=mt, sram_base=0, dram_base=pb.elem(segs[n]), y_size=1,
                     x_size=len(a), x_stride=len(a), push_next=idx == len(mem) - 1))
    for insn in loads or ():
        pb.emit(insn)
    body = list(body)
    if mem:
        body[0] = body[0].replace(pop_prev=True)
    body[-1] = body[-1].replace(push_next=True)
    for insn in body:
        pb.emit(insn)
    out_shape = (max(store_n, 1), cfg.batch, cfg.block_out)
    segs["out"] = pb.segment("out", np.zeros(out_shape, np.int8), "output")
    pb.emit(Store(memory_type=MEM_OUT, sram_base=0, dram_base=pb.elem(segs["out"]), y_size=1,
                  x_size=store_n, x_stride=max(store_n, 1), pop_prev=True, push_prev=True))
    pb.emit(Finish(pop_next=True))
    return pb.build({})


def run(prog, **kw):
    """Run on a Tlm (internals visible after the run)."""
    tlm = Tlm(prog, **kw)
    res = tlm.run()
    return tlm, res


def assert_matches_reference(tlm, res, prog):
    """The TLM's accumulator and out buffers and output segment equal the reference's."""
    ref = run_reference(prog)
    np.testing.assert_array_equal(tlm.compute.acc, ref.acc)
    np.testing.assert_array_equal(tlm.compute.out, ref.out)
    np.testing.assert_array_equal(res.read_segment("out"), ref.read_segment("out"))


def rand(rng, bits, shape, edges=()):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    x = rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
    if len(edges):
        m = rng.random(shape) < 0.2
        x[m] = rng.choice(np.array(edges, dtype=np.int64), size=int(m.sum()))
    return x


def _edges(cfg):
    """INT32_EDGES read at the config's accumulator width."""
    return sorted({int(wrap(e, cfg.acc_bits)) for e in INT32_EDGES})


# ---- GEMM --------------------------------------------------------------------------------
N_INP, N_WGT, N_ACC = 48, 32, 64

gemm_case = st.fixed_dictionaries({
    "seed": st.integers(0, 2**32 - 1),
    "uops": st.lists(st.tuples(st.integers(0, 15), st.integers(0, 15), st.integers(0, 7)),
                     min_size=1, max_size=6),
    # non-empty loops (test_empty_loop_nests_change_nothing covers the empty ones)
    "iter_out": st.integers(1, 4), "iter_in": st.integers(1, 4),
    "f": st.lists(st.integers(0, 3), min_size=6, max_size=6),
    "reset": st.booleans(),
    "cfg": st.sampled_from([TINY, DEFAULT, NARROW]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gemm_case)
def test_gemm_random_factors_and_uops(case):
    cfg = case["cfg"]
    rng = np.random.default_rng(case["seed"])
    b, bi, bo = cfg.batch, cfg.block_in, cfg.block_out
    inp = rand(rng, 8, (N_INP, b, bi), (-128, 127))
    wgt = rand(rng, 8, (N_WGT, bo, bi), (-128, 127))
    acc = rand(rng, cfg.acc_bits, (N_ACC, b, bo), _edges(cfg))
    uops = case["uops"]
    f = case["f"]
    g = Gemm(uop_bgn=0, uop_end=len(uops), iter_out=case["iter_out"], iter_in=case["iter_in"],
             dst_factor_out=f[0], dst_factor_in=f[1], src_factor_out=f[2], src_factor_in=f[3],
             wgt_factor_out=f[4], wgt_factor_in=f[5], reset=case["reset"])
    prog = build(cfg, inp=inp, wgt=wgt, acc=acc, uops=uops, body=[g], store_n=N_ACC)
    tlm, res = run(prog)
    assert_matches_reference(tlm, res, prog)
    assert res.stats["gemm_uops"] == len(uops) * case["iter_out"] * case["iter_in"]


@pytest.mark.parametrize("is_gemm", [True, False])
@pytest.mark.parametrize("iters", [(0, 3), (3, 0), (0, 0)])
def test_empty_loop_nests_change_nothing(is_gemm, iters):
    cfg = TINY
    rng = np.random.default_rng(2)
    acc = rand(rng, 32, (8, 1, 4), INT32_EDGES)
    loop = dict(uop_bgn=0, uop_end=2, iter_out=iters[0], iter_in=iters[1], dst_factor_out=1)
    insn = Gemm(reset=True, **loop) if is_gemm else Alu(alu_opcode=ALU_ADD, use_imm=True, imm=5, **loop)
    prog = build(cfg, inp=rand(rng, 8, (4, 1, 4)), wgt=rand(rng, 8, (4, 4, 4)), acc=acc,
                 uops=[(0, 0, 0), (1, 1, 1)], body=[insn], store_n=0)
    tlm, res = run(prog)
    np.testing.assert_array_equal(tlm.compute.acc[:8], acc)
    assert res.stats["gemm_uops" if is_gemm else "alu_uops"] == 0


def test_gemm_same_dst_many_times_accumulates_and_wraps():
    # Every execution hits dst 0: 3 uops x 5 x 4 iterations with factors 0, values at the
    # int8 extremes so the int32 sum wraps.
    cfg = TINY
    inp = np.full((4, 1, 4), -128)
    wgt = np.full((4, 4, 4), -128)
    acc = np.full((4, 1, 4), (1 << 31) - 1000)
    uops = [(0, 0, 0), (0, 1, 1), (0, 2, 3)]
    g = Gemm(uop_bgn=0, uop_end=3, iter_out=5, iter_in=4)
    tlm, res = run(build(cfg, inp=inp, wgt=wgt, acc=acc, uops=uops, body=[g], store_n=4))
    total = (1 << 31) - 1000 + 60 * 4 * 128 * 128
    assert tlm.compute.acc[0, 0, 0] == wrap(total, 32)
    assert res.read_segment("out")[0, 0, 0] == wrap(total, 8)
    np.testing.assert_array_equal(tlm.compute.acc[1:4], acc[1:4])


def test_gemm_reset_zeroes_acc_and_out_is_acc_plus_product():
    # docs/isa.md: acc[dst] = 0 if reset, out[dst] = low bits of acc + inp @ wgt^T, and a
    # second hit of the same dst sees acc = 0.
    cfg = TINY
    rng = np.random.default_rng(1)
    inp = rand(rng, 8, (4, 1, 4))
    wgt = rand(rng, 8, (4, 4, 4))
    acc = rand(rng, 32, (8, 1, 4))
    uops = [(0, 0, 0), (1, 1, 1), (1, 2, 2)]  # dst 1 is hit twice
    g = Gemm(uop_bgn=0, uop_end=3, iter_out=1, iter_in=1, reset=True)
    tlm, res = run(build(cfg, inp=inp, wgt=wgt, acc=acc, uops=uops, body=[g], store_n=8))
    assert (tlm.compute.acc[:2] == 0).all()
    np.testing.assert_array_equal(tlm.compute.acc[2:8], acc[2:8])
    out = res.read_segment("out")
    np.testing.assert_array_equal(out[0], wrap(acc[0] + inp[0] @ wgt[0].T, 8))
    np.testing.assert_array_equal(out[1], wrap(inp[2] @ wgt[2].T, 8))  # acc was reset by the 1st hit


def test_gemm_batch_gt_1():
    cfg = TINY.replace(arch={"log_batch": 1, "log_acc_buff_size": 13, "log_inp_buff_size": 11})
    rng = np.random.default_rng(5)
    inp = rand(rng, 8, (8, 2, 4))
    wgt = rand(rng, 8, (4, 4, 4))
    acc = rand(rng, 32, (8, 2, 4))
    uops = [(0, 0, 0), (1, 3, 2), (1, 4, 1)]
    g = Gemm(uop_bgn=0, uop_end=3, iter_out=2, iter_in=2, dst_factor_out=2, dst_factor_in=1,
             src_factor_out=1, src_factor_in=2, wgt_factor_out=1, wgt_factor_in=0)
    prog = build(cfg, inp=inp, wgt=wgt, acc=acc, uops=uops, body=[g], store_n=8)
    tlm, res = run(prog)
    assert_matches_reference(tlm, res, prog)


# ---- ALU ---------------------------------------------------------------------------------
IMM_EDGES = [-32768, -32767, -33, -32, -17, -16, -15, -1, 0, 1, 15, 16, 31, 32, 33, 32767]

alu_case = st.fixed_dictionaries({
    "seed": st.integers(0, 2**32 - 1),
    "op": st.sampled_from([ALU_MIN, ALU_MAX, ALU_ADD, ALU_SHR]),
    "use_imm": st.booleans(),
    "imm": st.one_of(st.sampled_from(IMM_EDGES), st.integers(-32768, 32767)),
    # Small index ranges so dst/src overlap and repeat: order-dependent loop nests.
    "uops": st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.just(0)), min_size=1, max_size=5),
    # non-empty loops (test_empty_loop_nests_change_nothing covers the empty ones)
    "iter_out": st.integers(1, 4), "iter_in": st.integers(1, 4),
    "f": st.lists(st.integers(0, 3), min_size=4, max_size=4),
    "cfg": st.sampled_from([TINY, DEFAULT, NARROW]),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alu_case)
def test_alu_random_loops_with_edge_values(case):
    cfg = case["cfg"]
    rng = np.random.default_rng(case["seed"])
    acc = rand(rng, cfg.acc_bits, (32, cfg.batch, cfg.block_out), _edges(cfg) + list(range(-40, 40)))
    f = case["f"]
    a = Alu(uop_bgn=0, uop_end=len(case["uops"]), iter_out=case["iter_out"], iter_in=case["iter_in"],
            dst_factor_out=f[0], dst_factor_in=f[1], src_factor_out=f[2], src_factor_in=f[3],
            alu_opcode=case["op"], use_imm=case["use_imm"], imm=case["imm"] if case["use_imm"] else 0)
    prog = build(cfg, acc=acc, uops=case["uops"], body=[a], store_n=32)
    tlm, res = run(prog)
    assert_matches_reference(tlm, res, prog)


@pytest.mark.parametrize("op", [ALU_MIN, ALU_MAX, ALU_ADD, ALU_SHR])
@pytest.mark.parametrize("use_imm", [True, False])
def test_alu_each_op_edge_values(op, use_imm):
    cfg = TINY
    edges = np.array(INT32_EDGES + [5, -5, 12345678, -12345678, 255, -256, 127, -129], dtype=np.int64)
    n = len(edges)
    a_vals = np.repeat(edges, n)          # every (a, b) pair of edge values
    b_vals = np.tile(edges, n)
    if op == ALU_SHR:
        b_vals = np.tile(np.array([-16, -15, -8, -1, 0, 1, 8, 15, 16, 31, 32, -17, 1 << 20, -33, 47,
                                   (1 << 31) - 1, -(1 << 31)], dtype=np.int64), n)[:len(a_vals)]
    lanes = 4
    rows = len(a_vals) // lanes
    a = a_vals[:rows * lanes].reshape(rows, 1, lanes)
    bb = b_vals[:rows * lanes].reshape(rows, 1, lanes)
    imms = [-16, -1, 0, 3, 31, 32767, -32768] if op != ALU_SHR else [-16, -9, -1, 0, 1, 9, 15, 16, -17, 40]
    for imm in (imms if use_imm else [0]):
        acc = a if use_imm else np.concatenate([a, bb])
        uops = [(0, rows if not use_imm else 0, 0)]
        insn = Alu(uop_bgn=0, uop_end=1, iter_out=rows, iter_in=1, dst_factor_out=1, src_factor_out=1,
                   alu_opcode=op, use_imm=use_imm, imm=imm)
        tlm, res = run(build(cfg, acc=acc, uops=uops, body=[insn], store_n=rows))
        exp = alu_tile(op, a, imm if use_imm else bb, cfg.acc_bits, cfg.arch["log_acc_width"])
        np.testing.assert_array_equal(tlm.compute.acc[:rows], exp)
        np.testing.assert_array_equal(res.read_segment("out"), wrap(exp, 8))


def test_alu_shr_negative_shifts_left_and_add_overflows():
    cfg = TINY
    acc = np.array([[[3, -3, (1 << 30) + 1, (1 << 31) - 1]]], dtype=np.int64)
    uops = [(0, 0, 0)]
    shl = Alu(uop_bgn=0, uop_end=1, iter_out=1, iter_in=1, alu_opcode=ALU_SHR, use_imm=True, imm=-2)
    add = Alu(uop_bgn=0, uop_end=1, iter_out=1, iter_in=1, alu_opcode=ALU_ADD, use_imm=True, imm=1)
    tlm, _ = run(build(cfg, acc=acc, uops=uops, body=[shl], store_n=1))
    assert tlm.compute.acc[0, 0].tolist() == [12, -12, 4, -4]   # << 2, wrapped to int32
    tlm, _ = run(build(cfg, acc=acc, uops=uops, body=[add], store_n=1))
    assert tlm.compute.acc[0, 0].tolist() == [4, -2, (1 << 30) + 2, -(1 << 31)]


def test_alu_order_dependent_chain_is_sequential():
    # acc[d+1] = acc[d+1] + acc[d] for d = 0..14: a running prefix sum, only correct if
    # each step sees the previous step's result.
    cfg = TINY
    acc = np.arange(1, 17, dtype=np.int64).reshape(16, 1, 1).repeat(4, axis=2)
    insn = Alu(uop_bgn=0, uop_end=1, iter_out=15, iter_in=1, dst_factor_out=1, src_factor_out=1,
               alu_opcode=ALU_ADD)
    tlm, _ = run(build(cfg, acc=acc, uops=[(1, 0, 0)], body=[insn], store_n=16))
    np.testing.assert_array_equal(tlm.compute.acc[:16, 0, 0], np.cumsum(np.arange(1, 17)))


# ---- loads ------------------------------------------------------------------------------
pad_case = st.fixed_dictionaries({
    "seed": st.integers(0, 2**32 - 1),
    "mem": st.sampled_from([MEM_INP, MEM_ACC, MEM_WGT]),
    "ys": st.integers(0, 4), "xs": st.integers(0, 5), "extra_stride": st.integers(0, 3),
    "pads": st.lists(st.integers(0, 3), min_size=4, max_size=4),
    "sram_base": st.integers(0, 20), "row0": st.integers(0, 3),
})


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pad_case)
def test_2d_loads_with_padding_and_stride(case):
    cfg = TINY
    rng = np.random.default_rng(case["seed"])
    mem, ys, xs = case["mem"], case["ys"], case["xs"]
    stride = xs + case["extra_stride"]
    yp0, yp1, xp0, xp1 = case["pads"] if mem != MEM_WGT else (0, 0, 0, 0)
    lanes = {MEM_INP: (1, 4), MEM_ACC: (1, 4), MEM_WGT: (4, 4)}[mem]
    bits = 32 if mem == MEM_ACC else 8
    src = rand(rng, bits, (40, *lanes))
    pb = ProgramBuilder(cfg, "pad")
    seg = pb.segment("src", src.astype(np.int32 if bits == 32 else np.int8),
                     {MEM_INP: "input", MEM_ACC: "bias", MEM_WGT: "weight"}[mem])
    ld = Load(memory_type=mem, sram_base=case["sram_base"], dram_base=pb.elem(seg, case["row0"]),
              y_size=ys, x_size=xs, x_stride=max(stride, 1),
              y_pad_0=yp0, y_pad_1=yp1, x_pad_0=xp0, x_pad_1=xp1,
              push_next=mem != MEM_ACC)
    pb.emit(ld)
    pb.emit(Finish(pop_prev=mem != MEM_ACC))
    tlm, _ = run(pb.build({}))
    # Reference: a padded block, written to consecutive entries from sram_base.
    w = xp0 + xs + xp1
    block = np.zeros((yp0 + ys + yp1, w, *lanes), np.int64)
    for r in range(ys):
        start = case["row0"] + r * max(stride, 1)
        block[yp0 + r, xp0:xp0 + xs] = src[start:start + xs]
    block = block.reshape(-1, *lanes)
    buf = {MEM_INP: tlm.inp_buf, MEM_WGT: tlm.wgt_buf, MEM_ACC: tlm.compute.acc}[mem]
    sb = case["sram_base"]
    np.testing.assert_array_equal(buf[sb:sb + len(block)], block)
    assert not buf[:sb].any() and not buf[sb + len(block):].any()


def test_uop_load_mid_beat_and_offset():
    # Micro-ops loaded from an odd uop index (mid-beat on a 64-bit bus) to an SRAM offset.
    cfg = DEFAULT
    pb = ProgramBuilder(cfg, "uops")
    pb.add_uops([(i, 2 * i, 3 * i) for i in range(9)])
    pb.load_uops(3, 5, sram_base=100)
    pb.emit(Finish())
    tlm, _ = run(pb.build({}))
    c = tlm.compute
    assert c.uop_dst[100:105].tolist() == [3, 4, 5, 6, 7]
    assert c.uop_src[100:105].tolist() == [6, 8, 10, 12, 14]
    assert c.uop_wgt[100:105].tolist() == [9, 12, 15, 18, 21]
    assert not c.uop_dst[:100].any()


def test_store_strided_rows():
    cfg = TINY
    acc = np.arange(6 * 4, dtype=np.int64).reshape(6, 1, 4) * 1000 + 7
    pb = ProgramBuilder(cfg, "st")
    seg = pb.segment("acc", acc.astype(np.int32), "bias")
    out = pb.segment("out", np.zeros((3, 5, 1, 4), np.int8), "output")
    pb.add_uops([(0, 0, 0)])
    pb.load_uops(0, 1)
    pb.emit(Load(memory_type=MEM_ACC, sram_base=0, dram_base=pb.elem(seg), y_size=1, x_size=6, x_stride=6))
    pb.emit(Alu(uop_bgn=0, uop_end=1, iter_out=6, iter_in=1, dst_factor_out=1, src_factor_out=1,
                alu_opcode=ALU_ADD, use_imm=True, imm=0, push_next=True))
    # 3 rows of 2 entries, DRAM stride 5 elements, from out entries 0..5.
    pb.emit(Store(memory_type=MEM_OUT, sram_base=0, dram_base=pb.elem(out, 1), y_size=3, x_size=2,
                  x_stride=5, pop_prev=True, push_prev=True))
    pb.emit(Finish(pop_next=True))
    _, res = run(pb.build({}))
    got = res.read_segment("out").reshape(15, 1, 4)
    exp = np.zeros((15, 1, 4), np.int64)
    for r in range(3):
        exp[1 + 5 * r:3 + 5 * r] = wrap(acc[2 * r:2 * r + 2], 8)
    np.testing.assert_array_equal(got, exp)


def test_dispatch_routes_by_opcode_and_memory_type():
    assert route(Load(memory_type=MEM_INP)) == "load"
    assert route(Load(memory_type=MEM_WGT)) == "load"
    assert route(Load(memory_type=MEM_ACC)) == "compute"
    assert route(Load(memory_type=0)) == "compute"  # UOP
    assert route(Store()) == "store"
    for insn in (Gemm(), Alu(), Finish()):
        assert route(insn) == "compute"


def test_compute_queue_loads_obey_tokens():
    # An ACC load with pop_prev must wait for the load unit's l2g token: the INP load is
    # slow (long DRAM latency), so the ACC load cannot finish before it.
    cfg = TINY.replace(dram={"latency": 500})
    pb = ProgramBuilder(cfg, "tok")
    inp = pb.segment("inp", np.ones((4, 1, 4), np.int8), "input")
    acc = pb.segment("acc", np.ones((4, 1, 4), np.int32), "bias")
    pb.emit(Load(memory_type=MEM_INP, sram_base=0, dram_base=pb.elem(inp), y_size=1, x_size=4,
                 x_stride=4, push_next=True))
    pb.emit(Load(memory_type=MEM_ACC, sram_base=0, dram_base=pb.elem(acc), y_size=1, x_size=4,
                 x_stride=4, pop_prev=True))
    pb.emit(Finish())
    tlm, res = run(pb.build({}), trace=True)
    ends = {e["args"]["index"]: e["ts"] + e["dur"] for e in tlm.tracer.events
            if e["ph"] == "X" and e.get("cat") == "insn" and e["tid"] in (2, 3)}
    assert ends[1] > ends[0]
    assert res.cycles >= 2 * 500


@pytest.mark.parametrize("bits", [1, 2, 4, 8, 16, 32])
def test_element_packing_round_trip(bits):
    from vta.tlm import elements
    rng = np.random.default_rng(bits)
    v = rand(rng, bits, (64,))
    raw = elements.pack(v, bits)
    assert raw.dtype == np.uint8 and raw.size == 64 * bits // 8
    np.testing.assert_array_equal(elements.unpack(raw, bits), v)
    # Lowest element in the lowest bits, little-endian (Apache VTA's packing).
    manual = sum((int(x) & ((1 << bits) - 1)) << (i * bits) for i, x in enumerate(v))
    assert int.from_bytes(raw.tobytes(), "little") == manual


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.booleans(), st.lists(st.integers(0, 255), min_size=6, max_size=6))
def test_wrap_mode_gemm_and_alu_wrap_every_index(seed, is_gemm, f):
    cfg = TINY
    d = cfg.acc_depth
    assert d == cfg.inp_depth == cfg.wgt_depth == 256
    rng = np.random.default_rng(seed)
    inp = rand(rng, 8, (d, 1, 4))
    wgt = rand(rng, 8, (d, 4, 4))
    acc = rand(rng, 32, (d, 1, 4), INT32_EDGES)
    uops = [tuple(int(x) for x in rng.integers(0, 256, 3)) for _ in range(3)]
    loop = dict(uop_bgn=0, uop_end=3, iter_out=3, iter_in=3, dst_factor_out=f[0], dst_factor_in=f[1],
                src_factor_out=f[2], src_factor_in=f[3])
    insn = (Gemm(wgt_factor_out=f[4], wgt_factor_in=f[5], **loop) if is_gemm
            else Alu(alu_opcode=int(rng.integers(0, 4)), **loop))
    prog = build(cfg, inp=inp, wgt=wgt, acc=acc, uops=uops, body=[insn], store_n=d)
    tlm, res = run(prog, wrap=True)
    assert_matches_reference(tlm, res, prog)   # the reference always wraps indices
