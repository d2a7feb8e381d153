"""Fetch unit: reads the instruction stream from DRAM and dispatches it.

As in the RTL, fetch reads into its own prefetch FIFO of ``queues.cmd_depth``
instructions, so it never holds the shared read port while a command queue is full.
Reader: with at least min(remaining, depth/2) free slots not yet requested (credits), it
requests n = min(remaining, credits) instructions in one DRAM request, without waiting
for the data of earlier requests (except with one read slot, as the RTL); each instruction
becomes available when its last beat arrives. Dispatcher: pops the FIFO
in order, one instruction per ``fetch_insn_cycles``, and pushes it into a command queue
by opcode (docs/isa.md): STORE -> store; LOAD of INP or WGT -> load; everything else
(LOAD UOP/ACC, GEMM, ALU, FINISH) -> compute. It blocks while the target queue is full.
"""
from __future__ import annotations

from collections import deque

from simpy.events import PENDING, Event, Timeout

from vta.isa import INSN_BYTES, MEM_INP, MEM_WGT, EncodingError, Load, Store, decode_insn

from .errors import ProgramError
from .unit import Unit, advance

# As the RTL (rtl/fetch.py): an instruction whose last beat came in cycle c is pushed
# into the prefetch FIFO at c+1 and shows at its registered output at c+3, i.e.
# PREFETCH_CYCLES after the beat_done cycle (c+1).
PREFETCH_CYCLES = 2
# With one read slot the RTL's fetch requests only once every instruction of its previous
# request is in the prefetch FIFO (an early request would hold the arbiter while it waits
# for the slot): last beat in cycle c, FIFO push c+1, the count of instructions in flight
# is 0 at c+2, the request is presented at c+3, i.e. SERIAL_CYCLES after beat_done (c+1).
SERIAL_CYCLES = 2
# A dispatch that found its command queue full goes REFILL_CYCLES after the consumer's
# get: the RTL consumer pops one cycle after the TLM's get (the FIFO's registered
# output), the FIFO's registered `ready` admits the push the cycle after that, and the
# TLM's dispatch completes one cycle after the RTL's push (as an unblocked one does).
REFILL_CYCLES = 3
# A request that waited for credits goes out CREDIT_CYCLES after the dispatch that
# freed the last one (rtl/fetch.py: credits count the pop a cycle later, then reserve).
CREDIT_CYCLES = 1


# Decoded instructions by (ISA fingerprint, the 16 bytes): programs repeat instructions
# (and a network's layers repeat programs), and instruction objects are immutable.
_DECODED = {}
_DECODED_MAX = 1 << 16


def decode_cached(raw, cfg, index, isa):
    """(decode_insn of 16 bytes, the command queue it goes to), each distinct encoding
    decoded once per ISA (``isa``: cfg.fingerprint, which the caller computes once)."""
    key = (isa, raw)
    hit = _DECODED.get(key)
    if hit is None:
        insn = decode_insn(raw, cfg, index)   # raises EncodingError: nothing cached
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        hit = _DECODED[key] = (insn, route(insn))
    return hit


def route(insn):
    """Name of the command queue an instruction goes to."""
    if isinstance(insn, Store):
        return "store"
    if isinstance(insn, Load) and insn.memory_type in (MEM_INP, MEM_WGT):
        return "load"
    return "compute"


