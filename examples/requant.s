; requant.s -- the ALU's other modes: vector-vector ADD with one micro-op per element
; (no micro-op compression, written with .rept), then SHR, MIN and MAX by immediates
; with one micro-op reused through the loop (compression): out = clip((a + b) >> 1, -128, 127).
;
; a and b are N accumulator elements each (BATCH x BLOCK_OUT int32), loaded side by side
; into the accumulator buffer: a at entries 0..N-1, b at N..2N-1. After the clip every
; value fits int8, so the store's truncation keeps it unchanged.
; Portable: expected outputs for the 1x16x16 configs and for tiny (1x4x4).

.equ N = 8

a:   .data bias   shape=(N, BATCH, BLOCK_OUT) random seed=5 min=-1000 max=1000
b:   .data bias   shape=(N, BATCH, BLOCK_OUT) random seed=6 min=-1000 max=1000
out: .data output shape=(N, BATCH, BLOCK_OUT) zeros

pairs:                              ; acc[i] += acc[N + i], one micro-op each
.rept N i
    UOP dst=i src=N + i
.endr
each:                               ; acc[0], walked by the loop's dst factor
    UOP dst=0 src=0

LOAD uop sram=0 dram=pairs y=1 x=len(pairs) + len(each)    ; both blocks, at sram 0
LOAD acc sram=0 dram=a y=1 x=N
LOAD acc sram=N dram=b y=1 x=N
ALU ADD uop=(pairs, pairs + len(pairs)) iter=(1,1)
ALU SHR uop=(each, each + 1) iter=(1, N) dst=(0,1) src=(0,1) imm=1
ALU MIN uop=(each, each + 1) iter=(1, N) dst=(0,1) src=(0,1) imm=127
ALU MAX uop=(each, each + 1) iter=(1, N) dst=(0,1) src=(0,1) imm=-128 push_next
STORE out sram=0 dram=out y=1 x=N pop_prev push_prev
FINISH pop_next

.if BATCH == 1 && BLOCK_OUT == 16
.expect out values=[
    116, 127, -128, 127, 127, -116, 127, -128, 127, 41, -128, 16, -2, 83, -113, -128,
    -128, -128, -128, 122, -128, -128, 127, 85, 127, -128, 127, 127, -128, 127, 127, 127,
    -128, -128, -107, -128, 127, 127, 127, -128, 127, 127, 127, -128, 127, 66, -128, -128,
    127, 127, -128, 127, -128, -128, 16, 127, 100, 12, 127, -128, -103, 127, 98, -128,
    -128, -79, 127, 127, 127, -128, 127, -128, -128, 127, -128, -128, -122, 44, -128, 60,
    127, -128, -128, 127, 127, -128, -128, 127, -24, 127, 127, 127, -128, -128, 127, -128,
    127, -128, -128, 127, 127, -128, 127, 127, -128, 127, 127, 127, 127, -128, -128, 127,
    127, 127, 127, -128, -128, 15, -77, 126, 127, 103, -128, 7, 127, 90, -117, 127
]
.elif BATCH == 1 && BLOCK_OUT == 4
.expect out values=[
    116, 127, -128, 127,
    127, -116, 127, -128,
    127, 41, -128, 16,
    -2, 83, -113, -128,
    -128, -128, -128, 122,
    -128, -128, 127, 85,
    127, -128, 127, 127,
    -128, 127, 127, 127
]
.else
.assert 0 "requant.s has expected outputs for BATCH=1 with BLOCK_OUT 16 or 4 only"
.endif
