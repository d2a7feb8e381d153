"""The RTL core (vta.rtl.core) converted to Verilog and run under cocotb + Icarus
against a numpy reference of VTA_SPEC.md (tests/cocotb/core_tests.py)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from vta.cosim.sim import source_key
from vta.isa import load_config

pytestmark = pytest.mark.rtl   # needs an HDL simulator

ROOT = Path(__file__).resolve().parents[1]
TB = ROOT / "tests" / "cocotb"
BUILD = ROOT / "build" / "test_rtl_core"


def convert(config):
    """Convert the core for ``config`` in a subprocess (MyHDL converts once per process);
    cached under the build cache's key of the sources (vta.rtl and vta.isa)."""
    out = BUILD / source_key(load_config(config), "vta_core")
    v = out / "vta_core.v"
    if not v.exists():
        # converted into a fresh folder, then renamed: a parallel run never sees half a file
        BUILD.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=BUILD))
        code = ("import sys; from vta.isa import load_config; from vta.rtl.core import convert_core; "
                "convert_core(load_config(sys.argv[1]), sys.argv[2])")
        subprocess.run([sys.executable, "-W", "ignore", "-c", code, config, str(tmp)], check=True)
        try:
            tmp.rename(out)
        except OSError:   # another run won the race: use its copy
            shutil.rmtree(tmp, ignore_errors=True)
    return v


def run_cocotb(config, testcase=None, **env):
    from cocotb_tools.runner import get_results, get_runner
    v = convert(config)
    runner = get_runner("icarus")
    build = v.parent / "sim"
    runner.build(sources=[v], hdl_toplevel="vta_core", build_dir=build, always=False)
    results = runner.test(hdl_toplevel="vta_core", test_module="core_tests", test_dir=TB,
                          build_dir=build, testcase=testcase,
                          extra_env={"VTA_CONFIG": config, "PYTHONPATH": os.pathsep.join(
                              [str(TB), str(TB.parent), os.environ.get("PYTHONPATH", "")]), **env})
    total, failed = get_results(results)
    assert total > 0 and failed == 0, f"{failed} of {total} cocotb tests failed (see {results})"


def test_core_tiny_random_programs():
    run_cocotb("tiny", "random_programs", VTA_SEEDS="6")


def test_core_tiny_random_programs_with_stalls():
    """The same programs with random wait cycles on every port handshake."""
    run_cocotb("tiny", "random_programs", VTA_SEEDS="6", VTA_STALL="0.3", VTA_LATENCY="3")


def test_core_tiny_gemm_rate():
    run_cocotb("tiny", "gemm_rate")


def test_core_tiny_token_queue_full():
    run_cocotb("tiny", "token_queue_full")


def test_core_tiny_timing():
    run_cocotb("tiny", "timing")


def test_core_default_random_programs_quick():
    """The default (pynq) config: 64-bit bus, two micro-ops per beat, multi-beat elements."""
    run_cocotb("default", "random_programs", VTA_SEEDS="2", VTA_STALL="0.2")


@pytest.mark.slow
def test_core_tiny_many_random_programs():
    run_cocotb("tiny", "random_programs", VTA_SEEDS="40", VTA_STALL="0.2")


@pytest.mark.slow
def test_core_default_random_programs():
    run_cocotb("default", "random_programs", VTA_SEEDS="6", VTA_STALL="0.2")


@pytest.mark.slow
def test_core_zcu104_random_programs():
    """128-bit bus: four micro-ops per beat, one beat per inp/out element."""
    run_cocotb("zcu104", "random_programs", VTA_SEEDS="4", VTA_STALL="0.2")


def _cli():
    """python tests/test_rtl_core.py CONFIG SEED0 SEEDS [STALL]: run a seed range (debugging)."""
    cfg, seed0, seeds = sys.argv[1:4]
    stall = sys.argv[4] if len(sys.argv) > 4 else "0"
    run_cocotb(cfg, "random_programs", VTA_SEED0=seed0, VTA_SEEDS=seeds, VTA_STALL=stall)


if __name__ == "__main__":
    _cli()
