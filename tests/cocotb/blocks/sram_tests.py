"""sram (rtl/sram.py, top ``sram``: the accumulator buffer, one bank per bus beat) against a
numpy model, cycle by cycle.

Random writes with random per-bank enables and random reads, over a small set of addresses
(so writes and reads of one entry meet, including in the same cycle). Checked every cycle:
the read register after an edge holds the entry as it was before that edge (one cycle
latency, read-first) when ``re`` was high, and keeps its value when ``re`` was low; a write
changes exactly the enabled banks.
"""
import cocotb

from blockenv import cycle, load_cfg, rng, settled, start_clock
from vta.rtl.fields import beats

CYCLES = 1200


@cocotb.test()
async def random_access(dut):
    cfg = load_cfg()
    depth, width = cfg.acc_depth, cfg.acc_bytes * 8
    banks = beats(cfg, cfg.acc_bytes)
    bank_w = width // banks
    r, _ = rng()
    addrs = sorted({0, depth - 1, *r.sample(range(depth), 6)})
    bank_mask = [((1 << bank_w) - 1) << (k * bank_w) for k in range(banks)]
    mem = {}
    dut.we.value, dut.re.value = 0, 0
    await start_clock(dut)
    # every entry used is first written whole (the RAM has no reset)
    for a in addrs:
        await cycle(dut)
        mem[a] = r.getrandbits(width)
        dut.we.value, dut.waddr.value, dut.wdata.value = (1 << banks) - 1, a, mem[a]
    rdata = None          # the model's read register (unknown until the first read)
    partial = collisions = holds = 0
    for t in range(CYCLES):
        we = r.getrandbits(banks) if r.random() < 0.6 else 0
        waddr, raddr = r.choice(addrs), r.choice(addrs)
        if r.random() < 0.2:
            raddr = waddr
        wdata, re = r.getrandbits(width), r.random() < 0.7
        await cycle(dut)
        if rdata is not None:
            got = int(dut.rdata.value)
            assert got == rdata, f"cycle {t}: rdata {got:#x} != {rdata:#x}"
        dut.we.value, dut.waddr.value, dut.wdata.value = we, waddr, wdata
        dut.re.value, dut.raddr.value = int(re), raddr
        await settled()
        # the rising edge: read first, then write the enabled banks
        if re:
            rdata = mem[raddr]
            collisions += bool(we) and raddr == waddr
        else:
            holds += rdata is not None
        for k in range(banks):
            if we >> k & 1:
                mem[waddr] = (mem[waddr] & ~bank_mask[k]) | (wdata & bank_mask[k])
        partial += 0 < we < (1 << banks) - 1
    await cycle(dut)
    assert int(dut.rdata.value) == rdata
    assert partial and collisions and holds, (partial, collisions, holds)
    dut._log.info("sram %d x %d bits, %d banks: %d partial writes, %d read/write collisions",
                  depth, width, banks, partial, collisions)
