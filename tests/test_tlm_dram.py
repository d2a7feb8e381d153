"""The TLM's pipelined memory system (issue 11): bursts, outstanding reads and writes,
in-order data, the limit of 1 as the model before it, and the roofline bound."""
from __future__ import annotations

import json

import numpy as np
import pytest
import simpy

from vta.compiler import ProgramBuilder, build_workload, workload_names
from vta.isa import MEM_INP, MEM_OUT, MEM_WGT, Alu, Finish, Gemm, Load, Store, load_config
from vta.tlm import run_program
from vta.tlm.dram import AR_CYCLES, W_GAP, Dram
from vta.tlm.stats import roofline

# main's TLM before outstanding reads (one read request at a time, the port held until its
# last beat), "config/workload/dram.latency": cycles.
BEFORE = {
    "tiny/default/1": 25004,
    "tiny/default/32": 69429,
    "tiny/default/64": 120373,
    "tiny/gemm_blocked_vt1/1": 31340,
    "tiny/gemm_blocked_vt1/32": 72322,
    "tiny/gemm_blocked_vt1/64": 114626,
    "tiny/gemm_blocked_vt2/1": 18244,
    "tiny/gemm_blocked_vt2/32": 56389,
    "tiny/gemm_blocked_vt2/64": 99141,
    "tiny/gemm_4x4/1": 253,
    "tiny/gemm_4x4/32": 594,
    "tiny/gemm_4x4/64": 946,
    "tiny/load_pad/1": 402,
    "tiny/load_pad/32": 738,
    "tiny/load_pad/64": 1090,
    "tiny/alu_add_vs/1": 819,
    "tiny/alu_add_vs/32": 943,
    "tiny/alu_add_vs/64": 1071,
    "tiny/alu_add_vv/1": 1459,
    "tiny/alu_add_vv/32": 1583,
    "tiny/alu_add_vv/64": 1711,
    "default/gemm_blocked_vt2/32": 221077,
    "default/gemm_4x4/1": 719,
    "default/gemm_4x4/32": 1060,
    "default/gemm_4x4/64": 1412,
    "default/load_pad/1": 571,
    "default/load_pad/32": 871,
    "default/load_pad/64": 1191,
    "default/alu_add_vs/1": 2857,
    "default/alu_add_vs/32": 2981,
    "default/alu_add_vs/64": 3109,
    "default/alu_add_vv/1": 5161,
    "default/alu_add_vv/32": 5285,
    "default/alu_add_vv/64": 5413,
}


def _variant(cfg, **dram):
    return cfg.replace(dram=dram)


@pytest.mark.parametrize("key", sorted(BEFORE))
def test_one_outstanding_read_is_the_model_before_it(key):
    # max_outstanding_reads = 1 waits out every round trip as before. Two differences,
    # both the RTL master's (rtl/axi.py): the AR of a request whose slot frees goes out
    # in the cycle after the RLAST, AR_CYCLES earlier than a fresh grant's (so each
    # request that waited for the slot is up to AR_CYCLES cheaper), and a request of
    # several bursts (a 4 KiB page or 256 beats) pays the latency per burst. Grants now
    # come at the last AR, not after the data, which may reorder two requesters: a cycle.
    # And the load unit's two stages (rtl/load.py) let a LOAD's first row go out while the
    # previous LOAD's last row is still on its way: up to a round trip per LOAD. Store
    # rows now leave W_GAP idle cycles between them (rtl/axi.py's writer).
    config, name, lat = key.split("/")
    cfg = load_config(config)
    cfg1 = _variant(cfg, latency=int(lat), max_outstanding_reads=1, max_burst_beats=256)
    res = run_program(build_workload(name, cfg), cfg1)
    reqs = sum(r["read_requests"] for r in res.stats["dram"]["requesters"].values())
    dram = Dram(simpy.Environment(), cfg1)
    extra = 0
    trip = cfg1.dram_latency + cfg1.timing["axi_req_cycles"]
    insns = build_workload(name, cfg).insns
    loads = sum(isinstance(i, Load) and i.memory_type in (MEM_INP, MEM_WGT) for i in insns)
    stores = sum(i.y_size for i in insns if isinstance(i, Store))   # write requests
    for insn in build_workload(name, cfg).insns:
        if isinstance(insn, Load) and insn.memory_type != 0:   # 2-D rows (UOP loads: one burst)
            elem = cfg.elem_bytes(insn.memory_type)
            extra += insn.y_size * (len(dram.split(0, insn.x_size * elem)) - 1) if insn.x_size else 0
    bursts = extra * (cfg1.dram_latency + cfg1.timing["axi_req_cycles"] - AR_CYCLES)
    # BEFORE had a 4-stage GEMM and a 3-stage ALU pipeline (issue 13 deepened them)
    deeper = sum((cfg.timing["gemm_pipeline"] - 4) if isinstance(i, Gemm) else
                 (cfg.timing["alu_pipeline"] - 3) if isinstance(i, Alu) else 0 for i in insns)
    before = BEFORE[key] + deeper
    assert before - AR_CYCLES * reqs - loads * trip <= res.cycles - bursts <= before + W_GAP * stores + 1, \
        (f"{key}: {res.cycles} cycles at one outstanding read, before {before}; "
         f"{reqs} requests, {extra} extra bursts, {loads} LOADs")


