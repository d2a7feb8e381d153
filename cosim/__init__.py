"""vta.cosim: where the TLM and the RTL meet.

``sim`` builds the exported RTL for Icarus or Verilator (cached) and runs cocotb test modules
on it (the one launcher); ``simtb`` is the system testbench (AXI RAM model with the config's
DRAM timing, AXI-Lite host); ``crosscheck`` runs a program on both models and compares them;
``lint`` runs Verilator, pyslang and Icarus over an export; ``cli`` is ``vta-rtl``.
This is the one library package that imports both ``vta.tlm`` and ``vta.rtl``.
"""
