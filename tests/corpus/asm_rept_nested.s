; expect: --max-insns
.rept 2000
.rept 2000
FINISH
.endr
.endr
