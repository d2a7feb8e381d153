"""The examples assemble for every 1x16x16 config and for tiny, and their expected
outputs are right: the reference interpreter (tests/reference.py, written from
docs/isa.md and independent of the TLM) runs each program (in an order its dependence
tokens allow) and its output segments are compared with the .expect data the file carries."""
from pathlib import Path

import numpy as np
import pytest
from reference import run_reference

from vta.assembler import assemble_file
from vta.isa import load_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FILES = ("gemm.s", "relu.s", "padded_load.s", "requant.s")


@pytest.mark.parametrize("config", ["default", "tiny", "ultra96", "zcu104"])
@pytest.mark.parametrize("name", FILES)
def test_example_expected_outputs_hold(name, config):
    prog = assemble_file(EXAMPLES / name, load_config(config))
    assert prog.expect, f"{name} carries no expected outputs"
    ref = run_reference(prog)
    assert ref.finished and not ref.pending, f"instructions {ref.pending} did not run before FINISH"
    assert ref.tokens == {"l2g": 0, "g2l": 0, "g2s": 0, "s2g": 0}, "tokens left in a queue"
    for seg_name, expected in prog.expect.items():
        got = ref.read_segment(seg_name)
        np.testing.assert_array_equal(got, expected, err_msg=f"{name} on {config}: {seg_name}")


def test_padded_load_output_is_the_padded_input():
    prog = assemble_file(EXAMPLES / "padded_load.s", "default")
    inp, out = prog.segment("inp").data, prog.expect["out"]
    assert out.shape == (4, 4, 1, 16)
    assert not out[0].any() and not out[-1].any() and not out[:, 0].any() and not out[:, -1].any()
    np.testing.assert_array_equal(out[1:3, 1:3], inp)
    assert inp.any()


def test_relu_and_gemm_expectations_show_truncation():
    relu = assemble_file(EXAMPLES / "relu.s", "default")
    acc = relu.segment("acc").data.astype(np.int64)
    assert (acc > 127).any() and (acc < 0).any()          # the data exercises both rules
    np.testing.assert_array_equal(relu.expect["out"], ((np.maximum(acc, 0) + 128) % 256) - 128)
    gemm = assemble_file(EXAMPLES / "gemm.s", "default")
    full = gemm.segment("inp").data.astype(np.int64) @ gemm.segment("wgt").data.astype(np.int64).T
    assert (np.abs(full) > 127).any()


def test_requant_expectation_is_the_clipped_half_sum():
    p = assemble_file(EXAMPLES / "requant.s", "tiny")
    a, b = (p.segment(n).data.astype(np.int64) for n in ("a", "b"))
    half = (a + b) >> 1
    assert (half > 127).any() and (half < -128).any()       # both clips matter
    np.testing.assert_array_equal(p.expect["out"], np.clip(half, -128, 127))
    assert len(p.uops) == 8 + 1                             # .rept wrote one per pair


def test_example_shape_guard_names_the_problem():
    from vta.assembler import AsmError
    cfg = load_config("default").replace(arch={"log_batch": 1, "log_inp_buff_size": 16})
    with pytest.raises(AsmError, match="expected outputs for 1x16x16 and 1x4x4 configs only"):
        assemble_file(EXAMPLES / "gemm.s", cfg)
