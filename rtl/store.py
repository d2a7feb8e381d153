"""Store unit: copies rows of out-buffer entries to DRAM through the write port.

Per instruction: pop g2s if pop_prev; for each of y_size rows: one write request of
x_size * out_beats beats at (dram_base + row * x_stride) * out_bytes, then the row's
beats, one per cycle (the out buffer is read one entry ahead, so the stream does not
bubble, reads run ahead across rows); after the last row, wait until every request of
the instruction was acknowledged (wr_done), then push s2g if push_prev and take the next
instruction in the same cycle (the sequence of rtl/unit.py).
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, enum, intbv, modbv

from .fields import INSN_BITS, beats, log2, views
from .unit import unit_control


@block
def store_unit(cfg, clk, rst, cmd, g2s, s2g, wr, out_r, busy, idle):
    """Executes STOREs from ``cmd`` (CommandQueue): pop g2s if pop_prev, write the rows
    through ``wr`` (WritePort) from the out buffer (``out_r``: SramRead), push s2g if
    push_prev. ``idle``: no instruction and every write acknowledged."""
    insn = Signal(intbv(0)[INSN_BITS:])
    f = views(insn, cfg.layout.mem)
    go, retire, done = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    ctl = unit_control(clk, rst, cmd, insn, ((f["pop_prev"], g2s),), ((f["push_prev"], s2g),),
                       done, go, retire, busy)
    eng = store_engine(cfg, clk, rst, go, f, wr, out_r, done, idle, busy)
    return ctl, eng


@block
def store_engine(cfg, clk, rst, go, f, wr, out_r, done, idle, busy):
    """The rows of one STORE (fields ``f``), started by ``go``; ``done`` once every row was
    sent and acknowledged. ``idle``: not ``busy`` and no write waiting for its ``done``."""
    bus = cfg.bus_bits
    ob = beats(cfg, cfg.out_bytes)        # beats per out entry
    osh, obsh = log2(cfg.out_bytes), log2(ob)
    aw = cfg.log_out_depth
    sram_base, dram_base = f["sram_base"], f["dram_base"]
    y_size, x_size, x_stride = f["y_size"], f["x_size"], f["x_stride"]

    # REQ: present a row's request; DATA: send its beats; ACK: wait for the last wr.done
    # (and stay there, reporting done, until the next go)
    st = enum("REQ", "DATA", "ACK")
    state = Signal(st.ACK)
    rows = Signal(modbv(0)[len(y_size):])           # rows to request after the current one
    row_addr = Signal(modbv(0)[32:])
    rd_addr = Signal(modbv(0)[aw:])        # next out entry to read (entries are contiguous)
    rd_left = Signal(intbv(0)[len(x_size):])        # entries of the row being read not yet read
    rd_rows = Signal(modbv(0)[len(y_size):])        # rows to read after that one
    beats_left = Signal(intbv(0)[32:])     # beats of this row not yet sent
    a_v = Signal(bool(0))                  # out_r.data holds an entry not yet taken
    sh = Signal(intbv(0)[ob * bus:])       # entry being sent, low beat first
    b_zero, b_one = Signal(bool(1)), Signal(bool(0))   # the send register's beats: 0, 1
    outstanding = Signal(intbv(0)[17:])    # requests not yet acknowledged
    # outstanding == 0 / == 1 and rd_left != 0 as flip-flops: they decide ``done`` (->
    # retire -> the command FIFO's pop) and the out buffer's read, far from the counters
    out_none, out_one, rd_more = Signal(bool(1)), Signal(bool(0)), Signal(bool(0))
    fire, b_empty, move, rd, acked = (Signal(bool(0)) for _ in range(5))

    @always_comb
    def comb():
        idle.next = not busy and out_none
        wr.req_valid.next = state == st.REQ
        wr.req_addr.next = row_addr
        wr.req_beats.next = x_size << obsh
        wr.data_valid.next = state == st.DATA and not b_zero
        wr.data.next = sh[bus:]
        fire.next = state == st.DATA and not b_zero and wr.data_ready
        # the send register is empty after this cycle
        b_empty.next = b_zero or (b_one and state == st.DATA and wr.data_ready)
        acked.next = out_none or (out_one and wr.done)

    @always_comb
    def comb2():
        move.next = b_empty and a_v
        # read the next entry when the read register is free after this cycle; the reader
        # runs ahead across rows (the out entries of a STORE are contiguous)
        rd.next = (state == st.REQ or state == st.DATA) and rd_more and (not a_v or b_empty)
        done.next = state == st.ACK and acked
        out_r.re.next = rd
        out_r.addr.next = rd_addr

    @always(clk.posedge)
    def seq():
        if rst:
            state.next = st.ACK
            outstanding.next = 0
            out_none.next = 1
            out_one.next = 0
            a_v.next = 0
            rd_left.next = 0
            rd_more.next = 0
        else:
            if state == st.REQ and wr.req_ready:
                if not wr.done:
                    outstanding.next = outstanding + 1
                    out_none.next = 0
                    out_one.next = out_none
            elif wr.done:
                outstanding.next = outstanding - 1
                out_none.next = out_one
                out_one.next = outstanding == 2
            if rd:
                rd_addr.next = rd_addr + 1
                a_v.next = 1
                if rd_left == 1 and rd_rows != 0:
                    rd_left.next = x_size
                    rd_rows.next = rd_rows - 1
                else:
                    rd_left.next = rd_left - 1
                    rd_more.next = rd_left != 1
            elif move:
                a_v.next = 0
            if state == st.ACK:
                # between STOREs the row registers track the instruction's fields every
                # cycle, so ``go`` (late: it waits for the token) only changes the state
                row_addr.next = dram_base << osh
                rd_addr.next = sram_base
                beats_left.next = x_size << obsh
                rd_left.next = x_size
                rd_more.next = x_size != 0
                rd_rows.next = y_size - 1
                rows.next = y_size - 1
                if go and y_size != 0 and x_size != 0:
                    state.next = st.REQ
            elif state == st.REQ:
                if wr.req_ready:
                    state.next = st.DATA
            else:   # DATA
                if fire:
                    beats_left.next = beats_left - 1
                    if beats_left == 1:
                        beats_left.next = x_size << obsh
                        if rows == 0:
                            state.next = st.ACK
                        else:
                            state.next = st.REQ
                            rows.next = rows - 1
                            row_addr.next = row_addr + (x_stride << osh)

    send = send_register(clk, rst, move, fire, out_r.data, sh, b_zero, b_one, ob, bus)
    return comb, comb2, seq, send


@block
def send_register(clk, rst, move, fire, entry, sh, b_zero, b_one, ob, bus):
    """The entry being sent, low beat first: loaded with ``entry`` on ``move``, shifted a
    beat on ``fire``. Its beat count's "== 0" and "== 1" are flip-flops (``b_zero``,
    ``b_one``): with W's ready they decide whether the register frees, which decides the out
    buffer's read and its address and counters' enables."""
    b_cnt = Signal(intbv(0, min=0, max=ob + 1))

    @always(clk.posedge)
    def seq():
        if rst:
            b_cnt.next = 0
            b_zero.next = 1
            b_one.next = 0
        elif move:
            sh.next = entry
            b_cnt.next = ob
            b_zero.next = 0
            b_one.next = ob == 1
        elif fire:
            sh.next = sh >> bus
            b_cnt.next = b_cnt - 1
            b_zero.next = b_one
            b_one.next = b_cnt == 2

    return seq
