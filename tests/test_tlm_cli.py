"""`vta-tlm run` / `vta-tlm list`: PASS/FAIL and exit codes, --out files and stats.json,
--trace, running .s sources and .vtab bundles."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vta.compiler import build_workload, workload_names
from vta.isa import write_bundle

ROOT = Path(__file__).resolve().parents[1]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "vta.tlm.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


def test_main_job_default_config_passes(tmp_path):
    # The README's main command (no program: the built-in default workload).
    r = cli("run", "configs/default.yaml", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "PASS" in r.stdout
    for label in ("cycles", "wall time", "GOPS", "utilization", "DRAM bandwidth", "fetch", "load",
                  "compute", "store", "busy", "stall"):
        assert label in r.stdout, label
    st = json.loads((tmp_path / "stats.json").read_text())
    assert st["cycles"] > 0 and st["instructions"] == 226
    assert 0 < st["gemm_utilization"] <= 1
    for stage in ("fetch", "load", "compute", "store"):
        assert set(st["stages"][stage]) >= {"busy_cycles", "stall_cycles"}
    assert st["dram"]["bytes_read"] > 0 and st["dram"]["bytes_written"] == 256 * 256
    out = np.frombuffer((tmp_path / "out.bin").read_bytes(), dtype=np.int8)
    exp = build_workload("default", "default").expect["out"]
    np.testing.assert_array_equal(out, exp.ravel())


def test_quiet_prints_one_line():
    r = cli("run", "tiny", "--workload", "alu_shr_vv", "--quiet")
    assert r.returncode == 0
    assert r.stdout.strip().startswith("PASS alu_shr_vv on tiny")
    assert len(r.stdout.strip().splitlines()) == 1


def test_fail_exits_1_and_names_the_element(tmp_path):
    prog = build_workload("gemm_4x4", "tiny")
    prog.expect["out"] = prog.expect["out"].copy()
    prog.expect["out"][2, 1, 0, 3] ^= 1
    path = write_bundle(prog, tmp_path / "wrong.vtab")
    r = cli("run", "tiny", str(path), "--quiet")
    assert r.returncode == 1
    assert "FAIL" in r.stdout and "[2, 1, 0, 3]" in r.stdout


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.s")), ids=lambda p: p.name)
@pytest.mark.parametrize("config", ["default", "tiny"])
def test_examples_run_from_source(example, config):
    r = cli("run", config, str(example), "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("PASS")


def test_bundle_and_trace(tmp_path):
    path = write_bundle(build_workload("load_pad", "default"), tmp_path / "lp.vtab")
    trace = tmp_path / "t.json"
    r = cli("run", "default", str(path), "--trace", str(trace), "--out", str(tmp_path / "o"))
    assert r.returncode == 0 and "PASS" in r.stdout
    assert json.loads(trace.read_text())["traceEvents"]
    assert (tmp_path / "o" / "out.bin").stat().st_size == build_workload("load_pad", "default").segment("out").nbytes


def test_list_names_every_workload():
    r = cli("list")
    assert r.returncode == 0
    for name in workload_names():
        assert name in r.stdout
    r = cli("list", "tiny")
    assert "64x64x64" in r.stdout


def test_run_program_names_the_last_writer_and_takes_programs_only():
    from vta.assembler import load_program
    from vta.tlm import run_program
    with pytest.raises(TypeError, match="load_program"):
        run_program(ROOT / "examples" / "relu.s", "tiny")   # reading files is the caller's job
    res = run_program(load_program(ROOT / "examples" / "relu.s", "tiny"))
    assert res.passed
    idx, text = res.last_writer("out", (0, 0, 0))
    assert text.startswith("STORE") and res.program.insns[idx].mnemonic == "STORE"
