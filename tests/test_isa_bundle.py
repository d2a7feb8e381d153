"""Program bundles: write/read round trip, bundles written by other tools, and the
rejections (missing file, size mismatch, overlap, misalignment, wrong config)."""
import struct

import numpy as np
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from vta.isa import (BundleError, Finish, Gemm, Load, Program, Segment, Store, Uop, encode_insns,
                     load_config, read_bundle, write_bundle)

CFG = load_config("default")


def sample_program(cfg=CFG):
    rng = np.random.default_rng(0)
    segs = [Segment("inp", 0x10000, rng.integers(-128, 128, (2, 16), dtype=np.int8), "input"),
            Segment("wgt", 0x20000, rng.integers(-128, 128, (16, 16), dtype=np.int8), "weight"),
            Segment("bias", 0x30000, rng.integers(-9, 9, (1, 16), dtype=np.int32), "bias"),
            Segment("out", 0x40000, np.zeros((2, 16), np.int8), "output")]
    insns = [Load(memory_type=0, sram_base=0, dram_base=0x2000 // 4, y_size=1, x_size=2, x_stride=2),
             Load(dram_base=0x10000 // 16, y_size=1, x_size=2, x_stride=2, push_next=True),
             Gemm(reset=True, uop_bgn=0, uop_end=2, iter_out=1, iter_in=1, pop_prev=True, push_next=True),
             Store(dram_base=0x40000 // 16, y_size=1, x_size=2, x_stride=2, pop_prev=True), Finish()]
    return Program(cfg, insns, [Uop(0, 0, 0), Uop(1, 1, 0)], segs,
                   expect={"out": np.arange(32, dtype=np.int8).reshape(2, 16)}, name="sample")


def test_round_trip(tmp_path):
    prog = sample_program()
    path = write_bundle(prog, tmp_path / "s.vtab")
    back = read_bundle(path)
    assert back.insns == prog.insns and back.uops == prog.uops
    assert (back.insn_base, back.uop_base, back.name) == (prog.insn_base, prog.uop_base, "sample")
    for a, b in zip(prog.segments, back.segments):
        assert (a.name, a.base, a.role, a.dtype) == (b.name, b.base, b.role, b.dtype)
        np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(back.expect["out"], prog.expect["out"])
    doc = yaml.safe_load((path / "bundle.yaml").read_text())
    assert doc["format"] == "vta-bundle/1" and doc["config"]["name"] == "default"
    assert (path / "insns.bin").read_bytes() == encode_insns(prog.insns, CFG)
    assert (path / "bias.bin").read_bytes() == prog.segment("bias").data.astype("<i4").tobytes()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["int8", "int16", "int32", "uint8"]),
                          st.integers(1, 3), st.integers(1, 40)), min_size=1, max_size=4),
       st.integers(0, 2 ** 31))
