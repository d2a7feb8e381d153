"""vta_top: the core, the AXI4 master and the AXI4-Lite register file.

Top-level ports (after MyHDL expands the interface objects): ``clk``; ``rst`` (synchronous,
active high); ``s_axil_*`` (AXI4-Lite slave, see regs.AxiLiteBus) and ``m_axi_*`` (AXI4
master, see axi.AxiBus), named as cocotbext-axi's ``from_prefix`` and Vivado's interface
inference expect.

``axi_harness`` is the same shell with the core cut out and its ports brought out, to test
the AXI master and the registers on their own.
"""
from __future__ import annotations

from myhdl import ResetSignal, Signal, block, intbv

from .axi import AxiBus, ReadPort, WritePort, axi_master
from .regs import AxiLiteBus, regs


class CoreCtl:
    """Control and status between the register file and the core."""

    def __init__(self):
        self.start = Signal(bool(0))
        self.insn_addr = Signal(intbv(0)[32:])
        self.insn_count = Signal(intbv(0)[32:])
        self.done = Signal(bool(0))
        self.busy_fetch = Signal(bool(0))
        self.busy_load = Signal(bool(0))
        self.busy_compute = Signal(bool(0))
        self.busy_store = Signal(bool(0))


class AxiStatus:
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
def shell(cfg, clk, rst, s_axil, m_axi, ctl, rd0, rd1, rd2, wr):
    st = AxiStatus()
    master = axi_master(cfg, clk, rst, rd0, rd1, rd2, wr, m_axi, ctl.start, st.err, st.rd_busy,
                        st.wr_busy, st.wr_pending)
    regfile = regs(cfg, clk, rst, s_axil, ctl.start, ctl.insn_addr, ctl.insn_count, ctl.done,
                   ctl.busy_fetch, ctl.busy_load, ctl.busy_compute, ctl.busy_store,
                   st.err, st.rd_busy, st.wr_busy, st.wr_pending)
    return master, regfile


def core_ports(cfg, ctl, rd0, rd1, rd2, wr):
    """The core's keyword ports, named as in rtl/README.md ("core interface")."""
    ports = {n: getattr(ctl, n) for n in vars(ctl)}
    for prefix, port in (("rd0", rd0), ("rd1", rd1), ("rd2", rd2)):
        ports.update(port.flat(prefix))
    ports.update(wr.flat("wr"))
    return ports


@block
def vta_top(cfg, clk, rst, s_axil, m_axi):
    """The accelerator: core + AXI master + registers."""
    from .core import core  # part A's module; imported late so the shell builds without it
    ctl = CoreCtl()
    rd0, rd1, rd2 = (ReadPort(cfg.bus_bits) for _ in range(3))
    wr = WritePort(cfg.bus_bits)
    the_shell = shell(cfg, clk, rst, s_axil, m_axi, ctl, rd0, rd1, rd2, wr)
    the_core = core(cfg, clk, rst, **core_ports(cfg, ctl, rd0, rd1, rd2, wr))
    return the_shell, the_core


@block
def axi_harness(cfg, clk, rst, s_axil, m_axi, core):
    """AXI master + registers with the core's side as top-level ports ``core_*``."""
    c = core
    ctl = CoreCtl()
    for n in vars(ctl):
        setattr(ctl, n, getattr(c, n))
    rd = [ReadPort(cfg.bus_bits, {n: getattr(c, f"rd{i}_{n}") for n in ReadPort.NAMES})
          for i in range(3)]
    wr = WritePort(cfg.bus_bits, {n: getattr(c, f"wr_{n}") for n in WritePort.NAMES})
    return shell(cfg, clk, rst, s_axil, m_axi, ctl, rd[0], rd[1], rd[2], wr)


class CorePorts:
    """The core-side signals as one flat interface (for axi_harness)."""

    def __init__(self, cfg):
        for n, sig in vars(CoreCtl()).items():
            setattr(self, n, sig)
        for i in range(3):
            for n, sig in ReadPort(cfg.bus_bits).flat(f"rd{i}").items():
                setattr(self, n, sig)
        for n, sig in WritePort(cfg.bus_bits).flat("wr").items():
            setattr(self, n, sig)


TOPS = {"vta_top": vta_top, "axi_harness": axi_harness}


def instantiate(cfg, top="vta_top"):
    """Elaborate a top block with fresh ports (a MyHDL block instance, ready to convert)."""
    clk, rst, s_axil, m_axi = top_ports(cfg)
    if top == "axi_harness":
        return axi_harness(cfg, clk, rst, s_axil, m_axi, CorePorts(cfg))
    return vta_top(cfg, clk, rst, s_axil, m_axi)
