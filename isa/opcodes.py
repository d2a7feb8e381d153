"""The fixed numbers of the VTA ISA (docs/isa.md): opcodes, ALU operations, memory
types, and the sizes of an instruction and a micro-op. They do not depend on the
config; everything else in vta.isa and its users takes them from here."""

OPCODE_LOAD, OPCODE_STORE, OPCODE_GEMM, OPCODE_FINISH, OPCODE_ALU = 0, 1, 2, 3, 4
OPCODE_NAMES = {OPCODE_LOAD: "LOAD", OPCODE_STORE: "STORE", OPCODE_GEMM: "GEMM",
                OPCODE_FINISH: "FINISH", OPCODE_ALU: "ALU"}

ALU_MIN, ALU_MAX, ALU_ADD, ALU_SHR, ALU_MUL = 0, 1, 2, 3, 4
ALU_NAMES = {ALU_MIN: "MIN", ALU_MAX: "MAX", ALU_ADD: "ADD", ALU_SHR: "SHR", ALU_MUL: "MUL"}

# Memory types: the memory_type field of LOAD/STORE.
MEM_UOP, MEM_WGT, MEM_INP, MEM_ACC, MEM_OUT = 0, 1, 2, 3, 4
MEM_NAMES = {MEM_UOP: "uop", MEM_WGT: "wgt", MEM_INP: "inp", MEM_ACC: "acc", MEM_OUT: "out"}

INSN_BITS, UOP_BITS = 128, 32
INSN_BYTES, UOP_BYTES = INSN_BITS // 8, UOP_BITS // 8
