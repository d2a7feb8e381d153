"""DRAM: a numpy byte array behind one AXI port, with a pipelined timing model.

Reads (fetch, load, compute's uop/acc loads). An arbiter grants one request (one
contiguous run of bytes) at a time: compute's first, then fetch's and load's in turn (when
both wait, the one not granted last; ReadArbiter). A granted request is widened to whole bus beats and split into
INCR bursts of at most min(``dram.max_burst_beats``, 256) beats that never cross a 4 KiB
page. Its ARs go out back to back, one per cycle, the first ``AR_CYCLES`` after the grant;
each AR needs one of ``dram.max_outstanding_reads`` slots, freed by the RLAST of a burst
(the next AR can go in the cycle after it). The arbiter can grant the next request in the
cycle of the last AR (not after the data). R data come back in order (one AXI ID): a
burst's first beat no earlier than ``latency`` + (``axi_req_cycles`` - ``AR_CYCLES``) after
its AR, and after the previous burst's last beat, one beat per ceil(bus_bytes /
``dram.bytes_per_cycle``) cycle at most; a requester that accepts beats slower (``ready``,
``min_cycles``) holds R up for everybody (RREADY low).

The timing of a request is computed in closed form at its grant (its bursts, their AR
cycles and data windows), so a read costs a few Python operations per burst, not a
process per beat. With max_outstanding_reads = 1 and single-burst requests this is the
model before outstanding reads (grant + axi_req_cycles + latency + beats per request)
but for the grant: AR_CYCLES earlier, as the slot frees (rtl/axi.py does the same).

Writes (store) use the separate AW/W/B channels: the W beats of a request's bursts
stream back to back, ``W_GAP`` idle cycles between requests; a burst's AW needs one of ``dram.max_outstanding_writes`` slots,
freed by the memory's B response ``latency`` after the later of the burst's last W beat
and its AW (the store sees it ``write_resp_cycles`` later); W does not wait for AW (the AXI
rule) but the testbench RAM queues only ``W_QUEUE`` beats ahead of their AW.
See tlm/README.md for the cost table.
"""
from __future__ import annotations

import math
import mmap
from collections import deque
from dataclasses import dataclass
from functools import partial

import numpy as np
from simpy.events import Event, Timeout

from .errors import ProgramError
from .unit import advance, next_up, processed

REQUESTERS = ("fetch", "load", "compute", "store")
PAGE_BYTES = 4096   # an AXI burst never crosses a 4 KiB page
AXI_MAX_BEATS = 256  # AXI4 INCR burst limit
AR_CYCLES = 2       # arbiter grant to the AR handshake (request registered, then AR)
W_GAP = 3           # idle W cycles between two write requests (the writer's hand-over)
# The testbench RAM (cosim/hdl/axi_ram.v, as simtb's AxiRam) takes a burst's W beats only
# after its AW: W_QUEUE beats may wait for the AW, the rest follow it, the last no earlier
# than W_AFTER_AW + beats - W_QUEUE cycles after the AW. Binds only when an AW waits for a
# write slot (one outstanding write) and the burst has more than W_QUEUE beats.
W_QUEUE = 2
W_AFTER_AW = 3


