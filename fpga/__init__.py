"""vta.fpga: from the exported RTL to FPGA figures.

``synth`` runs Yosys ``synth_xilinx`` on an export and reports LUT/FF/BRAM/DSP use against
the part's capacity (``vta-fpga synth``; ``vta-rtl synth`` is an alias).
"""
