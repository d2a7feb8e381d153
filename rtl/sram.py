"""On-chip buffers: simple dual-port RAM with a registered read and no reset.

Each bank is written in a plain ``always(clk.posedge)`` (no reset, one write and one
read port) so Yosys and Vivado infer block RAM. A buffer wider than the bus is split
into bus-wide banks with one write enable each: loads write one beat per cycle into
its bank, so no assembly register is needed, and a full-width write enables all banks.
``re`` holds the read register when low (the store unit stalls on it).
"""
from __future__ import annotations

from myhdl import Signal, always, block, intbv

from .fields import join_lanes


@block
def sram_bank(clk, we, waddr, wdata, re, raddr, rdata, depth):
    """One RAM: ``depth`` x len(wdata) bits, read-first, registered read."""
    mem = [Signal(intbv(0)[len(wdata):]) for _ in range(depth)]

    @always(clk.posedge)
    def port():
        if we:
            mem[waddr].next = wdata
        if re:
            rdata.next = mem[raddr]

    return port


@block
def sram(clk, we, waddr, wdata, re, raddr, rdata, depth, banks=1):
    """A buffer of ``depth`` entries of len(wdata) bits in ``banks`` equal banks.

    ``we`` has one bit per bank (a bool when banks == 1); bank k holds bits
    [k*w, (k+1)*w) of each entry, w = len(wdata) // banks.
    """
    width = len(wdata)
    assert width % banks == 0 and len(rdata) == width
    if banks == 1:
        return sram_bank(clk, we, waddr, wdata, re, raddr, rdata, depth)
    bw = width // banks
    outs = [Signal(intbv(0)[bw:]) for _ in range(banks)]
    insts = [sram_bank(clk, we(k), waddr, wdata((k + 1) * bw, k * bw), re, raddr, outs[k], depth)
             for k in range(banks)]
    return insts, join_lanes(outs, rdata)


@block
def buffer(name, clk, w, r, depth, banks=1):
    """``sram`` with its ports as interface objects (``w``: SramWrite, ``r``: SramRead).

    ``name`` (inp, wgt, out, uop, acc) names the instance, so the exported Verilog's memories
    are ``..._<name>_buffer_sram_bank<K>_mem``: the testbench finds each buffer by name."""
    inst = sram(clk, w.we, w.addr, w.data, r.re, r.addr, r.data, depth, banks)
    inst.name = f"{name}_buffer"
    return inst
