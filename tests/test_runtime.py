"""compiler/runtime.py: automatic dependence tokens, micro-kernel caching, virtual threads.

Programs are built with the runtime and run on the TLM (passed in as the executor, as
any caller does) and on tests/reference.py; both must agree, without deadlock."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from reference import run_reference
from vta.compiler.dense import build_dense
from vta.compiler.runtime import Runtime
from vta.isa import ALU_ADD, MEM_UOP, ConfigError, Load, load_config
from vta.tlm import run_program

CFG = load_config("tiny")
ROWS = 8   # DRAM tiles per buffer


def _buffers(rt, rng):
    cfg = rt.cfg
    inp = rt.alloc("inp", rng.integers(-128, 128, (ROWS, cfg.batch, cfg.block_in), dtype=np.int8), "input")
    wgt = rt.alloc("wgt", rng.integers(-128, 128, (ROWS, cfg.block_out, cfg.block_in), dtype=np.int8), "weight")
    acc = rt.alloc("acc", rng.integers(-1000, 1000, (ROWS, cfg.batch, cfg.block_out), dtype=np.int32), "bias")
    out = rt.alloc("out", np.zeros((ROWS, cfg.batch, cfg.block_out), np.int8), "output")
    return inp, wgt, acc, out


# one step of a random command stream: (kind, a, b, c) with small indices
STEP = st.tuples(st.sampled_from(["inp", "wgt", "acc", "gemm", "reset", "alu", "store"]),
                 st.integers(0, 5), st.integers(0, 5), st.integers(1, 3))


def _random_program(steps, seed):
    rng = np.random.default_rng(seed)
    rt = Runtime(CFG, "random")
    inp, wgt, acc, out = _buffers(rt, rng)
    for kind, a, b, n in steps:
        if kind in ("inp", "wgt", "acc"):
            rt.load({"inp": inp, "wgt": wgt, "acc": acc}[kind], a, offset=b, x_size=n)
        elif kind in ("gemm", "reset"):
            rt.gemm(rt.kernel([(a, b + i, b + i) for i in range(n)]), reset=kind == "reset")
        elif kind == "alu":
            rt.alu(rt.kernel([(a, b, 0)]), ALU_ADD, iter_out=n, dst_factor_out=1, src_factor_out=1)
        else:
            rt.store(out, a, offset=b, x_size=n)
    # a tail that makes the final state visible: every inp/wgt/out entry used above
    rt.gemm(rt.kernel([(i, i, i) for i in range(8)], signature="tail"))
    rt.store(out, 0, x_size=ROWS)
    return rt.finish()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEP, min_size=1, max_size=14), st.integers(0, 3))
def test_random_streams_run_without_deadlock_and_match_reference(steps, seed):
    prog = _random_program(steps, seed)
    res = run_program(prog)                 # a deadlock or leftover token raises here
    ref = run_reference(prog)
    assert ref.pending == []
    np.testing.assert_array_equal(res.outputs["out"], ref.read_segment("out"))


def test_tokens_order_a_load_after_the_gemm_that_reads_its_region():
    rt = Runtime(CFG, "war")
    inp, wgt, _, out = _buffers(rt, np.random.default_rng(0))
    rt.load(inp, 0, x_size=2)
    rt.load(wgt, 0, x_size=2)
    rt.gemm(rt.kernel([(0, 0, 0), (0, 1, 1)]), reset=False)
    rt.load(inp, 0, offset=4, x_size=2)        # overwrites what the GEMM reads
    rt.store(out, 0)
    insns = rt.finish().insns
    gemm = next(i for i in insns if i.mnemonic == "GEMM")
    assert gemm.pop_prev and gemm.push_prev and gemm.push_next      # l2g in, g2l and g2s out
    second = [i for i in insns if isinstance(i, Load) and i.memory_type != MEM_UOP][2]
    assert second.pop_next
    assert insns[-1].mnemonic == "FINISH" and insns[-1].pop_prev and insns[-1].pop_next


def test_store_then_load_of_the_same_dram_is_relayed_by_a_compute_noop():
    rt = Runtime(CFG, "relay")
    out = rt.alloc("out", np.zeros((4, CFG.batch, CFG.block_out), np.int8), "output")
    rt.store(out, 0, x_size=4)
    # an input buffer that aliases nothing: the relay is driven by DRAM regions, so
    # we reload the stored bytes through a second view of the same segment
    view = type(out)(out.segment, out.mem_type, out.elem_bytes)
    object.__setattr__(view, "mem_type", 2)
    rt.load(view, 0, x_size=4)
    prog = rt.finish()
    assert rt.stats["noops"] == 1
    noop = next(i for i in prog.insns if isinstance(i, Load) and i.x_size == 0)
    assert noop.pop_next and noop.push_prev
    run_program(prog)
    assert run_reference(prog).pending == []


def test_a_repeated_kernel_issues_no_new_uop_load():
    rt = Runtime(CFG, "cache")
    _buffers(rt, np.random.default_rng(0))
    k = rt.kernel([(0, 0, 0), (0, 1, 1)])
    for _ in range(3):
        rt.gemm(k)
    assert rt.kernel([(0, 0, 0), (0, 1, 1)]) is k
    rt.gemm(rt.kernel([(0, 0, 0), (0, 1, 1)]))
    prog = rt.finish()
    uop_loads = [i for i in prog.insns if isinstance(i, Load) and i.memory_type == MEM_UOP]
    assert len(uop_loads) == 1 and rt.stats["kernel_hits"] == 3
    assert len(prog.uops) == 2
    run_program(prog)


def test_a_kernel_given_as_an_array_is_the_kernel_of_its_triples():
    # operators build large kernels as (n, 3) arrays (one tolist() instead of an int() per
    # field); the cache must not tell the two spellings apart
    from vta.compiler.runtime import RuntimeError_
    rt = Runtime(CFG, "array")
    triples = [(0, 0, 0), (1, 2, 3), (2, 4, 6)]
    k = rt.kernel(np.array(triples, dtype=np.int32))
    assert k.uops == tuple(triples) and all(type(v) is int for u in k.uops for v in u)
    assert rt.kernel(triples) is k
    assert k.array.tolist() == [list(u) for u in triples] and not k.array.flags.writeable
    for bad in (np.zeros((2, 2), np.int64), np.zeros(3, np.int64), np.zeros((2, 3))):
        with pytest.raises(RuntimeError_, match=r"must be \(n, 3\) integers"):
            rt.kernel(bad)


def test_kernels_are_reloaded_after_the_uop_buffer_fills():
    rt = Runtime(CFG, "evict")
    _buffers(rt, np.random.default_rng(0))
    big = rt.kernel([(0, 0, 0)] * (CFG.uop_depth - 1), signature="big")
    small = rt.kernel([(1, 1, 1), (2, 2, 2)])
    rt.gemm(big)
    rt.gemm(small)     # does not fit behind big: the buffer starts over
    rt.gemm(big)       # evicted: loaded again
    assert rt.stats["uop_loads"] == 3
    run_program(rt.finish())


def test_a_signature_cannot_name_two_kernels():
    rt = Runtime(CFG, "sig")
    rt.kernel([(0, 0, 0)], signature="k")
    with pytest.raises(ConfigError, match="already used"):
        rt.kernel([(1, 0, 0)], signature="k")


def test_out_of_range_loop_is_refused():
    rt = Runtime(CFG, "range")
    with pytest.raises(ConfigError, match="outside the"):
        rt.gemm(rt.kernel([(0, 0, 0)]), iter_out=2, dst_factor_out=CFG.acc_depth)


@pytest.mark.parametrize("config", ["tiny", "default"])
def test_virtual_threads_give_the_same_outputs(config):
    cfg = load_config(config)
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (16 * cfg.batch, 6 * cfg.block_in), dtype=np.int8)
    w = rng.integers(-128, 128, (4 * cfg.block_out, 6 * cfg.block_in), dtype=np.int8)
    bias = rng.integers(-4000, 4000, (w.shape[0],), dtype=np.int32)
    runs = {}
    for vt in (1, 2):
        prog, unpack, _ = build_dense(cfg, x, w, bias, 5, True, vt=vt, tiles=(16, 4, 2))
        res = run_program(prog)
        runs[vt] = (unpack(res.outputs), res.cycles)
    np.testing.assert_array_equal(runs[1][0], runs[2][0])
    assert runs[2][1] < runs[1][1]          # loads overlap compute
