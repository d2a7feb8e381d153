"""What every pipeline stage shares: its command loop bookkeeping, busy/stall
accounting, token handling and the state shown in deadlock reports."""
from __future__ import annotations

import weakref
from heapq import heappop

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, EventPriority, Timeout

from vta.isa import check_insn

from .errors import ProgramError

#: Off: every wait is a SimPy event (tests compare both ways, tests/test_tlm_speed.py).
INLINE = True


class Environment(simpy.Environment):
    """simpy.Environment whose step() records whether the callback it runs is the
    event's last (``last_callback``). Only then may a process act at once on an event it
    would otherwise wait for (next_up): another callback of the same event (say, a second
    process waiting on it) would run before SimPy processed anything the first one
    scheduled. The step is SimPy 4.1's, with that flag. Inside run() one step() call
    processes events until run's loop would stop (it ends only by the exceptions step
    raises: StopSimulation, EmptySchedule, a failed event), saving a call per event."""

    last_callback = False
    _in_run = False

    def run(self, until=None):
        self._in_run = True
        try:
            return super().run(until)
        finally:
            self._in_run = False

    def step(self):
        queue = self._queue
        while True:
            try:
                self._now, _, _, event = heappop(queue)
            except IndexError:
                raise EmptySchedule from None
            callbacks, event.callbacks = event.callbacks, None
            i = 0
            try:
                if len(callbacks) > 1:
                    for i in range(len(callbacks) - 1):
                        callbacks[i](event)
                    i = len(callbacks) - 1
                if callbacks:
                    self.last_callback = True
                    callbacks[i](event)
            except StopSimulation:
                event.callbacks = callbacks[i + 1:]
                self.schedule(event, EventPriority(-1))
                raise
            finally:
                self.last_callback = False
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
            if not self._in_run:
                return


def next_up(env, delay=0, priority=NORMAL):
    """True if an event scheduled now for ``delay`` cycles ahead, at ``priority``,
    would be the next one SimPy processes: the running callback is its event's last
    (Environment) and nothing in the queue comes before it (an event at the same cycle
    and priority scheduled earlier goes first). Then a process may do at once what it
    would do when SimPy processed that event (always False with INLINE off or on
    another environment)."""
    try:
        if not (INLINE and env.last_callback):
            return False
    except AttributeError:   # another environment (tests): never
        return False
    q = env._queue
    if not q:
        return True
    at, prio = q[0][0], q[0][1]
    t = env._now + delay
    return at > t or (at == t and prio > priority)


def advance(env, delay):
    """Let ``delay`` cycles pass without an event if none would come in between: SimPy
    would process the timeout next anyway and resume the waiting process at once, so
    the run is event for event the same (only the event ids after it shift, all alike).
    Returns False if the caller must ``yield Timeout(env, delay)``.

    (So one env.step() may move several cycles when the model has nothing else to do;
    env.run(until=cycle) stops where it should, its event being in the queue.)"""
    # next_up(env, delay), spelled out: this runs for nearly every wait
    try:
        if not (INLINE and env.last_callback):
            return False
    except AttributeError:
        return False
    t = env._now + delay
    q = env._queue
    if q:
        head = q[0]
        if head[0] < t or (head[0] == t and head[1] <= NORMAL):
            return False
    env._now = t
    return True


def processed(event, value=None):
    """Mark ``event`` as processed with ``value``: a process that yields it goes on at
    once (SimPy resumes it without scheduling anything). For an event that next_up says
    SimPy would process next, with only the yielding process waiting for it."""
    event._ok, event._value, event.callbacks = True, value, None
    return event


def sleep(env, delay):
    """Generator: ``yield from sleep(env, delay)`` waits ``delay`` cycles (see advance).
    The stages' hot paths spell it out (``if not advance(env, d): yield Timeout(env, d)``),
    saving a generator per wait."""
    if not advance(env, delay):
        yield Timeout(env, delay)


