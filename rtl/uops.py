"""LOAD UOP: micro-ops from DRAM into the uop buffer.

One read request for the aligned beats that cover the x_size micro-ops starting at
dram_base (a start in the middle of a beat skips the micro-ops before it); the beats
are unpacked into one micro-op write per cycle, so with several micro-ops per beat
``data_ready`` is low while a beat is being unpacked.
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv, modbv

from vta.isa import UOP_BYTES

from .fields import log2


@block
def uop_load(cfg, clk, rst, start, sram_base, dram_base, x_size, rd, w, busy):
    """Copy x_size micro-ops from micro-op index ``dram_base`` to uop[sram_base...] after the
    one-cycle ``start`` pulse (given while idle; fields valid at ``start`` and stable while
    ``busy``). ``rd``: ReadPort, ``w``:
    SramWrite of the uop buffer."""
    bus = cfg.bus_bits
    upb = cfg.bus_bytes // UOP_BYTES          # micro-ops per bus beat
    upb_log = log2(upb)
    uop_bits = UOP_BYTES * 8
    lu = cfg.log_uop_depth
    left = Signal(intbv(0)[len(x_size):])     # micro-ops still to write
    # left != 0 and left == 1 as flip-flops kept with ``left`` (they decide data_ready and
    # the beat latch's count: no 16-bit compare in front of the AXI handshake)
    left_nz, left_one = Signal(bool(0)), Signal(bool(0))
    cnt = Signal(intbv(0, min=0, max=upb + 1))   # micro-ops left in the beat latch
    sh = Signal(intbv(0)[bus:])
    first = Signal(bool(0))
    addr = Signal(modbv(0)[lu:])
    skip = Signal(intbv(0)[max(1, upb_log):])    # micro-ops to skip in the first beat
    take, write, want = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    plan_addr = Signal(modbv(0)[32:])
    plan_skip = Signal(intbv(0)[max(1, upb_log):])
    plan_beats = Signal(intbv(0)[32:])

    if upb > 1:   # several micro-ops per beat: start at the aligned beat, skip the first ones
        first_idx = Signal(intbv(0)[upb_log:])    # micro-op index of dram_base within a beat

        @always_comb
        def plan():
            first_idx.next = dram_base & (upb - 1)
            plan_addr.next = (dram_base >> upb_log) << (upb_log + 2)
            plan_skip.next = first_idx
            plan_beats.next = (x_size + first_idx + (upb - 1)) >> upb_log
    else:
        @always_comb
        def plan():
            plan_addr.next = dram_base << 2
            plan_skip.next = 0
            plan_beats.next = x_size

    @always_comb
    def comb():
        # the beat latch is free after this cycle: take the next beat
        want.next = busy and not rd.req_valid and (cnt == 0 or (cnt == 1 and left_nz))
        take.next = busy and not rd.req_valid and rd.data_valid and (
            cnt == 0 or (cnt == 1 and left_nz))
        write.next = busy and cnt != 0 and left_nz

    @always_comb
    def ports():
        rd.data_ready.next = want
        w.we.next = write
        w.addr.next = addr
        w.data.next = sh[uop_bits:]

    @always(clk.posedge)
    def seq():
        if rst:
            busy.next = 0
            rd.req_valid.next = 0
        elif not busy:
            # idle: the registers track the instruction's fields every cycle, so ``start``
            # (late: it waits for the tokens) only raises busy and the request
            busy.next = start and x_size != 0
            rd.req_valid.next = start and x_size != 0
            left.next = x_size
            left_nz.next = x_size != 0
            left_one.next = x_size == 1
            cnt.next = 0
            first.next = 1
            addr.next = sram_base
            rd.req_addr.next = plan_addr
            skip.next = plan_skip
            rd.req_beats.next = plan_beats
        else:
            if rd.req_valid and rd.req_ready:
                rd.req_valid.next = 0
            if write:
                addr.next = addr + 1
                left.next = left - 1
                left_nz.next = not left_one
                left_one.next = left == 2
                if left_one:
                    busy.next = 0
            if take:
                if first:
                    sh.next = rd.data >> (skip * uop_bits)
                    cnt.next = upb - skip
                    first.next = 0
                else:
                    sh.next = rd.data
                    cnt.next = upb
            elif write:
                sh.next = sh >> uop_bits
                cnt.next = cnt - 1

    return plan, comb, ports, seq