class Fetch(Unit):
    """Busy and stall cycles are the dispatcher's (a sequential process): busy while the
    next instruction's beats are on the way or it is dispatched, stalled on a full
    command queue. The reader's wait for the DRAM arbiter is in the DRAM statistics."""

    name = "fetch"

    def __init__(self, top):
        super().__init__(top)
        self.depth = top.cfg.cmd_queue_depth
        self.fifo = deque()          # (index, insn, arrival cycle, command queue name)
        self.credits = self.depth    # prefetch slots neither filled nor requested
        self._credit = None          # event: the dispatcher freed a slot
        self._credit_need = 0        # credits the reader waits for
        self._data = None            # event: instructions entered the FIFO

    def run(self):
        self.env.process(self.dispatch())
        yield from self.read()

    # ---- reader ---------------------------------------------------------------------
    def read(self):
        top, cfg, env, dram = self.top, self.cfg, self.env, self.top.dram
        count = top.insn_count
        ipb = INSN_BYTES // dram.bus_bytes   # beats per instruction
        isa = cfg.fingerprint
        pc = 0
        serial = dram.max_reads == 1
        data_end = 0
        while pc < count:
            gap = data_end + SERIAL_CYCLES - env._now
            if serial and gap > 0:
                if not advance(env, gap):
                    yield Timeout(env, gap)
            need = min(count - pc, max(1, self.depth // 2))
            waited = self.credits < need
            while self.credits < need:
                self._credit, self._credit_need = Event(env), need
                yield self._credit
            n = min(count - pc, self.credits)
            self.credits -= n
            if waited:
                # the RTL counts the freed slot the cycle after the pop, reserves, and
                # presents the request the cycle after that
                if not advance(env, CREDIT_CYCLES):
                    yield Timeout(env, CREDIT_CYCLES)
            addr = top.insn_base + pc * INSN_BYTES
            t0 = env._now
            # (the watch does not look at fetch's reads: only the DRAM's bounds to check)
            dram.check(addr, n * INSN_BYTES, self.name, "read")
            raw, bursts = yield from dram.read(self.name, addr, n * INSN_BYTES, unit=self,
                                               stall=False, view=True, checked=True)
            # Each instruction becomes usable when its last beat arrives.
            raw = raw.tobytes()
            for i in range(n):
                try:
                    insn, qname = decode_cached(raw[i * INSN_BYTES:(i + 1) * INSN_BYTES], cfg,
                                                pc + i, isa)
                except EncodingError as e:
                    raise ProgramError(str(e), stage=self.name, cycle=env._now) from None
                self.fifo.append((pc + i, insn,
                                  dram.beat_done(bursts, (i + 1) * ipb - 1) + PREFETCH_CYCLES,
                                  qname))
            if self._data is not None and self._data._value is PENDING:   # not triggered
                self._data.succeed()
            data_end = bursts[-1].end
            if self.tracer is not None:
                self.tracer.slice(self.name, f"read instructions {pc}..{pc + n - 1}", t0,
                                  data_end - t0, cat="fetch")
            pc += n

    # ---- dispatcher -----------------------------------------------------------------
    def _put(self, q, item):
        """Put into a command queue; a full queue costs REFILL_CYCLES after the room."""
        full = q.full
        yield from q.put(item)
        if full:
            if not advance(self.env, REFILL_CYCLES):
                yield Timeout(self.env, REFILL_CYCLES)

    def dispatch(self):
        top, env = self.top, self.env
        per_insn = self.timing["fetch_insn_cycles"]
        waits = {name: f"dispatch to the {name} command queue: full ({q.capacity}/{q.capacity})"
                 for name, q in top.cmd.items()}
        for _ in range(top.insn_count):
            while not self.fifo:
                self._data = Event(env)
                yield self._data
            index, insn, ready, qname = self.fifo[0]
            if ready > env._now:   # its beats are on the way: busy
                self.busy_cycles += ready - env._now
                if not advance(env, ready - env._now):
                    yield Timeout(env, ready - env._now)
            self.fifo.popleft()
            self.current = (index, insn)
            t0 = env._now
            if per_insn:
                self.busy_cycles += per_insn
                if not advance(env, per_insn):
                    yield Timeout(env, per_insn)
            q = top.cmd[qname]
            if q.full:
                yield from self.blocked_on(waits[qname], self._put(q, (index, insn)))
            elif not q.put_now((index, insn)):   # room: no stall to count
                yield from q.put((index, insn))
            self.credits += 1
            # Wake the reader once it has the credits it waits for: a wake-up with too
            # few would only make it wait again. Exact when dispatches are a cycle apart
            # or more (nothing else changes the credits before the wake-up is processed).
            ev = self._credit
            if ev is not None and ev._value is PENDING and \
                    (self.credits >= self._credit_need or not per_insn):
                ev.succeed()
            self.instructions += 1
            key = self.cfg.facts(insn)[1]
            self.by_opcode[key] = self.by_opcode.get(key, 0) + 1
            if self.tracer is not None:
                self.tracer.slice(self.name, top.disasm(insn), t0, env._now - t0, cat="insn",
                                  args={"index": index, "queue": qname})
            self.current = None