def test_random_segments_round_trip(tmp_path_factory, specs, seed):
    rng = np.random.default_rng(seed)
    segs, base = [], 0x10000
    for k, (dtype, rows, cols) in enumerate(specs):
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, (rows, cols * 16), endpoint=True).astype(dtype)
        segs.append(Segment(f"s{k}", base, data, "input"))
        base += -(-data.nbytes // 0x1000) * 0x1000
    prog = Program(CFG, [Finish()], segments=segs)
    back = read_bundle(write_bundle(prog, tmp_path_factory.mktemp("b") / "r.vtab"), "default")
    for a, b in zip(segs, back.segments):
        assert a.dtype == b.dtype and a.base == b.base
        np.testing.assert_array_equal(a.data, b.data)


def test_bundle_from_another_tool(tmp_path):
    """Only bundle.yaml (the format's exact keys) and raw bins packed with struct."""
    root = tmp_path / "foreign.vtab"
    root.mkdir()
    # GEMM (opcode 2) with dst_factor_out = 1 (bit 64, the high word's bit 0); FINISH (3).
    (root / "insns.bin").write_bytes(struct.pack("<QQ", 2, 1) + struct.pack("<QQ", 3, 0))
    (root / "uops.bin").write_bytes(struct.pack("<III", 0, 1 | 1 << 11, 2 | 2 << 11))
    (root / "inp.bin").write_bytes(bytes(range(256)))
    (root / "out.bin").write_bytes(bytes(256))
    (root / "out.expect.bin").write_bytes(bytes([7]) * 256)
    (root / "bundle.yaml").write_text(
        "format: vta-bundle/1\nconfig: {name: default}\n"
        "insns: {file: insns.bin, count: 2, base: 0x1000}\n"
        "uops:  {file: uops.bin, count: 3, base: 0x2000}\n"
        "segments:\n"
        "  - {name: inp, file: inp.bin, base: 0x10000, dtype: int8, shape: [16, 16], role: input}\n"
        "  - {name: out, file: out.bin, base: 0x30000, dtype: int8, shape: [16, 16], role: output}\n"
        "expect:\n  - {segment: out, file: out.expect.bin}\n")
    prog = read_bundle(root)
    assert prog.insns == [Gemm(dst_factor_out=1), Finish()]
    assert prog.uops == [Uop(0, 0, 0), Uop(1, 1, 0), Uop(2, 2, 0)]
    assert prog.segment("inp").data[1, 0] == 16 and prog.expect["out"].sum() == 7 * 256
    assert prog.name == "foreign"


@pytest.fixture
def bundle(tmp_path):
    return write_bundle(sample_program(), tmp_path / "b.vtab")


def edit(path, fn):
    doc = yaml.safe_load((path / "bundle.yaml").read_text())
    fn(doc)
    (path / "bundle.yaml").write_text(yaml.safe_dump(doc))


def test_missing_file(bundle):
    (bundle / "wgt.bin").unlink()
    with pytest.raises(BundleError, match=r"segment 'wgt': file 'wgt.bin' is missing"):
        read_bundle(bundle)


def test_size_mismatch(bundle):
    (bundle / "insns.bin").write_bytes(bytes(16 * 4))
    with pytest.raises(BundleError, match="file 'insns.bin' has 64 bytes, expected 80"):
        read_bundle(bundle)


def test_overlapping_segments(bundle):
    edit(bundle, lambda d: d["segments"][1].update(base=0x10000))
    with pytest.raises(BundleError, match="overlap"):
        read_bundle(bundle)


def test_misaligned_segment(bundle):
    edit(bundle, lambda d: d["segments"][1].update(base=0x20010))
    with pytest.raises(BundleError, match="not aligned to its weight element size .256 bytes"):
        read_bundle(bundle)


def test_wrong_config_fingerprint(bundle):
    with pytest.raises(BundleError, match="fingerprint"):
        read_bundle(bundle, "tiny")


def test_not_a_bundle_and_bad_format(tmp_path, bundle):
    with pytest.raises(BundleError, match="no bundle.yaml"):
        read_bundle(tmp_path)
    edit(bundle, lambda d: d.update(format="vta-bundle/9"))
    with pytest.raises(BundleError, match="format"):
        read_bundle(bundle)


@pytest.mark.parametrize("change,message", [
    (lambda d: d.update(config="default"), r"'config' must be a mapping"),
    (lambda d: d.update(config={"name": 5}), r"config: 'name' = 5 must be str"),
    (lambda d: d.update(segments=5), r"'segments' must be a list"),
    (lambda d: d.update(expect={"segment": "out"}), r"'expect' must be a list"),
    (lambda d: d["insns"].update(count=-1), r"insns: 'count' = -1 must not be negative"),
    (lambda d: d["uops"].update(count=-2), r"uops: 'count' = -2 must not be negative"),
    (lambda d: d["insns"].update(base=-16), r"'insns' \[-0x10, 0x40\) lies outside the 64 MiB DRAM"),
    (lambda d: d["insns"].update(base=0xffffffff0), r"'insns' \[0xffffffff0, .*outside the 64 MiB DRAM"),
    (lambda d: d["uops"].update(base=-8), r"'uops' \[-0x8, 0x0\) lies outside the 64 MiB DRAM"),
])
def test_malformed_bundle_yaml_is_a_bundle_error(bundle, change, message):
    # Each of these used to escape as a TypeError/AttributeError or pass unchecked.
    edit(bundle, change)
    with pytest.raises(BundleError, match=message):
        read_bundle(bundle)
