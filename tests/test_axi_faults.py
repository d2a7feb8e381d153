"""AXI error responses (SLVERR/DECERR) and the testbench memory's knobs.

TLM fault mode (vta.tlm.faults, `vta-tlm run --inject-fault`) and the RTL testbench
(vta.cosim.simtb: error responses on R and B, per-program latency and per-channel stalls in
a batch, `vta-rtl run/check --inject-fault`): each of fetch, load, micro-op load, acc load
(R) and store (B) ends the run with one report naming channel, burst, requester and cycle,
and both models name the same burst.
"""
import subprocess
import sys

import pytest

from vta.compiler import build_workload
from vta.isa import write_bundle
from vta.tlm import run_program
from vta.tlm.errors import ProgramError
from vta.tlm.faults import AxiFaultError, parse_fault

CASES = {   # spec -> (channel, requester words in the report, region)
    "r:fetch": ("r", "fetch (instruction read)", "insns"),
    "r:load": ("r", "load (input/weight read)", "wgt"),
    "r:uop": ("r", "compute (micro-op load)", "uops"),
    "r:acc": ("r", "compute (acc/bias load)", "bias"),
    "b:store": ("b", "store (write)", "out"),
}


@pytest.fixture(scope="module")
def prog(tiny_cfg):
    # tiny's default workload: fetch, inp/wgt loads, micro-op and bias loads, stores
    return build_workload("default", tiny_cfg)


def tlm_fault(prog, spec):
    with pytest.raises(AxiFaultError) as e:
        run_program(prog, inject_fault=spec)
    return e.value


@pytest.mark.parametrize("spec", list(CASES))
def test_tlm_fault_mode_reports_each_requester(prog, spec):
    channel, who, region = CASES[spec]
    err = tlm_fault(prog, spec)
    msg = str(err)
    assert err.burst[0] == channel
    resp = "R" if channel == "r" else "B"
    assert msg.startswith(f"AXI SLVERR response on {resp} (injected by --inject-fault {spec}): {who}")
    assert f"region '{region}'" in msg and f"{err.burst[1]:#x}" in msg
    full = run_program(prog).cycles
    assert 0 < err.cycle < full      # the run stopped at the fault, not at the end
    assert f"at cycle {err.cycle};" in msg


def test_tlm_fault_nth_burst_and_decerr(prog):
    first = tlm_fault(prog, "r:load")
    third = tlm_fault(prog, "r:load:decerr:3")
    assert "AXI DECERR response on R" in str(third)
    assert third.burst[1] > first.burst[1] and third.cycle > first.cycle
    by_name = tlm_fault(prog, "r:inp")   # a segment name selects its own range
    assert "region 'inp'" in str(by_name)


@pytest.mark.parametrize("text, words", [
    ("r", "expected CHANNEL:TARGET"), ("w:load", "channel 'w' is not r or b"),
    ("r:store", "store answers on B"), ("b:uop", "uop answers on R"),
    ("r:load:okay", "neither slverr/decerr nor a burst number"), ("r:load:0", "must be >= 1"),
    ("r:load:2:3", "given twice"), ("r::1", "expected CHANNEL:TARGET"),
])
def test_bad_fault_specs_are_named(text, words):
    with pytest.raises(ValueError, match=words):
        parse_fault(text)


def test_fault_targets_are_checked_against_the_program(prog):
    with pytest.raises(ProgramError, match="no requester or region named 'nosuch'"):
        run_program(prog, inject_fault="r:nosuch")
    with pytest.raises(ProgramError, match="region 'inp' is never written"):
        run_program(prog, inject_fault="b:inp")


