"""Reference workloads (vta.compiler.workloads) on the TLM and the RTL: outputs bit-exact between
TLM, RTL and the workloads' numpy-computed expected outputs, and cycles within 5%.

Every workload on tiny with Verilator and with Icarus, and every workload on the default config
with Verilator (the ALU and plain-GEMM set, and the blocked GEMMs + `default`: ~5 s and ~17 s),
each set in one simulator session; all in the default run.
"""
import pytest

from vta.compiler.workloads import build_workload, workload_names
from vta.cosim.crosscheck import CYCLE_TOLERANCE, check_many

pytestmark = pytest.mark.rtl   # needs an HDL simulator

DEFAULT_QUICK = [n for n in workload_names() if n.startswith("alu_") or n == "gemm_4x4"]
DEFAULT_SLOW = [n for n in workload_names() if n not in DEFAULT_QUICK]


def _check(names, config, sim, tmp_path):
    results = check_many([build_workload(n, config) for n in names], config, sim=sim,
                         workdir=tmp_path)
    problems = []
    for name, res in zip(names, results):
        if isinstance(res, Exception):
            problems.append(f"{name}: {res}")
            continue
        assert res.program.expect, name
        if res.differences:
            problems.append(f"{name}: {res.differences[0]}")
        if abs(res.cycle_error) > CYCLE_TOLERANCE:
            problems.append(f"{name}: TLM {res.tlm_cycles} vs RTL {res.rtl_cycles} cycles "
                            f"({res.cycle_error:+.1%})")
    assert not problems, "\n".join(problems)


# Icarus takes 4x Verilator's time here; its own random-program test stays in the default run
@pytest.mark.parametrize("sim", ["verilator", pytest.param("icarus", marks=pytest.mark.slow)])
def test_all_workloads_tiny(sim, tmp_path):
    _check(workload_names(), "tiny", sim, tmp_path)


def test_alu_and_plain_gemm_default_verilator(tmp_path):
    _check(DEFAULT_QUICK, "default", "verilator", tmp_path)


def test_other_workloads_default_verilator(tmp_path):
    _check(DEFAULT_SLOW, "default", "verilator", tmp_path)
