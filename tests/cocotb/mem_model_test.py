"""cocotb tests of the testbench memory alone (vta.cosim.simtb's AxiRam wrappers), driven by
cocotbext-axi's AxiMaster on a bare bus (mem_model.v): many outstanding bursts overlap their
latency and stream at one beat per cycle; error responses go to the chosen burst only."""
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiBus, AxiMaster, AxiRam

from vta.cosim.simtb import PERIOD_NS, add_latency, add_responses

LATENCY = int(os.environ.get("VTA_DRAM_LATENCY") or 32)


async def setup(dut):
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    bus = AxiBus.from_prefix(dut, "m_axi")
    ram = AxiRam(bus, dut.clk, dut.rst, size=1 << 20)
    add_latency(ram, LATENCY)
    add_responses(ram, 8)
    master = AxiMaster(bus, dut.clk, dut.rst, max_burst_len=256)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    return ram, master


async def timed_reads(dut, master, n, beats):
    """Issue n reads of ``beats`` beats at once; cycles until the last one's data is in."""
    t0 = get_sim_time("ns")
    events = [master.init_read(i * 4096, beats * 8) for i in range(n)]
    for ev in events:
        await ev.wait()
    return (get_sim_time("ns") - t0) // PERIOD_NS, [ev.data for ev in events]


@cocotb.test()
async def outstanding_bursts_overlap(dut):
    ram, master = await setup(dut)
    for i in range(64):
        ram.write(i * 4096, bytes([i]) * 64)
    # 64 single-beat bursts in flight: one latency, then a beat per cycle
    cycles, data = await timed_reads(dut, master, 64, 1)
    assert all(d.data == bytes([i]) * 8 for i, d in enumerate(data))
    dut._log.info("64 x 1 beat at latency %d: %d cycles", LATENCY, cycles)
    assert cycles <= LATENCY + 64 + 16, cycles
    # 64 bursts of 8 beats: the R channel stays busy (>= 90% of the cycles after the latency)
    cycles, data = await timed_reads(dut, master, 64, 8)
    dut._log.info("64 x 8 beats at latency %d: %d cycles", LATENCY, cycles)
    assert cycles <= LATENCY + (64 * 8) / 0.9 + 16, cycles
    assert all(d.resp == 0 for d in data)


@cocotb.test()
async def error_response_hits_one_burst(dut):
    ram, master = await setup(dut)

    class Pick:   # a stand-in FaultInjector: the fourth burst, at 0x3000
        spec = type("S", (), {"code": 2})()

        def hit(self, channel, addr, beats, bus):
            return channel == "r" and addr == 0x3000
    ram.vta_faults = Pick()
    _, data = await timed_reads(dut, master, 5, 4)
    assert [int(d.resp) for d in data] == [0, 0, 0, 2, 0]
    assert ram.vta_bad[:4] == ("r", 2, 0x3000, 4)
