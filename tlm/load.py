"""Load unit: INP and WGT loads from DRAM into the input and weight buffers.

Also home of the 2-D strided load with zero padding that compute's ACC load reuses
(the same engine in hardware). Per instruction: pop tokens; then one DRAM request per
data row, back to back, without waiting for earlier rows' data, while the SRAM is
written in entry order: y_pad_0 zero rows, per data row x_pad_0 zero entries, the x_size
entries (one cycle per beat, as they arrive), x_pad_1 zero entries; then y_pad_1 zero
rows (a zero entry costs ``sram_write_cycles``); then push tokens. The load unit runs
the two sides as two stages (class Load), compute's ACC load as one.
"""
from __future__ import annotations

import numpy as np
from simpy.events import Timeout

from vta.isa import MEM_INP, MEM_NAMES, MEM_WGT

from . import elements
from .unit import Unit, advance


def sram_indices(unit, index, insn, base, count, depth, what, verb="writes"):
    """SRAM entries [base, base+count) of a buffer of ``depth`` entries; out of range is
    an error naming the instruction, unless the run wraps indices like hardware."""
    if unit.top.wrap:
        return (base + np.arange(count, dtype=np.int64)) & (depth - 1)
    if base + count > depth:
        raise unit.error(f"{verb} {what} buffer entries [{base}, {base + count}), past its "
                         f"{depth} entries", index, insn)
    return np.arange(base, base + count, dtype=np.int64)


