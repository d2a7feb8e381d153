"""cocotb testbench that runs program bundles on vta_top (used by vta.cosim.sim).

Environment (set by run_on_rtl / run_many_on_rtl): VTA_CONFIG_YAML (the config), then either
VTA_BUNDLE (bundle dir) + VTA_RESULT (JSON written here) for one program, or VTA_BATCH (a
JSON list of {"bundle", "result"}) for many programs in one simulator session;
VTA_MAX_CYCLES (optional watchdog limit), VTA_AXI_STALL (optional: probability that the RAM
model stalls each AXI channel in a cycle), VTA_DRAM_LATENCY (cycles the RAM model adds to
every read burst and write response; default the config's dram.latency). The config's
dram.bytes_per_cycle, when below one beat per cycle, throttles the R and W channels.

The host side is what a driver does: write the DRAM image into an AXI RAM, program
INSN_ADDR/INSN_COUNT over AXI-Lite, write CTRL.start, poll CTRL until done, read the
counters. The watchdog reports every stage's state (STATUS register, busy counters and
the core's internal state/counter/occupancy signals the simulator exposes) on timeout.
In a batch the design and the RAM model are reset and the RAM cleared between programs.
"""
from __future__ import annotations

import json
import os
import time

import cocotb
import yaml
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer
from cocotb.utils import get_sim_time

from vta.isa import read_bundle
from vta.isa.config import Config

from vta.rtl.regs import REGISTERS, offset

PERIOD_NS = 10
POLL_CYCLES = 50
STATUS_BITS = ("fetch", "load", "compute", "store", "axi_rd", "axi_wr", "axi_b_pending")
# internal signals worth showing when a run hangs (MyHDL flattens the design into vta_top)
STATE_HINTS = ("state", "count", "occ", "level", "busy", "left", "pc", "pending", "fsm")
# read bursts the RAM model accepts ahead (a pipelined DRAM: latencies of queued bursts overlap)
AR_QUEUE = 64


def add_stalls(ram, probability, seed=0):
    """Random backpressure on every channel of a cocotbext-axi AxiRam (robustness runs)."""
    import random
    rng = random.Random(seed)

    def gen():
        while True:
            yield rng.random() < probability
    for ch in (ram.write_if.aw_channel, ram.write_if.w_channel, ram.write_if.b_channel,
               ram.read_if.ar_channel, ram.read_if.r_channel):
        ch.set_pause_generator(gen())


def add_latency(ram, cycles):
    """Make a cocotbext-axi AxiRam a DRAM with ``cycles`` of latency (cfg.dram.latency).

    Reads: the first R beat of a burst goes out no earlier than ``cycles`` after its AR
    handshake; bursts queue up (AR_QUEUE), so back-to-back bursts overlap their latency
    like a pipelined DRAM. Writes: each B response is sent ``cycles`` after the burst's last
    W beat, without holding up the next burst. cocotbext-axi has no latency option; this
    wraps its channel objects (AR queue put/recv, B send) instead of copying its processes.
    """
    ram.vta_epoch = 0
    if cycles <= 0:
        return
    delay = cycles * PERIOD_NS
    rd, wr = ram.read_if, ram.write_if
    ar = rd.ar_channel
    ar.queue_occupancy_limit = AR_QUEUE
    put, recv = ar.queue.put_nowait, ar.recv

    def stamped_put(obj):
        obj._vta_due = get_sim_time("ns") + delay   # handshake time + latency
        put(obj)

    async def delayed_recv():
        obj = await recv()
        wait = getattr(obj, "_vta_due", 0) - get_sim_time("ns")
        if wait > 0:
            await Timer(wait, unit="ns")
        return obj

    ar.queue.put_nowait = stamped_put
    ar.recv = delayed_recv
    send = wr.b_channel.send

    async def later(b, epoch):
        await Timer(delay, unit="ns")
        if epoch == ram.vta_epoch:   # a reset in between (batch after a hang) drops it
            await send(b)

    async def delayed_send(b):
        cocotb.start_soon(later(b, ram.vta_epoch))   # equal delays keep the B responses in order

    wr.b_channel.send = delayed_send


