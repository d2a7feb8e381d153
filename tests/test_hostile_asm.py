"""Hostile assembly sources: every crafted input fails at once with ``file:line:col``,
exit status 2, no traceback, in bounded time and memory (issue 9, item 2).

``run_measured`` runs a real command line in a subprocess and reports its wall time and
peak RSS; the TLM tests use it too.
"""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from vta.assembler import AsmError, Limits, assemble_text
from vta.isa.errors import shorten

GiB = 1 << 30
WALL_LIMIT = 20.0


# A small parent for the command: a child's peak RSS counts its parent's size at fork
# (Linux), so measuring a direct child of a big pytest process would measure pytest.
_MEASURE = ("import resource, subprocess, sys\n"
            "rc = subprocess.call(sys.argv[2:])\n"
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
            "sys.exit(rc)\n")


def run_measured(argv, cwd, timeout=120.0):
    """(exit status, stdout, stderr, wall seconds, peak RSS bytes) of one command, its
    RSS from getrusage(RUSAGE_CHILDREN) in a small parent process."""
    rss_file = cwd / ".rss"
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _MEASURE, str(rss_file), *argv], cwd=cwd,
                       capture_output=True, text=True, errors="replace", timeout=timeout)
    wall = time.perf_counter() - t0
    rss = int(rss_file.read_text()) * 1024   # kilobytes on Linux
    rss_file.unlink()
    return p.returncode, p.stdout, p.stderr, wall, rss


def assert_clean_error(rc, stdout, stderr, wall, rss, *needles):
    """Exit 2, one short located message containing every needle, bounded cost."""
    assert rc == 2, (rc, stderr[-2000:])
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr[-2000:]
    for n in needles:
        assert n in stderr, (n, stderr[-2000:])
    assert len(stderr) < 1000, f"{len(stderr)} characters of stderr"
    assert wall < WALL_LIMIT, f"{wall:.1f} s"
    assert rss < GiB, f"{rss >> 20} MiB"


# (name, source text or a function of tmp_path, extra args, message needles)
CASES = [
    ("shift", ".equ A = 1 << 100000000000\n", [], ["x.s:1:12:", "wider than 64 bits", "--max-int-bits"]),
    ("shift-chain", ".equ B = 3\n.equ A = (B << 62) << 1\nFINISH\n", [], ["x.s:2:"]),
    ("literal-decimal", ".equ A = " + "9" * 100_000 + "\n", [], ["x.s:1:10:", "wider than 64 bits"]),
    ("literal-hex", ".equ A = 0x1_0000_0000_0000_0000\n", [], ["x.s:1:10:", "wider than 64 bits"]),
    ("multiply", ".equ A = 0xffffffff * 0xffffffff * 0xffffffff\n", [], ["x.s:1:", "'*' gives"]),
    ("long-line", ".equ A = " + "1" * 50_000_000 + "\n", [], ["x.s:1:1:", "50,000,009 characters",
                                                              "--max-line-bytes"]),
    ("finish-flood", "FINISH\n" * 7_500_000, [], ["x.s:1048577:1:", "instruction lines", "--max-insns"]),
    ("rept-count", ".rept 1000000000000\nFINISH\n.endr\n", [], ["x.s:1:1:", "--max-rept"]),
    ("rept-nested", ".rept 2000\n.rept 2000\nFINISH\n.endr\n.endr\n", [],
     ["x.s:1:1:", "4,000,000", "--max-insns"]),
    ("rept-nested-uops", ".rept 4000\n.rept 4000 i\nUOP dst=0 src=0\n.endr\n.endr\n", [],
     ["x.s:1:1:", "micro-ops", "--max-uops"]),
    ("rept-empty-passes", ".rept 100000\n.rept 100000\n.endr\n.endr\n", [], ["x.s:1:1:", "--max-rept"]),
    ("empty-values", "x: .data input values=[]\nFINISH\n", [], ["x.s:1:4:", "segment 'x' is empty"]),
    ("empty-npy", "x: .data input file=\"e.npy\"\nFINISH\n", [], ["x.s:1:4:", "segment 'x' is empty"]),
    ("long-name", "LOAD inp sram=" + "a" * 500_000 + " dram=0 y=1 x=1\n", [], ["x.s:1:15:", "unknown symbol"]),
    ("include-too-big", ".include \"big.s\"\n", ["--max-source-bytes", "1000"],
     ["x.s:1:10:", "'big.s' has 2,000 bytes", "--max-source-bytes"]),
    ("dram-holds-fewer", "FINISH\n" * 1_048_577, ["-c", "tiny", "--max-insns", "10000000"],
     ["x.s:1048577:1:", "more than the DRAM of the config holds"]),
    ("uop-limit-lowered", "UOP dst=0 src=0\n" * 11, ["--max-uops", "10"], ["x.s:11:1:", "micro-op lines"]),
]


