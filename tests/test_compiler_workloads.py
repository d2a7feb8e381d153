"""The program library: programs are valid and token-balanced on every config, their
expected outputs agree with an independent numpy computation from their own input
segments, tiling is what VTA reads, and bundles round-trip."""
from __future__ import annotations

import numpy as np
import pytest
from reference import run_reference

from vta.compiler import (WORKLOADS, blocked_gemm, blocked_shape, build_workload, tile_acc,
                          tile_inp, tile_wgt, workload_names)
from vta.isa import (ALU_ADD, ALU_MAX, ALU_MIN, ALU_SHR, Alu, ConfigError, Gemm, Load, Store,
                     check_insn, load_config, read_bundle, write_bundle)
from vta.tlm import run_program
from vta.tlm.fetch import route

CONFIGS = ["default", "tiny", "ultra96", "zcu104"]


def wrap(x, bits):
    m = 1 << bits
    return ((np.asarray(x, dtype=np.int64) + (m >> 1)) % m) - (m >> 1)


def untile(t):
    """(rows/a, cols/b, a, b) tiles -> (rows, cols) matrix."""
    r, c, a, b = t.shape
    return t.transpose(0, 2, 1, 3).reshape(r * a, c * b).astype(np.int64)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", workload_names())
def test_programs_are_valid_and_token_balanced(name, config):
    cfg = load_config(config)
    prog = build_workload(name, cfg)
    for insn in prog.insns:
        assert check_insn(insn, cfg) == [], insn
    counts = {"l2g": [0, 0], "g2l": [0, 0], "g2s": [0, 0], "s2g": [0, 0]}  # [pushes, pops]
    for insn in prog.insns:
        unit = route(insn)
        if unit == "load":
            counts["l2g"][0] += insn.push_next
            counts["g2l"][1] += insn.pop_next
        elif unit == "compute":
            counts["l2g"][1] += insn.pop_prev
            counts["s2g"][1] += insn.pop_next
            counts["g2l"][0] += insn.push_prev
            counts["g2s"][0] += insn.push_next
        else:
            counts["g2s"][1] += insn.pop_prev
            counts["s2g"][0] += insn.push_prev
    for q, (push, pop) in counts.items():
        assert push == pop, (q, push, pop)
    assert prog.insns[-1].mnemonic == "FINISH"


def test_blocked_shape_scales_with_config(tiny_cfg, default_cfg):
    assert blocked_shape(default_cfg, 2) == (256, 64)
    assert blocked_shape(tiny_cfg, 2) == (64, 16)
    assert blocked_shape(tiny_cfg, 1) == (64, 16)


@pytest.mark.parametrize("name", ["default", "gemm_blocked_vt1", "gemm_blocked_vt2", "gemm_4x4"])
@pytest.mark.parametrize("config", ["default", "tiny"])
def test_gemm_expectations_are_independent_numpy(name, config):
    prog = build_workload(name, config)
    a = untile(prog.segment("inp").data)
    w = untile(prog.segment("wgt").data)
    c = a @ w.T
    if any(s.name == "bias" for s in prog.segments):
        c = c + untile(prog.segment("bias").data)
    np.testing.assert_array_equal(untile(prog.expect["out"]), wrap(c, 8))


def test_default_workload_is_256_cube_on_default():
    prog = build_workload("default", "default")
    assert prog.segment("inp").data.size == 256 * 256
    assert prog.segment("out").data.size == 256 * 256


@pytest.mark.parametrize("name", [n for n in workload_names() if n.startswith("alu_")])
def test_alu_expectations_are_independent_numpy(name):
    prog = build_workload(name, "tiny")
    acc = prog.segment("acc").data.astype(np.int64)
    alu = next(i for i in prog.insns if isinstance(i, Alu))
    rows = prog.expect["out"].shape[0]
    a = acc[:rows]
    b = np.int64(alu.imm) if alu.use_imm else acc[rows:2 * rows]
    if alu.alu_opcode == ALU_MIN:
        r = np.minimum(a, b)
    elif alu.alu_opcode == ALU_MAX:
        r = np.maximum(a, b)
    elif alu.alu_opcode == ALU_ADD:
        r = a + b
    else:
        assert alu.alu_opcode == ALU_SHR
        n = wrap(b, 5)
        r = np.where(n >= 0, a >> np.clip(n, 0, None), a << np.clip(-n, 0, None))
    np.testing.assert_array_equal(prog.expect["out"], wrap(wrap(r, 32), 8))
    # Compression: one micro-op reused through the loop, or one per entry.
    assert len(prog.uops) == (rows if name.endswith("_nouc") else 1)


