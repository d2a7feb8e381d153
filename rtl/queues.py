"""The three command queues and the four dependence-token queues.

Command queues (fetch -> load/compute/store) are FIFOs of whole 128-bit instructions,
cfg.cmd_queue_depth deep. A dependence queue carries 1-bit tokens, so it is an up/down
counter of 0..cfg.dep_queue_depth: ``push`` when ``notfull``, ``pop`` when ``nonempty``
(the stages wait on these, so a counter never overflows or underflows).
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv

from .fifo import fifo


@block
def cmd_queue(cfg, clk, rst, din, q):
    """One command queue of cfg.cmd_queue_depth instructions (``q``: CommandQueue; ``din``:
    fetch's instruction bus, shared by the three queues)."""
    return fifo(clk, rst, din, q.push, q.ready, q.insn, q.pop, q.valid, cfg.cmd_queue_depth)


@block
def dep_queue(cfg, clk, rst, q):
    """One dependence-token queue of cfg.dep_queue_depth tokens (``q``: TokenQueue)."""
    depth = cfg.dep_queue_depth
    count = Signal(intbv(0, min=0, max=depth + 1))
    # the flags are flip-flops set with the count (not compares after it): they decide a
    # unit's go/retire and so its command FIFO's pop, in the same cycle
    nonempty, notfull = Signal(bool(0)), Signal(bool(1))

    @always_comb
    def flags():
        q.nonempty.next = nonempty
        q.notfull.next = notfull

    @always(clk.posedge)
    def seq():
        if rst:
            count.next = 0
            nonempty.next = 0
            notfull.next = 1
        elif q.push and not q.pop:
            count.next = count + 1
            nonempty.next = 1
            notfull.next = count != depth - 1
        elif q.pop and not q.push:
            count.next = count - 1
            nonempty.next = count != 1
            notfull.next = 1

    return flags, seq
