"""Building blocks for program builders: DRAM placement, tiled data layouts, the
plain-numpy reference arithmetic, and a small ProgramBuilder.

DRAM layout of a built program: micro-ops at 0x1000 (room for a full uop buffer),
then the data segments (4 KiB aligned), then the instruction stream.
"""
from __future__ import annotations

import numpy as np

from vta.isa import (INSN_BYTES, MEM_ACC, MEM_INP, MEM_OUT, MEM_UOP, MEM_WGT, ConfigError, Load,
                     Program, Segment, Uop)

UOP_BASE = 0x1000
PAGE = 0x1000
ROLE_MEM = {"input": MEM_INP, "weight": MEM_WGT, "bias": MEM_ACC, "output": MEM_OUT}
_INT_DTYPES = {8: np.int8, 16: np.int16, 32: np.int32}


def _align(x, a):
    return -(-x // a) * a


def dtype_for(bits, what):
    """numpy dtype of ``bits``-wide elements (the compiler handles byte-sized widths)."""
    if bits not in _INT_DTYPES:
        raise ConfigError(f"the built-in workloads need 8-, 16- or 32-bit {what} elements, "
                          f"this config has {bits}-bit ones")
    return _INT_DTYPES[bits]


# ---- plain numpy reference arithmetic (independent of vta.tlm) ---------------------------
def rand_int(rng, bits, shape, lo=None, hi=None):
    """Random signed ``bits``-wide integers (int64), full range unless lo/hi given."""
    lo = -(1 << (bits - 1)) if lo is None else lo
    hi = (1 << (bits - 1)) - 1 if hi is None else hi
    return rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)


# ---- tiled layouts (what VTA reads from DRAM) ----------------------------------------------
def tile_inp(a, cfg):
    """(M, K) -> (M/batch, K/block_in, batch, block_in)."""
    m, k = a.shape
    return a.reshape(m // cfg.batch, cfg.batch, k // cfg.block_in, cfg.block_in).transpose(0, 2, 1, 3)


def tile_wgt(w, cfg):
    """(N, K) -> (N/block_out, K/block_in, block_out, block_in)."""
    n, k = w.shape
    return w.reshape(n // cfg.block_out, cfg.block_out, k // cfg.block_in, cfg.block_in).transpose(0, 2, 1, 3)


def tile_acc(c, cfg):
    """(M, N) -> (M/batch, N/block_out, batch, block_out) (bias and output layout)."""
    m, n = c.shape
    return c.reshape(m // cfg.batch, cfg.batch, n // cfg.block_out, cfg.block_out).transpose(0, 2, 1, 3)


class ProgramBuilder:
    """Accumulates segments, micro-ops and instructions, then builds a Program."""

    def __init__(self, cfg, name):
        self.cfg, self.name = cfg, name
        self.insns, self.uops, self.segments = [], [], []
        self._next = _align(UOP_BASE + cfg.uop_depth * cfg.uop_bytes, PAGE)

    def segment(self, name, data, role):
        """Place ``data`` (tiled) in DRAM; returns the Segment."""
        base = _align(self._next, max(PAGE, self.cfg.elem_bytes(ROLE_MEM[role])))
        seg = Segment(name, base, np.ascontiguousarray(data), role)
        self.segments.append(seg)
        self._next = _align(base + seg.nbytes, PAGE)
        return seg

    def elem(self, seg, offset=0):
        """DRAM element address (what dram_base holds) of element ``offset`` of ``seg``."""
        return seg.base // self.cfg.elem_bytes(ROLE_MEM[seg.role]) + offset

    def add_uops(self, triples):
        """Append micro-ops (dst, src, wgt); returns the index of the first."""
        start = len(self.uops)
        self.uops.extend(Uop(int(d), int(s), int(w)) for d, s, w in triples)
        return start

    def load_uops(self, start, count, sram_base=None, **flags):
        """A LOAD UOP of ``count`` micro-ops from index ``start`` (to the same SRAM index)."""
        return self.emit(Load(memory_type=MEM_UOP, sram_base=start if sram_base is None else sram_base,
                              dram_base=UOP_BASE // self.cfg.uop_bytes + start, y_size=1,
                              x_size=count, x_stride=count, **flags))

    def emit(self, insn):
        self.insns.append(insn)
        return insn

    def build(self, expect):
        if len(self.uops) > self.cfg.uop_depth:
            raise ConfigError(f"workload '{self.name}' needs {len(self.uops)} micro-ops, more than "
                              f"the {self.cfg.uop_depth}-entry uop buffer")
        insn_base = _align(self._next, PAGE)
        prog = Program(config=self.cfg, insns=list(self.insns), uops=list(self.uops),
                       segments=list(self.segments), insn_base=insn_base, uop_base=UOP_BASE,
                       expect=dict(expect), name=self.name)
        if insn_base + INSN_BYTES * len(self.insns) > self.cfg.dram_bytes:
            raise ConfigError(f"workload '{self.name}' does not fit the "
                              f"{self.cfg.dram_bytes >> 20} MiB DRAM")
        return prog.validate()
