"""Load unit (INP/WGT loads) and the 2-D strided, zero-padding load engine it shares
with compute's ACC loads.

Engine timing (per instruction, after ``start``): row requests go out back to back on
the read port (one request per data row, x_size elements = x_size*elem_beats beats), as
fast as the port accepts them. Independently, the SRAM is written in entry order, one
write per cycle: a zero entry (padding) costs one cycle, a data entry costs elem_beats
cycles (one beat per cycle into its bank). So a padded tile costs
(y_pad_0 + y_size + y_pad_1) * x_pad_total zero cycles + y_size*x_size*elem_beats data
beats, plus the first request's latency.

The load unit runs the two sides as two stages (rtl/README.md "Load unit"): the request
stage pops the instruction's tokens and issues its rows, then moves on to the next LOAD
while the write stage still writes the previous one's data, so DRAM latency is paid once
per stream of LOADs rather than once per LOAD.
"""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, enum, intbv, modbv

from vta.isa import MEM_INP

from .fields import INSN_BITS, beats, log2, views, width


@block
def row_requests(clk, rst, start, busy, dram_addr, y_size, x_size, stride_bytes, row_beats,
                 req_valid, req_ready, req_addr, req_beats):
    """Request side of a tile load: y_size row requests of row_beats beats from dram_addr,
    stride_bytes apart, back to back after the one-cycle ``start`` (none when x_size = 0);
    ``busy`` while a request is left. Inputs are read at ``start`` and while ``busy``
    (``start`` comes while idle)."""
    rq_rows = Signal(intbv(0)[len(y_size):])
    rq_addr = Signal(modbv(0)[32:])
    # rq_rows != 0 as a flip-flop: req_valid goes to the AXI master's arbiter and on to
    # its request registers, across the chip
    pending = Signal(bool(0))

    @always_comb
    def req_out():
        req_valid.next = pending
        req_addr.next = rq_addr
        req_beats.next = row_beats
        busy.next = pending

    @always(clk.posedge)
    def seq():
        if rst:
            rq_rows.next = 0
            pending.next = 0
        elif not pending:
            # idle: the address tracks the input, so ``start`` only sets the row count
            rq_addr.next = dram_addr
            if start and x_size != 0:
                rq_rows.next = y_size
                pending.next = y_size != 0
        elif req_ready:
            rq_rows.next = rq_rows - 1
            pending.next = rq_rows != 1
            rq_addr.next = rq_addr + stride_bytes

    return req_out, seq


@block
def tile_axis(clk, load, step, pad_0, size, pad_1, inside, last):
    """One axis of a padded tile, walked in order: a position p in 0..total-1 (total =
    pad_0 + size + pad_1); ``inside`` = p is a data position (pad_0 <= p < pad_0 + size),
    ``last`` = p is total - 1. ``load`` (while the writer is idle, every cycle) puts the
    axis at 0 with the inputs' bounds; ``step`` moves it on, from the last back to 0.

    Both flags are flip-flops and each step compares the position for equality with bounds
    registered at load (minus one or two), so no adder is followed by a comparator in the
    cycle: ``inside`` feeds the AXI master's RREADY (tile_writer's data_ready)."""
    bits = len(size) + 2                      # positions including both pads
    p = Signal(intbv(0)[bits:])
    lo_m1, end_m1, total_m2 = (Signal(modbv(0)[bits:]) for _ in range(3))
    enters, inside_0, one, one_in = (Signal(bool(0)) for _ in range(4))

    @always_comb
    def single():
        # total == 1 without the adder: exactly one part is 1, the others 0
        one_in.next = ((pad_0 == 1 and size == 0 and pad_1 == 0)
                       or (pad_0 == 0 and size == 1 and pad_1 == 0)
                       or (pad_0 == 0 and size == 0 and pad_1 == 1))

    @always(clk.posedge)
    def walk():
        if load:
            p.next = 0
            lo_m1.next = pad_0 - 1
            end_m1.next = pad_0 + size - 1
            total_m2.next = pad_0 + size + pad_1 - 2
            enters.next = pad_0 != 0 and size != 0    # the data start after position 0
            inside_0.next = pad_0 == 0 and size != 0
            inside.next = pad_0 == 0 and size != 0
            one.next = one_in
            last.next = one_in
        elif step:
            if last:
                p.next = 0
                inside.next = inside_0
                last.next = one
            else:
                p.next = p + 1
                if enters and p == lo_m1:
                    inside.next = 1
                elif p == end_m1:
                    inside.next = 0
                last.next = p == total_m2

    return single, walk


