"""Write-back of the compute pipeline and the acc buffer it writes (see compute.py).

The result of a micro-op (GEMM at S7, ALU at S6) is written to acc[dst] (0 for a GEMM
with the reset bit) and its low out_bits per lane to out[dst]. The acc buffer is made
write-first by a bypass register: a read issued in the cycle of a write to the same
entry returns the written value (compute.schedule keeps whether it did, ``rd_hit``). The datapaths register the read data before they use
it (acc_operand), and that register takes the write-back of its own cycle instead of the
read data when they name the same entry: so a micro-op sees the results of all earlier
ones although its read was issued up to one cycle before the previous micro-op's write,
and back-to-back micro-ops on one entry need no stall.
"""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from .interfaces import SramRead, SramWrite
from .sram import buffer


@block
def writeback(cfg, is_gemm, reset_f, gemm_valid, gemm_dst, gemm_res, alu_valid, alu_dst,
              alu_res, acc_w, out_w):
    """Select the finishing micro-op's result; ``acc_w``: the acc write (SramWrite with
    one enable bit), ``out_w``: the out buffer's write port."""
    ab, ob = cfg.acc_bits, cfg.out_bits
    lanes = cfg.batch * cfg.block_out
    res = Signal(intbv(0)[ab * lanes:])
    out_lanes = [res(k * ab + ob, k * ab) for k in range(lanes)]
    out_cat = ConcatSignal(*reversed(out_lanes)) if lanes > 1 else out_lanes[0]

    @always_comb
    def select():
        acc_w.we.next = gemm_valid or alu_valid
        if is_gemm:
            acc_w.addr.next = gemm_dst
            res.next = gemm_res
        else:
            acc_w.addr.next = alu_dst
            res.next = alu_res

    @always_comb
    def outputs():
        if is_gemm and reset_f == 1:
            acc_w.data.next = 0
        else:
            acc_w.data.next = res
        out_w.we.next = acc_w.we
        out_w.addr.next = acc_w.addr
        out_w.data.next = out_cat

    return select, outputs


@block
def acc_operand(clk, wb, hit, rd, q):
    """The operand register ``q``: every cycle (the read data holds between reads) it takes
    the entry ``rd`` read as it is once this cycle's write-back ``wb`` lands (the read data
    misses a write made after its read was issued; ``hit``: the write-back writes that
    entry, a register computed a cycle ahead by compute.schedule, since it selects a whole
    acc word). The block RAM's data, late (its clock-to-out), passes one 2:1 mux: the other
    sources are picked before it."""
    other = Signal(intbv(0)[len(q):])
    use_ram = Signal(bool(0))

    @always_comb
    def early():
        use_ram.next = not hit and not rd.bypass
        if hit:
            other.next = wb.data
        else:
            other.next = rd.bypass_data

    @always(clk.posedge)
    def register():
        if use_ram:
            q.next = rd.data
        else:
            q.next = other

    return early, register


class AccRead:
    """The acc buffer's read port: ``data`` straight from the block RAM, and the write-first
    bypass (``bypass``: the write-back of the read's cycle wrote the entry, a register kept
    by compute.schedule; the value written is ``bypass_data``), applied by
    :func:`acc_operand`."""

    def __init__(self, log_depth, width, bypass):
        self.port = SramRead(log_depth, width)
        self.re, self.addr, self.data = self.port.re, self.port.addr, self.port.data
        self.bypass = bypass
        self.bypass_data = Signal(intbv(0)[width:])


@block
def acc_buffer(cfg, clk, load_busy, load_w, wb, rd):
    """The acc buffer: written by the ACC load (``load_w``) or by the write-back (``wb``, one
    enable bit); ``rd`` (:class:`AccRead`) reads write-first (see the module docstring).

    The ACC load's writes are registered on their way to the block RAMs: the R beat reaches
    the write port from a flip-flop next to it, not from the AXI read master across the
    chip. They land a cycle late, which no read sees: the load is alone in the compute unit,
    and the next instruction's first acc read comes at its S1, cycles after the load
    retired. A pending load write owns the port (``ld_any``); the write-back has it
    otherwise (the two never overlap: the load runs only while the pipeline is empty)."""
    acc_beats = len(load_w.we)
    port_w = SramWrite(acc_beats, cfg.log_acc_depth, len(wb.data))
    ld_w = SramWrite(acc_beats, cfg.log_acc_depth, len(wb.data))
    ld_any = Signal(bool(0))
    mem = buffer("acc", clk, port_w, rd.port, cfg.acc_depth, acc_beats)
    hit_data = rd.bypass_data
    all_banks = (1 << acc_beats) - 1

    @always(clk.posedge)
    def bypass():
        # the value a write in the read's cycle gives the entry (whether it was the read's
        # entry, ``rd.bypass``, is a register of compute.schedule: it selects a whole acc
        # word, so it is compared on the stage registers, not on the address muxes)
        if rd.re:
            hit_data.next = wb.data

    @always(clk.posedge)
    def load_write():
        ld_w.we.next = load_w.we
        ld_w.addr.next = load_w.addr
        ld_w.data.next = load_w.data
        ld_any.next = load_busy and load_w.we != 0

    @always_comb
    def write():
        if ld_any:
            port_w.we.next = ld_w.we
            port_w.addr.next = ld_w.addr
            port_w.data.next = ld_w.data
        else:
            if wb.we == 1:
                port_w.we.next = all_banks
            else:
                port_w.we.next = 0
            port_w.addr.next = wb.addr
            port_w.data.next = wb.data

    return mem, bypass, load_write, write
