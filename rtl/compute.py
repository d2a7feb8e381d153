"""Compute unit: the compute command queue, uop/acc buffers, UOP and ACC loads, GEMM and ALU.

Every compute-queue instruction (LOAD UOP, LOAD ACC, other loads (no-ops), GEMM, ALU,
FINISH) runs the unit sequence of unit.py: TOK (pop l2g if pop_prev and s2g if pop_next,
start the engine) -> RUN until the engine and the pipeline drained -> retire (push g2l if
push_prev and g2s if push_next, take the next instruction); FINISH raises ``finish`` when
it retires.

Blocks: UOP load (uops.py), ACC load (load.acc_load), loop/index generator (loops.py,
S0-S1), GEMM pipeline (gemm.gemm_pipe), ALU pipeline (alu.alu_pipe), write-back and the
acc buffer (writeback.py); this module decodes, schedules the stages and wires them.

GEMM/ALU pipeline, one micro-op issued per cycle (II=1; ALU vector-vector II=2):
  S0  loop counters (i, j, k) and index offsets; read uop[k]
  S0b uop[k] and the offsets registered (loops.py)
  S1  indices = uop fields + offsets (mod buffer depth); GEMM reads inp/wgt;
      ALU vector-vector reads acc[src]
  S2  GEMM: operand registers;  ALU: read acc[dst], latch b (acc[src] or imm)
  S3  GEMM: multiplier input registers;  ALU: register acc[dst]
  S4  GEMM: multiply -> product registers;  ALU: compare, sum, shifts -> registers
  S5  GEMM: first half of the adder trees, read acc[dst];  ALU: pick -> result register
  S6  GEMM: second half -> sum registers, register acc[dst];  ALU: write acc/out
  S7  GEMM: acc[dst] + sum -> write acc (0 if reset) and out (low out_bits)
(gemm.py has the register between each two stages; every stage holds at most one slow
element, for timing.) Read-after-write on the acc buffer: every acc read is issued at
most one cycle before the previous micro-op writes (GEMM reads at S5, writes at S7), the
buffer is write-first for a write in the read's cycle, and the register that takes the
read data takes a write of its own cycle instead (writeback.acc_operand). The ALU reads at
S1/S2 and writes at S6: the micro-op right behind one on the same dst is computed from the
result register (alu.alu_pipe's fwd_a), the one two behind takes its a from there (fwd_a2)
or, vector-vector, its b from the result being picked (fix_b). So back-to-back micro-ops
on the same entry see sequential semantics without stalls.
The ALU vector-vector case needs two acc reads per micro-op on the single read port,
hence II=2; ALU with an immediate runs at II=1.
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv, modbv

from vta.isa import MEM_ACC, MEM_UOP, OPCODE_ALU, OPCODE_FINISH, OPCODE_GEMM, OPCODE_LOAD, UOP_BYTES

from .alu import alu_pipe
from .fields import INSN_BITS, beats, views
from .gemm import ACC_READ_STAGE, WB_STAGE, gemm_pipe
from .interfaces import ReadPort, SramRead, SramWrite
from .load import acc_load, tile_has_entry
from .loops import StageOne, loop_gen
from .sram import buffer
from .unit import unit_control
from .uops import uop_load
from .writeback import AccRead, acc_buffer, acc_operand, writeback

# schedule() spells the stages out (the ALU writes back at S6): it must change with gemm.py
assert (ACC_READ_STAGE, WB_STAGE) == (5, 7)


class Stages:
    """Micro-op valid bits and acc destinations at S2..S7 (S7: GEMM only), the ALU's
    src at S2 and its result forwards, whether the write-back writes the entry the acc
    operand register takes (``opnd_hit``) or the last acc read named (``rd_hit``) and
    ``busy`` (a micro-op at S2..S7)."""

    def __init__(self, cfg):
        la = cfg.log_acc_depth
        self.v2, self.v3, self.v4, self.v5, self.v6, self.v7 = (Signal(bool(0)) for _ in range(6))
        self.dst2, self.dst3, self.dst4, self.dst5, self.dst6, self.dst7 = (
            Signal(modbv(0)[la:]) for _ in range(6))
        self.src2 = Signal(modbv(0)[la:])
        self.busy = Signal(bool(0))
        self.fwd_a, self.fwd_a2, self.fix_b = (Signal(bool(0)) for _ in range(3))   # ALU forwards
        self.opnd_hit = Signal(bool(0))
        self.rd_hit = Signal(bool(0))     # the acc read of the cycle before missed a write
        self.gemm_wb, self.alu_wb = Signal(bool(0)), Signal(bool(0))   # write-back stage valid


@block
def schedule(clk, rst, is_gemm, is_alu, vv, s1, s, acc_r):
    """Advance the stage registers ``s`` from S1 and issue the acc reads: ALU vector-vector
    acc[src] at S1, ALU acc[dst] at S2, GEMM acc[dst] at S5. The acc operand register
    takes acc[src] at S2 (ALU b), acc[dst] at S3 (ALU a) or S6 (GEMM): with II=2 for
    vector-vector, S2 and S3 never hold an ALU micro-op at once."""

    @always(clk.posedge)
    def stages():
        if rst:
            s.v2.next = 0
            s.v3.next = 0
            s.v4.next = 0
            s.v5.next = 0
            s.v6.next = 0
            s.v7.next = 0
        else:
            s.v2.next = s1.valid
            s.v3.next = s.v2
            s.v4.next = s.v3
            s.v5.next = s.v4
            s.v6.next = s.v5
            s.v7.next = s.v6 and is_gemm     # the ALU is done at S6
        s.dst2.next = s1.dst
        s.dst3.next = s.dst2
        s.dst4.next = s.dst3
        s.dst5.next = s.dst4
        s.dst6.next = s.dst5
        s.dst7.next = s.dst6
        s.src2.next = s1.src_acc
        # registered for the next cycle: the micro-op then at S6 writes the dst of the one
        # at S5 (fwd_a) or at S4 (fwd_a2); the one then at S5 writes (vector-vector) the
        # src of the one at S3 (fix_b)
        s.fwd_a.next = is_alu and s.v4 and s.v5 and s.dst4 == s.dst5
        s.fwd_a2.next = is_alu and s.v3 and s.v5 and s.dst3 == s.dst5
        s.fix_b.next = vv and s.v2 and s.v4 and s.dst4 == s.src2
        # whether next cycle's write-back (GEMM S7 / ALU S6) writes the entry the operand
        # register takes then: GEMM acc[dst] at S6, ALU b = acc[src] at S2 (vector-vector)
        # or a = acc[dst] at S3
        # the write-first bypass (writeback.acc_buffer): whether this cycle's write-back
        # writes the entry this cycle's acc read names (the block RAM misses it), compared on
        # the stage registers, not after the read and write address muxes; held between reads
        if is_alu:
            if vv and s1.valid:
                s.rd_hit.next = s.v6 and s.dst6 == s1.src_acc
            elif s.v2:
                s.rd_hit.next = s.v6 and s.dst6 == s.dst2
        elif s.v5:
            s.rd_hit.next = is_gemm and s.v7 and s.dst7 == s.dst5
        if rst:
            s.opnd_hit.next = 0
        elif is_gemm:
            s.opnd_hit.next = s.v6 and s.dst6 == s.dst5
        elif vv and s1.valid:
            s.opnd_hit.next = is_alu and s.v5 and s.dst5 == s1.src_acc
        else:
            s.opnd_hit.next = is_alu and s.v5 and s.dst5 == s.dst2

    @always_comb
    def acc_read():
        s.busy.next = s.v2 or s.v3 or s.v4 or s.v5 or s.v6 or s.v7
        s.gemm_wb.next = is_gemm and s.v7
        s.alu_wb.next = is_alu and s.v6
        acc_r.re.next = 0
        acc_r.addr.next = s.dst5
        if is_alu:
            if vv and s1.valid:
                acc_r.re.next = 1
                acc_r.addr.next = s1.src_acc
            elif s.v2:
                acc_r.re.next = 1
                acc_r.addr.next = s.dst2
        elif s.v5:
            acc_r.re.next = 1
            acc_r.addr.next = s.dst5

    return stages, acc_read


@block
def share_read(port, first, second):
    """Two engines on one ReadPort, never active together: ``first`` owns the request
    while it presents one; data beats go to whichever raises data_ready."""

    @always_comb
    def mux():
        if first.req_valid:
            port.req_valid.next = 1
            port.req_addr.next = first.req_addr
            port.req_beats.next = first.req_beats
        else:
            port.req_valid.next = second.req_valid
            port.req_addr.next = second.req_addr
            port.req_beats.next = second.req_beats
        port.data_ready.next = second.data_ready or first.data_ready
        first.req_ready.next = port.req_ready
        second.req_ready.next = port.req_ready
        first.data_valid.next = port.data_valid
        second.data_valid.next = port.data_valid
        first.data.next = port.data
        second.data.next = port.data

    return mux


@block
def compute_unit(cfg, clk, rst, start, cmd, l2g, s2g, g2l, g2s, rd, inp_r, wgt_r, out_w,
                 busy, finish):
    """``cmd``: CommandQueue; l2g/s2g popped, g2l/g2s pushed (TokenQueue); ``rd``: the
    compute read port (UOP and ACC loads); inp_r/wgt_r: SramRead; out_w: SramWrite."""
    L = cfg.layout
    la = cfg.log_acc_depth
    ls = max(cfg.log_inp_depth, la)
    acc_bits = cfg.batch * cfg.block_out * cfg.acc_bits
    insn = Signal(intbv(0)[INSN_BITS:])
    m, g, a = views(insn, L.mem), views(insn, L.gemm), views(insn, L.alu)
    # the decode is registered beside ``insn``, from the command queue's word, when the
    # unit takes it (cmd.pop): the opcode flags steer the acc buffer's address and the stage
    # registers, so they are flip-flops, not gates after the instruction register
    cm, cg, ca = views(cmd.insn, L.mem), views(cmd.insn, L.gemm), views(cmd.insn, L.alu)
    opcode, mem_type = cm["opcode"], cm["memory_type"]

    is_gemm, is_alu, is_uop, is_acc, is_fin, vv = (Signal(bool(0)) for _ in range(6))
    go, retire, drained = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    ctl = unit_control(clk, rst, cmd, insn, ((m["pop_prev"], l2g), (m["pop_next"], s2g)),
                       ((m["push_prev"], g2l), (m["push_next"], g2s)), drained, go, retire, busy)
    sfo, sfi = Signal(intbv(0)[ls:]), Signal(intbv(0)[ls:])   # src factors of GEMM or ALU

    # UOP load -> uop buffer -> loop generator
    uop_w = SramWrite(1, cfg.log_uop_depth, UOP_BYTES * 8)
    uop_r = SramRead(cfg.log_uop_depth, UOP_BYTES * 8)
    uop_mem = buffer("uop", clk, uop_w, uop_r, cfg.uop_depth)
    u_start, u_busy, u_rd = Signal(bool(0)), Signal(bool(0)), ReadPort(cfg.bus_bits)
    uops = uop_load(cfg, clk, rst, u_start, m["sram_base"], m["dram_base"], m["x_size"], u_rd,
                    uop_w, u_busy)
    lg_start, lg_active, s1 = Signal(bool(0)), Signal(bool(0)), StageOne(cfg)
    loops = loop_gen(cfg, clk, rst, lg_start, g, sfo, sfi, vv, uop_r, s1, lg_active)

    # ACC load and write-back -> acc buffer (write-first reads)
    acc_start, acc_busy, acc_rd = Signal(bool(0)), Signal(bool(0)), ReadPort(cfg.bus_bits)
    acc_ld_w = SramWrite(beats(cfg, cfg.acc_bytes), la, acc_bits)
    acc_any, acc_any_d = Signal(bool(0)), Signal(bool(0))   # the ACC load's tile has an entry
    acc_ld = acc_load(cfg, clk, rst, acc_start, m, acc_rd, acc_ld_w, acc_busy, acc_any)
    reads = share_read(rd, u_rd, acc_rd)
    wb = SramWrite(1, la, acc_bits)
    s = Stages(cfg)
    acc_r = AccRead(la, acc_bits, s.rd_hit)
    acc_mem = acc_buffer(cfg, clk, acc_busy, acc_ld_w, wb, acc_r)

    # GEMM / ALU pipelines and write-back
    sched = schedule(clk, rst, is_gemm, is_alu, vv, s1, s, acc_r)
    gemm_new, alu_new = Signal(intbv(0)[acc_bits:]), Signal(intbv(0)[acc_bits:])
    acc_old = Signal(intbv(0)[acc_bits:])
    opnd = acc_operand(clk, wb, s.opnd_hit, acc_r, acc_old)
    gemm = gemm_pipe(cfg, clk, s1, is_gemm, inp_r, wgt_r, acc_old, gemm_new)
    # b = the immediate at S2, or (vector-vector) acc[src] from the operand register at S3;
    # a = acc[dst] from the operand register at S4 (it loads every cycle, no enable: a copy
    # for the ALU would be the same register, which synthesis merges)
    b_latch = Signal(bool(0))
    alu = alu_pipe(cfg, clk, b_latch, a["alu_opcode"], a["use_imm"], a["imm"], acc_old, acc_old,
                   alu_new, s.fwd_a, s.fwd_a2, s.fix_b)
    back = writeback(cfg, is_gemm, g["reset"], s.gemm_wb, s.dst7, gemm_new, s.alu_wb, s.dst6,
                     alu_new, wb, out_w)
    a_sfo, a_sfi, use_imm = ca["src_factor_out"], ca["src_factor_in"], ca["use_imm"]
    g_sfo, g_sfi = cg["src_factor_out"], cg["src_factor_in"]
    acc_entry = tile_has_entry(cm["y_pad_0"], cm["y_size"], cm["y_pad_1"], cm["x_pad_0"],
                               cm["x_size"], cm["x_pad_1"], acc_any_d)   # decoded at the pop

    @always(clk.posedge)
    def decode():
        if cmd.pop:
            is_gemm.next = opcode == OPCODE_GEMM
            is_alu.next = opcode == OPCODE_ALU
            is_uop.next = opcode == OPCODE_LOAD and mem_type == MEM_UOP
            is_acc.next = opcode == OPCODE_LOAD and mem_type == MEM_ACC
            is_fin.next = opcode == OPCODE_FINISH
            vv.next = opcode == OPCODE_ALU and use_imm == 0
            acc_any.next = acc_any_d
            if opcode == OPCODE_ALU:
                sfo.next = a_sfo
                sfi.next = a_sfi
            else:
                sfo.next = g_sfo
                sfi.next = g_sfi

    @always_comb
    def alu_latch():
        if vv:
            b_latch.next = s.v3
        else:
            b_latch.next = s.v2

    @always_comb
    def starts():
        drained.next = not (acc_busy or u_busy or lg_active or s1.valid or s.busy)
        acc_start.next = go and is_acc
        u_start.next = go and is_uop
        lg_start.next = go and (is_gemm or is_alu)

    @always(clk.posedge)
    def finished():
        if rst:
            finish.next = 0
        else:
            if start:
                finish.next = 0
            if retire and is_fin:
                finish.next = 1

    return (ctl, uop_mem, uops, loops, acc_ld, reads, acc_mem, sched, opnd, gemm, alu, back,
            acc_entry, decode, alu_latch, starts, finished)
