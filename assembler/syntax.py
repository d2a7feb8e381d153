"""The assembly syntax as data: mnemonics, directives, operand aliases, required fields.

Both directions read these tables: the assembler (text -> fields) and the disassembler
(fields -> text), so they cannot drift apart. ISA field names, widths and numeric codes
come from vta.isa; this module only names the text forms.
"""
from __future__ import annotations

from vta.isa import ALU_NAMES, MEM_NAMES, MEM_OUT

MNEMONICS = ("LOAD", "STORE", "GEMM", "ALU", "FINISH", "UOP")

DIRECTIVES = frozenset({
    ".data", ".expect", ".include", ".if", ".elif", ".else", ".endif", ".equ",
    ".insn_base", ".uop_base", ".nocheck", ".assert", ".rept", ".endr",
})

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