@block
def tile_has_entry(y_pad_0, y_size, y_pad_1, x_pad_0, x_size, x_pad_1, any_entry):
    """``any_entry``: the padded tile has at least one entry (combinational)."""

    @always_comb
    def entries():
        # a total is nonzero when any of its parts is (no adder)
        any_entry.next = (y_pad_0 != 0 or y_size != 0 or y_pad_1 != 0) and (
            x_pad_0 != 0 or x_size != 0 or x_pad_1 != 0)

    return entries


@block
def tile_writer(clk, rst, start, busy, sram_base, y_size, x_size, elem_beats,
                y_pad_0, y_pad_1, x_pad_0, x_pad_1, data_valid, data, data_ready,
                we, waddr, wdata, nonempty=None):
    """SRAM-write side of a tile load: the padded tile in entry order, one write per cycle
    (a zero entry: one all-bank write; a data entry: elem_beats writes as its beats arrive).
    ``busy`` from the cycle after ``start`` to the last write (stays 0 for an empty tile).
    ``start`` comes while idle; the inputs are valid in its cycle and stable while busy.

    For timing, whether the current entry is data and whether it ends its row, the tile or
    its element are flip-flops (tile_axis): ``data_ready`` feeds the AXI master's RREADY,
    so it is one AND of registers rather than the pad adders and comparators behind it.
    While idle, the writer tracks its inputs every cycle, so ``start`` (late in compute's
    ACC load: it waits for the tokens) only starts it. ``nonempty``: whether the padded
    tile has an entry, when the caller keeps it as a register (decoded with the
    instruction); by default it is computed here from the sizes and pads."""
    banks = len(we)
    aw = len(waddr)
    beat_bits = banks.bit_length() + 1
    w_active, idle, col_step, row_step = (Signal(bool(0)) for _ in range(4))
    w_addr = Signal(modbv(0)[aw:])
    w_beat = Signal(intbv(0)[beat_bits:])
    n_beats = Signal(intbv(0)[beat_bits:])
    row_in, col_in, row_last, col_last, beat_last = (Signal(bool(0)) for _ in range(5))
    rows = tile_axis(clk, idle, row_step, y_pad_0, y_size, y_pad_1, row_in, row_last)
    cols = tile_axis(clk, idle, col_step, x_pad_0, x_size, x_pad_1, col_in, col_last)
    is_data, advance = Signal(bool(0)), Signal(bool(0))
    given = nonempty is not None
    e_active = nonempty if given else Signal(bool(0))
    rep = ConcatSignal(*([data] * banks)) if banks > 1 else data
    zero_all = (1 << banks) - 1
    beat_we = Signal(intbv(0)[banks:])

    @always_comb
    def steps():
        idle.next = not w_active
        col_step.next = advance
        row_step.next = advance and col_last

    entries = None if given else tile_has_entry(y_pad_0, y_size, y_pad_1, x_pad_0, x_size,
                                                x_pad_1, e_active)

    @always_comb
    def where():
        is_data.next = row_in and col_in
        beat_we.next = 1 << w_beat

    @always_comb
    def write_port():
        data_ready.next = 0
        advance.next = 0
        we.next = 0
        wdata.next = 0
        waddr.next = w_addr
        if is_data:
            # the data does not wait for data_valid (the write enable does): the beat's
            # path to the far-away buffers starts at R's register slice
            wdata.next = rep
        if w_active:
            if is_data:
                data_ready.next = 1
                if data_valid:
                    we.next = beat_we
                    if beat_last:
                        advance.next = 1
            else:
                we.next = zero_all
                advance.next = 1

    @always(clk.posedge)
    def seq():
        if rst:
            w_active.next = 0
            busy.next = 0
        elif not w_active:
            w_beat.next = 0
            w_addr.next = sram_base
            w_active.next = start and e_active
            busy.next = start and e_active
            n_beats.next = elem_beats
            beat_last.next = elem_beats == 1
        else:
            if is_data and data_valid:
                if beat_last:
                    w_beat.next = 0
                    beat_last.next = n_beats == 1
                else:
                    w_beat.next = w_beat + 1
                    beat_last.next = w_beat + 2 == n_beats
            if advance:
                w_addr.next = w_addr + 1
                if col_last and row_last:
                    w_active.next = 0
                    busy.next = 0

    return [x for x in (rows, cols, steps, entries, where, write_port, seq) if x is not None]


