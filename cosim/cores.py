"""The GEMM and ALU cores of a TLM compute unit as RTL (refine ``gemm`` / ``alu``).

The TLM compute unit keeps its command loop, tokens, micro-op and acc loads and its
buffers; a GEMM (ALU) instruction's micro-op runs are fed, in loop order, into the RTL
datapath: ``rtl/gemm.py``'s ``gemm_core`` (operand registers, multipliers, adder trees)
and ``acc_update``, or ``rtl/alu.py``'s ``alu_pipe``. The feeder (a MyHDL block clocked
by the mixed run's stepper) reads the operands from the TLM's buffers when a micro-op
enters, writes acc[dst] and out[dst] from the core's result when it leaves, and ends the
instruction after the last one, so its cycles are the core's: one GEMM micro-op per
cycle plus the core's latency; ALU one per cycle with an immediate, one per two cycles
vector-vector (the second acc read), as the RTL compute unit issues them.
"""
from __future__ import annotations

from collections import deque

import numpy as np
from myhdl import Signal, always, block, intbv

from vta.isa import Gemm, truncate
from vta.rtl.alu import alu_pipe
from vta.rtl.gemm import CORE_LATENCY, acc_update, gemm_core, sum_bits

from .transactors import EntryCodec


# Cycles of rtl/compute.py's pipeline in front of what a feeder clocks, which stay at TLM
# level: GEMM S0b-S1 (micro-op register, index sums and buffer read; the feeder clocks
# S2-S7: the core, then acc_new at the write-back), ALU S0b-S2 (the feeder clocks the
# operand latch on, then a = acc[dst] and the result). With the reference cores a refined
# run takes the TLM's cycles (timing.gemm_pipeline / alu_pipeline); a deeper core adds its
# extra stages, and the cost model's pipeline depth is not counted twice.
FRONT_STAGES = {"gemm": 2, "alu": 3}


def front_cycles(timing, insn, kind):
    """Cycles from a GEMM/ALU's start (after the instruction overhead) to its first
    micro-op entering the feeder: the front stages and one issue slot."""
    if kind == "gemm":
        ii = timing["gemm_ii"]
    else:
        ii = timing["alu_imm_ii"] if insn.use_imm else timing["alu_ii"]
    return FRONT_STAGES[kind] + ii


class CoreJob:
    """One instruction's micro-op runs for a core: index arrays in loop order."""

    def __init__(self, insn, dst, src, wgt, done):
        self.insn, self.dst, self.src, self.wgt, self.done = insn, dst, src, wgt, done
        self.fed = 0        # micro-ops that entered the core
        self.retired = 0    # micro-ops whose result was written


class CoreFeeder:
    """The queue of jobs between the TLM compute unit and one RTL core."""

    def __init__(self, top, kind):
        self.top, self.kind = top, kind
        self.jobs = deque()

    def submit(self, insn, dst, src, wgt):
        """Queue an instruction's runs; an event that fires when its last result is written."""
        done = self.top.env.event()
        self.jobs.append(CoreJob(insn, dst, src, wgt, done))
        self.top.boundary.pending += 1
        return done

    def finished(self, job):
        self.jobs.popleft()
        self.top.boundary.pending -= 1
        job.done.succeed()


def loop_runs(comp, index, insn, names, ks):
    """All micro-op runs of a GEMM/ALU as concatenated index arrays (TLM compute's loop
    nest, its range checks included); ``ks``: its micro-op entries."""
    parts = list(comp._chunks(index, insn, names, ks))
    if not parts:
        return [np.zeros(0, dtype=np.int64) for _ in names]
    return [np.concatenate(col) for col in zip(*parts)]


