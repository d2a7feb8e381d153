"""Instruction and micro-op encodings: Apache VTA's golden vectors, the C bit-field rule,
range errors that name the field, and encode/decode round trips over random fields."""
import struct

import pytest
from hypothesis import given, settings, strategies as st

from vta.isa import (INSN_BYTES, Alu, EncodingError, Finish, Gemm, Load, Store, Uop, decode_insn,
                     decode_insns, decode_uop, decode_uops, encode_insn, encode_insns, encode_uop,
                     encode_uops, load_config)

DEFAULT = load_config("default")
TINY = load_config("tiny")
CONFIGS = {"default": DEFAULT, "tiny": TINY}


def words(insn, cfg=DEFAULT):
    lo, hi = struct.unpack("<QQ", encode_insn(insn, cfg))
    return f"{hi:016x}:{lo:016x}"


# Reference vectors: default config, every other field zero, high:low 64-bit words.
GOLDEN = [
    (Load(memory_type=0, y_size=1), "0000000000000001:0000000000000000"),
    (Load(memory_type=0, dram_base=1), "0000000000000000:0000000004000000"),
    (Gemm(dst_factor_out=1), "0000000000000001:0000000000000002"),
    (Gemm(wgt_factor_in=1), "0040000000000000:0000000000000002"),
    (Gemm(iter_in=1), "0000000000000000:0002000000000002"),
    (Alu(imm=-1), "ffff000000000000:0000000000000004"),
    (Alu(alu_opcode=1), "0000100000000000:0000000000000004"),
]


@pytest.mark.parametrize("insn,expected", GOLDEN, ids=[g[1] for g in GOLDEN])
def test_golden_vectors(insn, expected):
    assert words(insn) == expected
    assert decode_insn(encode_insn(insn, DEFAULT), DEFAULT) == insn


def test_common_fields_and_opcodes():
    # opcode [0:3) and the four flags at bits 3..6, for every format.
    assert words(Store(memory_type=0)) == "0000000000000000:0000000000000001"
    assert words(Finish()) == "0000000000000000:0000000000000003"
    for bit, flag in enumerate(("pop_prev", "pop_next", "push_prev", "push_next"), 3):
        assert int(words(Finish(**{flag: True})).split(":")[1], 16) == 3 | 1 << bit


def test_default_field_positions_match_the_spec():
    lay = DEFAULT.layout
    pos = lambda fmt: {f.name: (f.lo, f.hi) for f in getattr(lay, fmt)}  # noqa: E731
    mem = pos("mem")
    assert mem["memory_type"] == (7, 10) and mem["sram_base"] == (10, 26)
    assert mem["dram_base"] == (26, 58) and mem["y_size"] == (64, 80)   # straddle -> bit 64
    assert mem["x_pad_1"] == (124, 128)
    gemm = pos("gemm")
    assert gemm["uop_bgn"] == (8, 21) and gemm["uop_end"] == (21, 35)
    assert gemm["iter_in"] == (49, 63) and gemm["dst_factor_out"] == (64, 75)
    assert gemm["wgt_factor_in"] == (118, 128)
    alu = pos("alu")
    assert alu["alu_opcode"] == (108, 111) and alu["use_imm"] == (111, 112) and alu["imm"] == (112, 128)
    uop = pos("uop")
    assert uop == {"dst_idx": (0, 11), "src_idx": (11, 22), "wgt_idx": (22, 32)}


@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=CONFIGS)
def test_no_field_straddles_a_64_bit_word(cfg):
    for name, fields in cfg.layout.formats():
        unit = 32 if name == "uop" else 64
        for f in fields:
            assert f.lo // unit == (f.hi - 1) // unit, (name, f)
            assert f.hi <= (32 if name == "uop" else 128)


def test_tiny_layout_is_derived_from_its_depths():
    lay = TINY.layout
    assert lay.field("gemm", "uop_bgn").width == TINY.log_uop_depth == 8
    assert lay.field("gemm", "uop_end").width == 9
    assert lay.field("gemm", "dst_factor_out").width == TINY.log_acc_depth
    assert lay.field("uop", "wgt_idx").width == TINY.log_wgt_depth


