"""Transactors: where an RTL unit (MyHDL signals) meets the TLM (SimPy objects).

One per interface kind, each a MyHDL block clocked with the RTL units; at each rising
edge it samples the RTL side (as a synchronous device would) and acts on the TLM objects
at the current TLM cycle (``env.now``), never waiting:

- ``cmd_source`` / ``cmd_sink``: a TLM command queue feeding an RTL unit's ``CommandQueue``
  port / filled by the RTL fetch unit's pushes;
- ``token_source`` / ``token_sink``: a TLM dependence queue seen as an RTL ``TokenQueue``;
- ``sram_reader`` / ``sram_writer``: an RTL ``SramRead`` / ``SramWrite`` port on a TLM
  buffer (a numpy array of element values), so a TLM unit and an RTL unit sharing a buffer
  see one memory;
- ``dram_reader`` / ``dram_writer``: an RTL ``ReadPort`` / ``WritePort`` served by the TLM
  DRAM model and its timing (arbitration, outstanding bursts, latency).

``Boundary`` counts handshakes (``activity``) and what is in flight (``pending``), which
the stepper (cosim/mixed.py) uses to tell a waiting RTL unit from a deadlocked one.
"""
from __future__ import annotations

from collections import deque

import numpy as np
from myhdl import always, block

from vta.isa import INSN_BYTES, decode_insn, encode_insn
from vta.tlm import elements


class Boundary:
    """Shared state of one mixed run's transactors."""

    def __init__(self, tlm):
        self.tlm, self.env, self.cfg = tlm, tlm.env, tlm.cfg
        self.activity = 0   # handshakes so far (any transactor)
        self.pending = 0    # DRAM requests not yet fully answered
        self._encoded = {}

    def encode(self, index, insn):
        """Instruction ``index`` of the program as the RTL's bit vector (once per index)."""
        word = self._encoded.get(index)
        if word is None:
            word = self._encoded[index] = int.from_bytes(encode_insn(insn, self.cfg), "little")
        return word


# ---- command queues ---------------------------------------------------------------------
@block
def cmd_source(b, clk, tq, q, on_take):
    """TLM command queue ``tq`` -> the RTL unit's CommandQueue ``q`` (valid/insn/pop);
    ``on_take(index, insn)`` is told of every instruction the unit takes."""

    @always(clk.posedge)
    def step():
        if q.pop and q.valid:
            index, insn = tq.take()
            b.activity += 1
            on_take(index, insn)
        head = tq.peek()
        q.valid.next = head is not None
        if head is not None:
            q.insn.next = b.encode(*head)

    return step


@block
def cmd_sink(b, clk, q, tq, word, counter, on_push):
    """The RTL fetch unit's pushes on CommandQueue ``q`` (instruction on the shared bus
    ``word``) -> TLM command queue ``tq``; ``counter`` numbers the instructions (a
    one-element list shared by the three queues: fetch dispatches in program order);
    ``on_push(index, insn)`` is told of each."""

    @always(clk.posedge)
    def step():
        if q.push and q.ready:
            index = counter[0]
            counter[0] += 1
            insn = decode_insn(int(word).to_bytes(INSN_BYTES, "little"), b.cfg, index)
            if not tq.offer((index, insn)):
                raise AssertionError(f"{tq.name}: the RTL pushed into a full queue")
            b.activity += 1
            on_push(index, insn)
        q.ready.next = not tq.full

    return step


# ---- dependence tokens ------------------------------------------------------------------
@block
def token_source(b, clk, dq, q, on_pop):
    """TLM dependence queue ``dq`` -> the RTL consumer's TokenQueue ``q`` (nonempty/pop).
    A token is visible from the cycle it carries (its push + dep_latency); ``on_pop(name)``
    is told of each pop."""

    @always(clk.posedge)
    def step():
        if q.pop and q.nonempty:
            dq.take()
            b.activity += 1
            on_pop(dq.name)
        head = dq.peek()
        q.nonempty.next = head is not None and head <= b.env.now + 1

    return step


@block
def token_sink(b, clk, q, dq):
    """The RTL producer's TokenQueue ``q`` (push/notfull) -> TLM dependence queue ``dq``."""

    @always(clk.posedge)
    def step():
        if q.push and q.notfull:
            if not dq.offer(b.env.now + dq.latency):
                raise AssertionError(f"{dq.name}: the RTL pushed into a full queue")
            b.activity += 1
        q.notfull.next = not dq.full

    return step


# ---- SRAM buffers -------------------------------------------------------------------------
class EntryCodec:
    """One buffer entry: element values (a row of a TLM array) <-> the RTL's bit vector
    (elements packed little-endian, lowest index in the lowest bits, as in DRAM)."""

    def __init__(self, bits, entry_bits):
        self.bits, self.nbytes = bits, entry_bits // 8

    def to_int(self, values):
        return int.from_bytes(elements.pack(values, self.bits).tobytes(), "little")

    def to_values(self, word):
        raw = np.frombuffer(word.to_bytes(self.nbytes, "little"), dtype=np.uint8)
        return elements.unpack(raw, self.bits)


