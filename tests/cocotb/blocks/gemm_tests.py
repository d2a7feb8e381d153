"""GEMM datapath (rtl/gemm.py) against numpy: ``gemm_core`` (top ``gemm_core``) and the
accumulate step ``acc_update`` (top ``acc_update``).

gemm_core: a new random inp (BATCH x BLOCK_IN) and wgt (BLOCK_OUT x BLOCK_IN) tile every
cycle, with the extreme values mixed in (they are the hard cases of the packed multipliers);
``sums`` CORE_LATENCY edges later must equal the exact integer product inp @ wgt.T, lane (b, o) at
b*BLOCK_OUT + o. acc_update: acc_new = acc_old + inp @ wgt.T modulo 2^acc_bits per lane, with
accumulators near the limits so the sum wraps.
"""
import cocotb
import numpy as np
from cocotb.triggers import Timer

from blockenv import cycle, load_cfg, pack, rng, signed_ints, start_clock, unpack
from vta.isa import wrap_signed as wrap
from vta.rtl.gemm import CORE_LATENCY, sum_bits

CYCLES = 400
LATENCY = CORE_LATENCY   # S2 operands -> ... -> S6 sum registers (rtl/gemm.py)


def tiles(cfg, npr):
    inp = signed_ints(npr, (cfg.batch, cfg.block_in), cfg.inp_bits)
    wgt = signed_ints(npr, (cfg.block_out, cfg.block_in), cfg.wgt_bits)
    return inp, wgt


@cocotb.test()
async def gemm_core_matches_numpy(dut):
    cfg = load_cfg()
    _, npr = rng()
    lanes, sw = cfg.batch * cfg.block_out, sum_bits(cfg)
    await start_clock(dut)
    sent = []
    for t in range(CYCLES + LATENCY):
        await cycle(dut)
        if t >= LATENCY:
            inp, wgt = sent[t - LATENCY]
            want = (inp @ wgt.T).reshape(-1)
            got = unpack(dut.sums.value, lanes, sw, signed=True)
            assert np.array_equal(got, want), f"cycle {t}: sums {got} != numpy {want}\ninp={inp}\nwgt={wgt}"
        inp, wgt = tiles(cfg, npr)
        dut.inp_data.value = pack(inp.reshape(-1), cfg.inp_bits)
        dut.wgt_data.value = pack(wgt.reshape(-1), cfg.wgt_bits)
        sent.append((inp, wgt))
    dut._log.info("gemm_core %dx%dx%d, int%d x int%d: %d tiles", cfg.batch, cfg.block_in,
                  cfg.block_out, cfg.inp_bits, cfg.wgt_bits, CYCLES)


@cocotb.test()
async def acc_update_wraps(dut):
    cfg = load_cfg()
    _, npr = rng()
    lanes, sw, ab = cfg.batch * cfg.block_out, sum_bits(cfg), cfg.acc_bits
    wrapped = 0
    for t in range(CYCLES):
        inp, wgt = tiles(cfg, npr)
        s = (inp @ wgt.T).reshape(-1)
        acc = signed_ints(npr, lanes, ab, p_extreme=0.5)
        dut.acc_old.value = pack(acc, ab)
        dut.sums.value = pack(s, sw)
        await Timer(1, unit="ns")
        want = wrap(acc + s, ab)
        got = unpack(dut.acc_new.value, lanes, ab, signed=True)
        assert np.array_equal(got, want), f"vector {t}: acc_new {got} != numpy {want} (acc={acc}, sum={s})"
        wrapped += int(np.count_nonzero(want != acc + s))
    assert wrapped, "no lane wrapped"
    dut._log.info("acc_update acc%d: %d vectors, %d lanes wrapped", ab, CYCLES, wrapped)
