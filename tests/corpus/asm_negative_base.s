; expect: error
.insn_base -16
FINISH
