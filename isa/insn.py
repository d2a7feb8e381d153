"""Task instructions and micro-ops as immutable Python objects, with encode/decode.

``encode_insn(insn, cfg)`` gives the 16 little-endian bytes Apache VTA would emit (low
64-bit word first); ``decode_insn`` is its inverse. Field ranges come from the
config's :class:`~vta.isa.layout.IsaLayout`; an out-of-range value raises
:class:`EncodingError` naming the field, its value and its limit.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import EncodingError
from .opcodes import (ALU_MUL, ALU_NAMES, INSN_BYTES, MEM_ACC, MEM_INP, MEM_NAMES, MEM_OUT, MEM_UOP,
                      MEM_WGT, OPCODE_ALU, OPCODE_FINISH, OPCODE_GEMM, OPCODE_LOAD, OPCODE_NAMES,
                      OPCODE_STORE, UOP_BYTES)


@lru_cache(maxsize=None)
def _field_names(cls):
    # dataclasses.fields() filters the class's fields on every call
    return tuple(f.name for f in dataclasses.fields(cls))


@dataclass(frozen=True)
class Insn:
    """Common part of every task instruction: the dependence-token flags."""
    pop_prev: bool = False
    pop_next: bool = False
    push_prev: bool = False
    push_next: bool = False

    OPCODE = None
    FORMAT = None

    @property
    def mnemonic(self):
        return OPCODE_NAMES[self.OPCODE]

    def field_values(self):
        """{field name: int} for encoding (flags as 0/1, opcode included)."""
        d = {name: int(getattr(self, name)) for name in _field_names(type(self))}
        d["opcode"] = self.OPCODE
        return d

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class MemInsn(Insn):
    """LOAD and STORE: a 2-D strided copy between DRAM and an on-chip buffer."""
    memory_type: int = MEM_INP
    sram_base: int = 0
    dram_base: int = 0
    y_size: int = 0
    x_size: int = 0
    x_stride: int = 0
    y_pad_0: int = 0
    y_pad_1: int = 0
    x_pad_0: int = 0
    x_pad_1: int = 0
    FORMAT = "mem"


@dataclass(frozen=True)
class Load(MemInsn):
    OPCODE = OPCODE_LOAD


@dataclass(frozen=True)
class Store(MemInsn):
    OPCODE = OPCODE_STORE
    memory_type: int = MEM_OUT


@dataclass(frozen=True)
class LoopInsn(Insn):
    """The two-level loop nest over a micro-op range shared by GEMM and ALU."""
    reset: bool = False
    uop_bgn: int = 0
    uop_end: int = 0
    iter_out: int = 0
    iter_in: int = 0
    dst_factor_out: int = 0
    dst_factor_in: int = 0
    src_factor_out: int = 0
    src_factor_in: int = 0


@dataclass(frozen=True)
class Gemm(LoopInsn):
    wgt_factor_out: int = 0
    wgt_factor_in: int = 0
    OPCODE = OPCODE_GEMM
    FORMAT = "gemm"


@dataclass(frozen=True)
class Alu(LoopInsn):
    alu_opcode: int = 0
    use_imm: bool = False
    imm: int = 0
    OPCODE = OPCODE_ALU
    FORMAT = "alu"

    @property
    def alu_name(self):
        return ALU_NAMES.get(self.alu_opcode, f"OP{self.alu_opcode}")


@dataclass(frozen=True)
class Finish(Insn):
    OPCODE = OPCODE_FINISH
    FORMAT = "finish"


@dataclass(frozen=True)
class Uop:
    """A micro-op: buffer indices for one step of a GEMM or ALU loop body."""
    dst_idx: int = 0
    src_idx: int = 0
    wgt_idx: int = 0


INSN_CLASSES = {OPCODE_LOAD: Load, OPCODE_STORE: Store, OPCODE_GEMM: Gemm,
                OPCODE_ALU: Alu, OPCODE_FINISH: Finish}


def _layout(cfg):
    return cfg.layout


def encode_insn(insn, cfg):
    """16 little-endian bytes of one instruction (Apache VTA layout)."""
    fields = getattr(_layout(cfg), insn.FORMAT)
    word = _layout(cfg).pack(fields, insn.field_values(), insn.mnemonic)
    return word.to_bytes(INSN_BYTES, "little")


def decode_insn(data, cfg, index=None):
    """Decode 16 bytes into an instruction object. Unused bits are ignored."""
    if len(data) != INSN_BYTES:
        raise EncodingError(f"an instruction is {INSN_BYTES} bytes, got {len(data)}")
    word = int.from_bytes(data, "little")
    opcode = word & 0x7
    cls = INSN_CLASSES.get(opcode)
    if cls is None:
        where = f"instruction {index}: " if index is not None else ""
        raise EncodingError(f"{where}unknown opcode {opcode} (valid: "
                            + ", ".join(f"{k}={v}" for k, v in OPCODE_NAMES.items()) + ")")
    layout = _layout(cfg)
    values = layout.unpack(layout.by_opcode[opcode], word)
    del values["opcode"]
    for flag in ("pop_prev", "pop_next", "push_prev", "push_next", "reset", "use_imm"):
        if flag in values:
            values[flag] = bool(values[flag])
    return cls(**values)


def encode_uop(uop, cfg):
    word = _layout(cfg).pack(_layout(cfg).uop,
                             {"dst_idx": uop.dst_idx, "src_idx": uop.src_idx, "wgt_idx": uop.wgt_idx},
                             "micro-op")
    return word.to_bytes(UOP_BYTES, "little")


def decode_uop(data, cfg):
    if len(data) != UOP_BYTES:
        raise EncodingError(f"a micro-op is {UOP_BYTES} bytes, got {len(data)}")
    return Uop(**_layout(cfg).unpack(_layout(cfg).uop, int.from_bytes(data, "little")))


def encode_insns(insns, cfg):
    """The raw instruction stream (``insns.bin``)."""
    return b"".join(encode_insn(i, cfg) for i in insns)


def decode_insns(data, cfg):
    if len(data) % INSN_BYTES:
        raise EncodingError(f"instruction stream is {len(data)} bytes, not a multiple of {INSN_BYTES}")
    return [decode_insn(data[i:i + INSN_BYTES], cfg, i // INSN_BYTES)
            for i in range(0, len(data), INSN_BYTES)]


def encode_uops(uops, cfg):
    """The raw micro-op stream (``uops.bin``)."""
    return b"".join(encode_uop(u, cfg) for u in uops)


def decode_uops(data, cfg):
    if len(data) % UOP_BYTES:
        raise EncodingError(f"micro-op stream is {len(data)} bytes, not a multiple of {UOP_BYTES}")
    words = np.frombuffer(data, dtype="<u4")
    dst, src, wgt = _layout(cfg).decode_uops_array(words)
    return [Uop(int(d), int(s), int(w)) for d, s, w in zip(dst, src, wgt)]


# ---- static checks (what can be said of an instruction without running it) ------

LOAD_TYPES = (MEM_UOP, MEM_WGT, MEM_INP, MEM_ACC)


def check_insn(insn, cfg):
    """Return a list of problems with an instruction that encoding alone does not catch.

    Range checks of buffer indices that depend on run-time loop counts are the models'
    job; this catches what is wrong whatever the program does.
    """
    problems = []
    if isinstance(insn, Load) and insn.memory_type not in LOAD_TYPES:
        problems.append(f"memory_type {insn.memory_type} cannot be loaded "
                        f"(valid: {', '.join(f'{MEM_NAMES[t]}={t}' for t in LOAD_TYPES)})")
    if isinstance(insn, Store) and insn.memory_type != MEM_OUT:
        problems.append(f"memory_type {insn.memory_type} cannot be stored (only out={MEM_OUT})")
    if isinstance(insn, MemInsn) and insn.memory_type in (MEM_UOP, MEM_WGT) and (
            insn.y_pad_0 or insn.y_pad_1 or insn.x_pad_0 or insn.x_pad_1):
        problems.append(f"{MEM_NAMES[insn.memory_type]} loads ignore padding; pad fields must be 0")
    if isinstance(insn, MemInsn) and insn.memory_type in MEM_NAMES and insn.memory_type != MEM_UOP:
        if insn.y_size and insn.x_stride < insn.x_size and insn.y_size > 1:
            problems.append(f"x_stride {insn.x_stride} is smaller than x_size {insn.x_size}")
    if isinstance(insn, LoopInsn):
        if insn.uop_end > cfg.uop_depth:
            problems.append(f"uop_end {insn.uop_end} is past the uop buffer ({cfg.uop_depth} entries)")
        if insn.uop_bgn >= insn.uop_end:
            problems.append(f"empty or reversed micro-op range uop_bgn={insn.uop_bgn} uop_end={insn.uop_end}")
    if isinstance(insn, Alu) and insn.alu_opcode not in ALU_NAMES:
        problems.append(f"alu_opcode {insn.alu_opcode} is not an ALU operation")
    elif isinstance(insn, Alu) and insn.alu_opcode == ALU_MUL:
        problems.append("ALU MUL is reserved: the Apache VTA HLS design does not execute it")
    return problems
