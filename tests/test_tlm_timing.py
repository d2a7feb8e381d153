"""Timing sanity: DRAM latency costs cycles, virtual threads hide latency, utilization
stays within 1, and single instructions cost what tlm/README.md's table says."""
from __future__ import annotations

import math

import numpy as np
import pytest

from vta.compiler import ProgramBuilder, build_workload
from vta.isa import ALU_ADD, MEM_ACC, MEM_INP, MEM_OUT, Alu, Finish, Gemm, Load, Store, load_config
from vta.tlm import run_program
from vta.tlm.dram import W_GAP

CONFIGS = ["default", "tiny"]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", ["gemm_4x4", "gemm_blocked_vt2", "load_pad", "alu_add_vv"])
def test_more_dram_latency_gives_more_cycles(config, name):
    cfg = load_config(config)
    prog = build_workload(name, cfg)
    cycles = []
    for lat in (0, cfg.dram_latency, 4 * cfg.dram_latency):
        res = run_program(prog, cfg.replace(dram={"latency": lat}))
        assert res.passed
        cycles.append(res.cycles)
    assert cycles[0] < cycles[1] < cycles[2]


@pytest.mark.parametrize("config", CONFIGS)
def test_less_bandwidth_gives_more_cycles(config):
    cfg = load_config(config)
    prog = build_workload("gemm_blocked_vt2", cfg)
    fast = run_program(prog).cycles
    slow = run_program(prog, cfg.replace(dram={"bytes_per_cycle": cfg.bus_bytes / 4})).cycles
    assert slow > fast


@pytest.mark.parametrize("config", CONFIGS)
def test_two_virtual_threads_beat_one(config):
    one = run_program(build_workload("gemm_blocked_vt1", config))
    two = run_program(build_workload("gemm_blocked_vt2", config))
    assert one.passed and two.passed
    assert one.stats["gemm_uops"] == two.stats["gemm_uops"]
    assert two.cycles < 0.9 * one.cycles
    assert two.stats["gemm_utilization"] > one.stats["gemm_utilization"]


def _single(cfg, insn, n_uops=1):
    pb = ProgramBuilder(cfg, "one")
    pb.add_uops([(0, 0, 0)] * n_uops)
    pb.load_uops(0, n_uops)
    pb.emit(insn)
    pb.emit(Finish())
    return pb.build({})


@pytest.mark.parametrize("config", CONFIGS)
def test_gemm_costs_ii_per_uop_plus_pipeline(config):
    cfg = load_config(config)
    t = cfg.timing
    short = run_program(_single(cfg, Gemm(uop_bgn=0, uop_end=1, iter_out=1, iter_in=1)))
    long = run_program(_single(cfg, Gemm(uop_bgn=0, uop_end=4, iter_out=50, iter_in=20), 4))
    # The uop load differs by 3 uops; everything else is equal except the GEMM itself.
    uop_extra = long.stats["stages"]["compute"]["busy_cycles"] - short.stats["stages"]["compute"]["busy_cycles"]
    assert uop_extra - (4000 - 1) * t["gemm_ii"] in range(0, 4)
    assert long.stats["gemm_uops"] == 4000
    assert long.stats["gemm_utilization"] <= 1.0
    # A long GEMM keeps the core busy: one micro-op per cycle for most of the run.
    assert long.stats["gemm_utilization"] > 0.9


@pytest.mark.parametrize("config", CONFIGS)
def test_slower_gemm_ii_and_alu_ii(config):
    cfg = load_config(config)
    t = cfg.timing
    g = _single(cfg, Gemm(uop_bgn=0, uop_end=1, iter_out=100, iter_in=10))
    a = _single(cfg, Alu(uop_bgn=0, uop_end=1, iter_out=100, iter_in=10, alu_opcode=ALU_ADD))
    ai = _single(cfg, Alu(uop_bgn=0, uop_end=1, iter_out=100, iter_in=10, alu_opcode=ALU_ADD, use_imm=True))
    base = {n: run_program(p).cycles for n, p in (("g", g), ("a", a), ("ai", ai))}
    slow = cfg.replace(timing={"gemm_ii": t["gemm_ii"] + 1, "alu_ii": t["alu_ii"] + 2,
                               "alu_imm_ii": t["alu_imm_ii"] + 1})
    assert run_program(g, slow).cycles == base["g"] + 1000
    assert run_program(a, slow).cycles == base["a"] + 2000
    assert run_program(ai, slow).cycles == base["ai"] + 1000
    # Vector-vector ALU costs alu_ii per micro-op, immediate ALU alu_imm_ii.
    assert base["a"] - base["ai"] == 1000 * (t["alu_ii"] - t["alu_imm_ii"])


def _inp_load_cycles(cfg, **fields):
    pb = ProgramBuilder(cfg, "ld")
    seg = pb.segment("inp", np.zeros((64, 1, 16), np.int8), "input")
    pb.emit(Load(memory_type=MEM_INP, sram_base=0, dram_base=pb.elem(seg), **fields))
    pb.emit(Finish())
    load = run_program(pb.build({})).stats["stages"]["load"]
    return load["busy_cycles"] + load["stall_cycles"]