@block
def load_engine(clk, rst, start, busy,
                sram_base, dram_addr, y_size, x_size, stride_bytes, row_beats, elem_beats,
                y_pad_0, y_pad_1, x_pad_0, x_pad_1,
                req_valid, req_ready, req_addr, req_beats, data_valid, data, data_ready,
                we, waddr, wdata, nonempty=None):
    """Copy a padded 2-D tile from DRAM into a banked SRAM (see the module docstring): the
    request side and the write side started together (``nonempty``: see tile_writer).

    Inputs must stay stable while ``busy``; ``start`` is a one-cycle pulse and ``busy``
    rises on the next cycle (unless the tile is empty). ``we`` has one bit per bank;
    ``elem_beats`` (<= banks) beats make one entry. ``busy`` follows the write side (the
    last write comes after the last request).
    """
    r_busy = Signal(bool(0))
    req = row_requests(clk, rst, start, r_busy, dram_addr, y_size, x_size, stride_bytes,
                       row_beats, req_valid, req_ready, req_addr, req_beats)
    wrt = tile_writer(clk, rst, start, busy, sram_base, y_size, x_size, elem_beats,
                      y_pad_0, y_pad_1, x_pad_0, x_pad_1, data_valid, data, data_ready,
                      we, waddr, wdata, nonempty)
    return req, wrt


@block
def load_decode(cfg, a_type, b_type, a_dram, a_stride, a_xs, b_yp0, b_yp1, b_xp0, b_xp1,
                dram_addr, stride_bytes, row_beats, elem_beats, yp0, yp1, xp0, xp1):
    """Load unit decode: the request stage's DRAM rows (``a_*``: its instruction's fields)
    and the write stage's element size and pads (``b_*``; WGT ignores the pads)."""
    inp_beats, wgt_beats = beats(cfg, cfg.inp_bytes), beats(cfg, cfg.wgt_bytes)
    inp_sh, wgt_sh = log2(cfg.inp_bytes), log2(cfg.wgt_bytes)
    inp_bsh, wgt_bsh = log2(inp_beats), log2(wgt_beats)

    @always_comb
    def decode_a():
        if a_type == MEM_INP:
            dram_addr.next = (a_dram << inp_sh)
            stride_bytes.next = a_stride << inp_sh
            row_beats.next = a_xs << inp_bsh
        else:
            dram_addr.next = (a_dram << wgt_sh)
            stride_bytes.next = a_stride << wgt_sh
            row_beats.next = a_xs << wgt_bsh

    @always_comb
    def decode_b():
        if b_type == MEM_INP:
            elem_beats.next = inp_beats
            yp0.next = b_yp0
            yp1.next = b_yp1
            xp0.next = b_xp0
            xp1.next = b_xp1
        else:  # WGT loads ignore padding
            elem_beats.next = wgt_beats
            yp0.next = 0
            yp1.next = 0
            xp0.next = 0
            xp1.next = 0

    return decode_a, decode_b


