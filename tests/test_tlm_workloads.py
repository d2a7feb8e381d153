"""Every built-in workload PASSes on the default and the tiny config."""
from __future__ import annotations

import pytest

from vta.compiler import build_workload, workload_names
from vta.tlm import run_program


@pytest.mark.parametrize("config", ["default", "tiny"])
@pytest.mark.parametrize("name", workload_names())
def test_workload_passes(name, config):
    prog = build_workload(name, config)
    assert prog.expect, "every built-in workload carries expected outputs"
    res = run_program(prog)
    assert res.passed, [str(m) for m in res.mismatches]
    assert res.checked and res.cycles > 0
    st = res.stats
    assert st["instructions"] == len(prog.insns)
    assert 0.0 <= st["gemm_utilization"] <= 1.0
    for stage in st["stages"].values():
        assert stage["busy_cycles"] + stage["stall_cycles"] <= st["drain_cycles"]
    # Outputs read back equal the expected arrays exactly (dtype and shape included).
    for seg, exp in prog.expect.items():
        assert res.outputs[seg].dtype == exp.dtype and res.outputs[seg].shape == exp.shape


def test_default_workload_is_the_256_cube_on_default():
    prog = build_workload("default", "default")
    res = run_program(prog)
    assert res.passed
    # 256x256x256 MACs on a 1x16x16 core: 65536 GEMM micro-ops.
    assert res.stats["gemm_uops"] == 256 * 256 * 256 // (16 * 16)
    assert res.stats["macs"] == 256 ** 3
