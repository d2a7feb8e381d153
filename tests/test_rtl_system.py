"""Full system: assembled example programs run on the exported vta_top under cocotb
(AXI RAM + AXI-Lite host), outputs compared with the bundles' expected segments."""
from pathlib import Path

import numpy as np
import pytest

from vta.assembler import load_program
from vta.isa import Finish, Program
from vta.cosim.sim import SimError, run_on_rtl

pytestmark = pytest.mark.rtl   # needs an HDL simulator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROGRAMS = ["gemm", "relu", "padded_load"]


def _run(name, sim, tmp_path):
    prog = load_program(EXAMPLES / f"{name}.s", "tiny")
    assert prog.expect, f"{name}.s has no expected outputs for tiny"
    res = run_on_rtl(prog, sim=sim, workdir=tmp_path)
    assert res.mismatches(prog.expect) == {}, {k: (res.outputs[k], v) for k, v in prog.expect.items()}
    for k, v in prog.expect.items():
        np.testing.assert_array_equal(res.outputs[k], v)
    assert 0 < res.cycles < 100000
    return res


@pytest.mark.parametrize("name", PROGRAMS)
def test_example_icarus(name, tmp_path):
    _run(name, "icarus", tmp_path)


@pytest.mark.parametrize("name", PROGRAMS)
def test_example_verilator(name, tmp_path):
    _run(name, "verilator", tmp_path)


@pytest.mark.parametrize("name", PROGRAMS)
def test_example_axi_backpressure(name, tmp_path):
    # the DRAM model stalls every AXI channel at random: handshakes must still hold
    prog = load_program(EXAMPLES / f"{name}.s", "tiny")
    res = run_on_rtl(prog, sim="verilator", workdir=tmp_path, axi_stall=0.5)
    assert res.mismatches(prog.expect) == {}


def test_watchdog_reports_stage_state(tmp_path, tiny_cfg):
    # FINISH waits for a store->compute token nobody sends: the core must hang, and the
    # watchdog must say so with the stages' state instead of running forever.
    cfg = tiny_cfg
    prog = Program(config=cfg, insns=[Finish(pop_next=True)], name="hang")
    with pytest.raises(SimError) as e:
        run_on_rtl(prog, sim="icarus", max_cycles=2000, workdir=tmp_path)
    msg = str(e.value)
    assert "watchdog" in msg and "busy:" in msg and "compute" in msg


def test_undefined_sram_read_is_explained_on_icarus(tmp_path):
    # acc[2:4] is never loaded; the ALU copies it to out and STORE writes X bits to DRAM.
    # Icarus (4-state) cannot hand X to the RAM model: the error must say why.
    src = tmp_path / "undef.s"
    src.write_text(
        "acc: .data bias shape=(4, BATCH, BLOCK_OUT) zeros\n"
        "out: .data output shape=(4, BATCH, BLOCK_OUT) zeros\n"
        "u:\n    UOP dst=0 src=0\n"
        "LOAD uop sram=0 dram=u y=1 x=1\n"
        "LOAD acc sram=0 dram=acc y=1 x=2\n"
        "ALU ADD uop=(u, u + 1) iter=(1, 4) dst=(0,1) src=(0,1) imm=0 push_next\n"
        "STORE out sram=0 dram=out y=1 x=4 pop_prev push_prev\n"
        "FINISH pop_next\n")
    prog = load_program(src, "tiny")
    with pytest.raises(SimError, match="reads buffer entries it never loaded"):
        run_on_rtl(prog, sim="icarus", workdir=tmp_path / "run")


@pytest.mark.parametrize("name", PROGRAMS)
def test_example_default_config_verilator(name, tmp_path):
    # the pynq config (1x16x16, 64-bit bus): the full-size datapath and 2 uops per beat
    prog = load_program(EXAMPLES / f"{name}.s", "default")
    res = run_on_rtl(prog, sim="verilator", workdir=tmp_path)
    assert res.mismatches(prog.expect) == {}
