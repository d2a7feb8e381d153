"""Disassemble -> assemble gives back the same bytes: random instruction streams (any
field values, so also ones the assembler's checks would reject), random programs with
data segments, bundles, and a raw insns.bin written here with plain struct packing."""
import struct
import subprocess
import sys

import numpy as np
from hypothesis import given, settings, strategies as st

from vta.assembler import assemble_text, disassemble, format_insn
from vta.assembler.cli import main
from vta.isa import (Alu, Finish, Gemm, Load, Program, Segment, Store, Uop, encode_insns,
                     encode_uops, load_config, read_bundle, write_bundle)

CONFIGS = {n: load_config(n) for n in ("default", "tiny")}
BOOLS = ("pop_prev", "pop_next", "push_prev", "push_next", "reset", "use_imm")


def values(fields, skip=("opcode",)):
    return st.fixed_dictionaries({
        f.name: st.one_of(st.sampled_from([f.min, f.max, 0, 1 if f.max else 0]), st.integers(f.min, f.max))
        for f in fields if f.name not in skip})


def make(cls):
    return lambda d: cls(**{k: bool(v) if k in BOOLS else v for k, v in d.items()})


def insns_of(cfg):
    lay = cfg.layout
    return st.one_of(values(lay.mem).map(make(Load)), values(lay.mem).map(make(Store)),
                     values(lay.gemm).map(make(Gemm)), values(lay.alu).map(make(Alu)),
                     values(lay.finish).map(make(Finish)))


def uops_of(cfg):
    return values(cfg.layout.uop, skip=()).map(lambda d: Uop(**d))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(CONFIGS)))
def test_random_streams_round_trip(data, name):
    cfg = CONFIGS[name]
    insns = data.draw(st.lists(insns_of(cfg), min_size=1, max_size=12))
    uops = data.draw(st.lists(uops_of(cfg), max_size=6))
    text = disassemble(insns, cfg, uops)
    prog = assemble_text(text, cfg)
    assert encode_insns(prog.insns, cfg) == encode_insns(insns, cfg)
    assert encode_uops(prog.uops, cfg) == encode_uops(uops, cfg)


@settings(max_examples=150, deadline=None)
@given(insn=insns_of(CONFIGS["default"]))
def test_format_insn_line_reassembles(insn):
    cfg = CONFIGS["default"]
    prog = assemble_text(".nocheck\n" + format_insn(insn) + "\n", cfg)
    assert encode_insns(prog.insns, cfg) == encode_insns([insn], cfg)
    assert "\n" not in format_insn(insn)


def random_program(cfg, rng, n_insns, n_segs):
    insns = [Load(memory_type=2, sram_base=int(rng.integers(0, 100)), dram_base=int(rng.integers(0, 1 << 20)),
                  y_size=1, x_size=1, x_stride=1, push_next=bool(rng.integers(2)))
             for _ in range(n_insns)] + [Finish()]
    segs, base = [], 0x40000
    roles = [("input", np.int8), ("weight", np.int8), ("bias", np.int32), ("output", np.int8)]
    for k in range(n_segs):
        role, dtype = roles[int(rng.integers(len(roles)))]
        elems = cfg.elem_bytes({"input": 2, "weight": 1, "bias": 3, "output": 4}[role]) // np.dtype(dtype).itemsize
        data = rng.integers(-100, 100, (int(rng.integers(1, 4)), elems)).astype(dtype)
        segs.append(Segment(f"seg{k}", base, data, role))
        base += 0x1000 * int(rng.integers(1, 3))
    expect = {segs[-1].name: (segs[-1].data + 1).astype(segs[-1].data.dtype)} if segs else {}
    uops = [Uop(int(rng.integers(0, 8)), int(rng.integers(0, 8)), 0) for _ in range(int(rng.integers(0, 4)))]
    return Program(cfg, insns, uops, segs, insn_base=0x1000, uop_base=0x3000, expect=expect, name="r")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), n_insns=st.integers(0, 6), n_segs=st.integers(0, 4),
       name=st.sampled_from(sorted(CONFIGS)))
def test_random_programs_round_trip_with_data(seed, n_insns, n_segs, name):
    cfg = CONFIGS[name]
    prog = random_program(cfg, np.random.default_rng(seed), n_insns, n_segs)
    back = assemble_text(disassemble(prog), cfg)
    assert encode_insns(back.insns, cfg) == encode_insns(prog.insns, cfg)
    assert back.uops == prog.uops
    assert (back.insn_base, back.uop_base) == (prog.insn_base, prog.uop_base)
    assert [(s.name, s.base, s.role, s.dtype, s.shape) for s in back.segments] == \
           [(s.name, s.base, s.role, s.dtype, s.shape) for s in prog.segments]
    for a, b in zip(prog.segments, back.segments):
        np.testing.assert_array_equal(a.data, b.data)
    assert back.expect.keys() == prog.expect.keys()
    for k in prog.expect:
        np.testing.assert_array_equal(back.expect[k], prog.expect[k])


