"""Apache VTA's reference test suite (vta.compiler.workloads: ALU MIN/MAX/ADD/SHR vector-scalar and
vector-vector with and without uop compression, blocked GEMM with 1 and 2 virtual threads,
plain 4x4 GEMM, padded loads) on the RTL, against the workloads' numpy-computed outputs."""
import pytest

from vta.compiler.workloads import WORKLOADS, build_workload
from vta.cosim.sim import run_on_rtl

pytestmark = pytest.mark.rtl   # needs an HDL simulator


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_workload_tiny_verilator(name, tmp_path):
    prog = build_workload(name, "tiny")
    assert prog.expect
    res = run_on_rtl(prog, sim="verilator", workdir=tmp_path)
    assert res.mismatches(prog.expect) == {}


def test_virtual_threads_hide_latency(tmp_path):
    # two virtual threads overlap loads with compute: fewer cycles for the same GEMM
    vt1 = run_on_rtl(build_workload("gemm_blocked_vt1", "tiny"), sim="verilator", workdir=tmp_path / "1")
    vt2 = run_on_rtl(build_workload("gemm_blocked_vt2", "tiny"), sim="verilator", workdir=tmp_path / "2")
    assert vt2.cycles < 0.8 * vt1.cycles, (vt1.cycles, vt2.cycles)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_workload_default_verilator(name, tmp_path):
    prog = build_workload(name, "default")
    res = run_on_rtl(prog, sim="verilator", workdir=tmp_path)
    assert res.mismatches(prog.expect) == {}
