"""Issue 11: the RTL's memory system is pipelined (read bursts in flight up to
dram.max_outstanding_reads, grant after the last AR, compute's reads first, two-stage load
unit; rtl/README.md "AXI master timing"), the TLM's model of it is written on branch axi-tlm.
Until that lands, the TLM's cycles do not follow the RTL's, so the tests that hold the two
within a bound check outputs only. The TLM branch sets this to True (and drops the module).
"""
#: False: RTL-vs-TLM cycle bounds are not asserted (outputs still are, bit for bit)
TLM_CYCLES_MATCH = False
