"""Fetch: reads the instruction stream and dispatches each instruction to its queue.

Routing (as the TLM, tlm/fetch.py): STORE -> store queue; LOAD of INP or WGT -> load
queue; every other instruction (UOP/ACC loads, GEMM, ALU, FINISH) -> compute queue.

The read port is shared with the load and compute units, and R data come back in AR
order on one ID, so fetch must never leave a beat it requested unaccepted while it waits for a
full command queue (that could deadlock: compute waits for a load whose data sit behind
fetch's). Fetch therefore reads into its own prefetch FIFO (cfg.cmd_queue_depth
instructions) and only requests what that FIFO is sure to hold (credits = free slots not yet
requested): whenever no request is being presented and credits >= min(remaining, depth/2),
it requests n = min(remaining, credits) instructions (n * 16/bus_bytes beats) in one
request, without waiting for the data of earlier requests (they stay outstanding in the AXI
master, up to dram.max_outstanding_reads bursts); with one read slot it does wait for them
(an early request would only hold the bus while it waits for the slot). Dispatch pops the prefetch FIFO in order,
one instruction per cycle, and waits while the target command queue is full.
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, concat, intbv, modbv

from vta.isa import INSN_BYTES, MEM_INP, MEM_WGT, OPCODE_LOAD, OPCODE_STORE

from .fields import INSN_BITS, log2
from .fifo import fifo

TO_COMPUTE, TO_LOAD, TO_STORE = 0, 1, 2      # the command queue of an instruction


@block
def fetch_reserve(clk, rst, start, insn_count, serial, depth, req_on, remaining, credits, want,
                  pf_push, waiting, reserve):
    """When fetch reserves credits for its next request (``reserve``) and for how many
    instructions (``want`` = min(remaining, credits)), and ``waiting``: instructions
    requested but not yet in the prefetch FIFO (with ``serial``, one read slot, the next
    request waits for them).

    The decision compares a few bits, not 32: it uses min(remaining, depth) and
    remaining > depth, registered (``rem_cap``, ``rem_big``). They lag ``remaining`` by a
    cycle after a request, and are read only without a request pending, which is a cycle
    later at the earliest."""
    rem_cap = Signal(intbv(0, min=0, max=depth + 1))
    rem_big = Signal(bool(0))

    @always(clk.posedge)
    def bounds():
        if rst:
            rem_cap.next = 0
            rem_big.next = 0
        elif start:
            rem_big.next = insn_count > depth
            if insn_count > depth:
                rem_cap.next = depth
            else:
                rem_cap.next = insn_count
        else:
            rem_big.next = remaining > depth
            if remaining > depth:
                rem_cap.next = depth
            else:
                rem_cap.next = remaining

    @always_comb
    def size():
        if rem_cap < credits:
            want.next = rem_cap
        else:
            want.next = credits

    @always_comb
    def when():
        reserve.next = (not req_on and rem_cap != 0 and credits != 0
                        and (serial == 0 or waiting == 0)
                        and ((not rem_big and credits >= rem_cap) or credits >= depth // 2))

    @always(clk.posedge)
    def track():
        if rst:
            waiting.next = 0
        elif reserve and pf_push:
            waiting.next = waiting + want - 1
        elif reserve:
            waiting.next = waiting + want
        elif pf_push:
            waiting.next = waiting - 1

    return bounds, size, when, track


@block
def fetch_unit(cfg, clk, rst, start, insn_addr, insn_count, busy, rd, insn, load_q, comp_q,
               store_q):
    """Read ``insn_count`` instructions from ``insn_addr`` through ``rd`` (ReadPort) and push
    each onto ``insn`` with the push of its command queue (CommandQueue)."""
    req_valid, req_ready, req_addr, req_beats = rd.req_valid, rd.req_ready, rd.req_addr, rd.req_beats
    data_valid, data, data_ready = rd.data_valid, rd.data, rd.data_ready
    load_push, load_ready = load_q.push, load_q.ready
    comp_push, comp_ready = comp_q.push, comp_q.ready
    store_push, store_ready = store_q.push, store_q.ready
    depth = cfg.cmd_queue_depth
    bus = cfg.bus_bits
    ipb = INSN_BITS // bus            # beats per instruction
    ish = log2(INSN_BYTES)
    bsh = log2(ipb)
    mem = cfg.layout.mem
    opf = cfg.layout.field("mem", "opcode")
    mtf = cfg.layout.field("mem", "memory_type")
    assert mem[0] is opf

    remaining = Signal(intbv(0)[32:])      # instructions not yet requested
    waiting = Signal(intbv(0, min=0, max=depth + 1))  # requested, not yet in the prefetch FIFO
    # with one read slot an early request would only hold the bus: wait for the data first
    serial = int(cfg.dram_max_outstanding_reads == 1)
    reserve = Signal(bool(0))              # this cycle reserves credits for a new request
    to_dispatch = Signal(intbv(0)[32:])    # instructions not yet dispatched
    credits = Signal(intbv(0, min=0, max=depth + 1))  # prefetch slots neither used nor requested
    addr = Signal(modbv(0)[32:])
    want = Signal(intbv(0, min=0, max=depth + 1))   # size of the next request (instructions)
    req_n = Signal(intbv(0)[32:])          # size of the pending request
    req_on = Signal(bool(0))
    asm = Signal(intbv(0)[INSN_BITS:])     # instruction being assembled from beats
    beat = Signal(intbv(0, min=0, max=ipb + 1))
    # the prefetch FIFO holds each instruction with its queue (TO_*), decoded as it goes in:
    # dispatch's pop (-> the FIFO's output register) then starts at flip-flops
    pf_din = Signal(intbv(0)[INSN_BITS + 2:])
    pf_dout = Signal(intbv(0)[INSN_BITS + 2:])
    pf_push, pf_ready, pf_pop, pf_valid = (Signal(bool(0)) for _ in range(4))
    pf = fifo(clk, rst, pf_din, pf_push, pf_ready, pf_dout, pf_pop, pf_valid, depth)
    wait = fetch_reserve(clk, rst, start, insn_count, serial, depth, req_on, remaining, credits,
                         want, pf_push, waiting, reserve)
    to = Signal(intbv(0)[2:])
    decode = insn_queue(asm(opf.hi, opf.lo), asm(mtf.hi, mtf.lo), to)
    queue = pf_dout(INSN_BITS + 2, INSN_BITS)

    @always_comb
    def plan():
        req_valid.next = req_on
        req_addr.next = addr
        req_beats.next = req_n << bsh
        data_ready.next = 1

    @always_comb
    def route():
        load_push.next = 0
        store_push.next = 0
        comp_push.next = 0
        pf_pop.next = 0
        if pf_valid:
            if queue == TO_LOAD:
                load_push.next = load_ready
                pf_pop.next = load_ready
            elif queue == TO_STORE:
                store_push.next = store_ready
                pf_pop.next = store_ready
            else:
                comp_push.next = comp_ready
                pf_pop.next = comp_ready
        busy.next = to_dispatch != 0

    @always(clk.posedge)
    def seq():
        pf_push.next = 0
        if rst:
            remaining.next = 0
            to_dispatch.next = 0
            credits.next = depth
            req_on.next = 0
            beat.next = 0
        elif start:
            remaining.next = insn_count
            to_dispatch.next = insn_count
            addr.next = insn_addr
            beat.next = 0
        else:
            if req_on:
                if req_ready:  # handshake: the beats are now in flight
                    req_on.next = 0
                    addr.next = addr + (req_n << ish)
                if pf_pop:
                    credits.next = credits + 1
            elif reserve:
                # reserve prefetch slots for the whole request
                req_on.next = 1
                req_n.next = want
                remaining.next = remaining - want
                if pf_pop:
                    credits.next = credits - want + 1
                else:
                    credits.next = credits - want
            elif pf_pop:
                credits.next = credits + 1
            if data_valid:
                asm.next = (data << (INSN_BITS - bus)) | (asm >> bus)
                if beat + 1 == ipb:
                    beat.next = 0
                    pf_push.next = 1
                else:
                    beat.next = beat + 1
            if pf_pop:
                to_dispatch.next = to_dispatch - 1

    @always_comb
    def pf_io():
        pf_din.next = concat(to, asm)
        insn.next = pf_dout[INSN_BITS:]

    return pf, plan, route, seq, wait, decode, pf_io


@block
def insn_queue(opcode, mtype, to):
    """``to``: the command queue (TO_*) of an instruction with ``opcode`` and ``mtype``."""

    @always_comb
    def decode():
        if opcode == OPCODE_LOAD and (mtype == MEM_INP or mtype == MEM_WGT):
            to.next = TO_LOAD
        elif opcode == OPCODE_STORE:
            to.next = TO_STORE
        else:
            to.next = TO_COMPUTE

    return decode
