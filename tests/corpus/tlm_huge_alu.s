; run: timeout=1
; expect: time limit of 1 s
tile:
    UOP dst=0 src=0 wgt=0
LOAD uop sram=0 dram=tile y=1 x=1
ALU ADD uop=(0,1) iter=(16383,16383) imm=1
FINISH
