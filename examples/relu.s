; relu.s -- ReLU on the ALU: acc = max(acc, 0), stored as int8.
;
; Four accumulator elements (BATCH x BLOCK_OUT int32 each) come from a bias segment; one
; ALU MAX with immediate 0 walks them with the inner loop (dst factor 1). Values range
; over -200..200, so the positive ones above 127 show the store's truncation to the low
; 8 bits (200 -> -56): the ALU result is exact in int32, the output is not saturated.
; Portable: expected outputs for the 1x16x16 configs and for tiny (1x4x4).

.equ N = 4                          ; accumulator elements processed

acc: .data bias   shape=(N, BATCH, BLOCK_OUT) random seed=3 min=-200 max=200
out: .data output shape=(N, BATCH, BLOCK_OUT) zeros

relu:
    UOP dst=0 src=0                 ; ALU micro-ops use no weight index

; everything before the store runs in the compute stage, in order: no tokens needed
LOAD uop sram=0 dram=relu y=1 x=len(relu)
LOAD acc sram=0 dram=acc  y=1 x=N
ALU MAX uop=(relu, relu + 1) iter=(1, N) dst=(0,1) src=(0,1) imm=0 push_next
STORE out sram=0 dram=out y=1 x=N pop_prev push_prev
FINISH pop_next

.if BATCH == 1 && BLOCK_OUT == 16
.expect out values=[
    125, 0, 0, 0, 0, 121, -108, 33, 0, 0, 0, 0, 49, 0, 0, 0,
    77, 94, 0, 0, 0, 0, -100, 7, 0, 0, 67, 35, 0, 95, 103, -73,
    115, 0, 0, 60, 60, 79, -108, 0, -80, 0, 0, -66, -78, 0, 0, 0,
    0, -99, 65, 34, 0, 0, 0, 110, 0, 0, 0, 83, 8, 0, 0, 0
]
.elif BATCH == 1 && BLOCK_OUT == 4
.expect out values=[
    125, 0, 0, 0,
    0, 121, -108, 33,
    0, 0, 0, 0,
    49, 0, 0, 0
]
.else
.assert 0 "relu.s has expected outputs for BATCH=1 with BLOCK_OUT 16 or 4 only"
.endif