def add_bandwidth(ram, bytes_per_cycle, bus_bytes):
    """Limit R and W to ``bytes_per_cycle`` (cfg.dram.bytes_per_cycle) when that is below one
    beat per cycle: a credit counter pauses the channels in the cycles without a full beat
    of credit, so a burst of n beats takes ~n * bus_bytes / bytes_per_cycle cycles."""
    if bytes_per_cycle >= bus_bytes:
        return

    def gen():
        credit = 0.0
        while True:
            credit += bytes_per_cycle
            if credit >= bus_bytes:
                credit -= bus_bytes
                yield False
            else:
                yield True
    for ch in (ram.read_if.r_channel, ram.write_if.w_channel):
        ch.set_pause_generator(gen())


def estimate_cycles(program, latency=None):
    """A generous bound on a program's run time: ~4x a simple work estimate plus margin."""
    cfg = program.config
    lat = (cfg.dram_latency if latency is None else latency) + 8
    work = lat * len(program.insns) // 4 + len(program.insns) * 16
    for insn in program.insns:
        name = type(insn).__name__
        if name in ("Load", "Store"):
            beats = max(1, cfg.elem_bytes(insn.memory_type) // cfg.bus_bytes)
            rows = insn.y_size + insn.y_pad_0 + insn.y_pad_1
            work += rows * (lat + (insn.x_size * beats) + insn.x_pad_0 + insn.x_pad_1)
        elif name in ("Gemm", "Alu"):
            work += insn.iter_out * insn.iter_in * max(1, insn.uop_end - insn.uop_bgn) * 2
    return 4 * work + 20000


def internal_state(dut, limit=80):
    """name=value of the simulator-visible internal signals that look like state."""
    out = []
    try:
        handles = list(dut)
    except Exception:  # some simulators cannot iterate
        return out
    for h in handles:
        name = getattr(h, "_name", "")
        low = name.lower()
        if not any(k in low for k in STATE_HINTS):
            continue
        try:
            out.append(f"{name}={int(h.value)}")
        except Exception:
            continue
        if len(out) >= limit:
            break
    return out


async def read_counters(axil):
    vals = {}
    for name in REGISTERS:
        if name in ("ID", "FINGERPRINT", "CONFIG"):
            continue
        vals[name] = await axil.read_dword(offset(name))
    return vals


class Bench:
    """Clock, AXI RAM (with the configured latency) and AXI-Lite host around one dut."""

    def __init__(self, dut):
        from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam
        self.dut = dut
        self.cfg = Config.from_dict(yaml.safe_load(open(os.environ["VTA_CONFIG_YAML"])))
        lat = os.environ.get("VTA_DRAM_LATENCY")
        self.latency = self.cfg.dram_latency if lat in (None, "") else int(lat)
        self.stall = float(os.environ.get("VTA_AXI_STALL") or 0)
        self.max_cycles = int(os.environ.get("VTA_MAX_CYCLES") or 0)
        cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
        self.ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=self.cfg.dram_bytes)
        add_latency(self.ram, self.latency)
        if self.stall:
            add_stalls(self.ram, self.stall)
        else:
            add_bandwidth(self.ram, self.cfg.dram_bytes_per_cycle, self.cfg.bus_bytes)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)

    async def reset(self):
        """Synchronous reset of the design; the RAM model and host restart with it."""
        self.dut.rst.value = 1
        self.ram.vta_epoch += 1
        await ClockCycles(self.dut.clk, 8)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    def fill_srams(self):
        """VTA_SRAM_INIT=SEED: write vta.tlm.watch.sram_fill's values (what the TLM's
        --sram-init SEED uses) into the converted memories named by VTA_SRAM_MAP (buffer ->
        bank memories, low bits first). An entry is its lanes little-endian, as in DRAM."""
        from vta.tlm.watch import sram_fill
        init = os.environ["VTA_SRAM_INIT"]
        fill = sram_fill(self.cfg, init if init == "zero" else int(init))
        bits = {"uop": 32, "inp": self.cfg.inp_bits, "wgt": self.cfg.wgt_bits,
                "acc": self.cfg.acc_bits, "out": self.cfg.out_bits}
        for buf, banks in json.loads(os.environ["VTA_SRAM_MAP"]).items():
            b, lanes = bits[buf], fill[buf] & ((1 << bits[buf]) - 1)
            handles = [getattr(self.dut, name) for name in banks]
            bw = lanes.shape[1] * b // len(handles)
            mask = (1 << bw) - 1
            for i, row in enumerate(lanes.tolist()):
                entry = 0
                for k, v in enumerate(row):
                    entry |= v << (k * b)
                for k, h in enumerate(handles):
                    h[i].value = (entry >> (k * bw)) & mask

    async def run(self, program):
        """Reset, load ``program`` into a cleared RAM, run it; the result document."""
        await self.reset()
        self.ram.mem.clear()   # SparseMemory: every byte reads 0 again
        if os.environ.get("VTA_SRAM_INIT"):
            self.fill_srams()
            await ClockCycles(self.dut.clk, 1)   # the writes take effect
        max_cycles = self.max_cycles or estimate_cycles(program, self.latency)
        if self.stall:
            max_cycles = int(max_cycles / (1 - min(self.stall, 0.9)))
        axil = self.axil
        for base, data in program.dram_image():
            self.ram.write(base, bytes(data))
        await axil.write_dword(offset("INSN_ADDR"), program.insn_base)
        await axil.write_dword(offset("INSN_COUNT"), len(program.insns))
        t0 = time.perf_counter()
        await axil.write_dword(offset("CTRL"), 1)
        waited = 0
        done = False
        while waited < max_cycles:
            await Timer(POLL_CYCLES * PERIOD_NS, unit="ns")
            waited += POLL_CYCLES
            ctrl = await axil.read_dword(offset("CTRL"))
            if ctrl & 0b10:
                done = True
                break
        run_seconds = time.perf_counter() - t0
        counters = await read_counters(axil)
        doc = {"cycles": counters["CYCLES"], "counters": counters, "run_seconds": run_seconds,
               "sim_cycles": waited, "dram_latency": self.latency}
        if not done:
            st = counters["STATUS"]
            busy = [n for i, n in enumerate(STATUS_BITS) if st >> i & 1] or ["none"]
            detail = "; ".join(f"{k}={v}" for k, v in counters.items() if k.startswith("BUSY"))
            inner = internal_state(self.dut)
            doc["error"] = (f"watchdog: not done after {max_cycles} cycles; busy: {', '.join(busy)}; "
                            f"{detail}" + (f"; state: {' '.join(inner)}" if inner else ""))
        else:
            if counters["CTRL"] & 0b100:
                doc["error"] = "the AXI master saw an error response (SLVERR/DECERR)"
            doc["outputs"] = {s.name: self.ram.read(s.base, s.nbytes).hex()
                              for s in program.segments if s.role == "output"}
        return doc


def _write(path, doc):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)


@cocotb.test()
async def run_program(dut):
    bench = Bench(dut)
    program = read_bundle(os.environ["VTA_BUNDLE"], config=bench.cfg)
    doc = await bench.run(program)
    _write(os.environ["VTA_RESULT"], doc)
    assert "error" not in doc, doc["error"]


@cocotb.test()
async def run_batch(dut):
    """Many programs in one simulator session (saves the ~1.5 s start-up per program).

    A program that fails (watchdog, bad bundle) gets an "error" in its result; the design
    is reset and the next one runs."""
    bench = Bench(dut)
    for job in json.load(open(os.environ["VTA_BATCH"])):
        try:
            program = read_bundle(job["bundle"], config=bench.cfg)
            doc = await bench.run(program)
        except Exception as e:   # recorded per program; the batch goes on
            doc = {"error": f"{type(e).__name__}: {e}"}
        _write(job["result"], doc)
