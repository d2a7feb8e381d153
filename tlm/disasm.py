"""One-line disassembly of an instruction for traces and reports.

Uses the assembler's ``format_insn`` (the syntax ``vta-asm`` reads back); if the
assembler package is not importable, falls back to mnemonic + non-default fields.
"""
from __future__ import annotations

import dataclasses

try:
    from vta.assembler import format_insn as _format_insn
except ImportError:  # the assembler is optional for the TLM
    _format_insn = None

from vta.isa import MEM_NAMES, Alu, MemInsn


def _fallback(insn):
    parts = [insn.mnemonic]
    if isinstance(insn, MemInsn):
        parts.append(MEM_NAMES.get(insn.memory_type, str(insn.memory_type)))
    if isinstance(insn, Alu):
        parts.append(insn.alu_name)
    for f in dataclasses.fields(insn):
        if f.name in ("memory_type", "alu_opcode"):
            continue
        v = getattr(insn, f.name)
        if v != f.default:
            parts.append(f.name if v is True else f"{f.name}={int(v)}")
    return " ".join(parts)


def format_insn(insn, cfg=None):
    if _format_insn is not None:
        for args in ((insn,), (insn, cfg)):
            try:
                return " ".join(str(_format_insn(*args)).split())
            except Exception:  # noqa: BLE001,S112 - never let cosmetics break a run
                continue
    return _fallback(insn)
