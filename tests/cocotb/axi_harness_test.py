"""cocotb tests of the AXI4 master and the AXI4-Lite registers (top: axi_harness).

The core's side of the shell is driven from Python (``core_*`` ports); DRAM is cocotbext-axi's
AxiRam. Checked: data read/written equals the RAM (each port issuing its requests back to
back, the master keeping them outstanding), every AR/AW burst is a legal INCR burst (<=
burst_cap beats, inside one 4 KiB page), bursts in flight stay within
dram.max_outstanding_reads/writes (and reads do overlap), every grant follows the arbitration
rule (compute first, fetch and load in turn), wr_done pulses once per write request after
its last B, the register map and counters.
"""
import os
import random

import cocotb
import yaml
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

from vta.isa.config import Config
from vta.rtl.axi import burst_cap
from vta.rtl.regs import ID_VALUE, config_word, fingerprint_word, offset
from vta.cosim.simtb import add_latency, add_stalls

PAGE = 4096


def load_cfg():
    return Config.from_dict(yaml.safe_load(open(os.environ["VTA_CONFIG_YAML"])))


async def setup(dut, size=1 << 20):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=size)
    stall = float(os.environ.get("VTA_AXI_STALL") or 0)
    if stall:
        add_stalls(ram, stall, seed=3)
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
    for i in range(3):
        getattr(dut, f"core_rd{i}_req_valid").value = 0
        getattr(dut, f"core_rd{i}_data_ready").value = 0
    dut.core_wr_req_valid.value = 0
    dut.core_wr_data_valid.value = 0
    dut.core_done.value = 0
    for n in ("fetch", "load", "compute", "store"):
        getattr(dut, f"core_busy_{n}").value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 5)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    return ram, axil


def burst_monitor(dut, ch, cfg, log):
    """Record (addr, beats) of every AR or AW handshake and check it is a legal burst of at
    most burst_cap(cfg) beats (dram.max_burst_beats)."""
    bus_bytes, cap = cfg.bus_bytes, burst_cap(cfg)

    async def mon():
        while True:
            await RisingEdge(dut.clk)
            if int(getattr(dut, f"m_axi_{ch}valid").value) and int(getattr(dut, f"m_axi_{ch}ready").value):
                addr = int(getattr(dut, f"m_axi_{ch}addr").value)
                beats = int(getattr(dut, f"m_axi_{ch}len").value) + 1
                assert int(getattr(dut, f"m_axi_{ch}burst").value) == 1, "not INCR"
                assert 1 << int(getattr(dut, f"m_axi_{ch}size").value) == bus_bytes
                assert addr % bus_bytes == 0, f"{ch} address {addr:#x} unaligned"
                assert beats <= cap, f"{ch} burst of {beats} beats, cap {cap}"
                assert addr // PAGE == (addr + beats * bus_bytes - 1) // PAGE, \
                    f"{ch} burst {addr:#x}+{beats} beats crosses 4 KiB"
                log.append((addr, beats))
    return cocotb.start_soon(mon())


def outstanding_monitor(dut, ch, limit, peak):
    """Bursts in flight (AR/AW handshake .. RLAST/B) never exceed ``limit``; peak[0] = max."""
    done = "rlast" if ch == "ar" else None

    async def mon():
        n = 0
        while True:
            await RisingEdge(dut.clk)
            if int(getattr(dut, f"m_axi_{ch}valid").value) and int(getattr(dut, f"m_axi_{ch}ready").value):
                n += 1
            resp = "r" if ch == "ar" else "b"
            if (int(getattr(dut, f"m_axi_{resp}valid").value) and int(getattr(dut, f"m_axi_{resp}ready").value)
                    and (done is None or int(getattr(dut, f"m_axi_{done}").value))):
                n -= 1
            assert n <= limit, f"{n} {ch} bursts in flight, limit {limit}"
            peak[0] = max(peak[0], n)
    return cocotb.start_soon(mon())


