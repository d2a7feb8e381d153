"""Instruction text: the one-line assembly form of an instruction or micro-op.

The assembler reads this form (vta.assembler) and the disassembler and the TLM's traces and
deadlock reports write it, so its operand names live here, once: memory types, ALU operations
and flags are words, every other field a decimal under its operand name, zero padding left out.
"""
from __future__ import annotations

from .insn import Alu, Finish, Gemm, MemInsn
from .opcodes import ALU_NAMES, MEM_NAMES

FLAGS = ("pop_prev", "pop_next", "push_prev", "push_next")

#: Short operand names -> ISA field names (full field names are always accepted too).
SCALAR_ALIASES = {
    "mem": {"sram": "sram_base", "dram": "dram_base", "y": "y_size", "x": "x_size",
            "stride": "x_stride"},
    "gemm": {}, "alu": {}, "finish": {},
    "uop": {"dst": "dst_idx", "src": "src_idx", "wgt": "wgt_idx"},
}

#: Tuple operands -> the ISA fields they set, in order.
GROUPS = {
    "mem": {"pad": ("y_pad_0", "y_pad_1", "x_pad_0", "x_pad_1")},
    "gemm": {"uop": ("uop_bgn", "uop_end"), "iter": ("iter_out", "iter_in"),
             "dst": ("dst_factor_out", "dst_factor_in"), "src": ("src_factor_out", "src_factor_in"),
             "wgt": ("wgt_factor_out", "wgt_factor_in")},
    "alu": {"uop": ("uop_bgn", "uop_end"), "iter": ("iter_out", "iter_in"),
            "dst": ("dst_factor_out", "dst_factor_in"), "src": ("src_factor_out", "src_factor_in")},
    "finish": {}, "uop": {},
}


def _pair(name, a, b):
    return f"{name}=({a},{b})"


def format_insn(insn):
    """One line of assembly for one instruction (decimal values, no comments)."""
    parts = [insn.mnemonic]
    if isinstance(insn, MemInsn):
        aliases = {v: k for k, v in SCALAR_ALIASES["mem"].items()}
        mt = insn.memory_type
        parts.append(MEM_NAMES[mt] if mt in MEM_NAMES else f"memory_type={mt}")
        for f in ("sram_base", "dram_base", "y_size", "x_size", "x_stride"):
            parts.append(f"{aliases[f]}={getattr(insn, f)}")
        pads = [getattr(insn, f) for f in GROUPS["mem"]["pad"]]
        if any(pads):
            parts.append(f"pad=({','.join(map(str, pads))})")
    elif isinstance(insn, (Gemm, Alu)):
        fmt = "gemm" if isinstance(insn, Gemm) else "alu"
        if isinstance(insn, Alu):
            op = insn.alu_opcode
            parts.append(ALU_NAMES[op] if op in ALU_NAMES else f"alu_opcode={op}")
        if insn.reset:
            parts.append("reset")
        for key, (a, b) in GROUPS[fmt].items():
            parts.append(_pair(key, getattr(insn, a), getattr(insn, b)))
        if isinstance(insn, Alu):
            if insn.use_imm:
                parts.append(f"imm={insn.imm}")
            elif insn.imm:
                parts.append(f"use_imm=0 imm={insn.imm}")
    elif not isinstance(insn, Finish):
        raise TypeError(f"not an instruction: {insn!r}")
    parts += [f for f in FLAGS if getattr(insn, f)]
    return " ".join(parts)


def format_uop(uop):
    return f"UOP dst={uop.dst_idx} src={uop.src_idx} wgt={uop.wgt_idx}"


