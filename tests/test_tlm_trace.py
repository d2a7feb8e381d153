"""The Chrome trace is valid JSON with one track per stage (instructions as slices named
by their disassembly), DRAM tracks and queue-occupancy counters."""
from __future__ import annotations

import json

from vta.assembler import format_insn
from vta.compiler import build_workload
from vta.tlm import run_program
from vta.tlm.fetch import route


def test_trace_is_valid_chrome_json_with_expected_tracks(tmp_path):
    prog = build_workload("gemm_blocked_vt2", "tiny")
    path = tmp_path / "trace.json"
    res = run_program(prog, trace=str(path))
    doc = json.loads(path.read_text())
    events = doc["traceEvents"]
    assert isinstance(events, list) and events
    names = {e["args"]["name"]: e["tid"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {"fetch", "load", "compute", "store", "dram read", "dram write"} <= set(names)
    for e in events:
        assert e["ph"] in ("M", "X", "C")
        if e["ph"] in ("X", "C"):
            assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        if e["ph"] == "X":
            assert e["dur"] >= 0 and e["pid"] == 1
    # Every executed instruction is one slice on its stage's track, named by its disassembly.
    insn_slices = [e for e in events if e["ph"] == "X" and e["cat"] == "insn" and e["tid"] != names["fetch"]]
    assert len(insn_slices) == len(prog.insns)
    by_index = {e["args"]["index"]: e for e in insn_slices}
    for i, insn in enumerate(prog.insns):
        e = by_index[i]
        assert e["name"] == " ".join(format_insn(insn).split())
        assert e["tid"] == names[route(insn)]
    fetch_slices = [e for e in events if e["ph"] == "X" and e["tid"] == names["fetch"] and e["cat"] == "insn"]
    assert len(fetch_slices) == len(prog.insns)
    # Queue counters: the four dependence queues and the three command queues.
    counters = {e["name"] for e in events if e["ph"] == "C"}
    assert {"queue l2g", "queue g2l", "queue g2s", "queue s2g", "queue cmd load", "queue cmd compute",
            "queue cmd store"} <= counters
    # The last slice ends no later than the run (plus drain) at the config's clock.
    end_us = max(e["ts"] + e["dur"] for e in events if e["ph"] == "X")
    assert end_us <= res.stats["drain_cycles"] / res.config.clock_mhz + 1e-6
    assert doc["otherData"]["cycles"] == res.cycles
