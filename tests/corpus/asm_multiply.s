; expect: '*' gives a value wider than 64 bits
.equ A = 0xffffffff * 0xffffffff * 0xffffffff
