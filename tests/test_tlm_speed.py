"""The TLM's speed shortcuts behave exactly like what they replace (tlm/dram.py Arbiter vs
simpy.PriorityResource, tlm/queues.py BoundedQueue vs simpy.Store, the Python ALU run
splitter vs the numpy one, ALU steps on Python ints vs numpy (compute.scalar_alu vs
alu_apply), waits without events (tlm/unit.py INLINE) vs SimPy events,
tlm/image.py vs Program.dram_image): same event order, same results."""
from __future__ import annotations

import numpy as np
import pytest
import simpy

from vta.compiler.fuzz import random_program
from vta.isa import ALU_ADD, ALU_MAX, ALU_MIN, ALU_SHR, EncodingError, Uop, alu_apply, load_config
from vta.tlm import compute, unit
from vta.tlm.dram import Arbiter, lazy_zeros
from vta.tlm.image import dram_image
from vta.tlm.top import Tlm
from vta.tlm.queues import BoundedQueue


def _arbiter_trace(seed, light):
    """(cycle, requester) of every grant when 6 requesters with random priorities ask for
    the slot at random cycles and hold it 1-4 cycles."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    res = Arbiter(env) if light else simpy.PriorityResource(env, capacity=1)
    log = []

    def user(k, prio, starts, holds):
        for start, hold in zip(starts, holds):
            if start > env.now:
                yield env.timeout(start - env.now)
            if light:
                yield res.request(prio)
                log.append((env.now, k))
                yield env.timeout(hold)
                res.release()
            else:
                with res.request(priority=prio) as req:
                    yield req
                    log.append((env.now, k))
                    yield env.timeout(hold)

    for k in range(6):
        starts = np.sort(rng.integers(0, 40, 8)).tolist()
        env.process(user(k, int(rng.integers(0, 2)), starts, rng.integers(1, 5, 8).tolist()))
    env.run()
    return log


@pytest.mark.parametrize("seed", range(20))
def test_arbiter_grants_like_simpy_priority_resource(seed):
    ref = _arbiter_trace(seed, light=False)
    assert len(ref) == 48
    assert _arbiter_trace(seed, light=True) == ref


def _queue_trace(seed, light):
    """(cycle, event) of a producer and a consumer on a 2-entry queue at random paces."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    q = BoundedQueue(env, "q", 2) if light else simpy.Store(env, capacity=2)
    log = []

    def producer():
        for i, gap in enumerate(rng.integers(0, 3, 30).tolist()):
            if gap:
                yield env.timeout(gap)
            if light:
                yield from q.put(i)
            else:
                yield q.put(i)
            log.append((env.now, "put", i))

    def consumer():
        for gap in rng.integers(0, 3, 30).tolist():
            item = (yield from q.get()) if light else (yield q.get())
            log.append((env.now, "got", item))
            if gap:
                yield env.timeout(gap)

    def other():   # a third process whose steps interleave at the same cycles
        for _ in range(40):
            log.append((env.now, "tick", None))
            yield env.timeout(1)

    env.process(producer())
    env.process(consumer())
    env.process(other())
    env.run()
    return log


@pytest.mark.parametrize("seed", range(10))
def test_bounded_queue_orders_events_like_simpy_store(seed):
    ref = _queue_trace(seed, light=False)
    assert [e for e in ref if e[1] == "got"][-1][2] == 29
    assert _queue_trace(seed, light=True) == ref


