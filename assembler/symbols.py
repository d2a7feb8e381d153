"""Names an assembly program can use, and where its pieces go in DRAM.

* Config constants (``BLOCK_IN``, ``INP_BYTES``, ``ACC_DEPTH``, ...), read from the
  Config so a program can be written once for several configs.
* Labels: a segment label is the byte address of its data; a micro-op label is the
  index of its first micro-op in the micro-op stream.
* Layout: instructions at ``.insn_base`` (default 0x1000), micro-ops and then data
  segments after them, each on a 4 KiB boundary (or the element size, if larger);
  segments with ``base=`` stay there and the others fill the space around them.
* Address resolution: a DRAM operand written with a label (``dram=inp + 32``) is a
  byte address and becomes ``dram_base`` in elements of the instruction's memory type,
  after an alignment check; a plain number is taken as ``dram_base`` itself.
"""
from __future__ import annotations

from dataclasses import dataclass

from vta.isa import INSN_BYTES, MEM_NAMES, MEM_UOP, UOP_BYTES
from vta.isa.program import ROLES

from .errors import AsmError, Loc
from .expr import Addr

PAGE = 0x1000
DEFAULT_INSN_BASE = 0x1000


def config_constants(cfg):
    """The config-derived names usable in expressions (all upper case)."""
    consts = {
        "BATCH": cfg.batch, "BLOCK_IN": cfg.block_in, "BLOCK_OUT": cfg.block_out,
        "INP_BITS": cfg.inp_bits, "WGT_BITS": cfg.wgt_bits, "ACC_BITS": cfg.acc_bits,
        "OUT_BITS": cfg.out_bits, "BUS_BYTES": cfg.bus_bytes,
        "LOG_ACC_WIDTH": cfg.arch["log_acc_width"],
    }
    for code, mem in MEM_NAMES.items():
        consts[f"{mem.upper()}_BYTES"] = cfg.elem_bytes(code)
        consts[f"{mem.upper()}_DEPTH"] = cfg.depth(code)
    return consts


def align_up(n, a):
    return -(-n // a) * a


@dataclass
class SegmentSym:
    name: str
    role: str
    base: int
    nbytes: int
    loc: Loc

    @property
    def end(self):
        return self.base + self.nbytes


class Layout:
    """DRAM placement of instructions, micro-ops and segments, and the label table."""

    def __init__(self, cfg, n_insns, n_uops, insn_base=None, uop_base=None):
        self.cfg = cfg
        self.insn_base = DEFAULT_INSN_BASE if insn_base is None else insn_base
        insn_end = self.insn_base + INSN_BYTES * n_insns
        self.uop_base = align_up(insn_end, PAGE) if uop_base is None else uop_base
        self.n_uops = n_uops
        self.regions = [("instructions", self.insn_base, insn_end)]
        if n_uops:
            self.regions.append(("micro-ops", self.uop_base, self.uop_base + UOP_BYTES * n_uops))
        self.n_code = len(self.regions)   # instructions and micro-ops come first
        self.segments = {}
        self.uop_labels = {}   # name -> (index, length)

    def place(self, name, role, nbytes, base, loc, base_loc=None):
        """Put a segment at ``base`` (checked) or at the next free aligned address."""
        align = max(PAGE, self.cfg.elem_bytes(ROLES[role]))
        if base is not None:
            elem = self.cfg.elem_bytes(ROLES[role])
            if base < 0:
                raise AsmError(f"base {base} of segment '{name}' is negative", base_loc or loc)
            if base % elem:
                raise AsmError(f"base {base:#x} of segment '{name}' is not a multiple of the "
                               f"{role} element size ({elem} bytes)", base_loc or loc)
            for other, b, e in self.regions:
                if base < e and b < base + nbytes:
                    raise AsmError(f"segment '{name}' [{base:#x}, {base + nbytes:#x}) overlaps "
                                   f"{other} [{b:#x}, {e:#x})", base_loc or loc)
        else:   # first fit after the code, skipping segments placed at fixed bases
            base = align_up(max(e for _, _, e in self.regions[:self.n_code]), align)
            for _, b, e in sorted(self.regions, key=lambda r: r[1]):
                if base < e and b < base + nbytes:
                    base = align_up(e, align)
        if base + nbytes > self.cfg.dram_bytes:
            raise AsmError(f"segment '{name}' ends at {base + nbytes:#x}, past the "
                           f"{self.cfg.dram_bytes >> 20} MiB DRAM of config '{self.cfg.name}'", loc)
        self.regions.append((f"segment '{name}'", base, base + nbytes))
        self.segments[name] = SegmentSym(name, role, base, nbytes, loc)
        return base

    def labels(self):
        out = {n: Addr(n, "data", s.base) for n, s in self.segments.items()}
        out.update({n: Addr(n, "uop", i) for n, (i, _) in self.uop_labels.items()})
        return out

    def lengths(self):
        out = {n: s.nbytes // self.cfg.elem_bytes(ROLES[s.role]) for n, s in self.segments.items()}
        out.update({n: k for n, (_, k) in self.uop_labels.items()})
        return out

    def describe(self):
        segs = ", ".join(self.segments) or "none"
        uops = ", ".join(self.uop_labels) or "none"
        return f"segments: {segs}; micro-op labels: {uops}"

    # ---- DRAM operands ------------------------------------------------------------
    def byte_address(self, addr):
        """Byte address of a label value."""
        if addr.kind == "uop":
            return self.uop_base + UOP_BYTES * addr.value
        return addr.value

    def region_of(self, addr):
        """(description, base, end) of the region a label belongs to."""
        if addr.kind == "uop":
            return "the micro-ops", self.uop_base, self.uop_base + UOP_BYTES * self.n_uops
        s = self.segments[addr.name]
        return f"segment '{s.name}'", s.base, s.end

    def dram_elements(self, addr, mem_type, loc):
        """``dram_base`` for a label-relative byte address, with the alignment check."""
        if mem_type not in MEM_NAMES:
            raise AsmError(f"memory_type {mem_type} has no element size, so '{addr.name}' "
                           "cannot be converted to a dram_base; give a number", loc)
        byte = self.byte_address(addr)
        elem = self.cfg.elem_bytes(mem_type)
        if byte % elem:
            if addr.kind == "uop":   # micro-op labels count micro-ops, data labels bytes
                off = f"{addr.value - self.uop_labels[addr.name][0]} micro-ops"
            else:
                off = byte - self.segments[addr.name].base
            raise AsmError(f"address {addr.name}+{off} = {byte:#x} is not aligned to the "
                           f"{MEM_NAMES[mem_type]} element size ({elem} bytes)", loc)
        return byte // elem

    def check_extent(self, what, addr, first_elem, n_elems, mem_type, loc):
        """An access of ``n_elems`` elements from element ``first_elem`` stays in its region."""
        elem = UOP_BYTES if mem_type == MEM_UOP else self.cfg.elem_bytes(mem_type)
        lo, hi = first_elem * elem, (first_elem + n_elems) * elem
        desc, b, e = self.region_of(addr)
        if lo < b or hi > e:
            raise AsmError(f"{what} DRAM bytes [{lo:#x}, {hi:#x}), outside {desc} "
                           f"[{b:#x}, {e:#x})", loc)