def refine_cores(top, cores):
    """Make the TLM compute unit of ``top`` (a MixedTlm) run its GEMM and/or ALU
    instructions on the RTL cores; the feeders' blocks join the mixed run's RTL."""
    comp = top.compute
    feeders = {k: CoreFeeder(top, k) for k in cores}
    top.core_feeders = feeders
    tlm_loop = comp.loop_insn

    def loop_insn(index, insn, overhead):
        kind = "gemm" if isinstance(insn, Gemm) else "alu"
        if kind not in feeders:
            yield from tlm_loop(index, insn, overhead)
            return
        cfg = comp.cfg
        if overhead:
            yield comp.env.timeout(overhead)
        # the run's watch sees the same reads and writes as in a TLM run (warnings)
        ks, _ = comp._watch_uops(index, insn)
        if kind == "gemm":
            dst, src, wgt = loop_runs(comp, index, insn,
                                      [("dst", comp.uop_dst, cfg.acc_depth, "acc"),
                                       ("src", comp.uop_src, cfg.inp_depth, "inp"),
                                       ("wgt", comp.uop_wgt, cfg.wgt_depth, "wgt")], ks)
        else:
            dst, src = loop_runs(comp, index, insn,
                                 [("dst", comp.uop_dst, cfg.acc_depth, "acc"),
                                  ("src", comp.uop_src, cfg.acc_depth, "acc")], ks)
            wgt = None
        if dst.size:
            if kind == "gemm":
                top.watch.gemm_chunk(comp, insn.reset, dst, src, wgt)
            else:
                top.watch.alu_chunk(comp, dst, None if insn.use_imm else src)
        t0 = comp.env.now
        if dst.size:
            front = front_cycles(comp.timing, insn, kind)
            if front:
                yield comp.env.timeout(front)
            yield feeders[kind].submit(insn, dst, src, wgt)
        if kind == "gemm":
            comp.gemm_uops += dst.size
            comp.gemm_cycles += comp.env.now - t0
        else:
            comp.alu_uops += dst.size
            comp.alu_cycles += comp.env.now - t0

    comp.loop_insn = loop_insn
    return feeders


@block
def gemm_feeder(top, clk, feeder):
    """Feeds GEMM micro-ops into ``gemm_core`` + ``acc_update`` (one per cycle) and writes
    the results back into the TLM compute unit's acc and out buffers."""
    cfg, comp = top.cfg, top.compute
    lanes = cfg.batch * cfg.block_out
    inp_data = Signal(intbv(0)[cfg.inp_bytes * 8:])
    wgt_data = Signal(intbv(0)[cfg.wgt_bytes * 8:])
    sums = Signal(intbv(0)[lanes * sum_bits(cfg):])
    acc_old = Signal(intbv(0)[lanes * cfg.acc_bits:])
    acc_new = Signal(intbv(0)[lanes * cfg.acc_bits:])
    core = gemm_core(cfg, clk, inp_data, wgt_data, sums)
    upd = acc_update(cfg, acc_old, sums, acc_new)
    inp_codec = EntryCodec(cfg.inp_bits, cfg.inp_bytes * 8)
    wgt_codec = EntryCodec(cfg.wgt_bits, cfg.wgt_bytes * 8)
    acc_codec = EntryCodec(cfg.acc_bits, lanes * cfg.acc_bits)
    shape = comp.acc.shape[1:]
    flight = deque()   # (edge it entered, job, k) of micro-ops in the core, oldest first
    edge = [0]

    @always(clk.posedge)
    def step():
        e = edge[0] = edge[0] + 1
        # leaving: acc_new of the micro-op whose acc_old was set at the previous edge
        if flight and flight[0][0] == e - CORE_LATENCY - 1:
            _, job, k = flight.popleft()
            d = int(job.dst[k])
            new = acc_codec.to_values(int(acc_new)).reshape(shape)
            comp.out[d] = truncate(new, cfg.out_bits)
            comp.acc[d] = 0 if job.insn.reset else new
            job.retired += 1
            if job.retired == job.dst.size:
                feeder.finished(job)
        # its sums are out after this edge: present acc[dst] (written above if the
        # previous micro-op had the same dst: the RTL's forwarding)
        for f, job, k in flight:
            if f == e - CORE_LATENCY:
                acc_old.next = acc_codec.to_int(comp.acc[int(job.dst[k])])
                break
        # entering: the next micro-op's operands (the buffers' registered read data)
        job = next((j for j in feeder.jobs if j.fed < j.dst.size), None)
        if job is not None:
            k = job.fed
            inp_data.next = inp_codec.to_int(top.inp_buf[int(job.src[k])])
            wgt_data.next = wgt_codec.to_int(top.wgt_buf[int(job.wgt[k])])
            job.fed += 1
            flight.append((e, job, k))

    return core, upd, step


