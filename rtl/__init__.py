"""vta.rtl: the VTA in synthesizable MyHDL, parametrized by a vta.isa Config.

Hardware only. Units mirror vta.tlm (fetch, load, compute with gemm/alu, store, queues);
top.py adds the AXI4 master and AXI4-Lite registers; export.py writes Verilog and
SystemVerilog. Simulation, lint and the TLM cross-check live in vta.cosim, synthesis in
vta.fpga. See rtl/README.md.
"""
