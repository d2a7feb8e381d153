"""Compute unit: the compute command queue, uop/acc buffers, UOP and ACC loads, GEMM and ALU.

Per instruction: TOK (wait for l2g if pop_prev and s2g if pop_next, pop them, start
the engine) -> WAIT (until the engine and pipeline drained and g2l/g2s have room for the
tokens to push; then push and, in the same cycle, take the next instruction from the
queue -> TOK, or go IDLE). This holds
for every compute-queue instruction: LOAD UOP, LOAD ACC, other loads (no-ops), GEMM,
ALU and FINISH; FINISH raises ``finish`` after its pushes.

GEMM/ALU pipeline, one micro-op issued per cycle (II=1; ALU vector-vector II=2):
  S0  loop counters (i, j, k) and index offsets; read uop[k]
  S1  indices = uop fields + offsets (mod buffer depth); GEMM reads inp/wgt;
      ALU vector-vector reads acc[src]
  S2  GEMM: multiply -> product registers;  ALU: read acc[dst], latch b (acc[src] or imm)
  S3  GEMM: adder trees -> sum registers, read acc[dst];  ALU: compute, write acc/out
  S4  GEMM: acc[dst] + sum -> write acc (0 if reset) and out (low out_bits)
Read-after-write on the acc buffer: every acc read is issued no earlier than the
cycle in which the previous micro-op writes (GEMM reads at S3, writes at S4; ALU reads
at S1/S2, writes at S3), and the buffer is made write-first by a bypass register: a
read issued in the same cycle as a write to the same entry returns the written value.
So back-to-back micro-ops on the same entry see sequential semantics without stalls.
The ALU vector-vector case needs two acc reads per micro-op on the single read port,
hence II=2; ALU with an immediate runs at II=1.
"""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, enum, intbv, modbv

from vta.isa import (MEM_ACC, MEM_UOP, OPCODE_ALU, OPCODE_FINISH, OPCODE_GEMM, OPCODE_LOAD,
                     UOP_BYTES)

from .alu import alu_core
from .fields import INSN_BITS, beats, log2, views
from .gemm import acc_update, gemm_core, sum_bits
from .load import load_engine
from .sram import sram


