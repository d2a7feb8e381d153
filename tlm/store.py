"""Store unit: copies rows of the output buffer to DRAM (STORE, memory type OUT).

Per row: the x_size out entries are read (one per cycle, never slower than the bus
since an out element is at least one beat) and sent as one write request on the W
channel; rows stream back to back while earlier bursts wait for their B responses (up
to ``dram.max_outstanding_writes`` bursts). The instruction retires, and pushes its
token, only when the B of its last burst has come (``dram.latency`` +
``timing.write_resp_cycles`` after its last W beat): a token to compute therefore means
the data are in DRAM, and FINISH (which waits for that token or comes after it) too.
"""
from __future__ import annotations

from simpy.events import Timeout

from . import elements
from .load import sram_indices
from .unit import Unit, advance


class Store(Unit):
    name = "store"

    def run(self):
        top, cfg, dram = self.top, self.cfg, self.top.dram
        overhead = self.timing["insn_overhead"]
        elem = cfg.out_bytes
        cmd, g2s, s2g = top.cmd["store"], top.dep["g2s"], top.dep["s2g"]
        while True:
            item = cmd.get_now()   # (the queues' *_now: no generator when they need not wait)
            if item is None:
                item = yield from self.next_command(cmd)
            index, insn = item
            self.begin(index, insn)
            problems = cfg.facts(insn)[0]
            if problems:
                raise self.error("; ".join(problems), index, insn)
            if insn.pop_prev and not g2s.pop_now():
                yield from self.pop_token("g2s")
            if overhead:
                if not advance(self.env, overhead):
                    yield Timeout(self.env, overhead)
            ys, xs = insn.y_size, insn.x_size
            idx = sram_indices(self, index, insn, insn.sram_base, ys * xs, cfg.out_depth, "out", "reads")
            if ys and xs:
                first = insn.dram_base * elem
                last = (insn.dram_base + (ys - 1) * insn.x_stride + xs) * elem
                if last > dram.size:
                    raise self.error(f"writes DRAM bytes [{first:#x}, {last:#x}), outside the "
                                     f"{dram.size >> 20} MiB DRAM", index, insn)
                # every row inside the DRAM and in one declared region, not the code
                checked = first >= 0 and (dram.watch is None or dram.watch.covers(first, last, True))
                out = top.compute.out
                top.watch.read("out", idx, self)
                for r in range(ys):
                    rows = out.take(idx[r * xs:(r + 1) * xs], 0)   # (as out[...], cheaper)
                    data = elements.pack(rows, cfg.out_bits)
                    addr = (insn.dram_base + r * insn.x_stride) * elem
                    b_last = yield from dram.write(self.name, addr, data, unit=self, tag=index,
                                                   checked=checked)
                if b_last > self.env._now:
                    if not advance(self.env, b_last - self.env._now):  # B of the last burst
                        yield Timeout(self.env, b_last - self.env._now)
            if insn.push_prev and not s2g.push_now():
                yield from self.push_token("s2g")
            self.end(index, insn)