@block
def alu_feeder(top, clk, feeder):
    """Feeds ALU micro-ops into ``alu_pipe``: operand b (acc[src] or the immediate) is
    latched, a = acc[dst] is presented the next cycle, the first half is registered at the
    edge after, the result at the next one, and written at the one after that;
    vector-vector micro-ops enter every other cycle. Results not yet written are forwarded
    as alu_pipe does it in the compute unit: the one in the register to the micro-op right
    behind (``fwd_a``) and to a at the first half of the one two behind (``fwd_a2``), and,
    for vector-vector, the one being picked to b at its latch (``fix_b``)."""
    cfg, comp = top.cfg, top.compute
    lanes = cfg.batch * cfg.block_out
    width = lanes * cfg.acc_bits
    latch, use_imm, fwd_a, fwd_a2, fix_b = (Signal(bool(0)) for _ in range(5))
    op = Signal(intbv(0)[3:])
    imm_bits = cfg.layout.field("alu", "imm").width
    imm = Signal(intbv(0)[imm_bits:])   # the instruction's field: alu_pipe sign-extends it
    src, a, res = (Signal(intbv(0)[width:]) for _ in range(3))
    pipe = alu_pipe(cfg, clk, latch, op, use_imm, imm, src, a, res, fwd_a, fwd_a2, fix_b)
    codec = EntryCodec(cfg.acc_bits, width)
    shape = comp.acc.shape[1:]
    # micro-ops (job, k): b latched at this edge / first half / second half / result in
    # the register
    state = {"a": None, "x1": None, "x2": None, "wb": None, "gap": 0}

    def dst(entry):
        return None if entry is None else int(entry[0].dst[entry[1]])

    @always(clk.posedge)
    def step():
        wb = state["wb"]
        if wb is not None:   # the result registered at the previous edge
            job, k = wb
            d = dst(wb)
            new = codec.to_values(int(res)).reshape(shape)
            comp.acc[d] = new
            comp.out[d] = truncate(new, cfg.out_bits)
            job.retired += 1
            if job.retired == job.dst.size:
                feeder.finished(job)
        # every micro-op moves one stage: the one in "wb" now is registered at this edge
        state["wb"], state["x2"], state["x1"], state["a"] = (
            state["x2"], state["x1"], state["a"], None)
        fwd_a.next = state["x2"] is not None and dst(state["wb"]) == dst(state["x2"])
        fwd_a2.next = 0
        if state["x1"] is not None:   # b was latched at this edge: present a = acc[dst]
            d = dst(state["x1"])
            a.next = codec.to_int(comp.acc[d])
            fwd_a2.next = dst(state["wb"]) == d
        latch.next = 0
        fix_b.next = 0
        if state["gap"]:
            state["gap"] -= 1
            return
        job = next((j for j in feeder.jobs if j.fed < j.dst.size), None)
        if job is None:
            return
        k = job.fed
        insn = job.insn
        op.next = insn.alu_opcode
        use_imm.next = insn.use_imm
        imm.next = insn.imm & ((1 << imm_bits) - 1)
        if not insn.use_imm:
            s = int(job.src[k])
            src.next = codec.to_int(comp.acc[s])
            fix_b.next = dst(state["x2"]) == s   # being picked at the latch edge
            state["gap"] = 1
        latch.next = 1
        job.fed += 1
        state["a"] = (job, k)

    return pipe, step