class ReadArbiter:
    """rtl/axi.py's read arbiter: one request granted at a time; compute's first, fetch's
    and load's in turn (when both wait, the one not granted last of the two). Not arrival
    order: with one read slot a granted request holds the arbiter for a round trip, during
    which the load unit's next row and fetch both queue up, and the RTL then serves fetch.
    Each requester has at most one request waiting. The grant is decided after every other
    event of the cycle (requests of the same cycle compete, as the combinational arbiter
    sees them), at the same simulated time."""

    DECIDE = 2   # event priority after simpy's NORMAL (1): the end of the current cycle

    def __init__(self, env):
        self.env = env
        self.busy = False
        self.waiting = {}          # requester -> grant event
        self.load_last = True      # of fetch and load, load was granted last (RTL reset)
        self._deciding = False

    def request(self, who, on_grant=None):
        """An event the requester yields. Without ``on_grant`` it fires at the grant;
        with it, ``on_grant()`` is called at the grant and returns (delay, value): the
        event fires ``delay`` cycles later with ``value``. That saves the requester a
        wake-up and a timeout per request, and keeps the order of every other event:
        the requester would have scheduled its timeout right at the grant (no event in
        between), and the event takes that place in the queue.

        The caller must yield the event at once: if the end-of-cycle decision would be
        the next event and find this request alone, it is made here, and if the
        requester would then be the next to resume, the event comes back processed."""
        ev = Event(self.env)
        self.waiting[who] = (ev, on_grant)
        if on_grant is not None and len(self.waiting) == 1 and not (self.busy or self._deciding) \
                and next_up(self.env, 0, self.DECIDE):
            self._decide(None, inline=True)
        else:
            self._decide_later()
        return ev

    def grant_now(self, who):
        """Grant ``who``'s request here if request() would decide it inline (no one else
        waiting, the decision the next event): True, and the slot is taken; the caller
        then does what on_grant and the event would (Dram.read), without either."""
        if self.busy or self.waiting or self._deciding or not next_up(self.env, 0, self.DECIDE):
            return False
        self._take(who)
        return True

    def release(self):
        self.busy = False
        if self.waiting:
            self._decide_later()

    def _take(self, who):
        if who in ("fetch", "load"):
            self.load_last = who == "load"
        self.busy = True

    def _decide_later(self):
        if not self.busy and self.waiting and not self._deciding:
            self._deciding = True
            ev = Event(self.env)
            ev.callbacks.append(self._decide)
            ev._ok, ev._value = True, None   # what succeed() sets, with our priority
            self.env.schedule(ev, priority=self.DECIDE)

    def _decide(self, _event, inline=False):
        self._deciding = False
        w = self.waiting
        if self.busy or not w:
            return
        if "compute" in w:
            who = "compute"
        elif "load" in w and (not self.load_last or "fetch" not in w):
            who = "load"
        else:   # fetch alone, or both with load granted last (whoever asked first)
            who = "fetch"
        self._take(who)
        ev, on_grant = w.pop(who)
        if on_grant is None:
            ev.succeed()
        else:
            delay, value = on_grant()
            if inline and advance(self.env, delay):
                processed(ev, value)
            else:
                ev._ok, ev._value = True, value
                self.env.schedule(ev, delay=delay)


SMALL_BYTES = 64 << 10


def lazy_zeros(shape, dtype=np.float64):
    """A zero-filled array backed by an anonymous mapping: pages are mapped (zeroed by the
    OS) as they are first touched, so a buffer a short program barely uses costs almost
    nothing; np.zeros may take it from the heap and memset it all (glibc serves blocks
    under its adaptive mmap threshold, e.g. 16 MiB, from the heap). Below SMALL_BYTES
    np.zeros is cheaper than a mapping (a system call to map, another to unmap)."""
    dtype = np.dtype(dtype)
    dims = shape if isinstance(shape, tuple) else (shape,)
    nbytes = math.prod(dims) * dtype.itemsize   # (np.prod costs ~10x as much)
    if nbytes < SMALL_BYTES:
        return np.zeros(shape, dtype)
    return np.frombuffer(mmap.mmap(-1, nbytes), dtype=dtype).reshape(shape)


class Arbiter:
    """A one-slot resource with priorities (lower first, FIFO among equals), cheaper than
    simpy.PriorityResource but scheduling the same events at the same moments, so a run
    is event for event the one SimPy's resource gives: a grant is an event succeeded when
    the slot is free (at the request, or when a release is processed); a release is an
    event whose processing grants the next waiter. A release with no waiter is not
    scheduled: processing it would do nothing, and leaving it out keeps every other
    event's order (the heap orders by time, priority, then scheduling order)."""

    def __init__(self, env):
        self.env = env
        self.busy = False
        self.waiting = []    # [(priority, grant event)], sorted, FIFO among equals

    def take_now(self):
        """Take the free slot if request() would grant it and SimPy would resume the
        requester at once (request's processed event): True, without the event."""
        if self.busy or self.waiting or not next_up(self.env):
            return False
        self.busy = True
        return True

    def request(self, priority=0):
        ev = Event(self.env)
        w = self.waiting
        if not self.busy and not w:
            self.busy = True
            if next_up(self.env):   # its processing would be next: the caller goes on
                return processed(ev)
            ev.succeed()
            return ev
        i = len(w)
        while i and w[i - 1][0] > priority:
            i -= 1
        w.insert(i, (priority, ev))
        self._grant()
        return ev

    def release(self):
        self.busy = False
        if self.waiting:
            ev = Event(self.env)
            ev.callbacks.append(self._grant)
            ev.succeed()

    def _grant(self, _event=None):
        if not self.busy and self.waiting:
            self.busy = True
            self.waiting.pop(0)[1].succeed()


