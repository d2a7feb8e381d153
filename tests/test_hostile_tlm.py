"""The TLM under hostile programs (issue 9, items 3 and 7): cycle and time limits that stop
even one huge instruction promptly, and warnings (errors with --strict) for results that
depend on state the program did not set up; --sram-init in the TLM and the RTL testbench.
"""
from __future__ import annotations

import numpy as np
import pytest
from test_hostile_asm import assert_clean_error, run_measured

from vta.assembler import assemble_text
from vta.compiler import build_workload
from vta.tlm import LimitError, ProgramError, run_program
from vta.tlm.watch import parse_sram_init, sram_fill

HUGE = """tile:
    UOP dst=0 src=0 wgt=0
LOAD uop sram=0 dram=tile y=1 x=1
{insn}
FINISH
"""
HUGE_GEMM = HUGE.format(insn="GEMM reset uop=(0,1) iter=(16383,16383)")
HUGE_ALU = HUGE.format(insn="ALU ADD uop=(0,1) iter=(16383,16383) imm=1")


def _write(tmp_path, text, name="p.s"):
    (tmp_path / name).write_text(text)
    return name


@pytest.mark.parametrize("text, args, needles", [
    (HUGE_GEMM, ["--max-cycles", "1000000"],
     ["instruction 1 (GEMM reset uop=(0,1) iter=(16383,16383)", "268,402,777", "--max-cycles"]),
    (HUGE_ALU, ["--max-cycles", "1000000"], ["instruction 1 (ALU ADD", "--max-cycles"]),
    (HUGE_GEMM, ["--timeout", "1"], ["time limit of 1 s", "running: compute instruction 1 (GEMM reset"]),
    (HUGE_ALU, ["--timeout", "1"], ["time limit of 1 s", "compute instruction 1 (ALU ADD"]),
], ids=["gemm-cycles", "alu-cycles", "gemm-timeout", "alu-timeout"])
def test_one_huge_instruction_is_stopped(tmp_path, text, args, needles):
    res = run_measured(["vta-tlm", "run", "default", _write(tmp_path, text), *args], tmp_path)
    assert_clean_error(*res, *needles)
    rc, out, err, wall, rss = res
    assert wall < 10, f"{wall:.1f} s"


def test_cycle_limit_between_instructions(tmp_path):
    # 3,000: a LOAD completes past it (later, a GEMM would be refused before it runs)
    rc, out, err, wall, rss = run_measured(["vta-tlm", "run", "default", "--max-cycles", "3000"], tmp_path)
    assert_clean_error(rc, out, err, wall, rss, "passed the limit of 3,000 cycles", "running:")
    rc, _, err, *_ = run_measured(["vta-tlm", "run", "default", "--max-cycles", "nan"], tmp_path)
    assert rc == 2 and "positive number" in err and "Traceback" not in err


def test_limits_in_the_library():
    prog = build_workload("default", "default")
    full = run_program(prog)
    assert run_program(prog, max_cycles=full.cycles).cycles == full.cycles   # the limit is inclusive
    with pytest.raises(LimitError, match=r"passed the limit of 1,000 cycles") as e:
        run_program(prog, max_cycles=1000)
    assert e.value.cycle > 1000
    gemm = assemble_text(HUGE_GEMM, "default")
    with pytest.raises(LimitError, match=r"GEMM reset uop=\(0,1\) iter=\(16383,16383\).*would run"):
        run_program(gemm, max_cycles=10 ** 8)
    with pytest.raises(LimitError, match=r"time limit of 0.5 s"):
        run_program(gemm, timeout=0.5)
    with pytest.raises(ValueError):
        run_program(prog, max_cycles=float("nan"))


def _program(body, data="out: .data output shape=(4, 16) zeros\n"):
    return data + "tile:\n    UOP dst=0 src=0 wgt=0\nLOAD uop sram=0 dram=tile y=1 x=1\n" + body + "FINISH\n"


WARNINGS = [
    ("uninit-inp-wgt-acc", _program("GEMM uop=(tile, tile+1) iter=(1,1)\nSTORE out sram=0 dram=out y=1 x=1\n"),
     ["reads 1 inp buffer entry no instruction of this run wrote (first: inp[0])", "wgt[0]", "acc[0]"]),
    ("uninit-out", _program("STORE out sram=5 dram=out y=1 x=1\n"), ["out buffer entry", "out[5]"]),
    ("uninit-alu-src", _program("GEMM reset uop=(0,1) iter=(1,1)\nALU ADD uop=(0,1) iter=(1,2) src=(0,3)\n"),
     ["instruction 2 (ALU ADD", "reads 1 acc buffer entry", "acc[3]"]),
    ("uninit-alu-both", _program("ALU ADD uop=(0,1) iter=(1,2) src=(0,3)\n"),
     ["reads 2 acc buffer entries", "acc[0]"]),
    ("uninit-uop", "LOAD acc sram=0 dram=0 y=1 x=1\nALU MAX uop=(5,6) iter=(1,1) imm=0\nFINISH\n",
     ["uop buffer entry", "uop[5]", "outside every declared segment"]),
    ("store-over-insns", _program("GEMM reset uop=(0,1) iter=(1,1)\nSTORE out sram=0 dram=0x100 y=1 x=1\n"),
     ["writes DRAM [0x1000, 0x1010), over the instructions"]),
    ("store-outside", _program("GEMM reset uop=(0,1) iter=(1,1)\nSTORE out sram=0 dram=0x10000 y=1 x=1\n"),
     ["writes DRAM [0x100000, 0x100010), outside every declared segment"]),
    ("store-over-uops", _program("GEMM reset uop=(0,1) iter=(1,1)\nSTORE out sram=0 dram=0x200 y=1 x=1\n"),
     ["over the micro-ops [0x2000, 0x2004)"]),
    ("load-outside", _program("LOAD inp sram=0 dram=0x40000 y=1 x=1\n"),
     ["reads DRAM [0x400000, 0x400010), outside every declared segment"]),
]


