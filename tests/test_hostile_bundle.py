"""Hostile bundles: files named outside the bundle, shapes and counts that do not fit,
names that are not file names, YAML bombs. Each is a clear error (exit 2, no traceback,
bounded time and memory) and nothing is read or written outside the bundle and --out."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from hostile_cli import assert_clean_error, listing, run_cases

from vta.assembler import load_program
from vta.isa import write_bundle

ROOT = Path(__file__).resolve().parents[1]
BOMB = "\n".join(['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
                 + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)])


@pytest.fixture(scope="module")
def gemm():
    return load_program(ROOT / "examples" / "gemm.s", "tiny")


def make(root, program, edit=None, name="b.vtab"):
    """A bundle of ``program`` in ``root/name``, its bundle.yaml passed through ``edit``."""
    b = write_bundle(program, root / name)
    if edit:
        doc = yaml.safe_load((b / "bundle.yaml").read_text())
        text = edit(doc, b)
        (b / "bundle.yaml").write_text(text if isinstance(text, str) else yaml.safe_dump(doc))
    return b


def seg(doc, name):
    return next(s for s in doc["segments"] if s["name"] == name)


def _symlink_out(doc, b):
    (b.parent / "secret.bin").write_bytes(bytes(16))
    (b / "link.bin").symlink_to(b.parent / "secret.bin")
    seg(doc, "wgt")["file"] = "link.bin"


def _outside(doc, b):
    (b.parent / "secret.bin").write_bytes(bytes(16))
    seg(doc, "wgt")["file"] = "../secret.bin"


def _sparse(doc, b):
    with open(b / "inp.bin", "r+b") as f:   # 3 GiB on paper, nothing on disk
        f.truncate(3 << 30)


# (edit of bundle.yaml, words the message must hold)
BAD_BUNDLES = [
    (lambda d, b: seg(d, "wgt").update(file="/etc/passwd"), ["'file' = '/etc/passwd'", "relative"]),
    (_outside, ["'../secret.bin'", "'..'"]),
    (_symlink_out, ["'link.bin'", "outside the directory"]),
    (lambda d, b: seg(d, "inp").update(file="a\0b"), ["NUL"]),
    (lambda d, b: seg(d, "inp").update(file=["x"]), ["'file'"]),
    (lambda d, b: seg(d, "inp").update(shape=[2 ** 64]), ["segment 'inp'", "do not fit", "DRAM"]),
    (lambda d, b: seg(d, "inp").update(shape=[2 ** 32, 2 ** 32]), ["do not fit", "DRAM"]),
    (lambda d, b: seg(d, "inp").update(shape=[0, 4]), ["has no elements"]),
    (lambda d, b: seg(d, "inp").update(shape=[1] * 100), ["at most 32"]),
    (lambda d, b: seg(d, "inp").update(shape=[True, 4]), ["positive integers"]),
    (lambda d, b: d["insns"].update(count=2 ** 60), ["insns", "do not fit"]),
    (lambda d, b: d["uops"].update(count=-1), ["must not be negative"]),
    (_sparse, ["'inp.bin' has 3221225472 bytes, expected 4"]),
    (lambda d, b: seg(d, "inp").update(role=[1]), ["role [1]"]),
    (lambda d, b: seg(d, "inp").update(base=-16), ["base -16 is negative"]),
    (lambda d, b: seg(d, "inp").update(name=".."), ["'..' cannot be a file or folder name"]),
    (lambda d, b: seg(d, "inp").update(name="i\0"), ["NUL"]),
    (lambda d, b: d["expect"].append(dict(d["expect"][0])), ["second expected output"]),
    (lambda d, b: d.update(name="x\n[red]"), ["one-line string"]),
    (lambda d, b: yaml.safe_dump(d) + "format: vta-bundle/1\n", ["duplicate key 'format'"]),
    (lambda d, b: BOMB + "\n" + yaml.safe_dump(d), ["expands to more than"]),
    (lambda d, b: "x: " + "[" * 5000 + "]" * 5000, ["nested deeper than"]),
    (lambda d, b: "name: " + "9" * 6000 + "\n", ["invalid YAML"]),
    (lambda d, b: yaml.safe_dump(d) + "pad: '" + "x" * (3 << 20) + "'\n", ["larger than"]),
]


def test_hostile_bundles_are_clear_errors(tmp_path, gemm):
    cases, dirs = [], []
    for i, (edit, _) in enumerate(BAD_BUNDLES):
        d = tmp_path / f"c{i}"
        d.mkdir()
        b = make(d, gemm, edit)
        dirs.append((d, listing(d)))
        cases.append(("vta-tlm", ["run", "tiny", b, "--out", d / "out", "--quiet"]))
        cases.append(("vta-asm", ["-d", b]))
    results = run_cases(cases)
    for i, (_, needles) in enumerate(BAD_BUNDLES):
        for r in results[2 * i: 2 * i + 2]:
            assert_clean_error(r, *needles)
        d, before = dirs[i]
        assert listing(d) == before, f"case {i} wrote files"   # not even --out was created
    assert (tmp_path / "c1" / "secret.bin").read_bytes() == bytes(16)


def test_a_bundle_names_a_bundled_config_not_a_file(tmp_path, gemm):
    # with its config given the name is not used; without, it must not be a path
    (tmp_path / "tiny.yaml").write_text((ROOT / "configs" / "tiny.yaml").read_text())
    b = make(tmp_path, gemm, lambda d, b: d["config"].update(name="../tiny.yaml"))
    ok, bad = run_cases([("vta-asm", ["-d", b, "-c", "tiny"]), ("vta-asm", ["-d", b])])
    assert ok["rc"] == 0, ok
    assert_clean_error(bad, "config name '../tiny.yaml' is not a bundled config's name")


def test_segment_names_are_escaped_in_file_names_only(tmp_path, gemm):
    from vta.isa import read_bundle
    from vta.isa.program import Program, Segment
    names = {"inp": "/layer1/conv1/Conv", "wgt": "../../evil", "out": "out%2F, base: 50%"}
    segs = [Segment(names[s.name], s.base, s.data, s.role) for s in gemm.segments]
    prog = Program(gemm.config, gemm.insns, gemm.uops, segs, gemm.insn_base, gemm.uop_base,
                   {names["out"]: gemm.expect["out"]}, "layers")
    b = write_bundle(prog, tmp_path / "b.vtab")
    assert sorted(listing(tmp_path)) == sorted(
        ["b.vtab", *(f"b.vtab/{f}" for f in ("bundle.yaml", "insns.bin", "uops.bin",
                                               "%2Flayer1%2Fconv1%2FConv.bin", "..%2F..%2Fevil.bin",
                                               "out%252F, base%3A 50%25.bin",
                                               "out%252F, base%3A 50%25.expect.bin"))])
    back = read_bundle(b)   # the names in the data are the ones given, never rewritten
    assert [s.name for s in back.segments] == list(names.values())
    assert np.array_equal(back.segment("../../evil").data, gemm.segment("wgt").data)
    r, d = run_cases([("vta-tlm", ["run", "tiny", b, "--out", tmp_path / "o", "--quiet"]),
                      ("vta-asm", ["-d", b, "-o", tmp_path / "dis.s"])])
    assert r["rc"] == 0 and "PASS" in r["out"], r
    assert d["rc"] == 0, d
    assert listing(tmp_path / "o") == {"out%252F, base%3A 50%25.bin", "stats.json"}
    assert not (tmp_path.parent / "evil.bin").exists()


def test_out_never_overwrites_the_input_bundle(tmp_path, gemm):
    b = make(tmp_path, gemm)
    before = {p.name: p.read_bytes() for p in b.iterdir()}
    (r,) = run_cases([("vta-tlm", ["run", "tiny", b, "--out", b, "--quiet"])])
    assert_clean_error(r, "out.bin", "refusing to overwrite an input file")
    assert {p.name: p.read_bytes() for p in b.iterdir()} == before


def test_zero_element_npy_is_an_assembly_error(tmp_path):
    np.save(tmp_path / "z.npy", np.zeros((0, 4), np.int8))
    (tmp_path / "z.s").write_text('z: .data input file="z.npy"\nFINISH\n')
    (r,) = run_cases([("vta-asm", [tmp_path / "z.s", "-c", "tiny"])])
    assert_clean_error(r, "z.s:1:", "is empty (0 elements)")
    assert listing(tmp_path) == {"z.npy", "z.s"}
