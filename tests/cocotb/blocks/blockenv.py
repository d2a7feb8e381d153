"""What the block-level cocotb tests share: the config, a seeded RNG, the clock and lane packing.

Cycle discipline of the clocked tests: inputs change just after a falling edge; the outputs are
read in the ReadOnly phase of that same time step, so both are what the flops see at the next
rising edge (a handshake ``valid and ready`` read there happens at that edge).
"""
import os
import random

import cocotb
import numpy as np
import yaml
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from vta.isa.config import Config


def load_cfg():
    with open(os.environ["VTA_CONFIG_YAML"]) as f:
        return Config.from_dict(yaml.safe_load(f))


def rng():
    """(random.Random, numpy Generator), both from VTA_SEED."""
    seed = int(os.environ.get("VTA_SEED", "1"))
    return random.Random(seed), np.random.default_rng(seed)


async def start_clock(dut, rst=None, cycles=3):
    """Start ``dut.clk``; with ``rst``, hold it high for ``cycles`` rising edges."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    if rst is not None:
        rst.value = 1
        await ClockCycles(dut.clk, cycles)
        rst.value = 0


async def cycle(dut):
    """Advance to the next drive point (just after a falling edge)."""
    await FallingEdge(dut.clk)


async def settled():
    await ReadOnly()


def pack(values, bits):
    """Lanes (lane 0 lowest) into one integer, each lane taken modulo 2^bits."""
    mask, word = (1 << bits) - 1, 0
    for k, v in enumerate(values):
        word |= (int(v) & mask) << (k * bits)
    return word


def unpack(word, n, bits, signed=False):
    """An integer into ``n`` lanes of ``bits`` bits (int64 array), lane 0 lowest."""
    mask = (1 << bits) - 1
    lanes = np.array([(int(word) >> (k * bits)) & mask for k in range(n)], dtype=object)
    if signed:
        lanes = np.where(lanes >= 1 << (bits - 1), lanes - (1 << bits), lanes)
    return lanes.astype(np.int64)


def signed_ints(npr, shape, bits, p_extreme=0.3):
    """Random signed ``bits``-bit ints (int64), each replaced by min/max/-1/0 with ``p_extreme``
    (the extremes are where sign handling and wraparound go wrong)."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    x = npr.integers(lo, hi + 1, shape)
    special = npr.choice([lo, hi, -1, 0], shape)
    return np.where(npr.random(shape) < p_extreme, special, x).astype(np.int64)
