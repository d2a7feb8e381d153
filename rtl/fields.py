"""Views of instruction and micro-op fields as MyHDL shadow signals, and the small
signal helpers every unit shares.

Positions and widths come from the config's :class:`vta.isa.IsaLayout`; a view is a
constant part-select of the instruction register, so it converts to a plain ``assign``.
"""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always_comb, block, intbv

from vta.isa import INSN_BYTES


def views(sig, fields):
    """{field name: shadow slice of ``sig``} for every field of a format (tuple of Field)."""
    return {f.name: sig(f.hi, f.lo) for f in fields}


def log2(n):
    """Exact log2 of a power of two (element and beat counts are powers of two)."""
    if n < 1 or n & (n - 1):
        raise ValueError(f"{n} is not a power of two")
    return n.bit_length() - 1


def uvec(width, init=0):
    """An unsigned signal; 1-bit signals are bools so they convert to plain wires."""
    return Signal(bool(init)) if width == 1 else Signal(intbv(init)[width:])


def svec(width):
    """A signed signal of ``width`` bits."""
    return Signal(intbv(0, min=-(1 << (width - 1)), max=1 << (width - 1)))


@block
def join_lanes(lanes, vec):
    """Drive ``vec`` with ``lanes`` concatenated, lane 0 in the lowest bits."""
    cat = ConcatSignal(*reversed(lanes)) if len(lanes) > 1 else lanes[0]

    @always_comb
    def join():
        vec.next = cat

    return join


INSN_BITS = INSN_BYTES * 8   # width of an instruction / command-queue word


def width(cfg, fmt, name):
    """Bit width of field ``name`` of format ``fmt`` (from the config's layout)."""
    return cfg.layout.field(fmt, name).width


def beats(cfg, nbytes):
    """Bus beats that carry ``nbytes`` (a whole number of beats by the config's rules)."""
    assert nbytes % cfg.bus_bytes == 0, (nbytes, cfg.bus_bytes)
    return nbytes // cfg.bus_bytes
