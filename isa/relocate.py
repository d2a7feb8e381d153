"""Moving a program in DRAM: what a board driver does when its buffers land at whatever
physical address the allocator returns.

A program's DRAM addresses live in three places: the instruction and micro-op bases, the
segments' byte bases, and the ``dram_base`` field of every LOAD/STORE, counted in elements
of the instruction's memory type (uop 4 B, inp/wgt/acc/out their element sizes). Moving the
whole footprint by one byte offset that is a multiple of every element size (and of the bus
width, so bursts stay beat-aligned as before) keeps every one of those exact.
"""
from __future__ import annotations

import dataclasses

from .errors import VTAError
from .insn import MemInsn
from .layout import DRAM_BASE_W
from .opcodes import INSN_BYTES, MEM_ACC, MEM_INP, MEM_OUT, MEM_UOP, MEM_WGT, UOP_BYTES

MEM_TYPES = (MEM_UOP, MEM_INP, MEM_WGT, MEM_ACC, MEM_OUT)


def footprint(program):
    """(lowest byte, one past the highest byte) of every DRAM region the program occupies."""
    regions = program.regions()
    return min(b for _, b, _ in regions), max(e for _, _, e in regions)


def alignment(cfg):
    """The byte granularity a move must keep: every element size, an instruction, a bus beat
    (all powers of two, so the largest is a multiple of the others)."""
    return max(INSN_BYTES, UOP_BYTES, cfg.bus_bytes, *(cfg.elem_bytes(m) for m in MEM_TYPES))


def relocate(program, new_low):
    """A copy of ``program`` whose footprint starts at byte ``new_low`` instead of
    ``footprint(program)[0]``. VTAError when the move is not a multiple of ``alignment``, or
    an address would leave the 32-bit DRAM fields. The copy is not validated against the
    config's DRAM size: on a board, physical addresses lie beyond it."""
    cfg = program.config
    low, high = footprint(program)
    delta = new_low - low
    align = alignment(cfg)
    if delta % align:
        raise VTAError(f"cannot move program '{program.name}' from {low:#x} to {new_low:#x}: the "
                       f"offset must be a multiple of {align} bytes (element sizes, bus width)")
    if new_low < 0 or high + delta > 1 << 32:
        raise VTAError(f"program '{program.name}' moved to {new_low:#x} would span "
                       f"[{new_low:#x}, {high + delta:#x}), outside the 32-bit address space")
    insns = []
    for insn in program.insns:
        if isinstance(insn, MemInsn) and insn.memory_type in MEM_TYPES:
            step = delta // cfg.elem_bytes(insn.memory_type)
            base = insn.dram_base + step
            if not 0 <= base < 1 << DRAM_BASE_W:
                raise VTAError(f"program '{program.name}': {insn.mnemonic} dram_base {insn.dram_base} "
                               f"moved by {step} elements leaves the {DRAM_BASE_W}-bit field")
            insn = insn.replace(dram_base=base)
        insns.append(insn)
    segments = [dataclasses.replace(s, base=s.base + delta) for s in program.segments]
    return dataclasses.replace(program, insns=insns, segments=segments,
                               insn_base=program.insn_base + delta,
                               uop_base=program.uop_base + delta)