def test_tiling_matches_vta_layout(tiny_cfg):
    cfg = tiny_cfg
    a = np.arange(8 * 12).reshape(8, 12)
    t = tile_inp(a, cfg)               # (8/1, 12/4, 1, 4)
    assert t.shape == (8, 3, 1, 4)
    assert t[5, 2, 0].tolist() == a[5, 8:12].tolist()
    w = np.arange(8 * 12).reshape(8, 12)
    tw = tile_wgt(w, cfg)              # (8/4, 12/4, 4, 4)
    assert tw[1, 2].tolist() == w[4:8, 8:12].tolist()
    c = np.arange(8 * 8).reshape(8, 8)
    assert tile_acc(c, cfg)[3, 1, 0].tolist() == c[3, 4:8].tolist()


def test_padded_load_program_uses_padding():
    prog = build_workload("load_pad", "default")
    loads = [i for i in prog.insns if isinstance(i, Load) and (i.y_pad_0 or i.x_pad_1)]
    assert len(loads) == 2 and all(i.x_stride > i.x_size for i in loads)
    assert any(i.reset for i in prog.insns if isinstance(i, Gemm))


def test_virtual_threads_use_distinct_regions(tiny_cfg):
    prog = blocked_gemm(tiny_cfg, vt=2)
    inp_bases = {i.sram_base for i in prog.insns if isinstance(i, Load) and i.memory_type == 2}
    out_bases = {i.sram_base for i in prog.insns if isinstance(i, Store)}
    assert len(inp_bases) == 2 and len(out_bases) == 2


def test_unsupported_element_widths_are_a_clear_error(default_cfg):
    cfg = default_cfg.replace(arch={"log_inp_width": 2, "log_wgt_width": 2,
                                               "log_inp_buff_size": 14, "log_wgt_buff_size": 17})
    with pytest.raises(ConfigError, match="8-, 16- or 32-bit"):
        build_workload("gemm_4x4", cfg)


@pytest.mark.parametrize("name", ["default", "load_pad", "alu_max_vs_nouc"])
def test_bundle_round_trip_runs(tmp_path, name):
    prog = build_workload(name, "tiny")
    back = read_bundle(write_bundle(prog, tmp_path / f"{name}.vtab"))
    assert back.insns == prog.insns and back.uops == prog.uops
    assert run_program(back).passed


def test_registry_descriptions():
    assert set(WORKLOADS) == set(workload_names())
    assert "default" in WORKLOADS and len(WORKLOADS) == 21


# The blocked 256^3 GEMMs take ~3 s each in the reference on the big configs: tiny only.
_REFERENCE_CASES = [(n, "tiny") for n in workload_names()] + [
    (n, c) for c in ("default", "zcu104") for n in workload_names()
    if not n.startswith(("default", "gemm_blocked"))]


@pytest.mark.parametrize("name,config", _REFERENCE_CASES)
def test_expectations_match_the_reference_interpreter(name, config):
    # A third party for the expected outputs (the ALU ones are computed with the product's
    # own vta.isa.semantics.alu_apply): tests/reference.py runs the program itself.
    prog = build_workload(name, config)
    ref = run_reference(prog)
    assert prog.expect
    for seg, want in prog.expect.items():
        np.testing.assert_array_equal(want, ref.read_segment(seg), err_msg=f"{name} on {config}: {seg}")


@pytest.mark.parametrize("name", [n for n in workload_names() if n.startswith("alu_")])
def test_alu_expectations_match_the_reference_on_16_bit_accumulators(name, tiny_cfg):
    # narrower accumulators: the immediate and the results wrap at 16 bits
    cfg = tiny_cfg.replace(arch={"log_acc_width": 4})
    prog = build_workload(name, cfg)
    np.testing.assert_array_equal(prog.expect["out"], run_reference(prog).read_segment("out"))
