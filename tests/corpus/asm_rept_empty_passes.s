; expect: --max-rept
.rept 100000
.rept 100000
.endr
.endr