class FrozenConfig:
    """A config's values for the stages' hot paths, each computed once: the Config derives
    every attribute (widths, sizes, depths) from its arch dict on each access. A Config
    is immutable, so caching them is exact; ``of(cfg)`` shares one per Config object
    between runs (a network runs many programs on one config)."""

    _shared = {}   # id(Config) -> (weak reference to it, its FrozenConfig)

    @classmethod
    def of(cls, cfg):
        hit = cls._shared.get(id(cfg))
        if hit is not None and hit[0]() is cfg:
            return hit[1]
        if len(cls._shared) >= 64:
            cls._shared.clear()
        fast = cls(cfg)
        cls._shared[id(cfg)] = (weakref.ref(cfg), fast)
        return fast

    def __init__(self, cfg):
        self._cfg = cfg
        self._elem_bytes, self._depth = {}, {}
        self._facts = {}   # id(insn) -> (insn, check_insn's problems, mnemonic)

    def __getattr__(self, name):
        value = getattr(self._cfg, name)
        self.__dict__[name] = value
        return value

    def elem_bytes(self, mem_type):
        v = self._elem_bytes.get(mem_type)
        if v is None:
            v = self._elem_bytes[mem_type] = self._cfg.elem_bytes(mem_type)
        return v

    def facts(self, insn):
        """(check_insn(insn, cfg), insn.mnemonic), once per instruction object: fetch's
        decodes are shared between runs (fetch.decode_cached), so a program run again or
        an instruction repeated costs a lookup by id (the entry keeps the object alive)."""
        hit = self._facts.get(id(insn))
        if hit is None or hit[0] is not insn:
            if len(self._facts) >= 1 << 16:
                self._facts.clear()
            hit = self._facts[id(insn)] = (insn, tuple(check_insn(insn, self)), insn.mnemonic)
        return hit[1], hit[2]

    def depth(self, mem_type):
        v = self._depth.get(mem_type)
        if v is None:
            v = self._depth[mem_type] = self._cfg.depth(mem_type)
        return v


class Unit:
    """Base of the fetch, load, compute and store stages.

    busy_cycles: cycles spent executing instructions (transfers and computation);
    stall_cycles: cycles blocked inside an instruction (tokens, full queues, DRAM
    arbitration). Waiting for the next command counts as neither (idle).
    """

    name = "unit"

    def __init__(self, top):
        self.top = top
        self.env = top.env
        self.cfg = top.fast_cfg
        self.timing = top.cfg.timing
        self.tracer = top.tracer
        self.busy_cycles = 0
        self.stall_cycles = 0
        self.instructions = 0
        self.current = None      # (index, insn) being executed
        self.waiting = None      # what the unit is blocked on, for deadlock reports
        self.by_opcode = {}

    # ---- helpers used by the stage processes ----------------------------------------
    def text(self, index, insn):
        return self.top.disasm(insn)

    def error(self, message, index, insn):
        return ProgramError(message, stage=self.name, index=index, text=self.text(index, insn),
                            cycle=self.env._now)

    def blocked_on(self, what, event_gen):
        """Run ``event_gen`` (a generator) counting its time as a stall on ``what``."""
        self.waiting = what
        t0 = self.env._now
        result = yield from event_gen
        self.waiting = None
        dt = self.env._now - t0
        if dt:
            self.stall_cycles += dt
            if self.tracer is not None:
                self.tracer.slice(self.name, f"stall: {what}", t0, dt, cat="stall")
        return result

    def pop_token(self, qname):
        q = self.top.dep[qname]
        if q.items and q.items[0] <= self.env._now:   # a visible token: no stall to count
            yield from q.pop()
        else:
            yield from self.blocked_on(q.pop_waits, q.pop())

    def push_token(self, qname):
        q = self.top.dep[qname]
        if q.full:
            yield from self.blocked_on(q.push_waits, q.push())
        else:                                         # room: no stall to count
            yield from q.push()

    def next_command(self, queue):
        """Wait (idle) for the next (index, insn) from the command queue."""
        self.current = None
        self.waiting = "waiting for a command (queue empty)"
        item = yield from queue.get()
        self.waiting = None
        return item

    def begin(self, index, insn):
        self.current = (index, insn)
        self._t0 = self.env._now
        self._stall0 = self.stall_cycles

    def end(self, index, insn):
        dt = self.env._now - self._t0
        stalled = self.stall_cycles - self._stall0
        self.busy_cycles += dt - stalled
        self.instructions += 1
        key = self.cfg.facts(insn)[1]
        self.by_opcode[key] = self.by_opcode.get(key, 0) + 1
        if self.tracer is not None:
            self.tracer.slice(self.name, self.text(index, insn), self._t0, dt, cat="insn",
                              args={"index": index, "stall_cycles": stalled})
        self.current = None
        self.top.insn_done()

    def state(self):
        """(index, disassembly, what it waits on) for deadlock reports, or None if idle."""
        if self.current is None:
            return None if self.waiting is None or "command" in self.waiting else \
                (None, "", self.waiting)
        index, insn = self.current
        return (index, self.text(index, insn), self.waiting or "running")

    def stats(self):
        return {"busy_cycles": int(self.busy_cycles), "stall_cycles": int(self.stall_cycles),
                "instructions": self.instructions}
