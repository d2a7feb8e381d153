; expect: segment 'x' is empty
x: .data input file="empty.npy"
FINISH
