; expect-warning: no instruction of this run wrote
out: .data output shape=(1, 16) zeros
tile:
    UOP dst=0 src=0 wgt=0
LOAD uop sram=0 dram=tile y=1 x=1
GEMM uop=(tile, tile+1) iter=(1,1) push_next
STORE out sram=0 dram=out y=1 x=1 pop_prev
FINISH
