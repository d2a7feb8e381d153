"""vta.rtl: the VTA in synthesizable MyHDL, parametrized by a vta.isa Config.

Units mirror vta.tlm (fetch, load, compute with gemm/alu, store, queues); top.py adds the
AXI4 master and AXI4-Lite registers; export.py writes Verilog/SystemVerilog; sim.py runs
the export under cocotb; crosscheck.py compares it with the TLM. See rtl/README.md.
"""
