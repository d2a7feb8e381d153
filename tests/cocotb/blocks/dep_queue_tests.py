"""dep_queue (rtl/queues.py, top ``dep_queue``: a dependence-token counter) against a counter model.

The stages push only when ``notfull`` and pop only when ``nonempty``, so the stimulus does
too. Checked every cycle: ``nonempty`` is "count > 0" and ``notfull`` is "count < depth" of
the model, where an edge with both a push and a pop leaves the count unchanged.
"""
import cocotb

from blockenv import cycle, load_cfg, rng, settled, start_clock

CYCLES = 600


async def drive(dut, push, pop):
    """Set push/pop for the next edge; returns (nonempty, notfull) as the flops see them."""
    await cycle(dut)
    dut.q_push.value, dut.q_pop.value = int(push), int(pop)
    await settled()
    return int(dut.q_nonempty.value), int(dut.q_notfull.value)


def expect_flags(t, got, count, depth):
    want = (int(count > 0), int(count < depth))
    assert got == want, (f"cycle {t}: (nonempty, notfull) = {got}, want {want} for {count}/{depth} "
                         f"tokens (a push and a pop in one cycle leave the count unchanged)")


@cocotb.test()
async def push_and_pop_together_keep_the_count(dut):
    """One token held, then push+pop together for several cycles, then one pop: empty."""
    depth = load_cfg().dep_queue_depth
    dut.q_push.value, dut.q_pop.value = 0, 0
    await start_clock(dut, dut.rst)
    count = 0
    for t, (push, pop) in enumerate([(1, 0)] + [(1, 1)] * 5 + [(0, 1), (0, 0)]):
        got = await drive(dut, push, pop)
        expect_flags(t, got, count, depth)
        count += push - pop
    assert count == 0


@cocotb.test()
async def random_push_pop(dut):
    depth = load_cfg().dep_queue_depth
    r, _ = rng()
    dut.q_push.value, dut.q_pop.value = 0, 0
    await start_clock(dut, dut.rst)
    count = 0
    seen = {"full": 0, "empty": 0, "push_pop": 0}
    # (push probability, pop probability) per phase: fill, churn, drain, churn
    phases = [(0.9, 0.1), (0.6, 0.6), (0.1, 0.9), (1.0, 1.0)]
    for t in range(CYCLES):
        p_push, p_pop = phases[(t // 50) % len(phases)]
        # as the stages do: a push only when notfull, a pop only when nonempty
        push = r.random() < p_push and count < depth
        pop = r.random() < p_pop and count > 0
        got = await drive(dut, push, pop)
        expect_flags(t, got, count, depth)
        seen["full"] += count == depth
        seen["empty"] += count == 0
        seen["push_pop"] += push and pop
        count += push - pop
    assert all(seen.values()), f"stimulus missed a case: {seen}"
    dut._log.info("dep_queue depth %d: %s", depth, seen)
