"""The path policy (vta.isa.paths): files named in data stay inside their directory, user
names become reversible file names that never leave it, and outputs are written only
through OutputDir. Plus the RTL side: cache folders, temporary folders, stale builds."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hostile_cli import assert_clean_error, listing, run_cases
from hypothesis import given, settings
from hypothesis import strategies as st

from vta.isa import BundleError, VTAError
from vta.isa.paths import NAME_MAX, OutputDir, data_file, file_name, name_of_file, name_problem

ROOT = Path(__file__).resolve().parents[1]

names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40) | st.sampled_from(
    ["/layer1/conv1/Conv", "../../x", "/abs/x", "a\\b", "%2F", "50%", "..a", ".hidden", "a b",
     "\x1b[31mred", "C:\\x", "con", "\u202e", "\ud800"])


@settings(max_examples=300, deadline=None)
@given(names)
def test_names_escape_reversibly_into_one_file_name(name):
    if name_problem(name):
        with pytest.raises(VTAError):
            file_name(name)
        return
    fname = file_name(name, ".bin")
    assert name_of_file(fname, ".bin") == name
    assert "/" not in fname and "\\" not in fname and "\0" not in fname
    assert fname not in (".", "..") and Path(fname).name == fname
    assert all(c.isprintable() for c in fname)
    assert len(fname.encode("utf-8", "surrogatepass")) <= NAME_MAX


def _writable(name):
    """A name file_name accepts (lone surrogates excepted: no OS file name holds one)."""
    try:
        file_name(name, ".bin")
    except VTAError:
        return False
    return not any("\ud800" <= c <= "\udfff" for c in name)


@settings(max_examples=60, deadline=None)
@given(st.lists(names, min_size=1, max_size=6, unique=True))
def test_escaped_names_are_written_inside_the_folder_only(tmp_path_factory, batch):
    top = tmp_path_factory.mktemp("w")
    out = OutputDir(top / "out")
    written = {}
    for name in filter(_writable, batch):
        fname = file_name(name, ".bin")
        out.write_bytes(fname, name.encode("utf-8"))
        written[fname] = name
    assert listing(top) == {"out"} | {f"out/{f}" for f in written}
    for fname, name in written.items():   # distinct names, distinct files, right contents
        assert (top / "out" / fname).read_bytes() == name.encode("utf-8")
        assert name_of_file(fname, ".bin") == name


def test_names_that_cannot_be_file_names_are_errors():
    for bad, why in (("", "empty"), (".", "'.' cannot be"), ("..", "'..' cannot be"),
                     ("a\0b", "NUL"), ("x" * 300, "too long"), ("/" * 90, "too long"), (7, "string")):
        with pytest.raises(BundleError, match=why):
            file_name(bad, what="segment name", error=BundleError)
    assert file_name("/layer1/conv1/Conv") == "%2Flayer1%2Fconv1%2FConv"
    assert file_name("a.b-c_d é") == "a.b-c_d é"   # readable names stay readable


def test_files_named_in_data_stay_in_their_directory(tmp_path):
    root = tmp_path / "b.vtab"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "x.bin").write_bytes(b"x")
    (tmp_path / "secret").write_text("s")
    (root / "in.bin").symlink_to(root / "sub" / "x.bin")
    (root / "out.bin").symlink_to(tmp_path / "secret")
    (root / "up").symlink_to(tmp_path)
    ok = {"sub/x.bin": root / "sub" / "x.bin", "./sub//x.bin": root / "sub" / "x.bin",
          "in.bin": root / "sub" / "x.bin"}
    for value, path in ok.items():
        assert data_file(root, value, where="bundle.yaml") == path.resolve()
    for value, why in (("/etc/passwd", "not an absolute one"), ("../secret", "'..'"),
                       ("sub/../../secret", "'..'"), ("out.bin", "outside the directory"),
                       ("up/secret", "outside the directory"), ("C:\\x", "absolute"),
                       ("\\\\server\\x", "absolute"), ("a\0", "NUL"), ("", "non-empty"),
                       (".", "outside"), (None, "string"), (["x"], "string")):
        with pytest.raises(BundleError) as e:
            data_file(root, value, where="bundle.yaml: segment 'a'", error=BundleError)
        assert why in str(e.value) and "bundle.yaml: segment 'a': 'file' = " in str(e.value)


def test_output_dir_refuses_to_leave_overwrite_inputs_or_write_twice(tmp_path):
    (tmp_path / "secret").write_text("s")
    out = OutputDir(tmp_path / "o", protect=[tmp_path / "o" / "in.bin"])
    (tmp_path / "o" / "link.bin").symlink_to(tmp_path / "secret")
    for bad in ("../x", "a/b", "/etc/x", "..", ".", "", "a\0"):
        with pytest.raises(VTAError, match="not a plain file name"):
            out.write_bytes(bad, b"")
    with pytest.raises(VTAError, match="refusing to overwrite an input file"):
        out.write_bytes("in.bin", b"")
    out.write_bytes("link.bin", b"new")   # replaces the link, never writes through it
    assert (tmp_path / "secret").read_text() == "s"
    assert not (tmp_path / "o" / "link.bin").is_symlink()
    with pytest.raises(VTAError, match="written twice"):
        out.write_text("link.bin", "again")
    assert listing(tmp_path) == {"secret", "o", "o/link.bin"}   # no temporary files left
    with pytest.raises(VTAError, match="is not a folder|cannot create"):
        OutputDir(tmp_path / "secret")


def test_config_names_stay_inside_the_rtl_cache(tmp_path, monkeypatch):
    from vta.cosim import sim
    from vta.isa import load_config
    monkeypatch.setenv("VTA_RTL_CACHE", str(tmp_path / "cache"))
    for name in ("../../x", "/abs/x", "a/../..", "..x"):
        cfg = load_config("tiny").replace()
        cfg = type(cfg).from_dict({**cfg.to_dict(), "name": name})
        key = sim.source_key(cfg, "vta_top")
        assert (sim.cache_root() / key).resolve().parent == (tmp_path / "cache").resolve()
        assert name_of_file(key.rsplit("-", 2)[0]) == name


def test_stale_cache_entries_are_pruned(tmp_path):
    from vta.cosim import sim
    keep = tmp_path / "tiny-vta_top-0123456789abcdef"
    keep.mkdir()
    (keep / "export.ok").write_text("ok\n")
    stale = tmp_path / "tiny-vta_top-fedcba9876543210.x1y2z3"   # an export interrupted mid-way
    fresh = tmp_path / "tiny-vta_top-fedcba9876543210.a1b2c3"   # one still being written
    stale.mkdir()
    fresh.mkdir()
    old = time.time() - 7200
    os.utime(stale, (old, old))
    sim._prune(keep)
    assert keep.exists() and fresh.exists() and not stale.exists()


def test_a_build_in_use_is_not_pruned_by_another_process(tmp_path, monkeypatch):
    """bench/mutants.py --jobs 2: one job exported a new build and pruned the older ones
    by their export time, among them a day-old build the other job's tests were reading
    (FileNotFoundError, counted as a kill). A build handed out counts as used now."""
    from vta.cosim import sim
    from vta.isa import load_config
    monkeypatch.setenv("VTA_RTL_CACHE", str(tmp_path))
    cfg = load_config("tiny")
    used = tmp_path / sim.source_key(cfg, "vta_top")
    old = time.time() - 86400
    for i, d in enumerate([used] + [tmp_path / f"tiny-vta_top-{i:016x}" for i in range(1, 5)]):
        d.mkdir()
        (d / "export.ok").write_text("ok\n")
        os.utime(d, (old + i, old + i))   # `used` the oldest export of all
    assert sim.exported(cfg) == used       # a cache hit: no export
    sim._prune(tmp_path / "tiny-vta_top-0000000000000004")
    assert used.exists()
    assert not (tmp_path / "tiny-vta_top-0000000000000001").exists()   # old and unused


def test_misleading_messages_are_fixed(tmp_path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "a.s").write_text('.include "inc"\nFINISH\n')
    (tmp_path / "b.s").write_text("x: .data input shape=(1,16) zeros base=-16\nFINISH\n")
    r1, r2 = run_cases([("vta-asm", [tmp_path / "a.s"]), ("vta-asm", [tmp_path / "b.s"])])
    assert_clean_error(r1, "a.s:1:10: cannot include 'inc': a directory, not a file")
    msg = assert_clean_error(r2, "base -16 of segment 'x' is negative")
    assert "multiple" not in msg


@pytest.mark.rtl
def test_rtl_runs_leave_no_temporary_folder_and_own_limits_are_not_mismatches(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    gemm = ROOT / "examples" / "gemm.s"
    env = {"TMPDIR": str(tmp)}
    kept, short = run_cases([
        ("vta-rtl", ["check", "tiny", gemm, "--out", tmp_path / "o", "--keep"]),
        ("vta-rtl", ["check", "tiny", gemm, "--max-cycles", "5"]),
    ], env=env)
    assert kept["rc"] == 0 and "AGREE" in kept["out"] and "kept in" in kept["out"], kept
    assert_clean_error(short, "--max-cycles 5", "watchdog limit given")
    assert "MISMATCH" not in short["out"]
    (left,) = list(tmp.iterdir())   # only the --keep run's folder; the other one is gone
    assert left.name.startswith("vta-rtl-check-") and str(left) in kept["out"]
    assert listing(tmp_path / "o") == {"out.bin", "stats.json"}


@pytest.mark.rtl
def test_an_interrupted_simulator_build_is_redone(tmp_path, monkeypatch):
    from vta.cosim import sim
    from vta.isa import load_config
    cfg = load_config("tiny")
    _, build_dir = sim.build(cfg, "icarus")
    assert (build_dir / "build.ok").exists()
    vvp = next(p for p in build_dir.iterdir() if p.suffix == ".vvp")
    # as if killed while writing: a truncated model and no marker
    (build_dir / "build.ok").unlink()
    vvp.write_text("#! half a model\n")
    os.utime(vvp, (time.time() + 60, time.time() + 60))   # newer than the sources
    _, again = sim.build(cfg, "icarus")
    assert again == build_dir and (build_dir / "build.ok").exists()
    assert "half a model" not in vvp.read_text(errors="replace")