@pytest.mark.parametrize("name, text, args, needles", CASES, ids=[c[0] for c in CASES])
def test_hostile_source_fails_fast_and_cheap(tmp_path, name, text, args, needles):
    np.save(tmp_path / "e.npy", np.zeros((0, 16), np.int8))
    (tmp_path / "big.s").write_text("; padding\n" * 200)
    (tmp_path / "x.s").write_text(text)
    res = run_measured(["vta-asm", "x.s", *args], tmp_path)
    assert_clean_error(*res, *needles)
    assert not (tmp_path / "x.vtab").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.s", "e.npy", "x.s"], \
        "no file besides what the test made"


def test_limits_raise_with_flags(tmp_path):
    (tmp_path / "x.s").write_text(".equ A = 1 << 100\n.assert A >> 100 == 1\nFINISH\n")
    rc, _, err, *_ = run_measured(["vta-asm", "x.s"], tmp_path)
    assert rc == 2 and "wider than 64 bits" in err
    rc, _, err, *_ = run_measured(["vta-asm", "x.s", "--max-int-bits", "128"], tmp_path)
    assert rc == 0, err
    rc, _, err, *_ = run_measured(["vta-asm", "x.s", "--max-line-bytes", "0"], tmp_path)
    assert rc == 2 and "positive integer" in err and "Traceback" not in err


def test_library_limits():
    text = ".equ A = 1 << 100\nFINISH\n"
    with pytest.raises(AsmError, match=r"<string>:1:12: '<<' by 100 gives a value wider than 64 bits"):
        assemble_text(text, "default")
    assert len(assemble_text(text, "default", limits=Limits(int_bits=128)).insns) == 1
    with pytest.raises(AsmError, match="more than 3 instructions"):
        assemble_text("FINISH\n.rept 3\nFINISH\n.endr\n", "default", limits=Limits(insns=3))
    with pytest.raises(ValueError):
        Limits(rept=0)


def test_limits_leave_ordinary_programs_alone():
    # shifts and products inside 64 bits, negative values, a .rept in an untaken branch
    prog = assemble_text(".equ A = (1 << 63) - 1\n.equ B = -(1 << 63) + 1\n"
                         ".assert A + B == 0\n.assert (0xffffffff * 0xffffffff) >> 63 == 1\n"
                         ".if 0\n.rept 100000000\nFINISH\n.endr\n.endif\n"
                         ".rept 3\nFINISH\n.endr\n", "default")
    assert len(prog.insns) == 3


def test_the_static_rept_bound_is_a_lower_bound():
    # The counter-dependent inner count and the .if-guarded line count as nothing up
    # front; the exact count still applies as statements are produced.
    text = ".rept 4 i\n.rept i\nFINISH\n.endr\n.if i == 0\nFINISH\n.endif\n.endr\n"
    assert len(assemble_text(text, "default").insns) == 0 + 1 + 2 + 3 + 1
    with pytest.raises(AsmError, match="more than 6 instructions"):
        assemble_text(text, "default", limits=Limits(insns=6))


def test_messages_shorten_long_values():
    s = shorten("x" * 10_000)
    assert len(s) < 260 and "10,000 characters" in s
    assert shorten("short") == "short"
    with pytest.raises(AsmError) as e:
        assemble_text(f'.assert 1 == 0 "{"m" * 100}"\n.equ A = {"b" * 300_000}\n', "default")
    assert len(str(e.value)) < 600 and "300,000 characters" in str(e.value)
