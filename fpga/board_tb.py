"""cocotb test module: the board driver (vta.fpga.driver) against the RTL.

``CocotbBackend`` is the driver's register/memory interface on vta_top in a simulator: the
registers through cocotbext-axi's AXI-Lite master, DRAM = the AXI RAM of vta.cosim.simtb's
Bench (with the config's DRAM latency). Buffers are handed out from ``VTA_DRIVER_BASE``
upwards (a nonzero, deliberately odd address), so every run exercises the relocation.

The CPU side is modelled as non-coherent, like a Zynq's HP ports: the driver's writes land in
a CPU copy of the buffer and reach the RAM only on ``flush``; its reads see the CPU copy,
refreshed from the RAM only on ``invalidate``. A driver that forgot either would read wrong
outputs here too.

Environment: VTA_CONFIG_YAML (set by run_test), VTA_DRIVER_JOBS (JSON list of {"bundle",
"result"}), VTA_DRIVER_BASE (byte address of the first buffer).
"""
from __future__ import annotations

import json
import os

import cocotb
from cocotb.triggers import Timer
from cocotb.utils import get_sim_time

from vta.cosim.simtb import PERIOD_NS, Bench, estimate_cycles
from vta.isa import read_bundle

from .driver import Driver, DriverError

PAGE = 4096


class SimBuffer:
    def __init__(self, phys, size):
        self.phys = phys
        self.size = size
        self.cpu = bytearray(size)   # what the CPU sees (its cache)


class CocotbBackend:
    """The driver's backend on the simulated vta_top (module docstring)."""

    def __init__(self, bench, base):
        self.bench = bench
        self.base = base
        self.next = base
        self.calls = {"flush": 0, "invalidate": 0}

    async def read32(self, off):
        return await self.bench.axil.read_dword(off)

    async def write32(self, off, value):
        await self.bench.axil.write_dword(off, value)

    async def alloc(self, nbytes):
        buf = SimBuffer(self.next, nbytes)
        if buf.phys + nbytes > self.bench.cfg.dram_bytes:
            raise DriverError(f"simulated DRAM ({self.bench.cfg.dram_bytes >> 20} MiB) has no room for "
                              f"{nbytes} bytes at {buf.phys:#x}")
        self.next += -(-nbytes // PAGE) * PAGE
        return buf

    async def write(self, buf, off, data):
        buf.cpu[off:off + len(data)] = data

    async def read(self, buf, off, nbytes):
        return bytes(buf.cpu[off:off + nbytes])

    async def flush(self, buf):
        self.calls["flush"] += 1
        self.bench.ram.write(buf.phys, bytes(buf.cpu))

    async def invalidate(self, buf):
        self.calls["invalidate"] += 1
        buf.cpu[:] = self.bench.ram.read(buf.phys, buf.size)

    async def free(self, buf):
        pass   # a bump allocator: reset() reclaims everything between programs

    def reset(self):
        self.next = self.base
        self.calls = {"flush": 0, "invalidate": 0}

    async def sleep(self, seconds):
        await Timer(max(PERIOD_NS, round(seconds * 1e9 / PERIOD_NS) * PERIOD_NS), unit="ns")

    def now(self):
        return get_sim_time("ns") * 1e-9


@cocotb.test()
async def run_driver(dut):
    bench = Bench(dut)
    backend = CocotbBackend(bench, int(os.environ["VTA_DRIVER_BASE"], 0))
    driver = Driver(backend, bench.cfg)
    for job in json.load(open(os.environ["VTA_DRIVER_JOBS"])):
        try:
            program = read_bundle(job["bundle"], config=bench.cfg)
            await bench.reset()
            bench.ram.mem.clear()
            backend.reset()
            # the simulated seconds of a generous cycle bound
            timeout = estimate_cycles(program, bench.latency) * PERIOD_NS * 1e-9
            res = await driver.run(program, timeout=timeout)
            doc = {"base": res.base, "counters": res.counters, "mismatches": res.mismatches,
                   "outputs": {k: v.tobytes().hex() for k, v in res.outputs.items()},
                   "calls": dict(backend.calls)}
        except DriverError as e:   # recorded per program; the others still run
            doc = {"error": str(e)}
        except Exception as e:
            doc = {"error": f"{type(e).__name__}: {e}"}
        tmp = job["result"] + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, job["result"])
