"""vta.isa: the single source of truth shared by the assembler, the TLM and the RTL.

Config loading and derived quantities, instruction/micro-op layouts and encodings,
the Program object and the bundle format.
"""
from .config import ARCH_KEYS, TARGETS, Config, bundled_configs, from_vta_json, load_config
from .errors import BundleError, ConfigError, EncodingError, VTAError
from .insn import (Alu, Finish, Gemm, Insn, Load, LoopInsn, MemInsn, Store, Uop, check_insn,
                   decode_insn, decode_insns, decode_uop, decode_uops, encode_insn, encode_insns,
                   encode_uop, encode_uops)
from .layout import Field, IsaLayout
from .opcodes import (ALU_ADD, ALU_MAX, ALU_MIN, ALU_MUL, ALU_NAMES, ALU_SHR, INSN_BITS, INSN_BYTES,
                      MEM_ACC, MEM_INP, MEM_NAMES, MEM_OUT, MEM_UOP, MEM_WGT, OPCODE_ALU,
                      OPCODE_FINISH, OPCODE_GEMM, OPCODE_LOAD, OPCODE_NAMES, OPCODE_STORE, UOP_BITS,
                      UOP_BYTES)
from .program import Program, Segment, read_bundle, write_bundle
from .semantics import (alu_apply, first_out_of_range, loop_factors, loop_indices, shift_amount,
                        truncate, uop_range, wrap_signed)
from .text import format_insn, format_uop

__all__ = [name for name in dir() if not name.startswith("_")]
