; gemm.s -- one GEMM tile: out = inp @ wgt^T, truncated to the output width.
;
; inp is one input element (BATCH x BLOCK_IN int8), wgt one weight tile (BLOCK_OUT x
; BLOCK_IN int8, row-major, one row per output lane), out one output element (BATCH x
; BLOCK_OUT int8). Inputs and weights span the whole int8 range, so the int32 sums
; exceed int8 and the store keeps their low 8 bits (VTA truncates, it never saturates).
; Portable: shapes come from the config; expected outputs are given for the 1x16x16
; configs (default, ultra96, zcu104) and for tiny (1x4x4).
;
;   vta-asm examples/gemm.s              -> examples/gemm.vtab
;   vta-asm examples/gemm.s -c tiny -o build/gemm-tiny.vtab

inp: .data input  shape=(BATCH, BLOCK_IN)  random seed=1
wgt: .data weight shape=(BLOCK_OUT, BLOCK_IN) random seed=2
out: .data output shape=(BATCH, BLOCK_OUT) zeros

; One micro-op: acc[0] += inp[0] @ wgt[0]^T.
tile:
    UOP dst=0 src=0 wgt=0

; compute stage: micro-ops in, accumulator cleared
LOAD uop sram=0 dram=tile y=1 x=len(tile)
GEMM reset uop=(tile, tile + len(tile)) iter=(1,1)
; load stage: the operands; the last load hands a token to compute (load->compute)
LOAD inp sram=0 dram=inp y=1 x=1
LOAD wgt sram=0 dram=wgt y=1 x=1 push_next
; compute: wait for the operands, multiply-accumulate, hand a token to store
GEMM uop=(tile, tile + len(tile)) iter=(1,1) pop_prev push_next
; store: wait for the result, write it, tell compute it is out (store->compute)
STORE out sram=0 dram=out y=1 x=1 pop_prev push_prev
; finish only once the store is done
FINISH pop_next

.if BATCH == 1 && BLOCK_IN == 16 && BLOCK_OUT == 16
.expect out values=[
    -40, 21, 82, -17, -44, -117, 31, -86, 36, 10, 120, -57, 92, 52, 48, -15
]
.elif BATCH == 1 && BLOCK_IN == 4 && BLOCK_OUT == 4
.expect out values=[
    -21, 25, -42, 9
]
.else
.assert 0 "gemm.s has expected outputs for 1x16x16 and 1x4x4 configs only"
.endif
