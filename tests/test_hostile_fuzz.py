"""Fuzzing the three readers of untrusted files: the assembler
(``assemble_text``), the config loader (``load_config``) and the bundle reader
(``read_bundle``). The only exceptions allowed are VTAError subclasses (a clear
message, never a traceback), every call finishes within a time budget (an alarm turns a
hang into a failure), and messages stay short.

* ``test_corpus_*`` (default set): each crafted input in tests/corpus/ (past findings included), with
  the outcome its header states (``; expect: <text in the message>|error|ok|any``,
  ``; expect-warning: <text>``, ``; run: max_cycles=N timeout=S`` for TLM programs).
* ``test_fuzz_*`` (slow): hypothesis on random and mutated inputs.
"""
from __future__ import annotations

import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from vta.assembler import assemble_text
from vta.isa import VTAError, load_config, read_bundle, write_bundle

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"
BUDGET_S = 15          # per call: far above any legitimate small input
MAX_MESSAGE = 2000     # characters of one error message


class Hang(Exception):
    pass


@contextmanager
def time_budget(seconds=BUDGET_S):
    def fire(*_):
        raise Hang(f"no result after {seconds} s")
    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def outcome(fn, *args, **kw):
    """(value, None) or (None, VTAError); anything else fails the test."""
    with time_budget():
        try:
            return fn(*args, **kw), None
        except VTAError as e:
            assert len(str(e)) < MAX_MESSAGE, f"{len(str(e))}-character message: {str(e)[:300]}"
            return None, e


def header(path):
    """{key: value} of the leading ``; key: value`` / ``# key: value`` lines."""
    out = {}
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith((";", "#")):
            break
        key, _, value = line[1:].strip().partition(":")
        out[key.strip()] = value.strip()
    return out


def check_expectation(expect, value, err):
    if expect == "ok":
        assert err is None, str(err)
    elif expect == "error":
        assert err is not None, "expected an error"
    elif expect not in ("", "any"):
        assert err is not None and expect in str(err), (expect, str(err))


def corpus(pattern):
    files = sorted(CORPUS.glob(pattern))
    assert files, pattern
    return [pytest.param(f, id=f.name) for f in files]


# ---- corpus (default set) --------------------------------------------------------------------
@pytest.mark.parametrize("path", corpus("asm_*.s"))
def test_corpus_assembler(path):
    value, err = outcome(assemble_text, path.read_text(), "default", str(path))
    check_expectation(header(path).get("expect", "any"), value, err)


@pytest.mark.parametrize("path", corpus("tlm_*.s"))
def test_corpus_tlm(path):
    from vta.tlm import run_program
    head = header(path)
    kw = {}
    for item in head.get("run", "").split():
        k, _, v = item.partition("=")
        kw[k] = float(v) if k == "timeout" else int(v)
    prog = assemble_text(path.read_text(), "default", str(path))
    res, err = outcome(run_program, prog, **kw)
    if "expect-warning" in head:
        assert err is None, str(err)
        assert any(head["expect-warning"] in w for w in res.warnings), res.warnings
        _, err = outcome(run_program, prog, strict=True)
        assert err is not None and "--strict" in str(err)
    else:
        check_expectation(head.get("expect", "any"), res, err)


@pytest.mark.parametrize("path", corpus("config_*.yaml"))
def test_corpus_config(path):
    cfg, err = outcome(load_config, path)
    if cfg is not None:   # a config that loads must also run a program
        from vta.tlm import run_program
        _, err = outcome(lambda: run_program(assemble_text("FINISH\n", cfg)))
    check_expectation(header(path).get("expect", "any"), cfg, err)


