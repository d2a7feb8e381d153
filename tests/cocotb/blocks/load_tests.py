"""load_engine (rtl/load.py, top ``load_engine``: sized as the load unit uses it) against a
numpy reference of docs/isa.md's load semantics, with a memory responder in Python.

Each random tile (sizes, stride, x/y padding, 1..banks beats per element, some empty) is
loaded while the responder accepts row requests and returns beats with random stalls and
latency. Checked per tile: the row requests (address, beats) in order; the SRAM writes in
order (a padding entry is one all-bank write of zeros, a data entry one write per beat into
that beat's bank); ``busy`` from the cycle after ``start`` to the last write; and the
buffer image read back against the numpy tile: y_pad_0 zero rows, then y_size rows of
x_pad_0 zeros, x_size elements from dram_addr + row*stride, x_pad_1 zeros, then y_pad_1
zero rows.
"""
from collections import deque

import cocotb
import numpy as np

from blockenv import cycle, load_cfg, rng, settled, start_clock
from vta.rtl.fields import beats

TILES = 60
DRAM_BYTES = 1 << 14


def reference_tile(dram, addr, stride, elem_bytes, ys, xs, yp0, yp1, xp0, xp1):
    """docs/isa.md: the padded tile as (rows, cols, elem_bytes) uint8."""
    tile = np.zeros((yp0 + ys + yp1, xp0 + xs + xp1, elem_bytes), dtype=np.uint8)
    r, c, b = np.ix_(np.arange(ys), np.arange(xs), np.arange(elem_bytes))
    tile[yp0:yp0 + ys, xp0:xp0 + xs] = dram[addr + r * stride + c * elem_bytes + b]
    return tile


class Responder:
    """Accepts row requests and returns their beats in order, after a latency, with stalls."""

    def __init__(self, dut, dram, bus_bytes, r):
        self.dut, self.dram, self.bus_bytes, self.r = dut, dram, bus_bytes, r
        self.beats = deque()      # (cycle it may go out, beat value)
        self.requests = []

    def drive(self, t):
        self.dut.req_ready.value = int(self.r.random() < 0.7)
        ok = bool(self.beats) and self.beats[0][0] <= t and self.r.random() < 0.75
        self.dut.data_valid.value = int(ok)
        self.dut.data.value = self.beats[0][1] if ok else 0

    def sample(self, t):
        d = self.dut
        if int(d.req_valid.value) and int(d.req_ready.value):
            addr, n = int(d.req_addr.value), int(d.req_beats.value)
            self.requests.append((addr, n))
            ready_at = t + 1 + self.r.randrange(4)
            for k in range(n):
                a = addr + k * self.bus_bytes
                self.beats.append((ready_at, int.from_bytes(self.dram[a:a + self.bus_bytes].tobytes(), "little")))
        if int(d.data_valid.value) and int(d.data_ready.value):
            self.beats.popleft()


