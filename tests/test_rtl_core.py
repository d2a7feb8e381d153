"""The RTL core (vta.rtl.core, top ``vta_core``) under cocotb + Icarus against the independent
reference (tests/reference.py) through the cocotb programs in tests/cocotb/core_tests.py."""
from __future__ import annotations

import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vta.cosim.sim import failures, run_test
from vta.isa import load_config

pytestmark = pytest.mark.rtl   # needs an HDL simulator

TESTS = Path(__file__).resolve().parent
TB = TESTS / "cocotb"


def run_cocotb(config, testcase=None, **env):
    """Run core_tests (one case or all) on the core converted for bundled config ``config``."""
    with tempfile.TemporaryDirectory(prefix="vta-core-") as work:
        results = run_test(load_config(config), "core_tests", sim="icarus", top="vta_core",
                           env={"VTA_CONFIG": config, **env}, test_dir=work, testcase=testcase,
                           pythonpath=(TB, TESTS), check=False)
        bad = failures(results)
        total = sum(1 for _ in ET.parse(results).getroot().iter("testcase"))
    assert total > 0 and not bad, f"{len(bad)} of {total} cocotb tests failed: {bad}"


def test_core_tiny_random_programs():
    run_cocotb("tiny", "random_programs", VTA_SEEDS="6")


def test_core_tiny_random_programs_with_stalls():
    """The same programs with random wait cycles on every port handshake."""
    run_cocotb("tiny", "random_programs", VTA_SEEDS="6", VTA_STALL="0.3", VTA_LATENCY="3")


def test_core_tiny_gemm_rate():
    run_cocotb("tiny", "gemm_rate")


def test_core_tiny_gemm_reset_same_dst_back_to_back():
    run_cocotb("tiny", "gemm_reset_same_dst_back_to_back")


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
