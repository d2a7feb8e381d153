"""Bytes <-> element values for DRAM transfers.

Elements are packed little-endian, lowest index in the lowest bits (Apache VTA's
layout); widths of 1..32 bits. Values are int64 holding the signed number.
"""
from __future__ import annotations

import numpy as np

_BYTE_DTYPES = {8: "<i1", 16: "<i2", 32: "<i4", 64: "<i8"}


def unpack(raw, bits):
    """uint8 array -> int64 array of signed ``bits``-wide values."""
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    if bits in _BYTE_DTYPES:
        return raw.view(_BYTE_DTYPES[bits]).astype(np.int64)
    # Sub-byte widths: little-endian bit order, then sign-extend.
    b = np.unpackbits(raw, bitorder="little").reshape(-1, bits).astype(np.int64)
    v = (b << np.arange(bits, dtype=np.int64)).sum(axis=1)
    return np.where(v >= 1 << (bits - 1), v - (1 << bits), v)


def view_signed(raw, bits):
    """unpack's values without the int64 copy where a view holds them: a contiguous uint8
    array viewed as little-endian int8/16/32 (the same values), else unpack(raw, bits)."""
    if bits in (8, 16, 32) and raw.dtype == np.uint8 and raw.flags.c_contiguous:
        return raw.view(_BYTE_DTYPES[bits])
    return unpack(raw, bits)


def pack(values, bits):
    """int64 array of signed ``bits``-wide values -> uint8 array (little-endian)."""
    v = np.asarray(values, dtype=np.int64).ravel()
    if bits in _BYTE_DTYPES:
        return v.astype(_BYTE_DTYPES[bits]).view(np.uint8)
    v = v & ((1 << bits) - 1)
    b = ((v[:, None] >> np.arange(bits, dtype=np.int64)) & 1).astype(np.uint8)
    return np.packbits(b.ravel(), bitorder="little")
