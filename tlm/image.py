"""The DRAM image of a program (what ``Program.dram_image`` gives), encoded faster.

Encoding is the costliest part of setting up a short run (~20 us per instruction, ~3 us per
micro-op: a field dict and range checks per object in vta.isa). Instructions are frozen
dataclasses and programs repeat them (loops; a network's layers repeat whole programs), so
each distinct one is encoded once per ISA. Micro-ops are packed all at once with numpy,
field by field as IsaLayout.pack does; if any value is out of its field's range (or not an
integer) vta.isa's encoder runs instead, raising exactly its error.
"""
from __future__ import annotations

from operator import attrgetter

import numpy as np

from vta.isa import encode_insn, encode_uops

_ENCODED = {}          # (ISA fingerprint, instruction or micro-op) -> its bytes
_ENCODED_MAX = 1 << 16


def _encoding(obj, cfg, isa, encode):
    key = (isa, obj)
    raw = _ENCODED.get(key)
    if raw is None:
        raw = encode(obj, cfg)
        if len(_ENCODED) >= _ENCODED_MAX:
            _ENCODED.clear()
        _ENCODED[key] = raw
    return raw


def _uop_bytes(uops, cfg):
    """The micro-op stream, as encode_uops gives it."""
    fields = cfg.layout.uop
    get = attrgetter(*(f.name for f in fields))   # a tuple per micro-op (3 fields)
    try:
        vals = np.array([get(u) for u in uops])
    except (OverflowError, TypeError, ValueError):
        vals = None
    if vals is None or vals.dtype.kind not in "iub" or vals.shape != (len(uops), len(fields)):
        return encode_uops(uops, cfg)
    vals = vals.astype(np.int64)
    word = np.zeros(len(uops), dtype=np.int64)
    for k, f in enumerate(fields):
        v = vals[:, k]
        if v.min() < f.min or v.max() > f.max:
            return encode_uops(uops, cfg)   # its error names the micro-op field
        word |= (v & f.mask) << f.lo
    return word.astype("<u4").tobytes()


def dram_image(program):
    """[(base, uint8 array)]: the instruction stream, the micro-ops and every segment, as
    ``program.dram_image()`` (a test compares them)."""
    cfg = program.config
    isa = cfg.fingerprint
    chunks = [(program.insn_base, b"".join([_encoding(i, cfg, isa, encode_insn)
                                            for i in program.insns]))]
    if program.uops:
        chunks.append((program.uop_base, _uop_bytes(program.uops, cfg)))
    out = [(base, np.frombuffer(raw, dtype=np.uint8)) for base, raw in chunks]
    # segments little-endian, as Program.dram_image writes them
    out += [(s.base, np.ascontiguousarray(s.data, dtype=s.data.dtype.newbyteorder("<"))
             .reshape(-1).view(np.uint8)) for s in program.segments]
    return out
