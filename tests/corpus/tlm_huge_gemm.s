; run: max_cycles=1000000
; expect: would run until cycle 268,402,777
tile:
    UOP dst=0 src=0 wgt=0
LOAD uop sram=0 dram=tile y=1 x=1
GEMM reset uop=(0,1) iter=(16383,16383)
FINISH