@block
def load_route(cfg, b_type, we, waddr, wdata, inp_w, wgt_w):
    """The load unit's SRAM writes to the inp or the wgt buffer (the write stage's type)."""
    inp_beats, wgt_beats = beats(cfg, cfg.inp_bytes), beats(cfg, cfg.wgt_bytes)
    inp_mask, wgt_mask = (1 << inp_beats) - 1, (1 << wgt_beats) - 1
    wdata_inp = wdata(cfg.inp_bytes * 8, 0)
    wdata_wgt = wdata(cfg.wgt_bytes * 8, 0)

    @always_comb
    def route():
        inp_w.addr.next = waddr[cfg.log_inp_depth:]
        wgt_w.addr.next = waddr[cfg.log_wgt_depth:]
        inp_w.data.next = wdata_inp
        wgt_w.data.next = wdata_wgt
        if b_type == MEM_INP:
            inp_w.we.next = we & inp_mask
            wgt_w.we.next = 0
        else:
            inp_w.we.next = 0
            wgt_w.we.next = we & wgt_mask

    return route


@block
def load_unit(cfg, clk, rst, cmd, g2l, l2g, rd, inp_w, wgt_w, busy):
    """Executes LOAD INP/WGT from ``cmd`` (CommandQueue): pop g2l if pop_next, load through
    ``rd`` (ReadPort) into the inp or wgt buffer (SramWrite), push l2g if push_next.

    Two stages, so the row requests of the next instruction go out while the data of the
    previous one still arrive (see the module docstring): the request stage (``insn_a``:
    IDLE -> TOK -> REQ) pops the tokens and issues the rows, then hands the instruction to
    the write stage (``insn_b``: IDLE -> START -> RUN), which writes the SRAM and retires
    (pushes l2g)."""
    inp_beats, wgt_beats = beats(cfg, cfg.inp_bytes), beats(cfg, cfg.wgt_bytes)
    banks = max(inp_beats, wgt_beats)
    aw = max(cfg.log_inp_depth, cfg.log_wgt_depth)

    insn_a = Signal(intbv(0)[INSN_BITS:])   # request stage
    insn_b = Signal(intbv(0)[INSN_BITS:])   # write stage
    fa, fb = views(insn_a, cfg.layout.mem), views(insn_b, cfg.layout.mem)
    st_a = enum("IDLE", "TOK", "REQ")
    st_b = enum("IDLE", "START", "RUN")
    a_state, b_state = Signal(st_a.IDLE), Signal(st_b.IDLE)
    handed = Signal(bool(0))                # insn_a was taken by the write stage
    tok_ok, go, take, retire, a_done, r_busy, w_busy = (Signal(bool(0)) for _ in range(7))
    a_type, b_type = fa["memory_type"], fb["memory_type"]
    a_pop, b_push = fa["pop_next"], fb["push_next"]
    a_dram, a_stride, a_xs = fa["dram_base"], fa["x_stride"], fa["x_size"]
    b_yp0, b_yp1, b_xp0, b_xp1 = fb["y_pad_0"], fb["y_pad_1"], fb["x_pad_0"], fb["x_pad_1"]

    dram_addr = Signal(modbv(0)[32:])
    stride_bytes = Signal(modbv(0)[32:])
    row_beats = Signal(intbv(0)[32:])
    elem_beats = Signal(intbv(0)[banks.bit_length() + 1:])
    yp0, yp1, xp0, xp1 = (Signal(intbv(0)[width(cfg, "mem", n):])
                          for n in ("y_pad_0", "y_pad_1", "x_pad_0", "x_pad_1"))
    we = Signal(intbv(0)[banks:])
    waddr = Signal(intbv(0)[aw:])
    wdata = Signal(intbv(0)[banks * cfg.bus_bits:])
    w_start = Signal(bool(0))
    req = row_requests(clk, rst, go, r_busy, dram_addr, fa["y_size"], fa["x_size"],
                       stride_bytes, row_beats, rd.req_valid, rd.req_ready, rd.req_addr,
                       rd.req_beats)
    wrt = tile_writer(clk, rst, w_start, w_busy, fb["sram_base"], fb["y_size"], fb["x_size"],
                      elem_beats, yp0, yp1, xp0, xp1, rd.data_valid, rd.data, rd.data_ready,
                      we, waddr, wdata)

    dec = load_decode(cfg, a_type, b_type, a_dram, a_stride, a_xs, b_yp0, b_yp1, b_xp0, b_xp1,
                      dram_addr, stride_bytes, row_beats, elem_beats, yp0, yp1, xp0, xp1)

    b_free = Signal(bool(0))
    push_ok = Signal(bool(0))

    @always_comb
    def conditions():
        # Deadlock rule: rows go out only if their data will be accepted without waiting on
        # another unit. The write stage's one l2g push cannot block if the queue has room
        # now (only this unit pushes l2g), so the next rows wait for that room.
        tok_ok.next = (a_pop == 0 or g2l.nonempty) and (
            b_state == st_b.IDLE or b_push == 0 or l2g.notfull)
        push_ok.next = b_push == 0 or l2g.notfull

    @always_comb
    def control():
        go.next = a_state == st_a.TOK and tok_ok
        g2l.pop.next = a_state == st_a.TOK and tok_ok and a_pop == 1
        retire.next = b_state == st_b.RUN and not w_busy and push_ok
        # the write stage is free now, or frees up in this cycle
        b_free.next = b_state == st_b.IDLE or (b_state == st_b.RUN and not w_busy and push_ok)
        w_start.next = b_state == st_b.START
        busy.next = a_state != st_a.IDLE or b_state != st_b.IDLE

    @always_comb
    def handoff():
        l2g.push.next = retire and b_push == 1
        # the write stage takes a started instruction when it is free
        take.next = (go or (a_state == st_a.REQ and not handed)) and b_free

    @always_comb
    def next_insn():
        # the request stage is free once its rows went out and the write stage has it (in
        # REQ, ``take`` is ``b_free and not handed``: spelled so, the token queues' flags
        # behind ``go`` are not in front of the instruction register's load)
        a_done.next = a_state == st_a.REQ and not r_busy and (handed or b_free)
        cmd.pop.next = (a_state == st_a.IDLE or (a_state == st_a.REQ and not r_busy
                                                  and (handed or b_free))) and cmd.valid

    @always(clk.posedge)
    def fsm():
        if rst:
            a_state.next = st_a.IDLE
            b_state.next = st_b.IDLE
            handed.next = 0
        else:
            if a_state == st_a.IDLE or a_done:
                if cmd.valid:
                    insn_a.next = cmd.insn
                    a_state.next = st_a.TOK
                else:
                    a_state.next = st_a.IDLE
            elif a_state == st_a.TOK:
                if tok_ok:
                    a_state.next = st_a.REQ
                    handed.next = take
            elif take:
                handed.next = 1
            if take:
                insn_b.next = insn_a
                b_state.next = st_b.START
            elif b_state == st_b.START:
                b_state.next = st_b.RUN
            elif retire:
                b_state.next = st_b.IDLE

    rte = load_route(cfg, b_type, we, waddr, wdata, inp_w, wgt_w)
    return req, wrt, dec, rte, conditions, control, handoff, next_insn, fsm


