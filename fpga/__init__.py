"""vta.fpga: from the exported RTL to FPGA boards and figures.

- ``vivado``: ``vta-fpga build``, a Vivado non-project batch flow (block design with the Zynq
  PS, bitstream, .hwh, .xsa) for pynq-z1, ultra96 and zcu104;
- ``driver``: the board driver (runs a program bundle through the registers and a DRAM
  buffer; PYNQ backend, and ``board_tb``, its cocotb backend on the RTL);
- ``synth``: Yosys ``synth_xilinx`` resource estimates (``vta-fpga synth``; ``vta-rtl synth``
  is an alias);
- ``pnr``: open place and route (Yosys ``synth_ecp5`` + nextpnr-ecp5 on an ECP5-85F-6):
  resources, Fmax and the critical path (``vta-fpga pnr``).
"""
