"""Load unit: INP and WGT loads from DRAM into the input and weight buffers.

Also home of the 2-D strided load with zero padding that compute's ACC load reuses
(the same engine in hardware). Per instruction: pop tokens; then one DRAM request per
data row, back to back (rows' data may still be in flight), while the SRAM is written in entry order: y_pad_0 zero rows,
per data row x_pad_0 zero entries, the x_size entries (one cycle per beat, as they
arrive), x_pad_1 zero entries; then y_pad_1 zero rows (a zero entry costs
``sram_write_cycles``); then push tokens.
"""
from __future__ import annotations

import numpy as np

from vta.isa import MEM_INP, MEM_NAMES, MEM_WGT, check_insn

from . import elements
from .unit import Unit


def sram_indices(unit, index, insn, base, count, depth, what, verb="writes"):
    """SRAM entries [base, base+count) of a buffer of ``depth`` entries; out of range is
    an error naming the instruction, unless the run wraps indices like hardware."""
    if unit.top.wrap:
        return (base + np.arange(count, dtype=np.int64)) & (depth - 1)
    if base + count > depth:
        raise unit.error(f"{verb} {what} buffer entries [{base}, {base + count}), past its "
                         f"{depth} entries", index, insn)
    return np.arange(base, base + count, dtype=np.int64)


def load_2d(unit, index, insn, mem_type, padded):
    """Timed 2-D load (a SimPy generator). Returns (sram indices, element values int64
    shaped (entries, elem_bytes*8/bits)) for the caller to store into its buffer."""
    cfg, dram = unit.cfg, unit.top.dram
    elem = cfg.elem_bytes(mem_type)
    swc = unit.timing["sram_write_cycles"]
    ys, xs, stride = insn.y_size, insn.x_size, insn.x_stride
    if padded:
        yp0, yp1, xp0, xp1 = insn.y_pad_0, insn.y_pad_1, insn.x_pad_0, insn.x_pad_1
    else:
        yp0 = yp1 = xp0 = xp1 = 0
    width = xp0 + xs + xp1
    total = (yp0 + ys + yp1) * width
    name = MEM_NAMES[mem_type]
    idx = sram_indices(unit, index, insn, insn.sram_base, total, cfg.depth(mem_type), name)
    if ys and xs:
        first = insn.dram_base * elem
        last = (insn.dram_base + (ys - 1) * stride + xs) * elem
        if first < 0 or last > dram.size:
            raise unit.error(f"reads DRAM bytes [{first:#x}, {last:#x}), outside the "
                             f"{dram.size >> 20} MiB DRAM", index, insn)
    block = np.zeros((yp0 + ys + yp1, width, elem), dtype=np.uint8)
    # Two sides run concurrently, as in the RTL engine: row requests go out back to back
    # (each as soon as the arbiter takes it, without waiting for earlier rows' data),
    # while the SRAM writer walks the entries in order: a zero entry costs
    # sram_write_cycles, a data entry one cycle per beat as its beats arrive. ``w`` is
    # the writer's time; a row's beats are taken no earlier than ``w`` (a writer that
    # is behind holds up R: back-pressure), and its last beat sets ``w`` for the next.
    env = unit.env
    row_beats = xs * (elem // dram.bus_bytes)
    w = env.now + yp0 * width * swc
    for r in range(ys if xs else 0):
        w += xp0 * swc
        addr = (insn.dram_base + r * stride) * elem
        raw, bursts = yield from dram.read(unit.name, addr, xs * elem, unit=unit, ready=w,
                                           min_cycles=row_beats)
        block[yp0 + r, xp0:xp0 + xs] = raw.reshape(xs, elem)
        w = bursts[-1].end + xp1 * swc
    if not xs:
        w += ys * width * swc
    w += yp1 * width * swc
    if w > env.now:
        yield env.timeout(w - env.now)
    bits = {MEM_INP: cfg.inp_bits, MEM_WGT: cfg.wgt_bits}.get(mem_type, cfg.acc_bits)
    values = elements.unpack(block.reshape(-1), bits).reshape(total, elem * 8 // bits)
    return idx, values


class Load(Unit):
    """Executes the load command queue: LOAD INP and LOAD WGT."""

    name = "load"

    def run(self):
        top, cfg = self.top, self.cfg
        inp_shape = (cfg.batch, cfg.block_in)
        wgt_shape = (cfg.block_out, cfg.block_in)
        overhead = self.timing["insn_overhead"]
        while True:
            index, insn = yield from self.next_command(top.cmd["load"])
            self.begin(index, insn)
            problems = check_insn(insn, cfg)
            if problems:
                raise self.error("; ".join(problems), index, insn)
            if insn.pop_next:
                yield from self.pop_token("g2l")
            if overhead:
                yield self.env.timeout(overhead)
            if insn.memory_type == MEM_INP:
                idx, vals = yield from load_2d(self, index, insn, MEM_INP, padded=True)
                top.inp_buf[idx] = vals.reshape(-1, *inp_shape)
                top.watch.wrote("inp", idx)
            else:
                idx, vals = yield from load_2d(self, index, insn, MEM_WGT, padded=False)
                top.wgt_buf[idx] = vals.reshape(-1, *wgt_shape)
                top.watch.wrote("wgt", idx)
            if insn.push_next:
                yield from self.push_token("l2g")
            self.end(index, insn)