def _load_program(cfg, y_size, x_size, **pads):
    pb = ProgramBuilder(cfg, "ld")
    seg = pb.segment("inp", np.zeros((y_size * x_size, cfg.batch, cfg.block_in), np.int8), "input")
    pb.emit(Load(memory_type=MEM_INP, sram_base=0, dram_base=pb.elem(seg), y_size=y_size,
                 x_size=x_size, x_stride=x_size, **pads))
    pb.emit(Finish())
    return pb.build({})


def _load_cycles(cfg, prog):
    load = run_program(prog, cfg).stats["stages"]["load"]
    return load["busy_cycles"] + load["stall_cycles"]


@pytest.mark.parametrize("out", [1, 2, 8])
def test_rows_go_out_without_waiting_for_earlier_rows(default_cfg, out):
    cfg = _variant(default_cfg, max_outstanding_reads=out)
    t, lat = cfg.timing, cfg.dram_latency
    rows, beats = 6, 8 * cfg.inp_bytes // cfg.bus_bytes        # 8 elements: one 16-beat burst
    got = _load_cycles(cfg, _load_program(default_cfg, rows, 8))
    trip = t["axi_req_cycles"] + lat + beats
    if out == 1:   # each row waits for the previous one's RLAST, its AR the cycle after
        want = t["insn_overhead"] + trip + (rows - 1) * (trip - AR_CYCLES)
    elif out == 2:  # two rows per round trip
        want = t["insn_overhead"] + trip + (rows - 2) // 2 * (trip - AR_CYCLES) + beats
    else:          # the data of all rows back to back after one round trip
        want = t["insn_overhead"] + trip + (rows - 1) * beats
    assert got == want


@pytest.mark.parametrize("rows,x_size", [(512, 4), (32, 64)])   # 64 B rows; 1 KiB rows
def test_short_rows_sustain_the_bus_at_the_default_limit(default_cfg, rows, x_size):
    cfg = default_cfg                     # latency 32, 8 outstanding, 16-beat bursts
    prog = _load_program(cfg, rows, x_size)
    nbytes = rows * x_size * cfg.inp_bytes
    fast = nbytes / _load_cycles(cfg, prog) / cfg.bus_bytes
    slow = nbytes / _load_cycles(_variant(cfg, max_outstanding_reads=1), prog) / cfg.bus_bytes
    assert fast >= 0.85, f"{fast:.1%} of the bus"
    assert slow < 0.75 * fast


def test_the_outstanding_limit_bounds_one_beat_rows(default_cfg):
    # rows of one element (2 beats): 4 bursts in flight per round trip of latency + 1 +
    # 2 beats (AR after the RLAST that freed the slot), far below the bus
    cfg = _variant(default_cfg, max_outstanding_reads=4)
    rows = 256
    got = _load_cycles(cfg, _load_program(default_cfg, rows, 1))
    per_trip = cfg.dram_latency + cfg.timing["axi_req_cycles"] - AR_CYCLES + 2
    assert abs(got - rows / 4 * per_trip) <= per_trip + cfg.timing["insn_overhead"]


def test_bursts_respect_the_burst_limit_and_4k_pages(default_cfg):
    dram = Dram(simpy.Environment(), default_cfg)          # 8 B beats, 16-beat bursts
    assert dram.split(0, 8) == [1]
    assert dram.split(4, 8) == [2]                         # widened to whole beats
    assert dram.split(0, 16 * 8 * 3 + 8) == [16, 16, 16, 1]
    assert dram.split(4096 - 3 * 8, 6 * 8) == [3, 3]       # never across a 4 KiB page
    long = Dram(simpy.Environment(), _variant(default_cfg, max_burst_beats=256))
    assert long.split(0, 4096 * 2) == [256, 256, 256, 256]
    assert long.split(2048, 4096) == [256, 256]


def _store_cycles(cfg, base, rows, x_size):
    pb = ProgramBuilder(base, "st")
    seg = pb.segment("out", np.zeros((rows * x_size, base.batch, base.block_out), np.int8), "output")
    pb.emit(Store(memory_type=MEM_OUT, sram_base=0, dram_base=pb.elem(seg), y_size=rows,
                  x_size=x_size, x_stride=x_size))
    pb.emit(Finish())
    st = run_program(pb.build({}), cfg).stats["stages"]["store"]
    return st["busy_cycles"] + st["stall_cycles"]


