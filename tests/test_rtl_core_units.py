"""Arithmetic behind the RTL core's GEMM multiplier packing (rtl/gemm.py), exhaustively.

Two int products a*w0 and a*w1 come out of one multiplication a * (w1 * 2^S + w0) with the
packed operand held in packed_bits(...) signed bits; the RTL takes lo = P[S-1:0] (signed) and
hi = P[2S-1:S] + P[S-1]. Here the same bit operations run in numpy over every operand triple.
"""
import numpy as np
import pytest

from vta.rtl.gemm import can_pack, packed_bits


def _wrap(x, bits):
    half = 1 << (bits - 1)
    return ((x + half) & ((1 << bits) - 1)) - half


@pytest.mark.parametrize("ib,wb", [(8, 8), (4, 8), (8, 4), (4, 4), (2, 2)])
def test_packed_pair_products_exact(ib, wb):
    s = ib + wb
    pw = packed_bits(wb, s)
    a = np.arange(-(1 << (ib - 1)), 1 << (ib - 1), dtype=np.int64)[:, None, None]
    w = np.arange(-(1 << (wb - 1)), 1 << (wb - 1), dtype=np.int64)
    w0, w1 = w[None, :, None], w[None, None, :]
    packed = _wrap((w1 << s) + w0, pw)            # what the packed register holds
    assert np.array_equal(packed, (w1 << s) + w0), "packed operand overflows its width"
    p = _wrap(a * packed, ib + pw)                # the registered product
    lo = _wrap(p & ((1 << s) - 1), s)
    hi = _wrap(((p >> s) & ((1 << s) - 1)) + ((p >> (s - 1)) & 1), s)
    assert np.array_equal(lo, np.broadcast_to(a * w0, lo.shape))
    assert np.array_equal(hi, np.broadcast_to(a * w1, hi.shape))


def test_default_config_packs_into_dsp48e1(default_cfg):
    cfg = default_cfg
    assert can_pack(cfg)
    assert packed_bits(cfg.wgt_bits, cfg.inp_bits + cfg.wgt_bits) == 25   # DSP48E1 A port
    # one packed multiplier per pair of output lanes
    assert cfg.batch * cfg.block_in * cfg.block_out // 2 == 128
