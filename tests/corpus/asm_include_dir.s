; expect: error
.include "incdir"
FINISH
