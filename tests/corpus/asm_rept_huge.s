; expect: --max-rept
.rept 1000000000000
FINISH
.endr
