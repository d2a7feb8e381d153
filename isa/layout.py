"""Bit-field layouts of the instruction formats and the micro-op, computed from a config.

Fields are packed from bit 0 upward as C ``uint64_t`` bit-fields (Apache VTA's
``hw_spec.h``): a field that would straddle a 64-bit unit starts at the next unit
instead. Micro-ops use one 32-bit unit. Every consumer (encoder, TLM decoder, RTL
decoder, SystemVerilog package) reads positions from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .errors import EncodingError
# ALU_MUL, ALU_NAMES and OPCODE_NAMES are unused here but stay reachable as vta.isa.layout.*:
# the SystemVerilog package writer (vta.rtl.export) reads them through this module.
from .opcodes import (ALU_MUL, ALU_NAMES, INSN_BITS, OPCODE_ALU, OPCODE_FINISH,  # noqa: F401
                      OPCODE_GEMM, OPCODE_LOAD, OPCODE_NAMES, OPCODE_STORE, UOP_BITS)

# Fixed widths (docs/isa.md); the rest depend on buffer depths.
OPCODE_W, ALU_OPCODE_W, MEMTYPE_W = 3, 3, 3
SRAM_BASE_W, DRAM_BASE_W, SIZE_W, STRIDE_W, PAD_W = 16, 32, 16, 16, 4
LOOP_ITER_W, IMM_W = 14, 16


@dataclass(frozen=True)
class Field:
    """One bit-field: bits [lo, lo+width) of the instruction (or micro-op)."""
    name: str
    lo: int
    width: int
    signed: bool = False

    @property
    def hi(self):
        """One past the last bit."""
        return self.lo + self.width

    @cached_property
    def mask(self):
        return (1 << self.width) - 1

    @cached_property
    def min(self):
        return -(1 << (self.width - 1)) if self.signed else 0

    @cached_property
    def max(self):
        return (1 << (self.width - 1)) - 1 if self.signed else self.mask


def pack_fields(specs, total_bits, unit_bits, what):
    """Place (name, width[, signed]) specs as C bit-fields of ``unit_bits`` units."""
    fields, pos = [], 0
    for spec in specs:
        name, width = spec[0], spec[1]
        signed = len(spec) > 2 and spec[2]
        if width < 1:
            raise EncodingError(f"{what}: field '{name}' would be {width} bits wide")
        if width > unit_bits:
            raise EncodingError(f"{what}: field '{name}' is {width} bits, wider than a {unit_bits}-bit unit")
        if pos // unit_bits != (pos + width - 1) // unit_bits:
            pos = (pos // unit_bits + 1) * unit_bits  # C bit-fields do not straddle units
        fields.append(Field(name, pos, width, signed))
        pos += width
    if pos > total_bits:
        raise EncodingError(f"{what} needs {pos} bits, more than {total_bits} "
                            f"(field '{fields[-1].name}' ends at bit {pos})")
    return tuple(fields)


class IsaLayout:
    """Field positions of LOAD/STORE, GEMM, ALU, FINISH and the micro-op for one config."""

    def __init__(self, cfg):
        lu, li, lw, la = cfg.log_uop_depth, cfg.log_inp_depth, cfg.log_wgt_depth, cfg.log_acc_depth
        common = [("opcode", OPCODE_W), ("pop_prev", 1), ("pop_next", 1),
                  ("push_prev", 1), ("push_next", 1)]
        mem = common + [("memory_type", MEMTYPE_W), ("sram_base", SRAM_BASE_W),
                        ("dram_base", DRAM_BASE_W), ("y_size", SIZE_W), ("x_size", SIZE_W),
                        ("x_stride", STRIDE_W), ("y_pad_0", PAD_W), ("y_pad_1", PAD_W),
                        ("x_pad_0", PAD_W), ("x_pad_1", PAD_W)]
        loop = common + [("reset", 1), ("uop_bgn", lu), ("uop_end", lu + 1),
                         ("iter_out", LOOP_ITER_W), ("iter_in", LOOP_ITER_W),
                         ("dst_factor_out", la), ("dst_factor_in", la)]
        gemm = loop + [("src_factor_out", li), ("src_factor_in", li),
                       ("wgt_factor_out", lw), ("wgt_factor_in", lw)]
        alu = loop + [("src_factor_out", la), ("src_factor_in", la),
                      ("alu_opcode", ALU_OPCODE_W), ("use_imm", 1), ("imm", IMM_W, True)]
        self.mem = pack_fields(mem, INSN_BITS, 64, "LOAD/STORE")
        self.gemm = pack_fields(gemm, INSN_BITS, 64, "GEMM")
        self.alu = pack_fields(alu, INSN_BITS, 64, "ALU")
        self.finish = pack_fields(common, INSN_BITS, 64, "FINISH")
        self.uop = pack_fields([("dst_idx", la), ("src_idx", max(la, li)), ("wgt_idx", lw)],
                               UOP_BITS, UOP_BITS, "micro-op")
        self.by_opcode = {OPCODE_LOAD: self.mem, OPCODE_STORE: self.mem, OPCODE_GEMM: self.gemm,
                          OPCODE_ALU: self.alu, OPCODE_FINISH: self.finish}
        self._uop_fields = {f.name: f for f in self.uop}

    def formats(self):
        """(format name, fields) for every instruction format and the micro-op."""
        return [("mem", self.mem), ("gemm", self.gemm), ("alu", self.alu),
                ("finish", self.finish), ("uop", self.uop)]

    def field(self, fmt, name):
        """The Field ``name`` of format ``fmt`` ("mem", "gemm", "alu", "finish", "uop")."""
        for f in getattr(self, fmt):
            if f.name == name:
                return f
        raise KeyError(f"{fmt} has no field {name}")

    # ---- bit-level pack / unpack ----------------------------------------------
    @staticmethod
    def pack(fields, values, what):
        """Pack a {name: int} mapping into an integer, range-checking every field."""
        word = 0
        for f in fields:
            v = int(values.get(f.name, 0))
            if not f.min <= v <= f.max:
                raise EncodingError(f"{what}: field '{f.name}' = {v} is out of range "
                                    f"({f.min}..{f.max}, {f.width} bits)")
            word |= (v & f.mask) << f.lo
        return word

    @staticmethod
    def unpack(fields, word):
        """Unpack an integer into {name: int}, sign-extending signed fields."""
        out = {}
        for f in fields:
            v = (word >> f.lo) & f.mask
            if f.signed and v >> (f.width - 1):
                v -= 1 << f.width
            out[f.name] = v
        return out

    def decode_uops_array(self, words):
        """Vectorized micro-op decode: uint32 array -> (dst, src, wgt) int64 arrays."""
        w = np.asarray(words, dtype=np.uint32).astype(np.int64)
        return tuple((w >> self._uop_fields[n].lo) & self._uop_fields[n].mask
                     for n in ("dst_idx", "src_idx", "wgt_idx"))