def test_long_store_streams_and_the_write_limit_throttles_it(default_cfg):
    cfg = default_cfg
    rows, xs = 64, 16                                     # 64 rows of 256 B: 2 bursts each
    beats = rows * xs * cfg.out_bytes // cfg.bus_bytes
    t = cfg.timing
    fast = _store_cycles(cfg, cfg, rows, xs)
    assert fast == (t["insn_overhead"] + beats + (rows - 1) * W_GAP + cfg.dram_latency
                    + t["write_resp_cycles"])
    assert beats / fast >= 0.85
    # one burst awaiting B at a time: each 16-beat burst's AW waits for the previous B
    one = _store_cycles(_variant(cfg, max_outstanding_writes=1), cfg, rows, xs)
    assert one > 2 * fast


@pytest.mark.parametrize("config", ["tiny", "default"])
def test_roofline_in_stats_and_a_lower_bound_of_every_workload(config):
    cfg = load_config(config)
    for name in workload_names():
        if config == "default" and name.startswith(("default", "gemm_blocked")):
            continue     # long on default; test_roofline_terms has them
        prog = build_workload(name, cfg)
        for lat in (1, cfg.dram_latency):
            st = run_program(prog, _variant(cfg, latency=lat)).stats
            assert st["roofline_cycles"] <= st["cycles"], (config, name, lat)
            assert st["roofline_fraction"] == st["roofline_cycles"] / st["cycles"] <= 1
            assert st["dram_bytes_written"] == st["dram"]["bytes_written"]
            assert st["dram_bytes_read"] >= st["dram"]["bytes_read"]


def test_roofline_terms(default_cfg):
    cfg = default_cfg
    vt2 = roofline(build_workload("gemm_blocked_vt2", cfg))
    assert vt2["bound"] == "compute"
    assert vt2["roofline_cycles"] == vt2["compute_cycles"] == 69632 * cfg.timing["gemm_ii"]
    # default: 256^3 with bias: INP 256x256 B re-read per weight block, read-bound
    d = roofline(build_workload("default", cfg))
    assert d["bound"] == "read" and d["roofline_cycles"] == d["dram_bytes_read"] // cfg.bus_bytes
    assert d["dram_bytes_written"] == 256 * 256
    # halve the bandwidth: the read term doubles
    half = roofline(build_workload("default", cfg), _variant(cfg, bytes_per_cycle=4))
    assert half["roofline_cycles"] == 2 * d["roofline_cycles"]
    # ALU micro-ops count at their initiation interval
    a = roofline(build_workload("alu_add_vv", cfg))
    b = roofline(build_workload("alu_add_vv", cfg), cfg.replace(timing={"alu_ii": 5}))
    assert b["compute_cycles"] == a["compute_cycles"] * 5 // cfg.timing["alu_ii"] > 0


def test_stats_json_has_the_roofline_keys(tmp_path, default_cfg):
    from vta.tlm.cli import main
    out = tmp_path / "r"
    assert main(["run", "default", "--workload", "gemm_blocked_vt2", "--out", str(out), "--quiet"]) == 0
    st = json.loads(next(out.rglob("stats.json")).read_text())
    for key in ("roofline_cycles", "dram_bytes_read", "dram_bytes_written", "roofline_fraction"):
        assert key in st
    assert st["roofline_cycles"] == 69632


def test_rtl_check_reports_the_same_roofline(default_cfg):
    # vta-rtl check prints these lines; the bound comes from the program, the fraction
    # from each model's cycles
    from types import SimpleNamespace

    from vta.cosim.crosscheck import CheckResult
    prog = build_workload("gemm_blocked_vt2", default_cfg)
    tlm = run_program(prog)
    rtl = SimpleNamespace(cycles=2 * tlm.cycles, outputs={}, sim="x", dram_latency=32,
                          counters={}, wall_seconds=0.0)
    res = CheckResult(prog, tlm, rtl)
    lines = dict(res.report_lines())
    half = 100 * 69632 / (2 * tlm.cycles)
    assert lines["GEMM-core utilization"].startswith(f"RTL {half:.1f} %")
    assert lines["roofline (RTL)"].startswith(f"{half:.1f} % of the bound 69,632 cycles (compute-bound")
    st = res.stats()
    assert st["roofline_cycles"] == 69632 and st["rtl_roofline_fraction"] == 69632 / rtl.cycles


@pytest.mark.parametrize("first", ["load", "fetch"])
def test_read_arbiter_serves_fetch_after_load_whatever_the_request_order(first):
    """rtl/axi.py's arbiter: of fetch and load both waiting, the one not granted last wins,
    however they queued up (the TLM once took whichever had asked first)."""
    from vta.tlm.dram import ReadArbiter
    env = simpy.Environment()
    arb = ReadArbiter(env)
    granted = []

    def requester(who, at):
        yield env.timeout(at)
        yield arb.request(who)
        granted.append(who)
        yield env.timeout(10)
        arb.release()

    def scenario():
        # load holds the arbiter; then both queue up, ``first`` one cycle before the other
        env.process(requester("load", 0))
        second = "fetch" if first == "load" else "load"
        env.process(requester(first, 1))
        env.process(requester(second, 2))
        yield env.timeout(0)

    env.process(scenario())
    env.run()
    assert granted == ["load", "fetch", "load"]
