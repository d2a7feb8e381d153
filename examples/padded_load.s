; padded_load.s -- a padded INP load made visible through the output.
;
; A 2x2 grid of input elements is loaded with one zero element of padding on every side
; (pad=(top, bottom, left, right)), filling a 4x4 grid of the input buffer:
;
;     0  0  0  0
;     0  a  b  0        a, b, c, d: input elements (BATCH x BLOCK_IN int8 each)
;     0  c  d  0
;     0  0  0  0
;
; STORE reads the output buffer, which only GEMM and ALU write, so a GEMM with an
; identity weight tile copies every input-buffer entry k to output entry k (x @ I = x,
; exact in int8). The loop nest walks the grid: i over rows (factor 4), j over columns
; (factor 1), one micro-op. The stored 4x4 grid is the padded input.
; Needs BLOCK_IN == BLOCK_OUT (a square identity); expected outputs for 1x16x16 and tiny.

.assert BLOCK_IN == BLOCK_OUT "padded_load.s needs a square GEMM core"
.equ H = 2                          ; input grid rows
.equ W = 2                          ; input grid columns
.equ PH = H + 2                     ; padded grid rows
.equ PW = W + 2                     ; padded grid columns

inp: .data input  shape=(H, W, BATCH, BLOCK_IN) random seed=4
out: .data output shape=(PH, PW, BATCH, BLOCK_OUT) zeros
.if BLOCK_IN == 16
eye: .data weight shape=(16, 16) values=[
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
]
.elif BLOCK_IN == 4
eye: .data weight shape=(4, 4) values=[
    1, 0, 0, 0,
    0, 1, 0, 0,
    0, 0, 1, 0,
    0, 0, 0, 1
]
.else
.assert 0 "padded_load.s has an identity tile for BLOCK_IN 16 and 4 only"
.endif

copy:
    UOP dst=0 src=0 wgt=0

LOAD uop sram=0 dram=copy y=1 x=len(copy)
GEMM reset uop=(copy, copy + 1) iter=(PH, PW) dst=(PW, 1)
LOAD wgt sram=0 dram=eye y=1 x=1
LOAD inp sram=0 dram=inp y=H x=W stride=W pad=(1,1,1,1) push_next
GEMM uop=(copy, copy + 1) iter=(PH, PW) dst=(PW, 1) src=(PW, 1) wgt=(0,0) pop_prev push_next
STORE out sram=0 dram=out y=PH x=PW stride=PW pop_prev push_prev
FINISH pop_next

.if BATCH == 1 && BLOCK_IN == 16
.expect out values=[
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    57, 113, 97, 2, 112, 121, 120, -108, -12, 27, -56, -32, 32, 77, 20, -84,
    45, 95, -72, 11, -42, 102, -113, -6, 101, -18, -93, 73, 118, 123, 110, -34,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    59, 120, 18, 109, 22, -83, -10, 27, -51, 52, -24, 113, -75, 42, -105, -94,
    5, -1, -1, -2, 91, 0, -35, 117, 98, -39, -77, -71, -86, 5, 19, 36,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
]
.elif BATCH == 1 && BLOCK_IN == 4
.expect out values=[
    0, 0, 0, 0,
    0, 0, 0, 0,
    0, 0, 0, 0,
    0, 0, 0, 0,
    0, 0, 0, 0,
    57, 113, 97, 2,
    112, 121, 120, -108,
    0, 0, 0, 0,
    0, 0, 0, 0,
    -12, 27, -56, -32,
    32, 77, 20, -84,
    0, 0, 0, 0,
    0, 0, 0, 0,
    0, 0, 0, 0,
    0, 0, 0, 0,
    0, 0, 0, 0
]
.else
.assert 0 "padded_load.s has expected outputs for BATCH=1 only"
.endif
