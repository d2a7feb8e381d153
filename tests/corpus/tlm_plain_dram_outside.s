; expect-warning: outside every declared segment
LOAD inp sram=0 dram=0x40000 y=1 x=1
FINISH