@block
def compute_unit(cfg, clk, rst, start, q_insn, q_valid, q_pop,
                 l2g_nonempty, l2g_pop, s2g_nonempty, s2g_pop,
                 g2l_notfull, g2l_push, g2s_notfull, g2s_push,
                 req_valid, req_ready, req_addr, req_beats, data_valid, data, data_ready,
                 inp_re, inp_raddr, inp_rdata, wgt_re, wgt_raddr, wgt_rdata,
                 out_we, out_waddr, out_wdata, busy, finish):
    L = cfg.layout
    bus = cfg.bus_bits
    lu, li, lw, la = cfg.log_uop_depth, cfg.log_inp_depth, cfg.log_wgt_depth, cfg.log_acc_depth
    ls = max(li, la)
    ab = cfg.acc_bits
    lanes = cfg.batch * cfg.block_out
    acc_w = lanes * ab
    acc_beats = beats(cfg, cfg.acc_bytes)
    upb = cfg.bus_bytes // UOP_BYTES          # micro-ops per bus beat
    uop_bits = UOP_BYTES * 8

    insn = Signal(intbv(0)[INSN_BITS:])
    m = views(insn, L.mem)
    g = views(insn, L.gemm)
    a = views(insn, L.alu)
    opcode, mem_type = m["opcode"], m["memory_type"]
    pop_prev, pop_next, push_prev, push_next = m["pop_prev"], m["pop_next"], m["push_prev"], m["push_next"]
    sram_base, dram_base = m["sram_base"], m["dram_base"]
    dbf = L.field("mem", "dram_base")
    upb_log0 = log2(cfg.bus_bytes // UOP_BYTES)
    if upb_log0:
        dram_lo = insn(dbf.lo + upb_log0, dbf.lo)   # micro-op index within a beat
    y_size, x_size, x_stride = m["y_size"], m["x_size"], m["x_stride"]
    y_pad_0, y_pad_1, x_pad_0, x_pad_1 = m["y_pad_0"], m["y_pad_1"], m["x_pad_0"], m["x_pad_1"]
    reset_f, uop_bgn, uop_end = g["reset"], g["uop_bgn"], g["uop_end"]
    iter_out, iter_in = g["iter_out"], g["iter_in"]
    dfo, dfi = g["dst_factor_out"], g["dst_factor_in"]
    g_sfo, g_sfi, wfo, wfi = g["src_factor_out"], g["src_factor_in"], g["wgt_factor_out"], g["wgt_factor_in"]
    a_sfo, a_sfi = a["src_factor_out"], a["src_factor_in"]
    alu_op, use_imm, imm = a["alu_opcode"], a["use_imm"], a["imm"]

    st = enum("IDLE", "TOK", "WAIT")
    state = Signal(st.IDLE)
    is_gemm, is_alu, is_uop, is_acc, is_fin, vv = (Signal(bool(0)) for _ in range(6))
    tok_ok, go = Signal(bool(0)), Signal(bool(0))
    drained, push_ok, retire = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))

    # ---- buffers -------------------------------------------------------------------
    uop_we = Signal(intbv(0)[1:])
    uop_waddr, uop_raddr = Signal(modbv(0)[lu:]), Signal(modbv(0)[lu:])
    uop_wdata, uop_rdata = Signal(intbv(0)[uop_bits:]), Signal(intbv(0)[uop_bits:])
    uop_re = Signal(bool(0))
    uop_mem = sram(clk, uop_we, uop_waddr, uop_wdata, uop_re, uop_raddr, uop_rdata, cfg.uop_depth)

    acc_we = Signal(intbv(0)[acc_beats:])
    acc_waddr, acc_raddr = Signal(modbv(0)[la:]), Signal(modbv(0)[la:])
    acc_wdata, acc_rdata = Signal(intbv(0)[acc_w:]), Signal(intbv(0)[acc_w:])
    acc_re = Signal(bool(0))
    acc_mem = sram(clk, acc_we, acc_waddr, acc_wdata, acc_re, acc_raddr, acc_rdata,
                   cfg.acc_depth, acc_beats)

    # ---- ACC load engine (shared with the load unit's INP/WGT loads) --------------
    acc_start, acc_busy = Signal(bool(0)), Signal(bool(0))
    acc_dram, acc_stride = Signal(modbv(0)[32:]), Signal(modbv(0)[32:])
    acc_row_beats, acc_ebeats = Signal(intbv(0)[32:]), Signal(intbv(acc_beats)[acc_beats.bit_length() + 1:])
    e_we = Signal(intbv(0)[acc_beats:])
    e_waddr, e_wdata = Signal(modbv(0)[la:]), Signal(intbv(0)[acc_w:])
    e_req_valid, e_data_ready = Signal(bool(0)), Signal(bool(0))
    e_req_addr, e_req_beats = Signal(intbv(0)[32:]), Signal(intbv(0)[32:])
    acc_eng = load_engine(clk, rst, acc_start, acc_busy, sram_base, acc_dram, y_size, x_size,
                          acc_stride, acc_row_beats, acc_ebeats, y_pad_0, y_pad_1, x_pad_0, x_pad_1,
                          e_req_valid, req_ready, e_req_addr, e_req_beats, data_valid, data,
                          e_data_ready, e_we, e_waddr, e_wdata)
    acc_sh, acc_bsh = log2(cfg.acc_bytes), log2(acc_beats)

    # ---- UOP load ---------------------------------------------------------------------
    upb_log = log2(upb)
    u_start, u_busy, u_req_on = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    u_left = Signal(intbv(0)[len(x_size):])                 # micro-ops still to write
    u_cnt = Signal(intbv(0, min=0, max=upb + 1))   # micro-ops left in the beat latch
    u_sh = Signal(intbv(0)[bus:])
    u_first = Signal(bool(0))
    u_addr = Signal(modbv(0)[lu:])
    u_skip = Signal(intbv(0)[max(1, upb_log):])    # micro-ops to skip in the first beat
    u_req_addr = Signal(modbv(0)[32:])
    u_req_beats = Signal(intbv(0)[32:])
    u_take, u_write = Signal(bool(0)), Signal(bool(0))

    # ---- loop generator (S0) and pipeline ------------------------------------------
    lg_active, hold = Signal(bool(0)), Signal(bool(0))
    k = Signal(intbv(0)[lu + 1:])
    i_cnt, j_cnt = Signal(intbv(0)[len(iter_out):]), Signal(intbv(0)[len(iter_in):])
    od_o, od_i = Signal(modbv(0)[la:]), Signal(modbv(0)[la:])
    os_o, os_i = Signal(modbv(0)[ls:]), Signal(modbv(0)[ls:])
    ow_o, ow_i = Signal(modbv(0)[lw:]), Signal(modbv(0)[lw:])
    sfo, sfi = Signal(intbv(0)[ls:]), Signal(intbv(0)[ls:])
    issue = Signal(bool(0))
    v1, v2, v3, v4 = (Signal(bool(0)) for _ in range(4))
    offd1, offs1, offw1 = Signal(modbv(0)[la:]), Signal(modbv(0)[ls:]), Signal(modbv(0)[lw:])
    uf = {f.name: uop_rdata(f.hi, f.lo) for f in L.uop}
    u_dst, u_src, u_wgt = uf["dst_idx"], uf["src_idx"], uf["wgt_idx"]
    dst1, src_a1 = Signal(modbv(0)[la:]), Signal(modbv(0)[la:])
    src_i1, wgt1 = Signal(modbv(0)[li:]), Signal(modbv(0)[lw:])
    dst2, dst3, dst4 = (Signal(modbv(0)[la:]) for _ in range(3))

    # acc read with write-first bypass
    wb_we = Signal(bool(0))
    wb_addr = Signal(modbv(0)[la:])
    wb_res = Signal(intbv(0)[acc_w:])
    wb_acc = Signal(intbv(0)[acc_w:])
    byp_hit = Signal(bool(0))
    byp_data = Signal(intbv(0)[acc_w:])
    acc_eff = Signal(intbv(0)[acc_w:])

    # GEMM
    sums = Signal(intbv(0)[lanes * sum_bits(cfg):])
    gemm_new = Signal(intbv(0)[acc_w:])
    gemm_dp = gemm_core(cfg, clk, inp_rdata, wgt_rdata, sums)
    gemm_acc = acc_update(cfg, acc_eff, sums, gemm_new)
    # ALU
    b_reg = Signal(intbv(0)[acc_w:])
    imm_ext = Signal(modbv(0)[ab:])
    imm_vec = ConcatSignal(*([imm_ext] * lanes)) if lanes > 1 else imm_ext
    alu_res = Signal(intbv(0)[acc_w:])
    alu_dp = alu_core(cfg, alu_op, acc_eff, b_reg, alu_res)
    ob = cfg.out_bits
    out_lanes = [wb_res(kk * ab + ob, kk * ab) for kk in range(lanes)]
    out_cat = ConcatSignal(*reversed(out_lanes)) if lanes > 1 else out_lanes[0]

    @always_comb
    def decode():
        is_gemm.next = opcode == OPCODE_GEMM
        is_alu.next = opcode == OPCODE_ALU
        is_uop.next = opcode == OPCODE_LOAD and mem_type == MEM_UOP
        is_acc.next = opcode == OPCODE_LOAD and mem_type == MEM_ACC
        is_fin.next = opcode == OPCODE_FINISH
        vv.next = opcode == OPCODE_ALU and use_imm == 0
        tok_ok.next = (pop_prev == 0 or l2g_nonempty) and (pop_next == 0 or s2g_nonempty)
        if opcode == OPCODE_ALU:
            sfo.next = a_sfo
            sfi.next = a_sfi
        else:
            sfo.next = g_sfo
            sfi.next = g_sfi
        imm_ext.next = imm.signed()

    @always_comb
    def ctrl():
        drained.next = not (acc_busy or u_busy or lg_active or v1 or v2 or v3 or v4)
        push_ok.next = (push_prev == 0 or g2l_notfull) and (push_next == 0 or g2s_notfull)
        go.next = state == st.TOK and tok_ok
        l2g_pop.next = state == st.TOK and tok_ok and pop_prev == 1
        s2g_pop.next = state == st.TOK and tok_ok and pop_next == 1
        busy.next = state != st.IDLE

    @always_comb
    def retire_step():
        # the last cycle of an instruction: drained, room for its tokens -> push them and
        # take the next instruction in the same cycle
        retire.next = state == st.WAIT and drained and push_ok
        g2l_push.next = state == st.WAIT and drained and push_ok and push_prev == 1
        g2s_push.next = state == st.WAIT and drained and push_ok and push_next == 1
        q_pop.next = (state == st.IDLE or (state == st.WAIT and drained and push_ok)) and q_valid

    @always_comb
    def starts():
        acc_start.next = go and is_acc
        u_start.next = go and is_uop

    @always(clk.posedge)
    def fsm():
        if rst:
            state.next = st.IDLE
            finish.next = 0
        else:
            if start:
                finish.next = 0
            if state == st.IDLE:
                if q_valid:
                    insn.next = q_insn
                    state.next = st.TOK
            elif state == st.TOK:
                if tok_ok:
                    state.next = st.WAIT
            elif retire:
                if is_fin:
                    finish.next = 1
                if q_valid:
                    insn.next = q_insn
                    state.next = st.TOK
                else:
                    state.next = st.IDLE

    # ---- ACC load wiring ------------------------------------------------------------
    @always_comb
    def acc_load_args():
        acc_dram.next = dram_base << acc_sh
        acc_stride.next = x_stride << acc_sh
        acc_row_beats.next = x_size << acc_bsh

    # ---- UOP load -----------------------------------------------------------------------
    u_plan_addr = Signal(modbv(0)[32:])
    u_plan_skip = Signal(intbv(0)[max(1, upb_log):])
    u_plan_beats = Signal(intbv(0)[32:])
    if upb > 1:   # several micro-ops per beat: start at the aligned beat, skip the first ones
        @always_comb
        def uop_plan():
            u_plan_addr.next = (dram_base >> upb_log) << (upb_log + 2)
            u_plan_skip.next = dram_lo
            u_plan_beats.next = (x_size + dram_lo + (upb - 1)) >> upb_log
    else:
        @always_comb
        def uop_plan():
            u_plan_addr.next = dram_base << 2
            u_plan_skip.next = 0
            u_plan_beats.next = x_size

    @always_comb
    def uop_load_comb():
        u_take.next = u_busy and not u_req_on and data_valid and (
            u_cnt == 0 or (u_cnt == 1 and u_left != 0))
        u_write.next = u_busy and u_cnt != 0 and u_left != 0

    @always(clk.posedge)
    def uop_load():
        if rst:
            u_busy.next = 0
            u_req_on.next = 0
        elif u_start:
            u_busy.next = x_size != 0
            u_req_on.next = x_size != 0
            u_left.next = x_size
            u_cnt.next = 0
            u_first.next = 1
            u_addr.next = sram_base
            # aligned beat address, micro-ops to skip, beats to read (see uop_plan)
            u_req_addr.next = u_plan_addr
            u_skip.next = u_plan_skip
            u_req_beats.next = u_plan_beats
        else:
            if u_req_on and req_ready:
                u_req_on.next = 0
            if u_write:
                u_addr.next = u_addr + 1
                u_left.next = u_left - 1
                if u_left == 1:
                    u_busy.next = 0
            if u_take:
                if u_first:
                    u_sh.next = data >> (u_skip * uop_bits)
                    u_cnt.next = upb - u_skip
                    u_first.next = 0
                else:
                    u_sh.next = data
                    u_cnt.next = upb
            elif u_write:
                u_sh.next = u_sh >> uop_bits
                u_cnt.next = u_cnt - 1

    @always_comb
    def uop_port():
        # uop buffer: written by the UOP load, read by the loop generator (S0)
        uop_we.next = u_write
        uop_waddr.next = u_addr
        uop_wdata.next = u_sh[uop_bits:]
        uop_re.next = issue
        uop_raddr.next = k[lu:]

    @always_comb
    def rd_port():
        # one engine is active at a time; it owns the compute read port
        if u_req_on:
            req_valid.next = 1
            req_addr.next = u_req_addr
            req_beats.next = u_req_beats
        else:
            req_valid.next = e_req_valid
            req_addr.next = e_req_addr
            req_beats.next = e_req_beats
        data_ready.next = e_data_ready or (u_busy and not u_req_on and (
            u_cnt == 0 or (u_cnt == 1 and u_left != 0)))

    # ---- loop generator (S0) ------------------------------------------------------------
    @always_comb
    def s0():
        issue.next = lg_active and not hold

    @always(clk.posedge)
    def loop_gen():
        if rst:
            lg_active.next = 0
            hold.next = 0
            v1.next = 0
        elif go and (is_gemm or is_alu):
            lg_active.next = uop_end > uop_bgn and iter_out != 0 and iter_in != 0
            k.next = uop_bgn
            i_cnt.next = 0
            j_cnt.next = 0
            od_o.next = 0
            od_i.next = 0
            os_o.next = 0
            os_i.next = 0
            ow_o.next = 0
            ow_i.next = 0
            hold.next = 0
            v1.next = 0
        else:
            v1.next = issue
            hold.next = issue and vv
            if issue:
                offd1.next = od_o + od_i
                offs1.next = os_o + os_i
                offw1.next = ow_o + ow_i
                if k + 1 == uop_end:
                    k.next = uop_bgn
                    if j_cnt + 1 == iter_in:
                        j_cnt.next = 0
                        od_i.next = 0
                        os_i.next = 0
                        ow_i.next = 0
                        if i_cnt + 1 == iter_out:
                            lg_active.next = 0
                        else:
                            i_cnt.next = i_cnt + 1
                            od_o.next = od_o + dfo
                            os_o.next = os_o + sfo
                            ow_o.next = ow_o + wfo
                    else:
                        j_cnt.next = j_cnt + 1
                        od_i.next = od_i + dfi
                        os_i.next = os_i + sfi
                        ow_i.next = ow_i + wfi
                else:
                    k.next = k + 1

    # ---- S1: indices; buffer reads ---------------------------------------------------
    @always_comb
    def s1():
        dst1.next = u_dst + offd1
        src_a1.next = u_src + offs1
        src_i1.next = u_src + offs1
        wgt1.next = u_wgt + offw1
        inp_re.next = v1 and is_gemm
        wgt_re.next = v1 and is_gemm
        inp_raddr.next = src_i1
        wgt_raddr.next = wgt1

    @always_comb
    def acc_read():
        acc_re.next = 0
        acc_raddr.next = dst3
        if is_alu:
            if vv and v1:
                acc_re.next = 1
                acc_raddr.next = src_a1
            elif v2:
                acc_re.next = 1
                acc_raddr.next = dst2
        elif v3:
            acc_re.next = 1
            acc_raddr.next = dst3

    @always(clk.posedge)
    def pipe():
        if rst:
            v2.next = 0
            v3.next = 0
            v4.next = 0
        else:
            v2.next = v1
            v3.next = v2
            v4.next = v3 and is_gemm
        dst2.next = dst1
        dst3.next = dst2
        dst4.next = dst3
        if acc_re:
            byp_hit.next = wb_we and wb_addr == acc_raddr
            byp_data.next = wb_acc
        if v2:
            if use_imm:
                b_reg.next = imm_vec
            else:
                b_reg.next = acc_eff

    @always_comb
    def bypass():
        if byp_hit:
            acc_eff.next = byp_data
        else:
            acc_eff.next = acc_rdata

    # ---- writeback (GEMM at S4, ALU at S3) ------------------------------------------
    @always_comb
    def writeback():
        wb_we.next = (is_gemm and v4) or (is_alu and v3)
        if is_gemm:
            wb_addr.next = dst4
            wb_res.next = gemm_new
        else:
            wb_addr.next = dst3
            wb_res.next = alu_res

    @always_comb
    def wb_data():
        if is_gemm and reset_f == 1:
            wb_acc.next = 0
        else:
            wb_acc.next = wb_res
        out_we.next = wb_we
        out_waddr.next = wb_addr
        out_wdata.next = out_cat

    @always_comb
    def acc_port():
        if acc_busy:
            acc_we.next = e_we
            acc_waddr.next = e_waddr
            acc_wdata.next = e_wdata
        else:
            if wb_we:
                acc_we.next = (1 << acc_beats) - 1
            else:
                acc_we.next = 0
            acc_waddr.next = wb_addr
            acc_wdata.next = wb_acc

    return (uop_mem, acc_mem, acc_eng, gemm_dp, gemm_acc, alu_dp, decode, ctrl, retire_step, starts, fsm,
            acc_load_args, uop_plan, uop_load_comb, uop_load, uop_port, rd_port, s0, loop_gen, s1,
            acc_read, pipe, bypass, writeback, wb_data, acc_port)
