"""vta-asm on the command line: bundles, listings, disassembly, and every kind of bad
input answered by one `file:line:col: message` line on stderr with exit status 2."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vta.assembler.cli import main
from vta.isa import read_bundle

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def run(argv, capsys):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def fails_at(capsys, argv, file, line, col, *messages):
    rc, out, err = run(argv, capsys)
    assert rc == 2, (rc, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith(f"{file}:{line}:{col}: "), lines[0]
    for m in messages:
        assert m in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def src(tmp_path):
    def write(text, name="p.s"):
        p = tmp_path / name
        p.write_text(text)
        return p
    return write


# ---- the required kinds of bad input ------------------------------------------------

def test_unknown_mnemonic(src, capsys):
    p = src("FINISH\n  LAOD inp sram=0 dram=0 y=1 x=1\n")
    fails_at(capsys, [p], p, 2, 3, "unknown mnemonic 'LAOD'", "did you mean 'LOAD'", "expected one of LOAD")


def test_missing_field(src, capsys):
    p = src("LOAD inp sram=0 dram=0 x=1\n")
    fails_at(capsys, [p], p, 1, 1, "LOAD is missing 'y=' (y_size)")


def test_field_overflow(src, capsys):
    p = src("GEMM uop=(0,1) iter=(1, 16384)\n")
    fails_at(capsys, [p], p, 1, 25, "field 'iter_in' = 16384 does not fit its 14 bits (0..16383)")


def test_field_overflow_depends_on_the_config(src, capsys):
    p = src("UOP dst=300 src=0\n")
    assert run([p, "-o", p.with_suffix(".vtab")], capsys)[0] == 0
    fails_at(capsys, [p, "-c", "tiny"], p, 1, 9, "field 'dst_idx' = 300 does not fit its 8 bits (0..255)")


def test_unaligned_symbol(src, capsys):
    p = src("a: .data input shape=(2, BLOCK_IN) zeros\nLOAD inp sram=0 dram=a + 4 y=1 x=1\n")
    fails_at(capsys, [p], p, 2, 24, "address a+4", "not aligned to the inp element size (16 bytes)")


def test_unknown_symbol(src, capsys):
    p = src("a: .data input shape=(1, 16) zeros\nLOAD inp sram=0 dram=b y=1 x=1\n")
    fails_at(capsys, [p], p, 2, 22, "unknown symbol 'b'", "segments: a")


def test_duplicate_label(src, capsys):
    p = src("a: .data input shape=(1, 16) zeros\n\na:\n  UOP dst=0 src=0\n")
    fails_at(capsys, [p], p, 3, 1, "duplicate label 'a'", f"first defined at {p}:1:1")


def test_bad_include(src, capsys):
    p = src('FINISH\n.include "nowhere.s"\n')
    fails_at(capsys, [p], p, 2, 10, "cannot include 'nowhere.s': no such file")


def test_error_inside_an_include_names_the_included_file(src, capsys):
    inc = src("FINISH\nSTORE out sram=0 dram=0 y=1\n", "inc.s")
    p = src('.include "inc.s"\n')
    fails_at(capsys, [p], inc, 2, 1, "STORE is missing 'x=' (x_size)")


def test_bad_config_key(src, tmp_path, capsys):
    text = (CONFIGS / "default.yaml").read_text().replace("fpga:", "fpgaa:")
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    line = text.splitlines().index("fpgaa:") + 1
    p = src("FINISH\n")
    fails_at(capsys, [p, "-c", cfg], cfg, line, 1, "key 'fpgaa'", "unknown key")


def test_impossible_config(src, tmp_path, capsys):
    text = (CONFIGS / "tiny.yaml").read_text()
    text = re.sub(r"log_bus_width: 5", "log_bus_width: 7", text)
    cfg = tmp_path / "imp.yaml"
    cfg.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "log_bus_width" in ln)
    fails_at(capsys, [src("FINISH\n"), "-c", cfg], cfg, line, 3, "'arch.log_bus_width' = 7",
             "multiple of the 128-bit bus width")


def test_bad_vta_config_json(src, tmp_path, capsys):
    cfg = tmp_path / "vta_config.json"
    cfg.write_text('{"TARGET": "pynq",\n "LOG_BLOK": 4}\n')
    fails_at(capsys, [src("FINISH\n"), "-c", cfg], cfg, 2, 2, "'LOG_BLOK'", "unknown vta_config.json key")


@pytest.fixture
def bundle(src, capsys):
    p = src("x: .data input shape=(2, 16) random seed=1\ny: .data output shape=(2, 16) zeros\n"
            "LOAD inp sram=0 dram=x y=1 x=2\nFINISH\n")
    out = p.with_suffix(".vtab")
    assert run([p], capsys)[0] == 0
    return out


def _yaml_line(bundle, needle):
    return next(i for i, ln in enumerate((bundle / "bundle.yaml").read_text().splitlines(), 1) if needle in ln)


def test_bundle_with_missing_file(bundle, capsys):
    (bundle / "x.bin").unlink()
    line = _yaml_line(bundle, "file: x.bin")
    fails_at(capsys, ["--disassemble", bundle], bundle / "bundle.yaml", line, 9,
             "segment 'x': file 'x.bin' is missing")


def test_bundle_size_mismatch(bundle, capsys):
    (bundle / "insns.bin").write_bytes(bytes(48))
    fails_at(capsys, ["--disassemble", bundle], bundle / "bundle.yaml", _yaml_line(bundle, "insns:"), 15,
             "file 'insns.bin' has 48 bytes, expected 32")


# ---- more bad input ------------------------------------------------------------------

@pytest.mark.parametrize("text,line,col,message", [
    ("LOAD inp sram=0 dram=0 y=1 x=1 colour=3\n", 1, 32, "LOAD has no field 'colour'"),
    ("LOAD inp sram=0 dram=0 y=1 x=1 sideways\n", 1, 32, "unknown word 'sideways' in LOAD"),
    ("LOAD inp sram=0 dram=0 y=1 x=1 x=2\n", 1, 34, "field 'x_size' given twice"),
    ("GEMM uop=(0,1,2) iter=(1,1)\n", 1, 10, "'uop=' expects a tuple of 2 values"),
    ("ALU uop=(0,1) iter=(1,1)\n", 1, 1, "ALU is missing an ALU operation"),
    ("ALU MUL uop=(0,1) iter=(1,1)\n", 1, 1, "MUL is reserved"),
    ("LOAD inp sram=2040 dram=0 y=2 x=8\n", 1, 1, "past its 2048 entries"),
    ("LOAD inp sram=0 dram=0x1g y=1 x=1\n", 1, 22, "malformed number '0x1g'"),
    ("LOAD inp sram=0 dram=(1 y=1 x=1\n", 1, 22, "'(' is never closed"),
    ("a: .data input shape=(1, 16) values=[1, 2]\n", 1, 37, "values= has 2 values; shape [1, 16] needs 16"),
    ("a: .data input shape=(1, 2) values=[1, 999]\n", 1, 40, "value 999 does not fit int8"),
    ("a: .data input shape=(1, 16) zeros\nLOAD inp sram=0 dram=a y=2 x=1\n", 2, 22,
     "reads DRAM bytes [0x2000, 0x2020), outside segment 'a'"),
    ("a: .data input shape=(1, 8) zeros\n", 1, 4, "not a whole number of input elements"),
    (".data input shape=(1, 16) zeros\n", 1, 1, ".data needs a label"),
    ("a: .data shape=(1, 16) zeros\n", 1, 4, ".data needs one role"),
    ("a: .data input shape=(1, 16) random\n", 1, 30, "random needs seed=N"),
    ("a: .data output shape=(1, 16) zeros\n.expect b zeros\n", 2, 9, "unknown segment 'b'"),
    ('a: .data input shape=(1, 16) file="none.npy"\n', 1, 35, "data file 'none.npy' not found"),
    ("lonely:\n", 1, 1, "label 'lonely' names nothing"),
    ("x: FINISH\n", 1, 1, "label 'x' names an instruction"),
    (".if 1\nFINISH\n", 1, 1, ".if is never closed"),
    (".endif\n", 1, 1, ".endif without a matching .if"),
    (".frobnicate\n", 1, 1, "unknown directive '.frobnicate'"),
    ('.assert BLOCK_IN == 8 "needs an 8-wide core"\n', 1, 1, "needs an 8-wide core"),
    (".equ BLOCK_IN = 3\n", 1, 6, "'BLOCK_IN' is a config constant"),
    ("LOAD inp sram=0 dram=1/0 y=1 x=1\n", 1, 23, "division by zero"),
    ('LOAD inp sram="zero" dram=0 y=1 x=1\n', 1, 15, 'expected a number, found string "zero"'),
    ("a: .data input shape=(1, 16) zeros\nLOAD inp sram=a dram=0 y=1 x=1\n", 2, 15,
     "the address 'a' cannot be used in sram_base"),
    ("LOAD inp sram=0 dram=0 y=1 x=1 @\n", 1, 32, "unexpected character '@'"),
    # sizes that would otherwise allocate terabytes or loop for hours
    ("a: .data input shape=(100000000000, 16) zeros\n", 1, 22,
     "segment 'a' would be 1600000000000 bytes, more than the 64 MiB DRAM"),
    (".rept 99999999999\n.endr\n", 1, 1, ".rept expands to more than 4194304 passes"),
    (".rept 3000\n.rept 3000\n.endr\n.endr\n", 1, 1, ".rept expands to more than 4194304 passes"),
])
def test_more_bad_input(src, capsys, text, line, col, message):
    p = src(text)
    fails_at(capsys, [p], p, line, col, message)


def test_unreadable_inputs_exit_2_without_traceback(tmp_path, capsys):
    (tmp_path / "ok.s").write_text("FINISH\n")
    for argv, message in (([tmp_path / "none.s"], "cannot read"),
                          ([tmp_path / "ok.s", "-c", "no-such-config"], "no such config file"),
                          (["--disassemble", tmp_path / "none.bin"], "cannot read instructions")):
        rc, out, err = run(argv, capsys)
        assert rc == 2 and message in err and "Traceback" not in err
    raw = tmp_path / "odd.bin"
    raw.write_bytes(bytes(20))
    rc, _, err = run(["--disassemble", raw], capsys)
    assert rc == 2 and "not a multiple of 16" in err
    raw.write_bytes(bytes(16))
    rc, _, err = run(["--disassemble", raw, "--uops", tmp_path], capsys)
    assert rc == 2 and err.strip() == f"{tmp_path}: cannot read micro-ops: Is a directory"


# ---- normal use ------------------------------------------------------------------------

def test_assemble_writes_bundle_next_to_source_and_listing(tmp_path, capsys):
    shutil.copy(ROOT / "examples" / "gemm.s", tmp_path / "gemm.s")
    rc, out, err = run([tmp_path / "gemm.s", "--listing"], capsys)
    assert rc == 0
    prog = read_bundle(tmp_path / "gemm.vtab")
    assert len(prog.insns) == 7 and "out" in prog.expect
    rows = out.strip().splitlines()
    assert len(rows) == len(prog.insns) + len(prog.uops)
    first_insn = rows[len(prog.uops)]
    assert re.match(r"0x00001000  [0-9a-f]{16}:[0-9a-f]{16}\s+\d+  LOAD uop sram=0 dram=tile", first_insn)
    assert "gemm.vtab" in err


def test_config_option_and_output_option(tmp_path, capsys):
    out = tmp_path / "deep" / "g.vtab"
    rc, _, _ = run([ROOT / "examples" / "relu.s", "-c", "tiny", "-o", out], capsys)
    assert rc == 0
    assert read_bundle(out).config.name == "tiny"
    assert yaml.safe_load((out / "bundle.yaml").read_text())["config"]["name"] == "tiny"


def test_disassemble_bundle_and_listing(tmp_path, capsys):
    out = tmp_path / "r.vtab"
    assert run([ROOT / "examples" / "relu.s", "-o", out], capsys)[0] == 0
    rc, text, _ = run(["--disassemble", out], capsys)
    assert rc == 0 and "ALU MAX uop=(0,1) iter=(1,4) dst=(0,1) src=(0,1) imm=0 push_next" in text
    assert "acc: .data bias int32 shape=(4,1,16)" in text and ".expect out values=[" in text
    rc, listing, _ = run(["--disassemble", out, "--listing"], capsys)
    assert rc == 0 and re.search(r"^0x00001000  [0-9a-f:]{33}  LOAD uop", listing, re.M)


def test_console_script_is_installed(tmp_path):
    exe = shutil.which("vta-asm")
    assert exe, "vta-asm is not on PATH (pip install -e .)"
    bad = tmp_path / "b.s"
    bad.write_text("NOPE\n")
    r = subprocess.run([exe, str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith(f"{bad}:1:1: unknown mnemonic 'NOPE'")
    r = subprocess.run([sys.executable, "-m", "vta.assembler.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--disassemble" in r.stdout


def test_readme_worked_example_matches_the_tool(tmp_path, capsys):
    """The listing and disassembly shown in assembler/README.md are what vta-asm prints."""
    readme = (ROOT / "assembler" / "README.md").read_text()
    blocks = re.findall(r"```[a-z]*\n(.*?)```", readme, re.S)
    listing = next(b for b in blocks if b.startswith("0x00002000"))
    disasm = next(b for b in blocks if b.startswith("; program 'gemm'"))
    shutil.copy(ROOT / "examples" / "gemm.s", tmp_path / "gemm.s")
    rc, out, _ = run([tmp_path / "gemm.s", "--listing"], capsys)
    assert rc == 0
    assert [ln.split() for ln in listing.strip().splitlines()] == [ln.split() for ln in out.strip().splitlines()]
    rc, text, _ = run(["--disassemble", tmp_path / "gemm.vtab"], capsys)
    got = text.splitlines()
    for ln in disasm.strip().splitlines():
        if ln != "...":
            assert ln in got, ln


def test_disassembly_to_a_file_and_option_misuse(tmp_path, capsys):
    out = tmp_path / "r.vtab"
    assert run([ROOT / "examples" / "requant.s", "-o", out], capsys)[0] == 0
    text_file = tmp_path / "r.s"
    rc, stdout, _ = run(["--disassemble", out, "-o", text_file], capsys)
    assert rc == 0 and stdout == "" and "ALU ADD uop=(0,8)" in text_file.read_text()
    with pytest.raises(SystemExit) as e:
        main([str(ROOT / "examples" / "requant.s"), "--uops", str(out / "uops.bin")])
    assert e.value.code == 2
    assert "--uops only goes with --disassemble" in capsys.readouterr().err
    rc, _, err = run(["--disassemble", out, "--uops", out / "uops.bin"], capsys)
    assert rc == 2 and "a bundle has its own micro-ops" in err
