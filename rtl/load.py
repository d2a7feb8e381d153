"""Load unit (INP/WGT loads) and the 2-D strided, zero-padding load engine it shares
with compute's ACC loads.

Engine timing (per instruction, after ``start``): row requests go out back to back on
the read port (one request per data row, x_size elements = x_size*elem_beats beats), as
fast as the port accepts them. Independently, the SRAM is written in entry order, one
write per cycle: a zero entry (padding) costs one cycle, a data entry costs elem_beats
cycles (one beat per cycle into its bank). So a padded tile costs
(y_pad_0 + y_size + y_pad_1) * x_pad_total zero cycles + y_size*x_size*elem_beats data
beats, plus the first request's latency.
"""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv, modbv

from vta.isa import MEM_INP

from .fields import INSN_BITS, beats, log2, views, width
from .unit import unit_control


@block
def load_engine(clk, rst, start, busy,
                sram_base, dram_addr, y_size, x_size, stride_bytes, row_beats, elem_beats,
                y_pad_0, y_pad_1, x_pad_0, x_pad_1,
                req_valid, req_ready, req_addr, req_beats, data_valid, data, data_ready,
                we, waddr, wdata):
    """Copy a padded 2-D tile from DRAM into a banked SRAM (see the module docstring).

    Inputs must stay stable while ``busy``; ``start`` is a one-cycle pulse and ``busy``
    rises on the next cycle (unless the tile is empty). ``we`` has one bit per bank;
    ``elem_beats`` (<= banks) beats make one entry.
    """
    banks = len(we)
    aw = len(waddr)
    cnt_bits = max(len(y_size), len(x_size)) + 2   # rows/cols including both pads
    beat_bits = banks.bit_length() + 1
    # Row request side.
    rq_rows = Signal(intbv(0)[len(y_size):])
    rq_addr = Signal(modbv(0)[32:])
    # SRAM write side.
    w_active = Signal(bool(0))
    w_row = Signal(intbv(0)[cnt_bits:])
    w_col = Signal(intbv(0)[cnt_bits:])
    w_addr = Signal(modbv(0)[aw:])
    w_beat = Signal(intbv(0)[beat_bits:])
    y_total = Signal(intbv(0)[cnt_bits:])
    x_total = Signal(intbv(0)[cnt_bits:])
    y_data_end = Signal(intbv(0)[cnt_bits:])
    x_data_end = Signal(intbv(0)[cnt_bits:])
    is_data = Signal(bool(0))
    advance = Signal(bool(0))
    rep = ConcatSignal(*([data] * banks)) if banks > 1 else data
    zero_all = (1 << banks) - 1

    @always_comb
    def sizes():
        y_total.next = y_pad_0 + y_size + y_pad_1
        x_total.next = x_pad_0 + x_size + x_pad_1
        y_data_end.next = y_pad_0 + y_size
        x_data_end.next = x_pad_0 + x_size

    @always_comb
    def req_out():
        req_valid.next = rq_rows != 0
        req_addr.next = rq_addr
        req_beats.next = row_beats

    beat_we = Signal(intbv(0)[banks:])
    e_active = Signal(bool(0))

    @always_comb
    def where():
        is_data.next = (w_row >= y_pad_0 and w_row < y_data_end
                        and w_col >= x_pad_0 and w_col < x_data_end)
        beat_we.next = 1 << w_beat
        e_active.next = y_total != 0 and x_total != 0

    @always_comb
    def write_port():
        data_ready.next = 0
        advance.next = 0
        we.next = 0
        wdata.next = 0
        waddr.next = w_addr
        if w_active:
            if is_data:
                data_ready.next = 1
                if data_valid:
                    we.next = beat_we
                    wdata.next = rep
                    if w_beat + 1 == elem_beats:
                        advance.next = 1
            else:
                we.next = zero_all
                advance.next = 1

    @always(clk.posedge)
    def seq():
        if rst:
            rq_rows.next = 0
            w_active.next = 0
            busy.next = 0
        elif start:
            rq_rows.next = y_size if x_size != 0 else 0
            rq_addr.next = dram_addr
            w_row.next = 0
            w_col.next = 0
            w_beat.next = 0
            w_addr.next = sram_base
            w_active.next = e_active
            busy.next = e_active
        else:
            if req_ready and rq_rows != 0:
                rq_rows.next = rq_rows - 1
                rq_addr.next = rq_addr + stride_bytes
            if w_active and is_data and data_valid:
                if w_beat + 1 == elem_beats:
                    w_beat.next = 0
                else:
                    w_beat.next = w_beat + 1
            if advance:
                w_addr.next = w_addr + 1
                if w_col + 1 == x_total:
                    w_col.next = 0
                    if w_row + 1 == y_total:
                        w_active.next = 0
                        busy.next = 0
                    else:
                        w_row.next = w_row + 1
                else:
                    w_col.next = w_col + 1

    return sizes, req_out, where, write_port, seq


