; expect: wider than 64 bits
.equ A = 1 << 100000000000