def test_bundle_disassembly_reassembles_to_identical_files(tmp_path, capsys):
    cfg = CONFIGS["default"]
    prog = random_program(cfg, np.random.default_rng(5), 4, 3)
    big = np.arange(64 * 256, dtype=np.int32).reshape(256, 64) % 1000   # large: referenced by file
    prog.segments.append(Segment("big", 0x80000, big.astype(np.int32), "bias"))
    src = write_bundle(prog, tmp_path / "a.vtab")
    assert main(["--disassemble", str(src)]) == 0
    text = capsys.readouterr().out
    assert 'file="' in text and "big.bin" in text
    (tmp_path / "a.s").write_text(text)
    assert main([str(tmp_path / "a.s"), "-o", str(tmp_path / "b.vtab")]) == 0
    for f in sorted(p.name for p in src.iterdir()):
        if f != "bundle.yaml":
            assert (tmp_path / "b.vtab" / f).read_bytes() == (src / f).read_bytes(), f
    a, b = read_bundle(src), read_bundle(tmp_path / "b.vtab")
    assert [(s.name, s.base) for s in a.segments] == [(s.name, s.base) for s in b.segments]


def pack_insn(opcode, fields):
    """A 128-bit instruction packed with plain ints: fields = [(lo bit, value), ...]."""
    word = opcode
    for lo, value in fields:
        word |= value << lo
    return struct.pack("<QQ", word & (2 ** 64 - 1), word >> 64)


def test_raw_insns_bin_from_another_tool(tmp_path):
    # Default config positions (docs/isa.md), packed by hand.
    raw = b"".join([
        # LOAD inp: memory_type=2 @7, sram_base=3 @10, dram_base=0x1000 @26, y=1 @64, x=2 @80,
        # stride=2 @96, x_pad_1=1 @124, push_next @6
        pack_insn(0, [(7, 2), (10, 3), (26, 0x1000), (64, 1), (80, 2), (96, 2), (124, 1), (6, 1)]),
        # GEMM reset @7, uop_end=1 @21, iter_out=1 @35, iter_in=1 @49, pop_prev @3
        pack_insn(2, [(7, 1), (21, 1), (35, 1), (49, 1), (3, 1)]),
        # ALU MAX (alu_opcode=1 @108), use_imm @111, imm=-5 @112 (16-bit two's complement)
        pack_insn(4, [(21, 1), (35, 1), (49, 1), (108, 1), (111, 1), (112, (-5) & 0xFFFF)]),
        pack_insn(3, []),
    ])
    uops = struct.pack("<II", 1 | 2 << 11 | 3 << 22, 0)
    (tmp_path / "insns.bin").write_bytes(raw)
    (tmp_path / "uops.bin").write_bytes(uops)
    out = subprocess.run([sys.executable, "-m", "vta.assembler.cli", "--disassemble",
                          str(tmp_path / "insns.bin"), "--uops", str(tmp_path / "uops.bin")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln and not ln.startswith(";")]
    assert "LOAD inp sram=3 dram=4096 y=1 x=2 stride=2 pad=(0,0,0,1) push_next" in lines
    assert "GEMM reset uop=(0,1) iter=(1,1) dst=(0,0) src=(0,0) wgt=(0,0) pop_prev" in lines
    assert "ALU MAX uop=(0,1) iter=(1,1) dst=(0,0) src=(0,0) imm=-5" in lines
    assert "FINISH" in lines and any(ln.startswith("UOP dst=1 src=2 wgt=3") for ln in lines)
    # ... and the text assembles back to the very same bytes.
    prog = assemble_text(out.stdout, "default")
    assert encode_insns(prog.insns, CONFIGS["default"]) == raw
    assert encode_uops(prog.uops, CONFIGS["default"]) == uops


def test_segment_names_that_are_not_labels_are_renamed(tmp_path):
    cfg = CONFIGS["default"]
    segs = [Segment("my-data", 0x10000, np.ones((1, 16), np.int8), "input"),
            Segment("BATCH", 0x11000, np.zeros((1, 16), np.int8), "output")]
    prog = Program(cfg, [Finish()], segments=segs, expect={"BATCH": np.ones((1, 16), np.int8)})
    text = disassemble(prog)
    assert "my_data: .data input" in text and "BATCH_: .data output" in text
    back = assemble_text(text, cfg)
    assert [s.base for s in back.segments] == [0x10000, 0x11000]
    assert (back.expect["BATCH_"] == 1).all()