def test_vta_tlm_cli_fault_mode(tmp_path):
    cmd = [sys.executable, "-m", "vta.tlm.cli", "run", "tiny", "--quiet"]
    p = subprocess.run(cmd + ["--inject-fault", "r:acc:decerr"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith("vta-tlm: error: AXI DECERR response on R") and p.stderr.count("\n") == 1
    p = subprocess.run(cmd + ["--inject-fault", "r:uop:100000"], capture_output=True, text=True)
    assert p.returncode == 0 and "no error response was injected" in p.stderr
    p = subprocess.run(cmd + ["--inject-fault", "q:uop"], capture_output=True, text=True)
    assert p.returncode == 2 and "channel 'q' is not r or b" in p.stderr


@pytest.mark.rtl
def test_rtl_error_responses_and_memory_knobs(prog, tiny_cfg, tmp_path):
    """One Icarus session: the five faults, then a small GEMM under per-program latency and
    per-channel stalls (outputs stay exact; the knobs change the cycles)."""
    from vta.cosim.sim import AxiResponseError, run_many_on_rtl
    small = build_workload("gemm_4x4", tiny_cfg)
    mems = [{"fault": spec} for spec in CASES] + [
        {"latency": 1}, {"latency": 64}, {"latency": 1, "stall": {"r": 0.6}, "seed": 3},
        {"latency": 1, "stall": {"w": 0.6}, "seed": 3},
        {"latency": 1, "stall": {"ar": 0.6, "aw": 0.6, "b": 0.6}, "seed": 4}]
    res = run_many_on_rtl([prog] * len(CASES) + [small] * 5, tiny_cfg, sim="icarus",
                          workdir=tmp_path, mem=mems)
    for spec, r in zip(CASES, res):
        channel, who, region = CASES[spec]
        assert isinstance(r, AxiResponseError), (spec, r)
        tlm = tlm_fault(prog, spec)
        f = r.fault
        assert f["flagged"] and f["resp"] == 2        # the master's error bit is set
        assert (f["channel"], f["addr"], f["beats"]) == tlm.burst   # the same burst as the TLM
        assert who in str(r) and f"region '{region}'" in str(r)
        assert abs(f["cycle"] - tlm.cycle) <= 0.2 * tlm.cycle + 50
    fast, slow, r_stalled, w_stalled, others = res[len(CASES):]
    for r in (fast, slow, r_stalled, w_stalled, others):
        assert not isinstance(r, Exception), r
        assert not r.mismatches(small.expect)
    assert slow.dram_latency == 64 and fast.dram_latency == 1
    assert slow.cycles > fast.cycles + 2 * 60           # at least two round trips longer
    assert r_stalled.cycles > fast.cycles + 10 and w_stalled.cycles > fast.cycles


@pytest.mark.rtl
def test_vta_rtl_cli_inject_fault(prog, tmp_path, capsys):
    from vta.cosim.cli import main
    bundle = write_bundle(prog, tmp_path / "p.vtab")
    assert main(["run", str(bundle), "--inject-fault", "b:store:decerr"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vta-rtl: error: default: AXI DECERR response on B (injected by "
                          "--inject-fault b:store:decerr): store (write)") and err.count("\n") == 1
    assert main(["check", "tiny", str(bundle), "--inject-fault", "r:uop"]) == 0
    out = capsys.readouterr().out
    assert "AGREE" in out and out.count("compute (micro-op load)") == 2


def test_stall_spec_is_checked():
    from vta.cosim.sim import SimError, stall_spec
    assert stall_spec(0.25) == {ch: 0.25 for ch in ("ar", "r", "aw", "w", "b")}
    assert stall_spec({"r": 0.5, "b": 0}) == {"r": 0.5}
    with pytest.raises(SimError, match="unknown channel 'x'"):
        stall_spec({"x": 0.1})
    with pytest.raises(SimError, match="not a probability"):
        stall_spec({"r": 1.0})


@pytest.mark.rtl
def test_memory_model_keeps_up_with_64_outstanding_bursts(tmp_path, latency=32):
    """The testbench memory alone (tests/cocotb/mem_model_test.py on a bare bus, Icarus):
    64 single-beat bursts take latency + 64 + 2 cycles (measured: 98 at latency 32)."""
    from pathlib import Path

    from cocotb_tools.runner import get_runner

    from vta.cosim import tools
    from vta.cosim.sim import failures
    here = Path(__file__).resolve().parent / "cocotb"
    tools.apply_hdl_env()
    runner = get_runner("icarus")
    runner.build(sources=[here / "mem_model.v"], hdl_toplevel="mem_model", build_dir=tmp_path,
                 timescale=("1ns", "10ps"), log_file=tmp_path / "build.log")
    results = tmp_path / "results.xml"
    sys.path.insert(0, str(here))
    try:
        runner.test(test_module="mem_model_test", hdl_toplevel="mem_model", build_dir=tmp_path,
                    test_dir=tmp_path, results_xml=str(results), log_file=tmp_path / "sim.log",
                    extra_env={"VTA_DRAM_LATENCY": str(latency)})
    except SystemExit:
        pass
    finally:
        sys.path.remove(str(here))
    assert not failures(results), failures(results)
    assert (tmp_path / "sim.log").read_text().count("PASS") >= 2
