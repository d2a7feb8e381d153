"""Faster MyHDL simulation for the mixed runs: ``intbv.signed`` by arithmetic.

MyHDL 0.11's ``intbv.signed()`` builds its result with ``intbv(v, min=-M, max=M)``,
whose constructor derives the width from a bit *string* of ``M - 1``: on the RTL's wide
words (a GEMM lane sum, an acc entry) that string conversion was 40% of a mixed run's
host time. ``signed`` below returns the same intbv (value, min, max, width), built
directly; tests/test_mixed_speedups.py compares the two on random widths and values.
Applied once, by importing this module (cosim/mixed.py does); the converter never calls
``signed`` on values, so Verilog output is unaffected.
"""
from __future__ import annotations

from myhdl import intbv

_original_signed = intbv.signed


def signed(self):
    """``intbv.signed`` (same result), without the bit-string width computation."""
    nrbits = self._nrbits
    if not nrbits:
        return _original_signed(self)
    v = self._val
    if self._min is not None and self._min >= 0 and (v >> (nrbits - 1)) & 1:
        v -= 1 << nrbits
    r = intbv.__new__(intbv)
    m = 1 << (nrbits - 1)
    r._val, r._min, r._max, r._nrbits = v, -m, m, nrbits
    return r


def install():
    intbv.signed = signed


install()