def load_2d_rows(unit, index, insn, mem_type, padded, start):
    """Issue the row requests of a 2-D load (a SimPy generator); returns once the last
    row's request is out: (sram indices, the raw tile (rows, width, elem bytes) uint8, the
    cycle its SRAM writer finishes). The writer starts at cycle ``start``."""
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
    checked = False   # every row inside the DRAM and in one declared region
    if ys and xs:
        first = insn.dram_base * elem
        last = (insn.dram_base + (ys - 1) * stride + xs) * elem
        if first < 0 or last > dram.size:
            raise unit.error(f"reads DRAM bytes [{first:#x}, {last:#x}), outside the "
                             f"{dram.size >> 20} MiB DRAM", index, insn)
        checked = dram.watch is None or dram.watch.covers(first, last)
    block = np.zeros((yp0 + ys + yp1, width, elem), dtype=np.uint8)
    # Two sides run concurrently, as in the RTL engine: row requests go out back to back
    # (each as soon as the arbiter takes it, without waiting for earlier rows' data),
    # while the SRAM writer walks the entries in order: a zero entry costs
    # sram_write_cycles, a data entry one cycle per beat as its beats arrive. ``w`` is
    # the writer's time; a row's beats are taken no earlier than ``w`` (a writer that
    # is behind holds up R: back-pressure), and its last beat sets ``w`` for the next.
    row_beats = xs * (elem // dram.bus_bytes)
    w = start + yp0 * width * swc
    who, nbytes, base = unit.name, xs * elem, insn.dram_base * elem
    rows = block.reshape(len(block), width * elem)[yp0:, xp0 * elem:(xp0 + xs) * elem]  # data
    if checked:   # the rows in Dram's loop
        w = yield from dram.read_rows(who, unit, base, stride * elem, nbytes, ys if xs else 0, w,
                                      xp0 * swc, xp1 * swc, row_beats, rows)
    for r in range(0 if checked else ys if xs else 0):   # each row checked by read()
        w += xp0 * swc
        raw, bursts = yield from dram.read(who, base + r * stride * elem, nbytes, unit=unit,
                                           ready=w, min_cycles=row_beats, view=True)
        rows[r] = raw
        w = bursts[-1].end + xp1 * swc
    if not xs:
        w += ys * width * swc
    w += yp1 * width * swc
    return idx, block, w


def tile_values(cfg, mem_type, block):
    """Element values (signed integers, shaped (entries, elem_bytes*8/bits)) of a raw tile
    (a contiguous uint8 array): for 8/16/32-bit elements a view of it (the buffers'
    assignment converts), else int64."""
    bits = {MEM_INP: cfg.inp_bits, MEM_WGT: cfg.wgt_bits}.get(mem_type, cfg.acc_bits)
    elem = cfg.elem_bytes(mem_type)
    return elements.view_signed(block.reshape(-1), bits).reshape(-1, elem * 8 // bits)


def load_2d(unit, index, insn, mem_type, padded):
    """Timed 2-D load, requests and writer together (a SimPy generator; compute's ACC
    load). Returns (sram indices, element values) for the caller to store."""
    env = unit.env
    idx, block, w = yield from load_2d_rows(unit, index, insn, mem_type, padded, env._now)
    if w > env._now:
        if not advance(env, w - env._now):
            yield Timeout(env, w - env._now)
    return idx, tile_values(unit.cfg, mem_type, block)


# The RTL load unit's write stage takes an instruction in the cycle the previous one
# retires and starts its SRAM writer two cycles later (START state, then the writer's
# registered start): rtl/load.py.
WRITER_HANDOFF = 2


class Load(Unit):
    """Executes the load command queue: LOAD INP and LOAD WGT.

    Two stages, as the RTL: the request stage pops the tokens and issues an instruction's
    rows, then hands it to the write stage (when that is free, i.e. has retired the
    previous instruction), which writes the SRAM and pushes the l2g token. So the rows of
    the next LOAD go out while the previous one's data still arrive. Deadlock rule (the
    RTL's): rows go out only if the write stage's pending l2g push cannot block.
    Busy = cycles with either stage active, less the request stage's stalls.
    """

    name = "load"

    def run(self):
        top, cfg, env = self.top, self.cfg, self.env
        overhead = self.timing["insn_overhead"]
        self._active, self._since, self._union = 0, 0, 0
        self._pushing = None  # (index, insn, what) while the write stage pushes l2g
        writing = None        # the write stage's process (its instruction not yet retired)
        w_end = 0             # cycle the write stage's SRAM writer finishes
        pushes = False        # the write stage's instruction pushes l2g
        cmd, g2l = top.cmd["load"], top.dep["g2l"]
        while True:
            item = cmd.get_now()   # (the queues' *_now: no generator when they need not wait)
            if item is None:
                item = yield from self.next_command(cmd)
            index, insn = item
            self._enter()
            self.current = (index, insn)
            t0 = env._now
            problems = cfg.facts(insn)[0]
            if problems:
                raise self.error("; ".join(problems), index, insn)
            if insn.pop_next and not g2l.pop_now():
                yield from self.pop_token("g2l")
            if writing is not None and writing.is_alive and pushes and top.dep["l2g"].full:
                # deadlock rule: wait until its push has gone through
                yield from self.blocked_on("write stage: push l2g (load->compute) token: queue "
                                           "full", self._join(writing))
            if overhead:
                if not advance(env, overhead):
                    yield Timeout(env, overhead)
            mem = MEM_INP if insn.memory_type == MEM_INP else MEM_WGT
            # the writer starts now, or after the write stage's current tile
            start = max(env._now, w_end + WRITER_HANDOFF) if writing is not None and \
                writing.is_alive else env._now
            idx, block, w_end = yield from load_2d_rows(self, index, insn, mem,
                                                        padded=mem == MEM_INP, start=start)
            if writing is not None and writing.is_alive:
                yield writing     # hand-off: the write stage takes it once free
            pushes = bool(insn.push_next)
            writing = env.process(self._write(index, insn, mem, idx, block, w_end, t0))
            self.current = None

    def state(self):
        """The request stage's instruction, else the write stage's if it is stuck pushing."""
        if self.current is None and self._pushing is not None:
            index, insn, what = self._pushing
            return (index, self.text(index, insn), what)
        return super().state()

    def _join(self, proc):
        yield proc

    def _write(self, index, insn, mem, idx, block, w_end, t0):
        """The write stage: the tile is in the SRAM at ``w_end``; retire."""
        top, env = self.top, self.env
        if w_end > env._now:
            if not advance(env, w_end - env._now):
                yield Timeout(env, w_end - env._now)
        vals = tile_values(self.cfg, mem, block)
        if mem == MEM_INP:
            top.inp_buf[idx] = vals.reshape(-1, self.cfg.batch, self.cfg.block_in)
            top.watch.wrote("inp", idx)
        else:
            top.wgt_buf[idx] = vals.reshape(-1, self.cfg.block_out, self.cfg.block_in)
            top.watch.wrote("wgt", idx)
        if insn.push_next:   # not a stall: the request stage checked for room
            q = top.dep["l2g"]
            if not q.push_now():
                self._pushing = (index, insn, q.push_waits)
                yield from q.push()
                self._pushing = None
        self.instructions += 1
        key = self.cfg.facts(insn)[1]
        self.by_opcode[key] = self.by_opcode.get(key, 0) + 1
        if self.tracer is not None:
            self.tracer.slice(self.name, self.text(index, insn), t0, env._now - t0, cat="insn",
                              args={"index": index})
        self._leave()
        top.insn_done()

    def _enter(self):
        if not self._active:
            self._since = self.env._now
        self._active += 1

    def _leave(self):
        self._active -= 1
        if not self._active:
            self._union += self.env._now - self._since
            self.busy_cycles = self._union - self.stall_cycles