@pytest.mark.parametrize("text, needles", [w[1:] for w in WARNINGS], ids=[w[0] for w in WARNINGS])
def test_warnings_and_strict(text, needles):
    prog = assemble_text(text, "default")
    res = run_program(prog)
    found = "\n".join(res.warnings)
    for n in needles:
        assert n in found, (n, found)
    with pytest.raises(ProgramError, match=r"\(an error with --strict\)"):
        run_program(prog, strict=True)


@pytest.mark.parametrize("case", ["uninit-inp-wgt-acc", "store-over-insns"])
def test_warnings_through_the_cli(tmp_path, case):
    text, needles = next(w[1:] for w in WARNINGS if w[0] == case)
    name = _write(tmp_path, text)
    rc, out, err, wall, rss = run_measured(["vta-tlm", "run", "default", name, "--quiet"], tmp_path)
    assert rc == 0, err
    assert "Traceback" not in err and "vta-tlm: warning:" in err and needles[0] in err
    res = run_measured(["vta-tlm", "run", "default", name, "--quiet", "--strict"], tmp_path)
    assert_clean_error(*res, "(an error with --strict)")


def test_no_warnings_for_ordinary_programs():
    for name in ("default", "gemm_blocked_vt2", "load_pad", "alu_add_vv"):
        res = run_program(build_workload(name, "default"), strict=True)
        assert res.passed and res.warnings == [] and res.warning_count == 0, name


def test_reset_gemm_warns_only_when_its_out_is_stored():
    src = _program("GEMM reset uop=(0,1) iter=(1,1)\n")   # reset of a fresh acc: fine
    assert run_program(assemble_text(src, "default"), strict=True).warnings == []
    src = _program("GEMM reset uop=(0,1) iter=(1,1)\nSTORE out sram=0 dram=out y=1 x=1\n")
    with pytest.raises(ProgramError, match=r"store: instruction \d+ .*out\[0\]"):
        run_program(assemble_text(src, "default"), strict=True)


def test_sram_init_shows_dependence_on_stale_buffers():
    prog = assemble_text(_program("STORE out sram=0 dram=out y=1 x=4\n"), "default")
    zero = run_program(prog).outputs["out"]
    assert not zero.any()
    assert np.array_equal(run_program(prog, sram_init="zero").outputs["out"], zero)
    a, b = (run_program(prog, sram_init=s).outputs["out"] for s in (5, 5))
    assert np.array_equal(a, b) and a.any()
    expect = sram_fill(prog.config, 5)["out"][:4].reshape(4, 16)
    assert np.array_equal(a, expect.astype(np.int8))
    assert not np.array_equal(a, run_program(prog, sram_init=6).outputs["out"])


def test_sram_fill_is_in_range():
    from vta.isa import load_config
    cfg = load_config("default")
    fill = sram_fill(cfg, 1)
    assert fill["acc"].shape == (cfg.acc_depth, cfg.batch * cfg.block_out)
    assert fill["acc"].min() < 0 < fill["acc"].max() and fill["acc"].max() < 2 ** 31
    assert fill["inp"].min() >= -128 and fill["inp"].max() <= 127
    assert fill["uop"].min() >= 0 and fill["uop"].max() < 2 ** 32
    assert parse_sram_init("zero") == "zero" and parse_sram_init("0x10") == 16
    assert isinstance(parse_sram_init("random"), int)
    with pytest.raises(ValueError):
        parse_sram_init("-1")


def test_sram_init_cli(tmp_path):
    name = _write(tmp_path, _program("STORE out sram=0 dram=out y=1 x=4\n"))
    rc, _, err, *_ = run_measured(["vta-tlm", "run", "default", name, "--quiet", "--sram-init", "random"],
                                  tmp_path)
    assert rc == 0 and "filled from seed" in err and "out[0]" in err
    rc, _, err, *_ = run_measured(["vta-tlm", "run", "default", name, "--sram-init", "lots"], tmp_path)
    assert rc == 2 and "expected zero, random or a seed" in err and "Traceback" not in err


@pytest.mark.rtl
def test_sram_init_reaches_the_rtl(tmp_path):
    """The testbench writes the same values into the converted memories: a program that
    reads never-written entries of every buffer agrees with the TLM for a seed, and its
    outputs differ from the zero-filled run."""
    from vta.cosim.crosscheck import check_program
    src = _program("GEMM uop=(tile, tile+1) iter=(1,1)\nALU ADD uop=(0,1) iter=(1,2) src=(0,3)\n"
                   "STORE out sram=0 dram=out y=1 x=4\n")
    prog = assemble_text(src, "default")
    res = check_program(prog, sram_init=5, workdir=tmp_path / "w")
    assert not res.differences, res.differences
    zero = run_program(prog).outputs["out"]
    assert not np.array_equal(res.rtl.outputs["out"], zero)


def test_long_instruction_reports_progress():
    from vta.tlm import Tlm
    prog = assemble_text(HUGE.format(insn="GEMM reset uop=(0,1) iter=(128,128)"), "default")
    seen = []
    Tlm(prog, detail=seen.append).run()
    runs = [t for t in seen if "GEMM reset uop=(0,1) iter=(128,128)" in t]
    assert runs and runs[-1].endswith("16,384/16,384 micro-op runs"), seen
    assert seen[-1] == prog.name   # back to the program's name after the instruction