@pytest.fixture(scope="module")
def gemm_bundle(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundle") / "gemm.vtab"
    write_bundle(assemble_text((ROOT / "examples" / "gemm.s").read_text(), "default", "gemm.s"), d)
    return d


def _bundle_with(base, text, tmp_path):
    d = tmp_path / "b" / "c" / "x.vtab"   # deep, so '../..' stays inside tmp_path
    shutil.copytree(base, d)
    (d / "bundle.yaml").write_text(text)
    return d


@pytest.mark.parametrize("path", corpus("bundle_*.yaml"))
def test_corpus_bundle(path, gemm_bundle, tmp_path):
    d = _bundle_with(gemm_bundle, path.read_text(), tmp_path)
    prog, err = outcome(read_bundle, d)
    check_expectation(header(path).get("expect", "any"), prog, err)


# ---- fuzzing (slow) --------------------------------------------------------------------------
# Pieces that have broken readers before: huge numbers and shifts, deep nesting, odd names.
TOKENS = ["FINISH", "LOAD", "STORE", "GEMM", "ALU", "UOP", "inp", "wgt", "acc", "uop", "out",
          "ADD", "MAX", "SHR", ".rept", ".endr", ".if", ".endif", ".else", ".equ", ".data",
          ".expect", ".include", ".insn_base", ".uop_base", ".assert", "=", ",", "(", ")", "[",
          "]", ":", "<<", ">>", "*", "-", "~", "!", "0", "1", "16", "-1", "0x7fffffffffffffff",
          "1 << 63", "1 << 64", "99999999999999999999999", "2000", "sram=", "dram=", "x=", "y=",
          "uop=(0,1)", "iter=(1,1)", "iter=(16383,16383)", "values=[]", "shape=(1,16)", "zeros",
          "random", "seed=1", "input", "output", "weight", "bias", "file=\"x.npy\"", "len(", "\n",
          " ", "\t", ";", "\"", "\\", "a:", "\x00", "é"]


def _mutate(data, text):
    ops = data.draw(st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace", "dup"]),
                                       st.integers(0, 10 ** 6), st.sampled_from(TOKENS)),
                             max_size=8))
    for op, pos, tok in ops:
        i = pos % (len(text) + 1)
        if op == "insert":
            text = text[:i] + tok + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + len(tok):]
        elif op == "replace":
            text = text[:i] + tok + text[i + 1:]
        else:
            text = text[:i] + text[i:i + 64] * 3 + text[i:]
    return text


SOURCES = sorted((ROOT / "examples").glob("*.s")) + sorted(CORPUS.glob("asm_*.s"))
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=False)


@pytest.mark.slow
@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join))
def test_fuzz_assembler_random(text):
    outcome(assemble_text, text, "default")


@pytest.mark.slow
@FUZZ
@given(st.data())
def test_fuzz_assembler_mutated(data):
    path = data.draw(st.sampled_from(SOURCES))
    outcome(assemble_text, _mutate(data, path.read_text()), "default", str(path))


@pytest.mark.slow
@FUZZ
@given(st.data())
def test_fuzz_config_mutated(tmp_path_factory, data):
    base = data.draw(st.sampled_from(sorted((ROOT / "configs").glob("*.yaml"))))
    lines = base.read_text().splitlines()
    values = [".nan", ".inf", "-1", "0", "1e308", "18446744073709551616", "x", "[]", "{}", "null",
              "&a [*a]", "'../../x'", "\"\\0\"", "3.5", "true"]
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        key, sep, _ = lines[i].partition(":")
        if sep:
            lines[i] = f"{key}: {data.draw(st.sampled_from(values))}"
    if data.draw(st.booleans()):
        lines.insert(data.draw(st.integers(0, len(lines))), data.draw(st.sampled_from(lines)))
    p = tmp_path_factory.mktemp("cfg") / base.name
    p.write_text("\n".join(lines) + "\n")
    cfg, _ = outcome(load_config, p)
    if cfg is not None:
        from vta.tlm import run_program
        outcome(lambda: run_program(assemble_text("FINISH\n", cfg), timeout=BUDGET_S / 2))


@pytest.mark.slow
@FUZZ
@given(st.data())
def test_fuzz_bundle_mutated(tmp_path_factory, data):
    base = tmp_path_factory.mktemp("gemm") / "gemm.vtab"
    write_bundle(assemble_text((ROOT / "examples" / "gemm.s").read_text(), "default", "gemm.s"), base)
    text = (base / "bundle.yaml").read_text()
    lines = text.splitlines()
    values = ["-1", "0", "18446744073709551616", "[4294967296, 4294967296]", "[]", "{}", "null",
              "/etc/hostname", "../../x", "x\x00y", ".nan", "[-1, 16]", "int64", "[1, 1, 1, 1]"]
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        key, sep, _ = lines[i].partition(":")
        if sep and "{" not in key:
            lines[i] = f"{key}: {data.draw(st.sampled_from(values))}"
    if data.draw(st.booleans()):
        victim = data.draw(st.sampled_from(sorted(p.name for p in base.iterdir())))
        raw = (base / victim).read_bytes()
        (base / victim).write_bytes(raw[:data.draw(st.integers(0, len(raw)))])
    (base / "bundle.yaml").write_text("\n".join(lines) + "\n")
    outcome(read_bundle, base)