@block
def acc_load(cfg, clk, rst, start, f, rd, w, busy, nonempty):
    """LOAD ACC (for the compute unit): the load engine with the acc buffer's element size.
    ``f``: mem-format views of the instruction, ``rd``: ReadPort, ``w``: SramWrite,
    ``nonempty``: the padded tile has an entry (a register decoded with the instruction)."""
    acc_beats = beats(cfg, cfg.acc_bytes)
    sh, bsh = log2(cfg.acc_bytes), log2(acc_beats)
    dram, stride = Signal(modbv(0)[32:]), Signal(modbv(0)[32:])
    row_beats = Signal(intbv(0)[32:])
    elem_beats = Signal(intbv(acc_beats)[acc_beats.bit_length() + 1:])
    eng = load_engine(clk, rst, start, busy, f["sram_base"], dram, f["y_size"], f["x_size"],
                      stride, row_beats, elem_beats, f["y_pad_0"], f["y_pad_1"], f["x_pad_0"],
                      f["x_pad_1"], rd.req_valid, rd.req_ready, rd.req_addr, rd.req_beats,
                      rd.data_valid, rd.data, rd.data_ready, w.we, w.addr, w.data, nonempty)
    x_size, x_stride, dram_base = f["x_size"], f["x_stride"], f["dram_base"]

    @always_comb
    def args():
        dram.next = dram_base << sh
        stride.next = x_stride << sh
        row_beats.next = x_size << bsh

    return eng, args