@block
def sram_reader(b, clk, r, array, bits):
    """The RTL ``SramRead`` port ``r`` on TLM buffer ``array``: registered read (data the
    cycle after ``re``), as rtl/sram.py."""
    codec = EntryCodec(bits, len(r.data))

    @always(clk.posedge)
    def step():
        if r.re:
            r.data.next = codec.to_int(array[int(r.addr)])

    return step


@block
def sram_writer(b, clk, w, array, bits, name):
    """The RTL ``SramWrite`` port ``w`` into TLM buffer ``array`` (bank enables: bank k is
    bits [k*bw, (k+1)*bw) of the entry); the run's watch learns which entries were written."""
    width = len(w.data)
    banks = len(w.we)
    bank_bits = width // banks
    full = (1 << banks) - 1
    codec = EntryCodec(bits, width)
    shape = array.shape[1:]
    watch = b.tlm.watch

    @always(clk.posedge)
    def step():
        we = int(w.we)
        if we:
            addr, data = int(w.addr), int(w.data)
            if we != full:
                keep = 0
                for k in range(banks):
                    if not we >> k & 1:
                        keep |= ((1 << bank_bits) - 1) << (k * bank_bits)
                data = (codec.to_int(array[addr]) & keep) | (data & ~keep)
            array[addr] = codec.to_values(data).reshape(shape)
            watch.wrote(name, addr)
            b.activity += 1

    return step


# ---- DRAM ---------------------------------------------------------------------------------
@block
def dram_reader(b, clk, p, who):
    """The RTL ``ReadPort`` ``p`` of requester ``who`` on the TLM DRAM. Requests are taken
    into a port queue of ``READ_QUEUE`` and go to the DRAM arbiter one after the other, the
    next in the cycle the previous one's last AR went out (as a TLM unit issues its rows:
    the RTL presents its next request while the previous one is in arbitration, so it keeps
    its turn); the beats are offered from the cycles the DRAM model delivers them, in
    order, one per handshake."""
    env, dram, bus = b.env, b.tlm.dram, b.cfg.bus_bytes
    beats = deque()     # (cycle available, word, last beat of its request)
    waiting = deque()   # (addr, beats) taken from the RTL, not yet granted
    wake = [None]       # event: a request arrived while the server slept

    def serve():
        while True:
            if not waiting:
                wake[0] = env.event()
                yield wake[0]
            addr, n = waiting[0]

            def granted(raw, bursts, n=n):   # beats stream from their cycles on
                raw = raw.tobytes()
                for k in range(n):
                    beats.append((dram.beat_done(bursts, k) - 1,
                                  int.from_bytes(raw[k * bus:(k + 1) * bus], "little"), k == n - 1))
            yield from dram.read(who, addr, n * bus, on_grant=granted)
            waiting.popleft()

    env.process(serve())

    @always(clk.posedge)
    def step():
        if p.data_valid and p.data_ready:
            if beats.popleft()[2]:
                b.pending -= 1
            b.activity += 1
        if p.req_valid and p.req_ready:
            waiting.append((int(p.req_addr), int(p.req_beats)))
            b.pending += 1
            b.activity += 1
            if wake[0] is not None and not wake[0].triggered:
                wake[0].succeed()
        p.req_ready.next = len(waiting) < READ_QUEUE
        if beats and beats[0][0] <= env.now:
            p.data_valid.next = 1
            p.data.next = beats[0][1]
        else:
            p.data_valid.next = 0

    return step


# requests a read port holds: one in arbitration, one presented behind it
READ_QUEUE = 2


@block
def dram_writer(b, clk, p):
    """The RTL store's ``WritePort`` ``p`` on the TLM DRAM: each request goes to the DRAM
    write model when accepted (its W/B timing from then on); beats fill its data as they
    come; ``done`` pulses in the cycle the model says the request's last B is seen."""
    env, dram, bus = b.env, b.tlm.dram, b.cfg.bus_bytes
    filling = deque()   # [addr, beats, bytearray] awaiting data, in order
    answers = deque()   # cycles of the last B of each request, in order

    def request(addr, data):
        b_last = yield from dram.write("store", addr, data)
        answers.append(b_last)

    @always(clk.posedge)
    def step():
        now = env.now
        if p.req_valid and p.req_ready:
            n = int(p.req_beats)
            data = np.zeros(n * bus, dtype=np.uint8)
            filling.append([int(p.req_addr), n, data, 0])
            b.pending += 1
            b.activity += 1
            env.process(request(int(p.req_addr), data))
        if p.data_valid and p.data_ready:
            req = filling[0]
            k = req[3]
            req[2][k * bus:(k + 1) * bus] = np.frombuffer(
                int(p.data).to_bytes(bus, "little"), dtype=np.uint8)
            req[3] += 1
            b.activity += 1
            if req[3] == req[1]:
                filling.popleft()
                # the model commits the data at its last W beat; a beat the RTL sent
                # later than the model's schedule lands here
                dram.mem[req[0]:req[0] + req[2].size] = req[2]
        p.req_ready.next = 1
        p.data_ready.next = bool(filling)
        if answers and answers[0] <= now + 1:
            answers.popleft()
            p.done.next = 1
            b.pending -= 1
            b.activity += 1
        else:
            p.done.next = 0

    return step
