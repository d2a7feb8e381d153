"""`vta-net`: the operator commands against the numpy references, `run` with --check and
--stats, the digits demo, and bad input as one line with exit 2."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vta.compiler import conv2d_reference, dense_reference
from vta.compiler.cli import main
from vta.compiler.zoo import DIGITS_ONNX, digits_data

STATS_KEYS = {"cycles", "gemm_utilization", "roofline_cycles", "dram_bytes_read", "dram_bytes_written",
              "instructions", "layers"}


@pytest.fixture
def cli(capsys):
    """vta-net in-process (the demo test below runs the installed entry point)."""
    def run(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)
    return run


def _npy(tmp_path, name, a):
    p = tmp_path / name
    np.save(p, a)
    return p


def test_conv2d_matches_reference_and_writes_stats(tmp_path, cli):
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (1, 3, 10, 10), dtype=np.int8)
    w = rng.integers(-128, 128, (20, 3, 3, 3), dtype=np.int8)
    b = rng.integers(-5000, 5000, 20, dtype=np.int32)
    r = cli("conv2d", "default", "--input", _npy(tmp_path, "x.npy", x), "--weight", _npy(tmp_path, "w.npy", w),
            "--bias", _npy(tmp_path, "b.npy", b), "--stride", 2, "--pad", 1, "--shift", 9, "--relu",
            "--out", tmp_path / "y.npy", "--stats", tmp_path / "s.json")
    assert r.returncode == 0, r.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.int8 and y.shape == (1, 20, 5, 5)
    np.testing.assert_array_equal(y, conv2d_reference(x, w, b, 2, 1, 9, True))
    st = json.loads((tmp_path / "s.json").read_text())
    assert set(st) >= STATS_KEYS
    assert st["cycles"] > 0 and st["instructions"] > 0 and st["dram_bytes_written"] > 0
    assert len(st["layers"]) == 1 and st["layers"][0]["where"] == "vta"
    assert st["layers"][0]["macs"] == 20 * 25 * 27
    assert "cycles" in r.stdout


def test_dense_matches_reference(tmp_path, cli):
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, (3, 40), dtype=np.int8)
    w = rng.integers(-128, 128, (10, 40), dtype=np.int8)
    r = cli("dense", "default", "--input", _npy(tmp_path, "x.npy", x), "--weight", _npy(tmp_path, "w.npy", w),
            "--shift", 6, "--out", tmp_path / "y.npy")
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), dense_reference(x, w, None, 6, False))


def _bad(cli, *args):
    r = cli(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr


def test_bad_operator_input_is_exit_2(tmp_path, cli):
    x = _npy(tmp_path, "x.npy", np.zeros((1, 3, 8, 8), np.int8))
    w = _npy(tmp_path, "w.npy", np.zeros((4, 3, 3, 3), np.int8))
    xf = _npy(tmp_path, "xf.npy", np.zeros((1, 3, 8, 8), np.float32))
    w5 = _npy(tmp_path, "w5.npy", np.zeros((4, 5, 3, 3), np.int8))
    b = _npy(tmp_path, "b.npy", np.zeros(4, np.int64))
    common = ("--stride", 1, "--pad", 1, "--shift", 0, "--out", tmp_path / "y.npy")
    assert "xf.npy: --input must be int8" in _bad(cli, "conv2d", "default", "--input", xf, "--weight", w, *common)
    assert "missing.npy" in _bad(cli, "conv2d", "default", "--input", tmp_path / "missing.npy", "--weight", w, *common)
    assert "C=3" in _bad(cli, "conv2d", "default", "--input", x, "--weight", w5, *common)
    assert "b.npy: --bias must be int32" in _bad(cli, "conv2d", "default", "--input", x, "--weight", w,
                                                 "--bias", b, *common)
    assert "stride 3" in _bad(cli, "conv2d", "default", "--input", x, "--weight", w, "--stride", 3,
                              "--pad", 1, "--shift", 0, "--out", tmp_path / "y.npy")
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"\x93NUMPY\x01\x00garbage")
    assert "junk.npy: --input is not a readable .npy" in _bad(cli, "conv2d", "default", "--input", junk,
                                                                "--weight", w, *common)
    pick = tmp_path / "obj.npy"
    np.save(pick, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert "obj.npy" in _bad(cli, "conv2d", "default", "--input", pick, "--weight", w, *common)
    assert "no-such-config" in _bad(cli, "conv2d", "no-such-config", "--input", x, "--weight", w, *common)
    assert "shift 99" in _bad(cli, "conv2d", "default", "--input", x, "--weight", w, "--stride", 1,
                              "--pad", 1, "--shift", 99, "--out", tmp_path / "y.npy")
    assert not (tmp_path / "y.npy").exists()


def test_run_digits_model_with_check_and_stats(tmp_path, cli):
    _, _, x_te, _ = digits_data()
    x = _npy(tmp_path, "x.npy", x_te[:6])
    r = cli("run", "default", DIGITS_ONNX, "--input", x, "--check", "--quiet", "--out", tmp_path / "y.npy",
            "--stats", tmp_path / "s.json")
    assert r.returncode == 0, r.stderr
    assert "PASS" in r.stdout and "max_pool" in r.stdout and "onnxruntime" in r.stdout
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (6, 10) and y.dtype == np.int8
    st = json.loads((tmp_path / "s.json").read_text())
    assert set(st) >= STATS_KEYS and st["check"] is True
    assert [la["op"] for la in st["layers"]][:2] == ["conv2d", "conv2d"]
    assert st["cycles"] == sum(la["cycles"] for la in st["layers"] if la["where"] == "vta")


def test_run_bad_input_is_exit_2(tmp_path, cli):
    xi = _npy(tmp_path, "xi.npy", np.zeros((2, 1, 8, 8), np.int8))
    xs = _npy(tmp_path, "xs.npy", np.zeros((2, 1, 7, 8), np.float32))
    assert "xi.npy: --input must be a float array" in _bad(cli, "run", "default", DIGITS_ONNX, "--input", xi)
    assert "[N, 1, 8, 8]" in _bad(cli, "run", "default", DIGITS_ONNX, "--input", xs)
    assert "nope.onnx" in _bad(cli, "run", "default", tmp_path / "nope.onnx", "--input", xs)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model at all")
    ok = _npy(tmp_path, "ok.npy", np.zeros((1, 1, 8, 8), np.float32))
    assert "bad.onnx: not an ONNX model" in _bad(cli, "run", "default", bad, "--input", ok)
    nan = _npy(tmp_path, "nan.npy", np.full((1, 1, 8, 8), np.nan, np.float32))
    assert "NaN" in _bad(cli, "run", "default", DIGITS_ONNX, "--input", nan)


def test_digits_demo(tmp_path):
    # the README's main job, through the installed console script, from another folder
    r = subprocess.run([str(Path(sys.executable).parent / "vta-net"), "digits", "default", "--count", "24"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "accuracy: int8 on VTA" in r.stdout and "identical to the numpy int8 reference: yes" in r.stdout
    assert "cycles" in r.stdout and "MHz" in r.stdout and "host time" in r.stdout


def test_limits_have_flags(tmp_path, cli):
    x = _npy(tmp_path, "x.npy", np.zeros((1, 1, 8, 8), np.float32))
    assert "--max-input-bytes" in _bad(cli, "run", "default", DIGITS_ONNX, "--input", x, "--max-input-bytes", 100)
    assert "model limit" in _bad(cli, "run", "default", DIGITS_ONNX, "--input", x, "--max-model-bytes", 1000)
    assert "element limit" in _bad(cli, "run", "default", DIGITS_ONNX, "--input", x, "--max-tensor-elements", 500)


def test_conv2d_transpose_matches_reference(tmp_path, cli):
    from vta.compiler.conv2d_transpose import conv2d_transpose_reference
    rng = np.random.default_rng(2)
    x = rng.integers(-128, 128, (1, 32, 4, 4), dtype=np.int8)
    w = rng.integers(-128, 128, (32, 16, 4, 4), dtype=np.int8)       # (I, O, KH, KW) as ONNX
    b = rng.integers(-4000, 4000, 16, dtype=np.int32)
    r = cli("conv2d-transpose", "default", "--input", _npy(tmp_path, "x.npy", x), "--weight",
            _npy(tmp_path, "w.npy", w), "--bias", _npy(tmp_path, "b.npy", b), "--stride", 2, "--pad", 1,
            "--shift", 8, "--out", tmp_path / "y.npy", "--stats", tmp_path / "s.json")
    assert r.returncode == 0, r.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (1, 16, 8, 8)
    np.testing.assert_array_equal(y, conv2d_transpose_reference(x, w, b, 2, 1, 8, False))
    st = json.loads((tmp_path / "s.json").read_text())
    assert st["layers"][0]["macs"] == 32 * 16 * 16 * 16 and st["cycles"] > 0
    assert "I=32 input channels, --input has C=16" in _bad(cli, "conv2d-transpose", "default", "--input", _npy(tmp_path, "x2.npy", x[:, :16]),
                          "--weight", tmp_path / "w.npy", "--stride", 2, "--pad", 1, "--shift", 8,
                          "--out", tmp_path / "y2.npy")