@block
def load_unit(cfg, clk, rst, cmd, g2l, l2g, rd, inp_w, wgt_w, busy):
    """Executes LOAD INP/WGT from ``cmd`` (CommandQueue): pop g2l if pop_next, load through
    ``rd`` (ReadPort) into the inp or wgt buffer (SramWrite), push l2g if push_next."""
    inp_beats, wgt_beats = beats(cfg, cfg.inp_bytes), beats(cfg, cfg.wgt_bytes)
    banks = max(inp_beats, wgt_beats)
    aw = max(cfg.log_inp_depth, cfg.log_wgt_depth)
    inp_sh, wgt_sh = log2(cfg.inp_bytes), log2(cfg.wgt_bytes)
    inp_bsh, wgt_bsh = log2(inp_beats), log2(wgt_beats)

    insn = Signal(intbv(0)[INSN_BITS:])
    f = views(insn, cfg.layout.mem)
    mem_type, sram_base, dram_base = f["memory_type"], f["sram_base"], f["dram_base"]
    y_size, x_size, x_stride = f["y_size"], f["x_size"], f["x_stride"]
    y_pad_0, y_pad_1, x_pad_0, x_pad_1 = f["y_pad_0"], f["y_pad_1"], f["x_pad_0"], f["x_pad_1"]
    e_start, e_busy, retire = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    e_done = Signal(bool(0))
    ctl = unit_control(clk, rst, cmd, insn, ((f["pop_next"], g2l),), ((f["push_next"], l2g),),
                       e_done, e_start, retire, busy)
    is_inp = Signal(bool(0))
    dram_addr = Signal(modbv(0)[32:])
    stride_bytes = Signal(modbv(0)[32:])
    row_beats = Signal(intbv(0)[32:])
    elem_beats = Signal(intbv(0)[banks.bit_length() + 1:])
    yp0, yp1, xp0, xp1 = (Signal(intbv(0)[width(cfg, "mem", n):])
                          for n in ("y_pad_0", "y_pad_1", "x_pad_0", "x_pad_1"))
    we = Signal(intbv(0)[banks:])
    waddr = Signal(intbv(0)[aw:])
    wdata = Signal(intbv(0)[banks * cfg.bus_bits:])
    wdata_inp = wdata(cfg.inp_bytes * 8, 0)
    wdata_wgt = wdata(cfg.wgt_bytes * 8, 0)
    eng = load_engine(clk, rst, e_start, e_busy, sram_base, dram_addr, y_size,
                      x_size, stride_bytes, row_beats, elem_beats, yp0, yp1, xp0, xp1,
                      rd.req_valid, rd.req_ready, rd.req_addr, rd.req_beats, rd.data_valid,
                      rd.data, rd.data_ready, we, waddr, wdata)
    inp_mask, wgt_mask = (1 << inp_beats) - 1, (1 << wgt_beats) - 1

    @always_comb
    def decode():
        e_done.next = not e_busy
        is_inp.next = mem_type == MEM_INP
        if mem_type == MEM_INP:
            dram_addr.next = (dram_base << inp_sh)
            stride_bytes.next = x_stride << inp_sh
            row_beats.next = x_size << inp_bsh
            elem_beats.next = inp_beats
            yp0.next = y_pad_0
            yp1.next = y_pad_1
            xp0.next = x_pad_0
            xp1.next = x_pad_1
        else:  # WGT loads ignore padding
            dram_addr.next = (dram_base << wgt_sh)
            stride_bytes.next = x_stride << wgt_sh
            row_beats.next = x_size << wgt_bsh
            elem_beats.next = wgt_beats
            yp0.next = 0
            yp1.next = 0
            xp0.next = 0
            xp1.next = 0

    @always_comb
    def route():
        inp_w.addr.next = waddr[cfg.log_inp_depth:]
        wgt_w.addr.next = waddr[cfg.log_wgt_depth:]
        inp_w.data.next = wdata_inp
        wgt_w.data.next = wdata_wgt
        if is_inp:
            inp_w.we.next = we & inp_mask
            wgt_w.we.next = 0
        else:
            inp_w.we.next = 0
            wgt_w.we.next = we & wgt_mask

    return ctl, eng, decode, route


@block
def acc_load(cfg, clk, rst, start, f, rd, w, busy):
    """LOAD ACC (for the compute unit): the load engine with the acc buffer's element size.
    ``f``: mem-format views of the instruction, ``rd``: ReadPort, ``w``: SramWrite."""
    acc_beats = beats(cfg, cfg.acc_bytes)
    sh, bsh = log2(cfg.acc_bytes), log2(acc_beats)
    dram, stride = Signal(modbv(0)[32:]), Signal(modbv(0)[32:])
    row_beats = Signal(intbv(0)[32:])
    elem_beats = Signal(intbv(acc_beats)[acc_beats.bit_length() + 1:])
    eng = load_engine(clk, rst, start, busy, f["sram_base"], dram, f["y_size"], f["x_size"],
                      stride, row_beats, elem_beats, f["y_pad_0"], f["y_pad_1"], f["x_pad_0"],
                      f["x_pad_1"], rd.req_valid, rd.req_ready, rd.req_addr, rd.req_beats,
                      rd.data_valid, rd.data, rd.data_ready, w.we, w.addr, w.data)
    x_size, x_stride, dram_base = f["x_size"], f["x_stride"], f["dram_base"]

    @always_comb
    def args():
        dram.next = dram_base << sh
        stride.next = x_stride << sh
        row_beats.next = x_size << bsh

    return eng, args
