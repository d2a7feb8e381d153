"""Static checks of single instructions: vta.isa's ``check_insn`` plus on-chip extents.

The assembler rejects an instruction with a problem unless the source says ``.nocheck``;
the disassembler writes ``.nocheck`` when a decoded stream has problems, so its output
still re-assembles to the same bytes.
"""
from __future__ import annotations

from vta.isa import MEM_ACC, MEM_INP, MEM_NAMES, MEM_OUT, MEM_UOP, MEM_WGT, Load, MemInsn, Store, check_insn


def sram_entries(insn):
    """On-chip entries a LOAD writes or a STORE reads (padding included), or None."""
    if not isinstance(insn, MemInsn) or insn.memory_type not in MEM_NAMES:
        return None
    if insn.memory_type == MEM_UOP:
        return insn.x_size
    if isinstance(insn, Load) and insn.memory_type in (MEM_INP, MEM_ACC):
        return ((insn.y_size + insn.y_pad_0 + insn.y_pad_1)
                * (insn.x_size + insn.x_pad_0 + insn.x_pad_1)) if insn.y_size and insn.x_size else 0
    return insn.y_size * insn.x_size


def problems(insn, cfg):
    """Everything statically wrong with ``insn`` under ``cfg`` (empty list if nothing)."""
    out = list(check_insn(insn, cfg))
    n = sram_entries(insn)
    if n and insn.memory_type in (MEM_UOP, MEM_WGT, MEM_INP, MEM_ACC, MEM_OUT):
        depth = cfg.depth(insn.memory_type)
        if insn.sram_base + n > depth:
            verb = "reads" if isinstance(insn, Store) else "writes"
            out.append(f"{verb} {MEM_NAMES[insn.memory_type]} buffer entries {insn.sram_base}.."
                       f"{insn.sram_base + n - 1}, past its {depth} entries")
    return out
