"""fifo (rtl/fifo.py, top ``fifo``: a command queue, 128-bit words) against a Python model.

Random push/pop in phases that fill, drain and churn the queue. Checked every cycle: ``ready``
is exactly "fewer than depth words held", ``valid``/``dout`` follow the first-word-fall-through
timing (a word pushed at edge t is at ``dout`` after edge t+1), words leave in push order, and
the stimulus reached full, empty and push-and-pop-together on a full queue.
"""
from collections import deque

import cocotb

from blockenv import cycle, load_cfg, rng, settled, start_clock

CYCLES = 1500


class FifoModel:
    """Storage queue plus the output register, as the block's docstring describes them."""

    def __init__(self, depth):
        self.depth, self.mem, self.out = depth, deque(), None

    def held(self):
        return len(self.mem) + (self.out is not None)

    def ready(self):
        return self.held() < self.depth

    def edge(self, push, din, pop):
        """One rising edge; returns the word consumed (pop while valid) or None."""
        taken = self.out if pop and self.out is not None else None
        do_push = push and self.ready()
        if self.mem and (self.out is None or pop):
            self.out = self.mem.popleft()
        elif pop:
            self.out = None
        if do_push:
            self.mem.append(din)
        return taken


@cocotb.test()
async def random_push_pop(dut):
    cfg = load_cfg()
    depth = cfg.cmd_queue_depth
    r, _ = rng()
    dut.push.value = 0
    dut.pop.value = 0
    dut.din.value = 0
    await start_clock(dut, dut.rst)
    model = FifoModel(depth)
    pushed, popped = deque(), 0
    seen = {"full": 0, "empty": 0, "push_pop_full": 0}
    # (push probability, pop probability) per phase: fill, churn, drain, churn ...
    phases = [(0.9, 0.1), (0.5, 0.5), (0.1, 0.9), (0.8, 0.8), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    for t in range(CYCLES):
        p_push, p_pop = phases[(t // 60) % len(phases)]
        push, pop = r.random() < p_push, r.random() < p_pop
        din = r.getrandbits(128)
        await cycle(dut)
        dut.push.value, dut.pop.value, dut.din.value = int(push), int(pop), din
        await settled()
        ready, valid = int(dut.ready.value), int(dut.valid.value)
        assert ready == model.ready(), f"cycle {t}: ready={ready}, model holds {model.held()}/{depth}"
        assert valid == (model.out is not None), f"cycle {t}: valid={valid}, model out={model.out}"
        if valid:
            assert int(dut.dout.value) == model.out, f"cycle {t}: dout {int(dut.dout.value):#x} != {model.out:#x}"
        assert model.held() <= depth
        seen["full"] += model.held() == depth
        seen["empty"] += model.held() == 0
        seen["push_pop_full"] += push and pop and valid and model.held() == depth
        if push and ready:
            pushed.append(din)
        if pop and valid:    # ordering, independent of the model: the oldest word pushed
            assert int(dut.dout.value) == pushed.popleft(), f"cycle {t}: word out of order"
            popped += 1
        model.edge(push, din, pop)
    assert all(seen.values()), f"stimulus missed a case: {seen}"
    assert popped > CYCLES // 4, popped
    dut._log.info("fifo depth %d: %d words through, %s", depth, popped, seen)


@cocotb.test()
async def reset_empties(dut):
    """A reset while words are held: not valid, ready, and the old words are gone."""
    r, _ = rng()
    dut.pop.value = 0
    await start_clock(dut, dut.rst)
    for _ in range(5):
        await cycle(dut)
        dut.push.value, dut.din.value = 1, r.getrandbits(128)
    await cycle(dut)
    dut.push.value = 0
    await settled()
    assert int(dut.valid.value) == 1
    await cycle(dut)
    dut.rst.value = 1
    await cycle(dut)
    dut.rst.value = 0
    await settled()
    assert int(dut.valid.value) == 0 and int(dut.ready.value) == 1
    await cycle(dut)
    dut.push.value, dut.din.value = 1, 0x1234
    await cycle(dut)
    dut.push.value = 0
    for _ in range(2):
        await cycle(dut)
    await settled()
    assert int(dut.valid.value) == 1 and int(dut.dout.value) == 0x1234