@cocotb.test()
async def random_tiles(dut):
    cfg = load_cfg()
    bus_bits, bus_bytes = cfg.bus_bits, cfg.bus_bytes
    banks = max(beats(cfg, cfg.inp_bytes), beats(cfg, cfg.wgt_bytes))
    depth = 1 << len(dut.waddr)
    all_banks = (1 << banks) - 1
    bus_mask = (1 << bus_bits) - 1
    r, npr = rng()
    dram = npr.integers(0, 256, DRAM_BYTES, dtype=np.uint8)
    mem = Responder(dut, dram, bus_bytes, r)
    sram = [[r.getrandbits(bus_bits) for _ in range(banks)] for _ in range(depth)]   # old contents
    dut.start.value = 0
    await start_clock(dut, dut.rst)
    t, kinds = 0, set()
    elem_choices = [n for n in (1, 2, banks) if n <= banks]
    for tile_no in range(TILES):
        eb = r.choice(elem_choices)
        elem_bytes = eb * bus_bytes
        ys, xs = r.randrange(5), r.randrange(5)
        if tile_no == 0:
            ys, xs = 0, 0          # empty: nothing happens
        yp0, yp1, xp0, xp1 = (r.choice((0, 0, 1, 2)) for _ in range(4))
        stride = (xs + r.randrange(3)) * elem_bytes
        addr = r.randrange((DRAM_BYTES - (ys * stride + xs * elem_bytes)) // elem_bytes) * elem_bytes
        rows, cols = yp0 + ys + yp1, xp0 + xs + xp1
        base = r.randrange(depth - rows * cols + 1)
        await cycle(dut)
        for name, v in dict(sram_base=base, dram_addr=addr, y_size=ys, x_size=xs, stride_bytes=stride,
                            row_beats=xs * eb, elem_beats=eb, y_pad_0=yp0, y_pad_1=yp1,
                            x_pad_0=xp0, x_pad_1=xp1).items():
            getattr(dut, name).value = v
        want = reference_tile(dram, addr, stride, elem_bytes, ys, xs, yp0, yp1, xp0, xp1)
        # the writes the spec implies, in order: (address, bank enables, {bank: data})
        expect = []
        for row in range(rows):
            for col in range(cols):
                a = base + row * cols + col
                if yp0 <= row < yp0 + ys and xp0 <= col < xp0 + xs:
                    words = int.from_bytes(want[row, col].tobytes(), "little")
                    expect += [(a, 1 << k, {k: words >> (k * bus_bits) & bus_mask}) for k in range(eb)]
                else:
                    expect.append((a, all_banks, {k: 0 for k in range(banks)}))
        empty = rows * cols == 0
        kinds.add("empty" if empty else "padded" if rows * cols > ys * xs else "dense")
        dut.start.value = 1    # a one-cycle pulse
        mem.drive(t)
        await cycle(dut)
        t += 1
        dut.start.value = 0
        mem.requests.clear()
        writes, busy_seen = [], False
        for _ in range(4000):
            mem.drive(t)
            await settled()
            busy = int(dut.busy.value)
            if not busy:
                break
            busy_seen = True
            we = int(dut.we.value)
            if we:
                writes.append((int(dut.waddr.value), we, int(dut.wdata.value)))
            mem.sample(t)
            await cycle(dut)
            t += 1
        else:
            raise AssertionError(f"tile {tile_no}: busy for 4000 cycles")
        assert busy_seen != empty, f"tile {tile_no}: busy={busy_seen} for a {'n' if not empty else ''}empty tile"
        assert int(dut.we.value) == 0 and int(dut.req_valid.value) == 0
        assert not mem.beats, f"tile {tile_no}: {len(mem.beats)} beats left unread"
        assert mem.requests == [(addr + y * stride, xs * eb) for y in range(ys if xs else 0)], \
            f"tile {tile_no}: requests {mem.requests}"
        assert len(writes) == len(expect), f"tile {tile_no}: {len(writes)} writes, want {len(expect)}"
        for i, ((wa, we, wd), (ea, ee, ed)) in enumerate(zip(writes, expect)):
            assert (wa, we) == (ea, ee), f"tile {tile_no} write {i}: addr/we {(wa, we)} != {(ea, ee)}"
            for k, v in ed.items():
                assert wd >> (k * bus_bits) & bus_mask == v, f"tile {tile_no} write {i}: bank {k}"
            for k in range(banks):
                if we >> k & 1:
                    sram[wa][k] = wd >> (k * bus_bits) & bus_mask
        # the buffer image as the spec sees it: entries of eb beats, little-endian bytes
        got = b"".join(sram[a][k].to_bytes(bus_bytes, "little")
                       for a in range(base, base + rows * cols) for k in range(eb))
        got = np.frombuffer(got, dtype=np.uint8).reshape(rows, cols, elem_bytes)
        np.testing.assert_array_equal(got, want, err_msg=f"tile {tile_no}")
    assert kinds == {"empty", "padded", "dense"}, kinds
    dut._log.info("load_engine: %d tiles, %d cycles", TILES, t)
