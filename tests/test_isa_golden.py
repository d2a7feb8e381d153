"""Golden vectors for every field of every instruction format and of the micro-op, independent
of vta.isa's layout code.

The field order and widths below are facts transcribed from Apache VTA's
``include/vta/hw_spec.h`` (structs VTAGenericInsn, VTAMemInsn, VTAGemInsn, VTAAluInsn, VTAUop)
and ``hw_spec_const.h`` (fixed widths, opcodes); the positions are computed here by the C
bit-field rule (fields of ``uint64_t`` units, ``uint32_t`` for the micro-op; a field that would
straddle a unit starts at the next one). Each field gets value 1 and all-ones, alone, and the
bytes must equal ``vta.isa.encode_insn`` / ``encode_uop``; decoding them must give the value
back. Buffer depths: the default config's are Apache's pynq numbers; tiny's are derived here
from the raw log2 values of configs/tiny.yaml by the formulas of docs/isa.md.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from vta.isa import (Alu, Finish, Gemm, Load, Store, Uop, decode_insn, decode_uop, encode_insn,
                     encode_uop, load_config)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"

# ---- facts from hw_spec.h / hw_spec_const.h ---------------------------------------------
# Widths are numbers or names of buffer log depths: LU uop, LI inp, LW wgt, LA acc
# ("LU+1": one more bit). "SRC" is the micro-op's MAX(LA, LI).
GENERIC = [("opcode", 3), ("pop_prev_dep", 1), ("pop_next_dep", 1), ("push_prev_dep", 1),
           ("push_next_dep", 1)]
MEM = GENERIC + [("memory_type", 3), ("sram_base", 16), ("dram_base", 32), ("y_size", 16),
                 ("x_size", 16), ("x_stride", 16), ("y_pad_0", 4), ("y_pad_1", 4),
                 ("x_pad_0", 4), ("x_pad_1", 4)]
GEM = GENERIC + [("reset_reg", 1), ("uop_bgn", "LU"), ("uop_end", "LU+1"), ("iter_out", 14),
                 ("iter_in", 14), ("dst_factor_out", "LA"), ("dst_factor_in", "LA"),
                 ("src_factor_out", "LI"), ("src_factor_in", "LI"), ("wgt_factor_out", "LW"),
                 ("wgt_factor_in", "LW")]
ALU = GENERIC + [("reset_reg", 1), ("uop_bgn", "LU"), ("uop_end", "LU+1"), ("iter_out", 14),
                 ("iter_in", 14), ("dst_factor_out", "LA"), ("dst_factor_in", "LA"),
                 ("src_factor_out", "LA"), ("src_factor_in", "LA"), ("alu_opcode", 3),
                 ("use_imm", 1), ("imm", 16)]
UOP = [("dst_idx", "LA"), ("src_idx", "SRC"), ("wgt_idx", "LW")]
SIGNED = {"imm"}                       # int64_t imm: two's complement
OPCODES = {"LOAD": 0, "STORE": 1, "GEMM": 2, "FINISH": 3, "ALU": 4}
# pynq (Apache's default): uop 32 KiB / 4 B, inp 32 KiB / 16 B, wgt 256 KiB / 256 B, acc 128 KiB / 64 B
PYNQ_DEPTHS = {"LU": 13, "LI": 11, "LW": 10, "LA": 11}

# the product's names for Apache's fields
RENAME = {"pop_prev_dep": "pop_prev", "pop_next_dep": "pop_next", "push_prev_dep": "push_prev",
          "push_next_dep": "push_next", "reset_reg": "reset"}
FORMATS = [("LOAD", Load, MEM), ("STORE", Store, MEM), ("GEMM", Gemm, GEM), ("ALU", Alu, ALU),
           ("FINISH", Finish, GENERIC)]


def depths_from_yaml(name):
    """Log2 buffer depths from a bundled config's raw arch values (docs/isa.md's formulas)."""
    a = yaml.safe_load((CONFIG_DIR / f"{name}.yaml").read_text())["arch"]
    return {"LU": a["log_uop_buff_size"] - 2,   # 4-byte micro-ops
            "LI": a["log_inp_buff_size"] - a["log_batch"] - a["log_block_in"] - a["log_inp_width"] + 3,
            "LW": a["log_wgt_buff_size"] - a["log_block_out"] - a["log_block_in"] - a["log_wgt_width"] + 3,
            "LA": a["log_acc_buff_size"] - a["log_batch"] - a["log_block_out"] - a["log_acc_width"] + 3}


DEPTHS = {"default": PYNQ_DEPTHS, "tiny": depths_from_yaml("tiny")}


def width(spec, d):
    if isinstance(spec, int):
        return spec
    if spec == "SRC":
        return max(d["LA"], d["LI"])
    name, _, extra = spec.partition("+")
    return d[name] + int(extra or 0)


def c_bitfields(facts, d, unit):
    """{name: (lo, width)} placed as C bit-fields in ``unit``-bit units."""
    out, pos = {}, 0
    for name, spec in facts:
        w = width(spec, d)
        if pos // unit != (pos + w - 1) // unit:
            pos = (pos // unit + 1) * unit
        out[name] = (pos, w)
        pos += w
    return out


def insn_cases():
    for config in DEPTHS:
        for mnemonic, cls, facts in FORMATS:
            for name, _ in facts:
                yield pytest.param(config, mnemonic, cls, facts, name, id=f"{config}-{mnemonic}-{name}")


def zero_insn(cls, facts):
    """``cls`` with every field 0 (a Store defaults to memory type OUT otherwise)."""
    names = [RENAME.get(n, n) for n, _ in facts if n != "opcode"]
    own = {f.name for f in dataclasses.fields(cls)}
    assert own == set(names), f"{cls.__name__} fields differ from hw_spec.h: {sorted(own ^ set(names))}"
    return cls(**{n: 0 for n in names})


def test_default_depths_follow_the_formula():
    assert depths_from_yaml("default") == PYNQ_DEPTHS


@pytest.mark.parametrize("config,mnemonic,cls,facts,name", list(insn_cases()))
def test_insn_field_alone(config, mnemonic, cls, facts, name):
    cfg = load_config(config)
    pos = c_bitfields(facts, DEPTHS[config], 64)
    opcode = OPCODES[mnemonic]
    zero = zero_insn(cls, facts)
    lo, w = pos["opcode"]
    base = opcode << lo
    if name == "opcode":   # set by the class: the all-zero instruction carries it alone
        assert encode_insn(zero, cfg) == base.to_bytes(16, "little")
        assert decode_insn(base.to_bytes(16, "little"), cfg) == zero
        return
    lo, w = pos[name]
    ones = -1 if name in SIGNED else (1 << w) - 1
    for value in (1, ones):
        insn = zero.replace(**{RENAME.get(name, name): value})
        want = (base | (value & ((1 << w) - 1)) << lo).to_bytes(16, "little")
        assert encode_insn(insn, cfg).hex() == want.hex(), \
            f"{config} {mnemonic}.{name} = {value}: expected bits [{lo}:{lo + w})"
        assert decode_insn(want, cfg) == insn, f"{config} {mnemonic}.{name} decodes wrong"


@pytest.mark.parametrize("config,name", [(c, n) for c in DEPTHS for n, _ in UOP],
                         ids=[f"{c}-uop-{n}" for c in DEPTHS for n, _ in UOP])
def test_uop_field_alone(config, name):
    cfg = load_config(config)
    lo, w = c_bitfields(UOP, DEPTHS[config], 32)[name]
    for value in (1, (1 << w) - 1):
        uop = Uop(**{name: value})
        want = (value << lo).to_bytes(4, "little")
        assert encode_uop(uop, cfg).hex() == want.hex(), \
            f"{config} micro-op {name} = {value}: expected bits [{lo}:{lo + w})"
        assert decode_uop(want, cfg) == uop


@pytest.mark.parametrize("config", list(DEPTHS))
def test_widths_are_exact(config):
    """One past the widest value is refused: the product's widths are not wider than Apache's."""
    from vta.isa import EncodingError
    cfg = load_config(config)
    for mnemonic, cls, facts in FORMATS:
        zero = zero_insn(cls, facts)
        for name, spec in facts[1:]:
            w = width(spec, DEPTHS[config])
            too_big = 1 << (w - 1) if name in SIGNED else 1 << w
            with pytest.raises(EncodingError, match=RENAME.get(name, name)):
                encode_insn(zero.replace(**{RENAME.get(name, name): too_big}), cfg)
    for name, spec in UOP:
        with pytest.raises(EncodingError, match=name):
            encode_uop(Uop(**{name: 1 << width(spec, DEPTHS[config])}), cfg)
