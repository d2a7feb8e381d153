; expect: segment 'x' is empty
x: .data input values=[]
FINISH
