"""The assembly syntax as data: mnemonics, directives, operand aliases, required fields.

Both directions read these tables: the assembler (text -> fields) and the disassembler
(fields -> text), so they cannot drift apart. ISA field names, widths and numeric codes
come from vta.isa, and so do the operand names and groups of the one-line instruction
form (vta.isa.text, which the TLM's traces use too); this module adds what only the
assembler needs.
"""
from __future__ import annotations

from vta.isa import ALU_NAMES, MEM_NAMES, MEM_OUT
from vta.isa.text import FLAGS, GROUPS, SCALAR_ALIASES

MNEMONICS = ("LOAD", "STORE", "GEMM", "ALU", "FINISH", "UOP")

DIRECTIVES = frozenset({
    ".data", ".expect", ".include", ".if", ".elif", ".else", ".endif", ".equ",
    ".insn_base", ".uop_base", ".nocheck", ".assert", ".rept", ".endr",
})

#: Bare words -> (field, value).
MEM_WORDS = {name: ("memory_type", code) for code, name in MEM_NAMES.items()}
ALU_WORDS = {name: ("alu_opcode", code) for code, name in ALU_NAMES.items()}
FLAG_WORDS = {f: (f, 1) for f in FLAGS}
WORDS = {
    "LOAD": {**MEM_WORDS, **FLAG_WORDS},
    "STORE": {**MEM_WORDS, **FLAG_WORDS},
    "GEMM": {"reset": ("reset", 1), **FLAG_WORDS},
    "ALU": {**{k.lower(): v for k, v in ALU_WORDS.items()}, "reset": ("reset", 1), **FLAG_WORDS},
    "FINISH": dict(FLAG_WORDS),
    "UOP": {},
}

#: Instruction format of each mnemonic (the name of an IsaLayout field tuple).
FORMAT = {"LOAD": "mem", "STORE": "mem", "GEMM": "gemm", "ALU": "alu", "FINISH": "finish",
          "UOP": "uop"}

#: Fields that must be given, and how to ask for them in an error.
REQUIRED = {
    "LOAD": ("memory_type", "sram_base", "dram_base", "y_size", "x_size"),
    "STORE": ("sram_base", "dram_base", "y_size", "x_size"),
    "GEMM": ("uop_bgn", "uop_end", "iter_out", "iter_in"),
    "ALU": ("alu_opcode", "uop_bgn", "uop_end", "iter_out", "iter_in"),
    "FINISH": (),
    "UOP": ("dst_idx", "src_idx"),
}

#: Defaults of optional fields that are not zero.
DEFAULTS = {"STORE": {"memory_type": MEM_OUT}}


def spelling(mnemonic, field):
    """How to write ``field`` in text, for 'missing field' messages."""
    fmt = FORMAT[mnemonic]
    if field == "memory_type":
        return f"a memory type ({', '.join(MEM_NAMES.values())})"
    if field == "alu_opcode":
        return f"an ALU operation ({', '.join(ALU_NAMES.values())})"
    for short, full in SCALAR_ALIASES[fmt].items():
        if full == field:
            return f"'{short}=' ({field})"
    for short, fields in GROUPS[fmt].items():
        if field in fields:
            return f"'{short}=({', '.join(fields)})'"
    return f"'{field}='"
