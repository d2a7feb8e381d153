"""vta_top: the core, the AXI4 master and the AXI4-Lite register file.

Top-level ports (after MyHDL expands the interface objects): ``clk``; ``rst`` (synchronous,
active high); ``s_axil_*`` (AXI4-Lite slave, see regs.AxiLiteBus) and ``m_axi_*`` (AXI4
master, see axi.AxiBus), named as cocotbext-axi's ``from_prefix`` and Vivado's interface
inference expect.

``axi_harness`` is the same shell with the core cut out and its ports (``interfaces.CorePorts``)
brought out as ``core_*``, to test the AXI master and the registers on their own.
"""
from __future__ import annotations

from myhdl import ResetSignal, Signal, block

from .axi import AxiBus, axi_master
from .core import core, core_block
from .interfaces import CorePorts
from .regs import AxiLiteBus, regs


class AxiStatus:
    """AXI master status shown in the registers."""

    def __init__(self):
        self.err = Signal(bool(0))
        self.rd_busy = Signal(bool(0))
        self.wr_busy = Signal(bool(0))
        self.wr_pending = Signal(bool(0))


def top_ports(cfg):
    """Fresh top-level port objects: (clk, rst, s_axil, m_axi)."""
    return (Signal(bool(0)), ResetSignal(0, active=1, isasync=False), AxiLiteBus(),
            AxiBus(cfg.bus_bits))


@block
def shell(cfg, clk, rst, s_axil, m_axi, c):
    """AXI master + registers around the core's ports ``c`` (CorePorts)."""
    st = AxiStatus()
    master = axi_master(cfg, clk, rst, c.rd0, c.rd1, c.rd2, c.wr, m_axi, c.start, st.err,
                        st.rd_busy, st.wr_busy, st.wr_pending)
    regfile = regs(cfg, clk, rst, s_axil, c.start, c.insn_addr, c.insn_count, c.done,
                   c.busy.fetch, c.busy.load, c.busy.compute, c.busy.store,
                   st.err, st.rd_busy, st.wr_busy, st.wr_pending)
    return master, regfile


@block
def vta_top(cfg, clk, rst, s_axil, m_axi):
    """The accelerator: core + AXI master + registers."""
    c = CorePorts(cfg)
    return shell(cfg, clk, rst, s_axil, m_axi, c), core(cfg, clk, rst, **vars(c))


@block
def axi_harness(cfg, clk, rst, s_axil, m_axi, core):
    """AXI master + registers with the core's side as top-level ports ``core_*``."""
    return shell(cfg, clk, rst, s_axil, m_axi, core)


TOPS = {"vta_top": vta_top, "axi_harness": axi_harness}


def instantiate(cfg, top="vta_top"):
    """Elaborate a top block with fresh ports (a MyHDL block instance, ready to convert)."""
    if top == "vta_core":   # the core alone: its ports are CorePorts' (for core-level tests)
        return core_block(cfg)[0]
    clk, rst, s_axil, m_axi = top_ports(cfg)
    if top == "axi_harness":
        return axi_harness(cfg, clk, rst, s_axil, m_axi, CorePorts(cfg))
    return vta_top(cfg, clk, rst, s_axil, m_axi)
