"""Store unit: copies rows of out-buffer entries to DRAM through the write port.

Per instruction: pop g2s if pop_prev; for each of y_size rows: one write request of
x_size * out_beats beats at (dram_base + row * x_stride) * out_bytes, then the row's
beats, one per cycle (the out buffer is read one entry ahead, so the stream does not
bubble, reads run ahead across rows); after the last row, wait until every request of
the instruction was acknowledged (wr_done), then push s2g if push_prev and take the next
instruction in the same cycle.
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, enum, intbv, modbv

from .fields import INSN_BITS, beats, log2, views


@block
def store_unit(cfg, clk, rst, q_insn, q_valid, q_pop, g2s_nonempty, g2s_pop, s2g_notfull, s2g_push,
               req_valid, req_ready, req_addr, req_beats, data_valid, data_ready, data, wr_done,
               out_re, out_raddr, out_rdata, busy, idle):
    bus = cfg.bus_bits
    ob = beats(cfg, cfg.out_bytes)        # beats per out entry
    osh, obsh = log2(cfg.out_bytes), log2(ob)
    aw = cfg.log_out_depth
    insn = Signal(intbv(0)[INSN_BITS:])
    f = views(insn, cfg.layout.mem)
    sram_base, dram_base = f["sram_base"], f["dram_base"]
    y_size, x_size, x_stride = f["y_size"], f["x_size"], f["x_stride"]
    pop_prev, push_prev = f["pop_prev"], f["push_prev"]

    st = enum("IDLE", "TOK", "REQ", "DATA", "ACK")
    state = Signal(st.IDLE)
    rows = Signal(intbv(0)[len(y_size):])           # rows to request after the current one
    row_addr = Signal(modbv(0)[32:])
    rd_addr = Signal(modbv(0)[aw:])        # next out entry to read (entries are contiguous)
    rd_left = Signal(intbv(0)[len(x_size):])        # entries of the row being read not yet read
    rd_rows = Signal(intbv(0)[len(y_size):])        # rows to read after that one
    beats_left = Signal(intbv(0)[32:])     # beats of this row not yet sent
    a_v = Signal(bool(0))                  # out_rdata holds an entry not yet taken
    sh = Signal(intbv(0)[ob * bus:])       # entry being sent, low beat first
    b_cnt = Signal(intbv(0, min=0, max=ob + 1))
    outstanding = Signal(intbv(0)[17:])    # requests not yet acknowledged
    fire, b_empty, move, rd, acked, retire = (Signal(bool(0)) for _ in range(6))

    @always_comb
    def comb():
        g2s_pop.next = state == st.TOK and pop_prev == 1 and g2s_nonempty
        busy.next = state != st.IDLE
        idle.next = state == st.IDLE and outstanding == 0
        req_valid.next = state == st.REQ
        req_addr.next = row_addr
        req_beats.next = x_size << obsh
        data_valid.next = state == st.DATA and b_cnt != 0
        data.next = sh[bus:]
        fire.next = state == st.DATA and b_cnt != 0 and data_ready
        # the send register is empty after this cycle
        b_empty.next = b_cnt == 0 or (b_cnt == 1 and state == st.DATA and data_ready)
        acked.next = outstanding == 0 or (outstanding == 1 and wr_done)

    @always_comb
    def comb2():
        move.next = b_empty and a_v
        # read the next entry when the read register is free after this cycle; the reader
        # runs ahead across rows (the out entries of a STORE are contiguous)
        rd.next = (state == st.REQ or state == st.DATA) and rd_left != 0 and (not a_v or b_empty)
        # last cycle: every write acknowledged and room for s2g -> push, take the next one
        retire.next = state == st.ACK and acked and (push_prev == 0 or s2g_notfull)

    @always_comb
    def comb3():
        out_re.next = rd
        out_raddr.next = rd_addr
        s2g_push.next = retire and push_prev == 1
        q_pop.next = (state == st.IDLE or retire) and q_valid

    @always(clk.posedge)
    def seq():
        if rst:
            state.next = st.IDLE
            outstanding.next = 0
            a_v.next = 0
            b_cnt.next = 0
            rd_left.next = 0
        else:
            if state == st.REQ and req_ready:
                if not wr_done:
                    outstanding.next = outstanding + 1
            elif wr_done:
                outstanding.next = outstanding - 1
            if rd:
                rd_addr.next = rd_addr + 1
                a_v.next = 1
                if rd_left == 1 and rd_rows != 0:
                    rd_left.next = x_size
                    rd_rows.next = rd_rows - 1
                else:
                    rd_left.next = rd_left - 1
            elif move:
                a_v.next = 0
            if move:
                sh.next = out_rdata
                b_cnt.next = ob
            elif fire:
                sh.next = sh >> bus
                b_cnt.next = b_cnt - 1
            if state == st.IDLE:
                if q_valid:
                    insn.next = q_insn
                    state.next = st.TOK
            elif state == st.TOK:
                if pop_prev == 0 or g2s_nonempty:
                    row_addr.next = dram_base << osh
                    rd_addr.next = sram_base
                    beats_left.next = x_size << obsh
                    if y_size == 0 or x_size == 0:
                        state.next = st.ACK
                    else:
                        rd_left.next = x_size
                        rd_rows.next = y_size - 1
                        rows.next = y_size - 1
                        state.next = st.REQ
            elif state == st.REQ:
                if req_ready:
                    state.next = st.DATA
            elif state == st.DATA:
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
            elif retire:
                if q_valid:
                    insn.next = q_insn
                    state.next = st.TOK
                else:
                    state.next = st.IDLE

    return comb, comb2, comb3, seq