def test_load_row_cost_matches_table(default_cfg):
    # Row requests go out back to back without waiting for data (outstanding reads), so
    # one round trip (grant overhead + latency) then the rows' beats; the leading zero row
    # is written under the latency, but the x_pad_1 zeros after each row hold up the
    # next row's beats (the SRAM writer is busy with them).
    cfg = default_cfg
    t, lat = cfg.timing, cfg.dram_latency
    beats = 8 * cfg.inp_bytes // cfg.bus_bytes
    got = _inp_load_cycles(cfg, y_size=4, x_size=8, x_stride=16, y_pad_0=1, x_pad_1=2)
    assert got == t["insn_overhead"] + t["axi_req_cycles"] + lat + 4 * (beats + 2 * t["sram_write_cycles"])


def test_load_padding_bound_by_the_sram_writer(default_cfg):
    # Large padding around one entry: the writer (one zero entry per cycle) decides.
    cfg = default_cfg
    t = cfg.timing
    got = _inp_load_cycles(cfg, y_size=1, x_size=1, x_stride=1, y_pad_0=15, y_pad_1=15, x_pad_0=15,
                           x_pad_1=15)
    width = 31
    zeros = (15 * width + 15 + 15 + 15 * width) * t["sram_write_cycles"]
    assert got == t["insn_overhead"] + zeros + cfg.inp_bytes // cfg.bus_bytes


def test_utilization_never_exceeds_one_on_any_workload_with_fast_dram(tiny_cfg):
    cfg = tiny_cfg.replace(dram={"latency": 0, "bytes_per_cycle": 64})
    for name in ("default", "gemm_blocked_vt2", "gemm_4x4"):
        res = run_program(build_workload(name, cfg))
        assert res.passed and 0 < res.stats["gemm_utilization"] <= 1.0


def test_acc_load_and_alu_timing_are_in_compute(tiny_cfg):
    cfg = tiny_cfg
    pb = ProgramBuilder(cfg, "acc")
    seg = pb.segment("acc", np.zeros((16, 1, 4), np.int32), "bias")
    pb.add_uops([(0, 0, 0)])
    pb.load_uops(0, 1)
    pb.emit(Load(memory_type=MEM_ACC, sram_base=0, dram_base=pb.elem(seg), y_size=2, x_size=8, x_stride=8))
    pb.emit(Finish())
    res = run_program(pb.build({}))
    assert res.stats["dram"]["requesters"]["compute"]["read_requests"] == 3  # uops + 2 rows
    assert res.stats["dram"]["requesters"]["load"]["read_requests"] == 0


# ---- exact single-instruction costs: tlm/README.md's cost table as arithmetic on config keys --
def _slice_cycles(prog, cfg, stage, mnemonic):
    """Cycles of each ``mnemonic`` instruction slice on ``stage``'s trace track."""
    res = run_program(prog, cfg, trace=True)
    tid = res.trace.tids[stage]
    return [e["args"]["cycles"] for e in res.trace.events
            if e.get("ph") == "X" and e["cat"] == "insn" and e["tid"] == tid
            and e["name"].startswith(mnemonic)]


# Timing/DRAM variants, so a constant offset cannot pass as a config key.
VARIANTS = [({}, {}), ({"gemm_ii": 2, "gemm_pipeline": 9, "insn_overhead": 3, "write_resp_cycles": 0},
                       {"latency": 5, "bytes_per_cycle": 2})]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("timing,dram", VARIANTS, ids=["config", "varied"])
@pytest.mark.parametrize("iters,n_uops", [((1, 1), 1), ((3, 2), 4)])
def test_gemm_costs_exactly_overhead_ii_and_pipeline_drain(config, timing, dram, iters, n_uops):
    base = load_config(config)
    cfg = base.replace(timing=timing, dram=dram)
    t = cfg.timing
    prog = _single(base, Gemm(uop_bgn=0, uop_end=n_uops, iter_out=iters[0], iter_in=iters[1]), n_uops)
    n = iters[0] * iters[1] * n_uops
    want = t["insn_overhead"] + n * t["gemm_ii"] + t["gemm_pipeline"]
    assert _slice_cycles(prog, cfg, "compute", "GEMM") == [want], \
        f"GEMM of {n} micro-ops: insn_overhead + n * gemm_ii + gemm_pipeline (pipeline drain) = {want}"


def _single_store(cfg, y_size, x_size):
    pb = ProgramBuilder(cfg, "st")
    seg = pb.segment("out", np.zeros((y_size * x_size, cfg.batch, cfg.block_out), np.int8), "output")
    pb.emit(Store(memory_type=MEM_OUT, sram_base=0, dram_base=pb.elem(seg), y_size=y_size,
                  x_size=x_size, x_stride=x_size))
    pb.emit(Finish())
    return pb.build({})


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("timing,dram", VARIANTS, ids=["config", "varied"])
def test_store_costs_exactly_rows_then_latency_and_write_response(config, timing, dram):
    base = load_config(config)
    cfg = base.replace(timing=timing, dram=dram)
    t = cfg.timing
    ys, xs = 3, 2
    beats = math.ceil(xs * cfg.out_bytes / cfg.bus_bytes)   # one row, from an aligned address
    row_cycles = math.ceil(beats * cfg.bus_bytes / cfg.dram_bytes_per_cycle)
    # the AXI writer leaves W_GAP idle W cycles between two requests (rows)
    want = (t["insn_overhead"] + ys * row_cycles + (ys - 1) * W_GAP + cfg.dram_latency
            + t["write_resp_cycles"])
    assert _slice_cycles(_single_store(base, ys, xs), cfg, "store", "STORE") == [want], \
        (f"STORE of {ys} rows: insn_overhead + rows * W beats + gaps + dram.latency + "
         f"write_resp_cycles (B response) = {want}")
