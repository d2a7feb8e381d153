"""Synchronous FIFO with a registered first-word-fall-through output.

``push`` is taken when ``ready``; ``dout`` is valid while ``valid`` and is consumed by
``pop``. Capacity is ``depth`` words (memory plus output register). The storage is a
plain memory written without reset (distributed RAM); a word pushed at cycle t is
visible at ``dout`` at t+2.
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from .fields import log2


@block
def fifo(clk, rst, din, push, ready, dout, pop, valid, depth):
    aw = log2(depth)
    mem = [Signal(intbv(0)[len(din):]) for _ in range(depth)]
    wptr = Signal(intbv(0)[aw:])
    rptr = Signal(intbv(0)[aw:])
    mcnt = Signal(intbv(0, min=0, max=depth + 1))   # words in mem
    # words held (mem + output register), a register: ``ready`` feeds the producer's
    # push decision, so it is a flag kept with the count, not an adder and a compare
    total = Signal(intbv(0, min=0, max=depth + 1))
    full = Signal(bool(0))   # total == depth, kept with it: ``ready`` is a flip-flop
    popped = Signal(bool(0))
    take = Signal(bool(0))                           # mem -> output register this cycle
    do_push = Signal(bool(0))

    @always_comb
    def comb():
        ready.next = not full
        do_push.next = push and not full
        take.next = (mcnt != 0) and (not valid or pop)
        popped.next = pop and valid

    @always(clk.posedge)
    def store():
        if do_push:
            mem[wptr].next = din

    @always(clk.posedge)
    def seq():
        if rst:
            wptr.next = 0
            rptr.next = 0
            mcnt.next = 0
            total.next = 0
            full.next = 0
            valid.next = 0
        else:
            if do_push:
                wptr.next = (wptr + 1) % depth
            if take:
                dout.next = mem[rptr]
                rptr.next = (rptr + 1) % depth
                valid.next = 1
            elif pop:
                valid.next = 0
            if do_push and not take:
                mcnt.next = mcnt + 1
            elif take and not do_push:
                mcnt.next = mcnt - 1
            if do_push and not popped:
                total.next = total + 1
                full.next = total == depth - 1
            elif popped and not do_push:
                total.next = total - 1
                full.next = 0

    return comb, store, seq