def grant_monitor(dut, grants):
    """Record every read grant and check the arbitration rule: compute (2) whenever it
    requests, else fetch (0) and load (1) in turn."""
    async def mon():
        load_last = True
        while True:
            await RisingEdge(dut.clk)
            valid = [int(getattr(dut, f"core_rd{i}_req_valid").value) for i in range(3)]
            ready = [int(getattr(dut, f"core_rd{i}_req_ready").value) for i in range(3)]
            if not any(ready):
                continue
            assert sum(ready) == 1, ready
            g = ready.index(1)
            want = 2 if valid[2] else 1 if valid[1] and (not load_last or not valid[0]) else 0
            assert g == want, f"granted {g} with requests {valid}, load granted last: {load_last}"
            if g != 2:
                load_last = g == 1
            grants.append(g)
    return cocotb.start_soon(mon())


async def reader(dut, port, requests, bus_bytes, rng):
    """Issue the requests on read port ``port`` back to back, without waiting for data (the
    master keeps them outstanding); return the data beats of each."""
    p = f"core_rd{port}_"
    total = sum(b for _, b in requests)

    async def collect():
        data, ready = [], 0
        while len(data) < total:
            if ready and int(getattr(dut, p + "data_valid").value):
                data.append(int(getattr(dut, p + "data").value))
            if len(data) == total:
                break
            ready = int(rng.random() < 0.8)
            getattr(dut, p + "data_ready").value = ready
            await RisingEdge(dut.clk)
        getattr(dut, p + "data_ready").value = 0
        return data

    task = cocotb.start_soon(collect())
    for addr, beats in requests:
        getattr(dut, p + "req_addr").value = addr
        getattr(dut, p + "req_beats").value = beats
        getattr(dut, p + "req_valid").value = 1
        while True:
            await RisingEdge(dut.clk)
            if int(getattr(dut, p + "req_ready").value):
                break
        getattr(dut, p + "req_valid").value = 0
        await ClockCycles(dut.clk, rng.choice([0, 0, 1, 3]))
    data = await task
    got, k = [], 0
    for _, beats in requests:
        got.append(b"".join(d.to_bytes(bus_bytes, "little") for d in data[k:k + beats]))
        k += beats
    return got


@cocotb.test()
async def reads_and_arbiter(dut):
    cfg = load_cfg()
    bb = cfg.bus_bytes
    rng = random.Random(1)
    ram, _ = await setup(dut)
    add_latency(ram, 20)   # bursts overlap their latency: several in flight
    image = bytes(rng.randrange(256) for _ in range(1 << 16))
    ram.write(0, image)
    ars, grants, peak = [], [], [0]
    burst_monitor(dut, "ar", cfg, ars)
    outstanding_monitor(dut, "ar", cfg.dram_max_outstanding_reads, peak)
    grant_monitor(dut, grants)
    reqs = {}
    for port in range(3):
        rq = [(PAGE - 2 * bb, 5), (0x100, 1), (3 * PAGE - 7 * bb, 300)]  # page-crossing, single
        for _ in range(6):
            beats = rng.choice([1, 2, 3, 16, 17, 255, 256, 257, 600])
            addr = rng.randrange(0, (1 << 16) - beats * bb) // bb * bb
            rq.append((addr, beats))
        reqs[port] = rq
    tasks = [cocotb.start_soon(reader(dut, p, reqs[p], bb, rng)) for p in range(3)]
    results = [await t for t in tasks]
    for port in range(3):
        for (addr, beats), data in zip(reqs[port], results[port]):
            assert data == image[addr:addr + beats * bb], f"port {port} read {addr:#x}+{beats} wrong"
    assert len(grants) == sum(len(rq) for rq in reqs.values())
    total = sum(b for rq in reqs.values() for _, b in rq)
    assert sum(b for _, b in ars) == total
    # the requests were pipelined: more than one burst in flight, up to the limit
    assert peak[0] >= min(2, cfg.dram_max_outstanding_reads), peak


async def writer(dut, requests, bus_bytes, rng):
    for addr, data in requests:
        beats = len(data) // bus_bytes
        dut.core_wr_req_addr.value = addr
        dut.core_wr_req_beats.value = beats
        dut.core_wr_req_valid.value = 1
        while True:
            await RisingEdge(dut.clk)
            if int(dut.core_wr_req_ready.value):
                break
        dut.core_wr_req_valid.value = 0
        i = 0
        valid = 0
        while i < beats:
            if valid and int(dut.core_wr_data_ready.value):
                i += 1
                if i == beats:
                    break
            valid = int(rng.random() < 0.85)
            dut.core_wr_data_valid.value = valid
            dut.core_wr_data.value = int.from_bytes(data[i * bus_bytes:(i + 1) * bus_bytes], "little")
            await RisingEdge(dut.clk)
        dut.core_wr_data_valid.value = 0