@pytest.mark.parametrize("insn,field", [
    (Load(sram_base=1 << 16), "sram_base"),
    (Load(dram_base=1 << 32), "dram_base"),
    (Load(y_pad_0=16), "y_pad_0"),
    (Gemm(uop_bgn=1 << 13), "uop_bgn"),
    (Gemm(iter_out=1 << 14), "iter_out"),
    (Gemm(wgt_factor_in=1 << 10), "wgt_factor_in"),
    (Alu(imm=1 << 15), "imm"),
    (Alu(imm=-(1 << 15) - 1), "imm"),
    (Alu(alu_opcode=8), "alu_opcode"),
])
def test_out_of_range_names_the_field(insn, field):
    with pytest.raises(EncodingError, match=rf"'{field}' = -?\d+ is out of range"):
        encode_insn(insn, DEFAULT)


def test_uop_range_and_tiny_limits():
    with pytest.raises(EncodingError, match="'dst_idx'"):
        encode_uop(Uop(dst_idx=1 << 11), DEFAULT)
    with pytest.raises(EncodingError, match="'wgt_idx'"):
        encode_uop(Uop(wgt_idx=256), TINY)
    encode_uop(Uop(255, 255, 255), TINY)


def test_decode_rejects_unknown_opcode_and_bad_lengths():
    with pytest.raises(EncodingError, match="instruction 1: unknown opcode 7"):
        decode_insns(bytes(16) + b"\x07" + bytes(15), DEFAULT)
    with pytest.raises(EncodingError, match="not a multiple of 16"):
        decode_insns(bytes(20), DEFAULT)
    with pytest.raises(EncodingError, match="not a multiple of 4"):
        decode_uops(bytes(6), DEFAULT)


# ---- random round trips ---------------------------------------------------------

def field_values(fields, skip=("opcode",)):
    """A strategy of {name: value} covering each field's whole range (edges included)."""
    return st.fixed_dictionaries({
        f.name: st.one_of(st.sampled_from([f.min, f.max, 0]), st.integers(f.min, f.max))
        for f in fields if f.name not in skip})


def insn_strategy(cfg):
    lay = cfg.layout
    bools = ("pop_prev", "pop_next", "push_prev", "push_next", "reset", "use_imm")

    def build(cls):
        def make(d):
            return cls(**{k: bool(v) if k in bools else v for k, v in d.items()})
        return make

    return st.one_of(
        field_values(lay.mem).map(build(Load)), field_values(lay.mem).map(build(Store)),
        field_values(lay.gemm).map(build(Gemm)), field_values(lay.alu).map(build(Alu)),
        field_values(lay.finish).map(build(Finish)))


def uop_strategy(cfg):
    return field_values(cfg.layout.uop, skip=()).map(lambda d: Uop(**d))


@pytest.mark.parametrize("name", CONFIGS)
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_encode_decode_round_trip(name, data):
    cfg = CONFIGS[name]
    insns = data.draw(st.lists(insn_strategy(cfg), min_size=1, max_size=8))
    raw = encode_insns(insns, cfg)
    assert len(raw) == INSN_BYTES * len(insns)
    assert decode_insns(raw, cfg) == insns
    assert encode_insns(decode_insns(raw, cfg), cfg) == raw
    uops = data.draw(st.lists(uop_strategy(cfg), max_size=8))
    assert decode_uops(encode_uops(uops, cfg), cfg) == uops


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=16, max_size=16))
def test_decode_then_encode_keeps_every_used_bit(raw):
    """Any 16 bytes with a valid opcode decode; re-encoding keeps exactly the field bits."""
    word = int.from_bytes(raw, "little")
    if word & 7 not in (0, 1, 2, 3, 4):
        word = (word & ~7) | 2
    insn = decode_insn(word.to_bytes(16, "little"), DEFAULT)
    again = int.from_bytes(encode_insn(insn, DEFAULT), "little")
    used = 0
    for f in DEFAULT.layout.by_opcode[word & 7]:
        used |= f.mask << f.lo
    assert again == word & used


def test_uop_independent_packing():
    # dst | src << 11 | wgt << 22, packed here with plain ints.
    u = Uop(dst_idx=5, src_idx=700, wgt_idx=1000)
    assert encode_uop(u, DEFAULT) == struct.pack("<I", 5 | 700 << 11 | 1000 << 22)
    assert decode_uop(encode_uop(u, DEFAULT), DEFAULT) == u
