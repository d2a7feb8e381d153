"""Port groups shared between blocks, as MyHDL interface objects.

An object whose attributes are Signals can be passed to a ``@block`` as one argument;
at the top level the converter expands it into one port per signal, named
``<argument>_<attribute>`` (nested objects add their own attribute name). So the
core's ports are declared here once: :class:`CorePorts` holds them, ``core`` takes its
attributes by name, the shell (``top.axi_harness``) exposes them as ``core_*``, and the
bare core converts to ``start``, ``busy_fetch``, ``rd0_req_valid``, ... ``wr_done``.
"""
from __future__ import annotations

from myhdl import Signal, SignalType, intbv, modbv

from .fields import INSN_BITS, uvec

ADDR_BITS = 32   # byte addresses on the core's memory ports
BEATS_BITS = 32  # beat counts of a memory request


class ReadPort:
    """Memory read port: request (``req_addr`` aligned to the bus, ``req_beats`` >= 1),
    then ``req_beats`` data beats in order, one per ``data_valid`` & ``data_ready``."""
    NAMES = ("req_valid", "req_ready", "req_addr", "req_beats", "data_valid", "data", "data_ready")
    WIDTHS = {"req_addr": ADDR_BITS, "req_beats": BEATS_BITS}

    def __init__(self, bus_bits):
        for n in self.NAMES:
            setattr(self, n, uvec(bus_bits if n == "data" else self.WIDTHS.get(n, 1)))


class WritePort(ReadPort):
    """Memory write port: request, ``req_beats`` data beats from the core, then one ``done``
    pulse when every beat of the oldest outstanding request was acknowledged."""
    NAMES = ("req_valid", "req_ready", "req_addr", "req_beats", "data_valid", "data_ready",
             "data", "done")


class BusyFlags:
    """Per-stage busy levels (1 while the stage holds an instruction)."""

    def __init__(self):
        self.fetch = Signal(bool(0))
        self.load = Signal(bool(0))
        self.compute = Signal(bool(0))
        self.store = Signal(bool(0))


class CorePorts:
    """Every port of the core (without clk and rst), attribute names = ``core`` arguments.

    Control: ``start`` (1-cycle pulse), ``insn_addr``, ``insn_count`` (32-bit), ``done``
    (level: FINISH retired and every write acknowledged, until the next start), ``busy``;
    read ports ``rd0`` (fetch), ``rd1`` (load), ``rd2`` (compute); write port ``wr`` (store).
    """

    def __init__(self, cfg):
        self.start = Signal(bool(0))
        self.insn_addr = Signal(intbv(0)[ADDR_BITS:])
        self.insn_count = Signal(intbv(0)[32:])
        self.done = Signal(bool(0))
        self.busy = BusyFlags()
        self.rd0 = ReadPort(cfg.bus_bits)
        self.rd1 = ReadPort(cfg.bus_bits)
        self.rd2 = ReadPort(cfg.bus_bits)
        self.wr = WritePort(cfg.bus_bits)

    def flat(self):
        """{port name as converted: signal}, e.g. ``busy_fetch``, ``rd0_req_valid``."""
        return flatten(self)


def flatten(obj, prefix=""):
    """{``<prefix><attr>[_<attr>...]``: signal} of an interface object, in declaration order."""
    out = {}
    for name, value in vars(obj).items():
        if isinstance(value, SignalType):
            out[prefix + name] = value
        else:
            out.update(flatten(value, f"{prefix}{name}_"))
    return out


class SramWrite:
    """Write port of a buffer: ``we`` (one bit per bank), ``addr``, ``data``."""

    def __init__(self, banks, addr_bits, data_bits):
        self.we = Signal(intbv(0)[banks:])
        self.addr = Signal(modbv(0)[addr_bits:])
        self.data = Signal(intbv(0)[data_bits:])


class SramRead:
    """Read port of a buffer: ``re`` (hold the registered output when low), ``addr``,
    ``data`` (valid the cycle after ``re``)."""

    def __init__(self, addr_bits, data_bits):
        self.re = Signal(bool(0))
        self.addr = Signal(modbv(0)[addr_bits:])
        self.data = Signal(intbv(0)[data_bits:])


class CommandQueue:
    """Both ends of a command queue: fetch pushes (``push`` when ``ready``; the word is
    fetch's shared instruction bus), the unit reads ``insn`` while ``valid`` and ``pop``s."""

    def __init__(self):
        self.push = Signal(bool(0))
        self.ready = Signal(bool(0))
        self.insn = Signal(intbv(0)[INSN_BITS:])
        self.valid = Signal(bool(0))
        self.pop = Signal(bool(0))


class TokenQueue:
    """Both ends of a dependence-token queue: the producer pushes when ``notfull``, the
    consumer pops when ``nonempty``."""

    def __init__(self):
        self.push = Signal(bool(0))
        self.notfull = Signal(bool(0))
        self.pop = Signal(bool(0))
        self.nonempty = Signal(bool(0))