@cocotb.test()
async def writes_and_done(dut):
    cfg = load_cfg()
    bb = cfg.bus_bytes
    rng = random.Random(2)
    ram, _ = await setup(dut)
    aws, peak = [], [0]
    burst_monitor(dut, "aw", cfg, aws)
    outstanding_monitor(dut, "aw", cfg.dram_max_outstanding_writes, peak)
    reqs = [(PAGE - 3 * bb, 7), (0x40, 1), (5 * PAGE + 8 * bb, 700)]
    reqs += [(rng.randrange(0, 1 << 15) // bb * bb + (1 << 15), rng.choice([1, 2, 64, 256, 300]))
             for _ in range(8)]
    # non-overlapping: place each request after the previous one
    placed, pos = [], 0
    for _, beats in reqs:
        pos = (pos + rng.randrange(0, 3 * PAGE)) // bb * bb
        data = bytes(rng.randrange(256) for _ in range(beats * bb))
        placed.append((pos, data))
        pos += beats * bb
    dones = []

    async def count_done():
        while True:
            await RisingEdge(dut.clk)
            if int(dut.core_wr_done.value):
                dones.append(1)
    cocotb.start_soon(count_done())
    await writer(dut, placed, bb, rng)
    for _ in range(20000):
        await RisingEdge(dut.clk)
        if len(dones) == len(placed):
            break
    await ClockCycles(dut.clk, 20)
    assert len(dones) == len(placed), f"{len(dones)} wr_done pulses for {len(placed)} requests"
    for addr, data in placed:
        assert ram.read(addr, len(data)) == data, f"write at {addr:#x} wrong"
    assert sum(b for _, b in aws) == sum(len(d) // bb for _, d in placed)


@cocotb.test()
async def registers(dut):
    cfg = load_cfg()
    _, axil = await setup(dut)
    rd = lambda n: axil.read_dword(offset(n))  # noqa: E731
    assert await rd("ID") == ID_VALUE
    assert await rd("FINGERPRINT") == fingerprint_word(cfg)
    assert await rd("CONFIG") == config_word(cfg)
    await axil.write_dword(offset("INSN_ADDR"), 0x12340)
    await axil.write_dword(offset("INSN_COUNT"), 77)
    assert await rd("INSN_ADDR") == 0x12340
    assert await rd("INSN_COUNT") == 77
    assert int(dut.core_insn_addr.value) == 0x12340 and int(dut.core_insn_count.value) == 77
    await axil.write(offset("INSN_COUNT") + 1, b"\x01")  # byte strobe: only byte 1 changes
    assert await rd("INSN_COUNT") == 77 + 256
    assert await rd("CTRL") == 0
    # start: one pulse, running until done; counters count only while running
    starts = []

    async def watch_start():
        while True:
            await RisingEdge(dut.clk)
            if int(dut.core_start.value):
                starts.append(1)
    cocotb.start_soon(watch_start())
    await axil.write_dword(offset("CTRL"), 1)
    assert await rd("CTRL") & 1 == 1
    await axil.write_dword(offset("CTRL"), 1)   # ignored while running
    dut.core_busy_load.value = 1
    await ClockCycles(dut.clk, 37)
    dut.core_busy_load.value = 0
    dut.core_busy_store.value = 1
    assert await rd("STATUS") & 0xF == 0b1000
    await ClockCycles(dut.clk, 10)
    dut.core_done.value = 1
    await RisingEdge(dut.clk)
    dut.core_busy_store.value = 0
    await ClockCycles(dut.clk, 5)
    ctrl = await rd("CTRL")
    assert ctrl & 0b11 == 0b10, ctrl
    assert len(starts) == 1
    assert await rd("BUSY_LOAD") == 37
    bs = await rd("BUSY_STORE")
    assert bs >= 10, bs
    cyc = await rd("CYCLES")
    assert cyc > 37 + 10 + bs - 10 and cyc < 400, cyc
    await ClockCycles(dut.clk, 50)
    assert await rd("CYCLES") == cyc  # stopped at done
    assert await rd("BUSY_FETCH") == 0
