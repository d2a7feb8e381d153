; expect-warning: over the instructions
tile:
    UOP dst=0 src=0 wgt=0
LOAD uop sram=0 dram=tile y=1 x=1
GEMM reset uop=(0,1) iter=(1,1) push_next
STORE out sram=0 dram=0x100 y=1 x=1 pop_prev
FINISH
