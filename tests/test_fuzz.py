"""The random program generator makes valid, deadlock-free programs, and shrinking works."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from vta.compiler.fuzz import is_valid, plan_of, random_program, shrink
from vta.isa import (MEM_INP, MEM_WGT, Alu, Finish, Gemm, Load, Store, load_config, read_bundle,
                     write_bundle)

CONFIGS = {name: load_config(name) for name in ("tiny", "default")}


def _token_balance(program):
    """Replay the token flags in queue order; every pop must find a pushed token."""
    # Per stage program order is queue order; simulate the three stages greedily.
    stage_of = lambda i: 0 if isinstance(i, Load) and i.memory_type in (MEM_INP, MEM_WGT) else (  # noqa: E731
        2 if isinstance(i, Store) else 1)
    queues = [[i for i in program.insns if stage_of(i) == s] for s in range(3)]
    tokens = {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}
    pops = {0: (("pop_next", "g2l"),), 1: (("pop_prev", "l2g"), ("pop_next", "s2g")),
            2: (("pop_prev", "g2s"),)}
    pushes = {0: (("push_next", "l2g"),), 1: (("push_prev", "g2l"), ("push_next", "g2s")),
              2: (("push_prev", "s2g"),)}
    progress = True
    while progress:
        progress = False
        for s in range(3):
            if not queues[s]:
                continue
            insn = queues[s][0]
            need = [q for flag, q in pops[s] if getattr(insn, flag)]
            if all(tokens[q] > 0 for q in need):
                for q in need:
                    tokens[q] -= 1
                for flag, q in pushes[s]:
                    tokens[q] += getattr(insn, flag)
                queues[s].pop(0)
                progress = True
    return queues, tokens


@pytest.mark.parametrize("name", CONFIGS)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 4))
def test_random_programs_are_valid_and_finish(name, seed, rounds):
    cfg = CONFIGS[name]
    prog = random_program(cfg, seed, rounds=rounds)
    assert isinstance(prog.insns[-1], Finish)
    assert is_valid(cfg, plan_of(prog), prog.uops, prog.uop_base)
    left, tokens = _token_balance(prog)
    assert not any(left), "program would deadlock"
    assert tokens == {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}, "tokens left over"
    assert any(isinstance(i, (Gemm, Alu)) for i in prog.insns)


def test_random_program_is_deterministic_and_bundles(tmp_path):
    cfg = CONFIGS["tiny"]
    a, b = random_program(cfg, 7), random_program(cfg, 7)
    assert a.insns == b.insns and a.uops == b.uops
    back = read_bundle(write_bundle(a, tmp_path / "r.vtab"), cfg)
    assert back.insns == a.insns
    for s, t in zip(a.segments, back.segments):
        np.testing.assert_array_equal(s.data, t.data)


def test_shrink_keeps_failure_and_gets_smaller():
    cfg = CONFIGS["tiny"]
    prog = next(p for p in (random_program(cfg, s, rounds=4) for s in range(100))
                if sum(isinstance(i, Alu) for i in p.insns) >= 2 and len(p.insns) > 12)
    fails = lambda p: any(isinstance(i, Alu) for i in p.insns)  # noqa: E731
    small = shrink(prog, fails)
    assert fails(small)
    assert len(small.insns) < len(prog.insns)
    assert is_valid(cfg, plan_of(small), small.uops, small.uop_base)
    left, tokens = _token_balance(small)
    assert not any(left) and not any(tokens.values())