@pytest.mark.parametrize("seed", range(30))
def test_alu_runs_python_and_numpy_agree(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    dst = rng.integers(0, 8, n).astype(np.int64)
    src = rng.integers(0, 8, n).astype(np.int64)
    for s in (None, src):
        monkeypatch.setattr(compute, "_SMALL_RUNS", 64)
        fast = compute._alu_runs(dst, s)
        monkeypatch.setattr(compute, "_SMALL_RUNS", 0)
        assert compute._alu_runs(dst, s) == fast
        # every run is conflict-free and the runs tile [0, n)
        assert fast[0][0] == 0 and fast[-1][1] == n
        for a, b in fast:
            assert len(set(dst[a:b].tolist())) == b - a


def test_lazy_zeros_is_a_writable_zero_array():
    a = lazy_zeros((3, 4, 5), np.int64)
    assert a.shape == (3, 4, 5) and a.dtype == np.int64 and not a.any()
    a[1, 2, 3] = -7
    assert a.sum() == -7
    assert lazy_zeros((0, 4)).shape == (0, 4)


@pytest.mark.parametrize("cname", ["tiny", "default"])
def test_dram_image_is_the_programs(cname):
    cfg = load_config(cname)
    for seed in range(5):
        prog = random_program(cfg, seed)
        ref = [(base, bytes(data)) for base, data in prog.dram_image()]
        assert [(base, data.tobytes()) for base, data in dram_image(prog)] == ref
    # a program changed in place after a run: its new image, not the remembered one
    prog.insns[1] = prog.insns[1].replace(pop_next=not prog.insns[1].pop_next)
    assert dram_image(prog)[0][1].tobytes() == bytes(prog.dram_image()[0][1])
    # a micro-op field out of range: vta.isa's error, word for word
    prog.uops[3] = Uop(dst_idx=cfg.acc_depth * 4, src_idx=1, wgt_idx=0)
    with pytest.raises(EncodingError) as ref_err:
        prog.dram_image()
    with pytest.raises(EncodingError) as err:
        dram_image(prog)
    assert str(err.value) == str(ref_err.value) and "dst_idx" in str(err.value)


def _run_record(prog, cfg):
    """(cycles, stats without host times, output bytes, warnings, events scheduled)."""
    tlm = Tlm(prog, cfg)
    res = tlm.run()
    stats = {k: v for k, v in res.stats.items() if k != "sim"}
    outs = {k: v.tobytes() for k, v in res.outputs.items()}
    return (res.cycles, stats, outs, res.warnings), next(tlm.env._eid)


@pytest.mark.parametrize("cname", ["tiny", "default"])
def test_waits_without_events_change_nothing(cname, monkeypatch):
    cfg = load_config(cname)
    slow_mem = cfg.replace(dram={"max_outstanding_reads": 1, "latency": 40})
    for seed in range(6):
        prog = random_program(cfg, seed)
        for run_cfg in (cfg, slow_mem):
            monkeypatch.setattr(unit, "INLINE", False)
            ref, events = _run_record(prog, run_cfg)
            monkeypatch.setattr(unit, "INLINE", True)
            got, fewer = _run_record(prog, run_cfg)
            assert got == ref
            assert fewer < events    # the shortcut did skip events


@pytest.mark.parametrize("log_acc", [3, 4, 5])
def test_scalar_alu_is_alu_apply(log_acc):
    bits = 1 << log_acc
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    rng = np.random.default_rng(log_acc)
    edges = [lo, lo + 1, -17, -16, -15, -2, -1, 0, 1, 2, 15, 16, 17, hi - 1, hi]
    a = np.array(edges * len(edges) + rng.integers(lo, hi, 400, endpoint=True).tolist())
    b = np.array([e for e in edges for _ in edges] + rng.integers(lo, hi, 400, endpoint=True).tolist())
    imms = [-(1 << 15), -32769 + 1, -1, 0, 1, 7, 31, 32, (1 << 15) - 1]   # the imm field's range
    for op in (ALU_MIN, ALU_MAX, ALU_ADD, ALU_SHR):
        f = compute.scalar_alu(op, bits, log_acc)
        assert f(a.tolist(), b.tolist()) == alu_apply(op, a, b, bits, log_acc).tolist()
        for imm in imms:
            want = alu_apply(op, a, np.int64(imm), bits, log_acc).tolist()
            assert f(a.tolist(), [imm] * a.size) == want, (op, imm)
            assert compute.scalar_alu(op, bits, log_acc, imm)(a.tolist()) == want, (op, imm)


@pytest.mark.parametrize("cname", ["tiny", "default"])
def test_alu_in_python_ints_and_numpy_agree(cname, monkeypatch):
    cfg = load_config(cname)
    for seed in range(8):
        prog = random_program(cfg, 100 + seed)
        got = []
        for limit in (0, 10 ** 9):   # numpy steps always / Python whenever several steps
            monkeypatch.setattr(compute, "_LANE_OPS_PER_STEP", limit)
            tlm = Tlm(prog, cfg)
            res = tlm.run()
            got.append((res.cycles, {k: v.tobytes() for k, v in res.outputs.items()},
                        tlm.compute.acc.tobytes(), tlm.compute.out.tobytes()))
        assert got[0] == got[1]


def test_gemm_products_grouped_equal_per_execution(tiny_cfg):
    """compute._products groups executions by weight tile (one stacked matmul of padded
    groups) when tiles repeat; each product must equal inp[src] @ wgt[w]^T."""
    prog = random_program(tiny_cfg, 1)
    tlm = Tlm(prog, tiny_cfg)
    rng = np.random.default_rng(5)
    tlm.inp_buf[:] = rng.integers(-128, 128, tlm.inp_buf.shape)
    tlm.wgt_buf[:] = rng.integers(-128, 128, tlm.wgt_buf.shape)
    for n, tiles in ((300, 4), (300, 40), (50, 50), (7, 1)):
        src = rng.integers(0, tlm.inp_buf.shape[0], n)
        wgt = rng.integers(0, tiles, n) * 3 % tlm.wgt_buf.shape[0]
        want = np.einsum("nbi,noi->nbo", tlm.inp_buf[src], tlm.wgt_buf[wgt])
        got = tlm.compute._products(src, wgt)
        assert got.shape == want.shape and np.array_equal(got, want)