@dataclass
class PortStats:
    """Traffic of one requester on the DRAM port."""
    read_requests: int = 0
    write_requests: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    busy_cycles: int = 0    # cycles its data occupied the R (or W) channel
    wait_cycles: int = 0    # cycles spent waiting for the arbiter

    def as_dict(self):
        return dict(self.__dict__)


@dataclass(slots=True)
class Burst:
    """One AXI burst of a request: ``beats`` beats from beat ``first`` of the request,
    AR (or W start) at cycle ``ar``, data on the bus in cycles [start, end)."""
    first: int
    beats: int
    ar: int
    start: int
    end: int


class Dram:
    """Byte-addressed DRAM of ``cfg.dram_bytes`` bytes, allocated on first use."""

    def __init__(self, env, cfg, tracer=None):
        self.env, self.cfg, self.tracer = env, cfg, tracer
        self.size = cfg.dram_bytes
        self.latency = cfg.dram_latency
        self.bus_bytes = cfg.bus_bytes
        # A beat cannot move more than the bus width per cycle.
        self.bytes_per_cycle = min(float(cfg.dram_bytes_per_cycle), float(cfg.bus_bytes))
        self._beat_per_cycle = self.bytes_per_cycle == self.bus_bytes   # data_cycles(n) = n
        self._mem = None
        # read requests, one at a time: compute first (its UOP/ACC loads stall the GEMM
        # core), then fetch and load in turn (rtl/axi.py)
        self.arbiter = ReadArbiter(env)
        self.write_port = Arbiter(env)  # W channel (store only)
        self.stats = {name: PortStats() for name in REQUESTERS}
        self.req_cycles = cfg.timing["axi_req_cycles"]
        self.resp_cycles = cfg.timing["write_resp_cycles"]
        self.max_beats = min(cfg.dram_max_burst_beats, AXI_MAX_BEATS)
        self.max_reads = cfg.dram_max_outstanding_reads
        self.max_writes = cfg.dram_max_outstanding_writes
        # RLAST + 1 of the last max_reads read bursts / B cycle of the last max_writes
        # write bursts, in issue order (responses are in order, so these are sorted).
        self._r_done = deque(maxlen=self.max_reads)
        self._b_done = deque(maxlen=self.max_writes)
        self._r_free = 0     # first cycle R is free after every granted burst's data
        self._w_free = 0     # same for W
        self.write_log = []  # (start, end, tag) of every timed write, in order
        self.watch = None    # tlm.watch.Watch: warnings about the regions accessed
        self.faults = None   # tlm.faults.TlmFaults: injected error responses (fault mode)

    # ---- storage ---------------------------------------------------------------
    @property
    def mem(self):
        if self._mem is None:
            self._mem = lazy_zeros(self.size, np.uint8)   # an untouched DRAM costs nothing
        return self._mem

    def check(self, addr, nbytes, who, verb):
        """Raise ProgramError unless [addr, addr+nbytes) lies inside the DRAM (the message
        is formatted only then: this runs for every request)."""
        if addr < 0 or addr + nbytes > self.size:
            raise ProgramError(f"{who} {verb} accesses DRAM bytes [{addr:#x}, {addr + nbytes:#x}), "
                               f"outside the {self.size >> 20} MiB DRAM [0, {self.size:#x})")

    def poke(self, addr, data):
        """Write bytes without timing (host side: loading the program image)."""
        data = np.frombuffer(bytes(data), dtype=np.uint8) if isinstance(data, (bytes, bytearray)) \
            else np.asarray(data, dtype=np.uint8).ravel()
        self.check(addr, data.size, "host", "write")
        self.mem[addr:addr + data.size] = data

    def peek(self, addr, nbytes):
        """Read bytes without timing (host side: reading results back)."""
        self.check(addr, nbytes, "host", "read")
        return self.mem[addr:addr + nbytes].copy()

    # ---- timing ----------------------------------------------------------------
    def beats(self, addr, nbytes):
        bus = self.bus_bytes
        return -(-(addr + nbytes) // bus) - addr // bus if nbytes > 0 else 0

    def data_cycles(self, beats):
        """Cycles ``beats`` beats take on the bus."""
        if self._beat_per_cycle:
            return beats
        return math.ceil(beats * self.bus_bytes / self.bytes_per_cycle)

    def split(self, addr, nbytes):
        """Beats of each AXI burst of a request (from the aligned beat of ``addr``)."""
        bus = self.bus_bytes
        a = addr - addr % bus
        left = -(-(addr + nbytes) // bus) - addr // bus if nbytes > 0 else 0   # self.beats
        if left <= self.max_beats and a % PAGE_BYTES + left * bus <= PAGE_BYTES:
            return [left] if left else []   # one burst (the common case)
        out = []
        while left:
            n = min(left, self.max_beats, (PAGE_BYTES - a % PAGE_BYTES) // bus)
            out.append(n)
            a += n * bus
            left -= n
        return out

    def _schedule_read(self, grant, addr, nbytes, ready, min_cycles):
        """Bursts of a read granted at ``grant`` (closed form, see the module docstring).

        The requester takes its first beat no earlier than ``ready`` and needs at least
        ``min_cycles`` from then for all of them (its SRAM writer's pace)."""
        bus = self.bus_bytes
        total = -(-(addr + nbytes) // bus) - addr // bus if nbytes > 0 else 0   # self.beats
        if total <= self.max_beats and (addr - addr % bus) % PAGE_BYTES + total * bus <= PAGE_BYTES:
            sizes = (total,) if total else ()   # one burst (the common case), as split()
        else:
            sizes = self.split(addr, nbytes)
        lag = self.latency + self.req_cycles - AR_CYCLES   # AR handshake to first beat
        slots, max_reads = self._r_done, self.max_reads
        per_beat = self._beat_per_cycle
        bursts = []
        ar = grant + AR_CYCLES - 1
        r_free = self._r_free
        take = None      # the requester's first beat
        done = 0
        # (conditional expressions rather than max(): the same ints, cheaper per burst)
        for n in sizes:
            ar += 1
            if len(slots) == max_reads and slots[0] > ar:
                ar = slots[0]   # the oldest burst's RLAST frees a slot for the next cycle
            start = ar + lag if ar + lag > r_free else r_free
            if take is None:
                take = start if start > ready else ready
            done += n
            end = start + (n if per_beat else self.data_cycles(n))
            paced = take + -(-min_cycles * done // total)
            if paced > end:
                end = paced
            bursts.append(Burst(done - n, n, ar, start, end))
            slots.append(end)
            r_free = end
        self._r_free = r_free
        return bursts

    def _granted(self, addr, nbytes, ready, min_cycles, on_grant):
        """At a read's grant: (cycles to its last AR, (grant cycle, its bursts))."""
        grant = self.env._now
        bursts = self._schedule_read(grant, addr, nbytes, ready, min_cycles)
        if self.faults is not None:   # (beats, first beat's cycle) of each burst
            self.faults.check("r", addr, [(b.beats, b.start) for b in bursts])
        if on_grant is not None:
            on_grant(self.mem[addr:addr + nbytes].copy(), bursts)
        # the next request can be granted in the cycle of this one's last AR
        return (bursts[-1].ar - grant if bursts else 0), (grant, bursts)

    # ---- timed accesses (SimPy generators) --------------------------------------
    def read(self, who, addr, nbytes, unit=None, ready=0, min_cycles=0, stall=True,
             on_grant=None, view=False, checked=False):
        """Timed read; ``yield from`` it to get (a copy of the bytes, its bursts); with
        ``view`` a view of the DRAM instead, for a caller that uses it at once.
        ``checked``: the caller found the bytes inside the DRAM and Watch.covers them.

        Returns once the request's last AR has gone out (the arbiter is free for the next
        request); the data arrive later: bursts[-1].end is the cycle after the last beat.
        ``ready``/``min_cycles``: the requester's pace (see ``_schedule_read``). The wait
        for the grant is a stall of ``unit`` if ``stall``. ``on_grant(bytes, bursts)`` is
        called at the grant, for a requester that takes beats before the last AR (a long
        request's first bursts stream while its later ARs wait for slots: an RTL unit's
        transactor, cosim/transactors.py).
        """
        if not checked:
            self.check(addr, nbytes, who, "read")
            if self.watch is not None and unit is not None:
                self.watch.dram_access(unit, addr, nbytes, write=False)
        st = self.stats[who]
        env = self.env
        t0 = env._now
        if self.arbiter.grant_now(who):
            # what ReadArbiter.request and _decide do for a request decided inline,
            # without its event unless the requester must wait for the last AR
            delay, value = self._granted(addr, nbytes, ready, min_cycles, on_grant)
            if not advance(env, delay):
                ev = Event(env)
                ev._ok, ev._value = True, value
                env.schedule(ev, delay=delay)
                yield ev
            grant, bursts = value
        else:
            ev = self.arbiter.request(who, partial(self._granted, addr, nbytes, ready, min_cycles,
                                                   on_grant))
            # an event that came back processed: its value at once, as SimPy would send it
            grant, bursts = ev._value if ev.callbacks is None else (yield ev)
        self.arbiter.release()
        waited = grant - t0
        busy = bursts[-1].end - bursts[0].start if bursts else 0
        st.read_requests += 1
        st.bytes_read += nbytes
        st.busy_cycles += busy
        st.wait_cycles += waited
        if unit is not None and stall:
            unit.stall_cycles += waited
        if self.tracer is not None and bursts:
            self.tracer.slice("dram read", f"{who} {nbytes} B @{addr:#x}", bursts[0].start, busy,
                              cat="dram", args={"grant": grant, "bursts": len(bursts)})
        data = self.mem[addr:addr + nbytes]
        return (data if view else data.copy()), bursts

    def read_rows(self, who, unit, base, step, nbytes, count, w, pre, post, min_cycles, out):
        """Generator: ``count`` rows of ``nbytes`` bytes at ``base + r * step``, one read
        request each, as a requester that calls read() for each row in turn (each row
        checked by the caller: ``checked``); ``w`` is the requester's writer time, ``pre``
        cycles added before a row (its ``ready``) and ``post`` after its last beat;
        ``out[r]`` gets the row's bytes. Returns the writer time after the last row.

        A row the arbiter grants here (grant_now, as read does) is done in this loop:
        the same bursts, waits and counts as read(), without its generator and calls
        (a load is mostly rows: ~25 requests per instruction on the default config's
        GEMM tests). Other rows, and every row with a tracer or injected faults, go
        through read()."""
        env, arb, st, mem = self.env, self.arbiter, self.stats[who], self.mem
        fast = self.tracer is None and self.faults is None
        for r in range(count):
            w += pre
            addr = base + r * step
            if fast and arb.grant_now(who):
                grant = env._now
                bursts = self._schedule_read(grant, addr, nbytes, w, min_cycles)
                delay = bursts[-1].ar - grant   # to the last AR (nbytes > 0: one burst at least)
                if not advance(env, delay):
                    ev = Event(env)
                    ev._ok, ev._value = True, None
                    env.schedule(ev, delay=delay)
                    yield ev
                arb.release()
                st.read_requests += 1      # granted at the request: no wait to count
                st.bytes_read += nbytes
                st.busy_cycles += bursts[-1].end - bursts[0].start
                out[r] = mem[addr:addr + nbytes]
            else:
                out[r], bursts = yield from self.read(who, addr, nbytes, unit=unit, ready=w,
                                                      min_cycles=min_cycles, view=True, checked=True)
            w = bursts[-1].end + post
        return w

    def beat_done(self, bursts, k):
        """Cycle after beat ``k`` (0-based, of the request) was delivered."""
        for b in bursts:
            if k < b.first + b.beats:
                return min(b.end, b.start + self.data_cycles(k - b.first + 1))
        raise ValueError(f"beat {k} past the request")

    def write(self, who, addr, data, unit=None, tag=None, checked=False):
        """Timed write of a uint8 array; ``yield from`` it to get the cycle of its last B
        (``checked`` as for read).

        The W channel is held while the request's beats stream (``W_GAP`` cycles after
        the previous request's); each burst's AW waits for a free outstanding-write slot;
        the data are committed with the last beat. A burst's B comes ``latency`` +
        ``write_resp_cycles`` after the later of its last W beat and its AW; the caller
        decides what waits for it."""
        nbytes = int(data.size)
        if not checked:
            self.check(addr, nbytes, who, "write")
            if self.watch is not None and unit is not None:
                self.watch.dram_access(unit, addr, nbytes, write=True)
        st = self.stats[who]
        t0 = self.env._now
        if not self.write_port.take_now():
            ev = self.write_port.request()
            if ev.callbacks is not None:   # not granted at once (see Arbiter.request)
                yield ev
        now = self.env._now
        waited = now - t0
        slots = self._b_done
        w = now if now > self._w_free else self._w_free
        aw = w - 2   # the first AW goes the cycle before the first W beat
        resp = self.latency + self.resp_cycles
        b_last = now
        answered = []   # (beats, B cycle) per burst, for the fault mode
        per_beat = self._beat_per_cycle
        # (conditional expressions rather than max(): the same ints, cheaper per burst)
        for n in self.split(addr, nbytes):
            # AW waits for a slot (freed by the oldest burst's B); W beats stream on
            # without waiting for AW up to the RAM's W queue, so a burst is answered
            # after both its last W beat and its AW
            aw += 1
            if len(slots) == self.max_writes and slots[0] > aw:
                aw = slots[0]
            w += n if per_beat else self.data_cycles(n)
            if n > W_QUEUE:   # beats beyond the RAM's W queue wait for the AW
                w_aw = aw + W_AFTER_AW + (n - W_QUEUE if per_beat else self.data_cycles(n - W_QUEUE))
                if w_aw > w:
                    w = w_aw
            b_last = (w if w > aw + 1 else aw + 1) + resp
            # the memory's B frees the slot (the next AW the cycle after); the store
            # sees it write_resp_cycles later, through the master and wr_done
            slots.append(b_last - self.resp_cycles)
            answered.append((n, b_last))
        if aw + 1 > w:   # the next request starts when this one's AWs and Ws are out
            w = aw + 1
        self._w_free = w + W_GAP
        if w > now:
            if not advance(self.env, w - now):
                yield Timeout(self.env, w - now)
        self.mem[addr:addr + nbytes] = data
        self.write_log.append((addr, addr + nbytes, tag))
        if self.faults is not None:
            self.faults.check("b", addr, answered)
        self.write_port.release()
        busy = w - now
        st.write_requests += 1
        st.bytes_written += nbytes
        st.busy_cycles += busy
        st.wait_cycles += waited
        if unit is not None:
            unit.stall_cycles += waited
        if self.tracer is not None:
            self.tracer.slice("dram write", f"{who} {nbytes} B @{addr:#x}", now, busy, cat="dram")
        return b_last

    def last_writer(self, addr):
        """Tag (the instruction index, for stores) of the last timed write covering a byte."""
        for start, end, tag in reversed(self.write_log):
            if start <= addr < end:
                return tag
        return None

    def totals(self):
        return {
            "bytes_read": sum(s.bytes_read for s in self.stats.values()),
            "bytes_written": sum(s.bytes_written for s in self.stats.values()),
            "read_requests": sum(s.read_requests for s in self.stats.values()),
            "write_requests": sum(s.write_requests for s in self.stats.values()),
            "read_busy_cycles": sum(s.busy_cycles for n, s in self.stats.items() if n != "store"),
            "write_busy_cycles": self.stats["store"].busy_cycles,
        }
