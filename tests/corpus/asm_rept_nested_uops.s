; expect: --max-uops
.rept 4000
.rept 4000
UOP dst=0 src=0
.endr
.endr
