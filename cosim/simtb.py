"""cocotb testbench that runs program bundles on vta_top (used by vta.cosim.sim).

Environment (set by run_on_rtl / run_many_on_rtl): VTA_CONFIG_YAML (the config), then either
VTA_BUNDLE (bundle dir) + VTA_RESULT (JSON written here) for one program, or VTA_BATCH (a
JSON list of {"bundle", "result"}) for many programs in one simulator session;
VTA_MAX_CYCLES (optional watchdog limit), VTA_AXI_STALL (optional: probability that the RAM
model stalls each AXI channel in a cycle, or JSON {"ar": p, "r": p, "aw": p, "w": p, "b": p}),
VTA_AXI_STALL_SEED (seed of those stalls), VTA_DRAM_LATENCY (cycles the RAM model adds to
every read burst and write response; default the config's dram.latency), VTA_INJECT_FAULT
(a vta.tlm.faults spec such as "r:uop": that burst gets SLVERR/DECERR). The config's
dram.bytes_per_cycle, when below one beat per cycle, throttles the R and W channels.
An error response ends the run as soon as the host sees CTRL's error bit, with a report
naming channel, burst address, requester and cycle (never a wait for the watchdog).

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
# read bursts the RAM model accepts ahead (a pipelined DRAM: latencies of queued bursts overlap;
# 64 = the largest dram.max_outstanding_reads)
AR_QUEUE = 64
CHANNELS = ("ar", "r", "aw", "w", "b")


def _channels(ram):
    """{name: cocotbext-axi channel} of an AxiRam, by AXI channel name."""
    rd, wr = ram.read_if, ram.write_if
    return {"ar": rd.ar_channel, "r": rd.r_channel, "aw": wr.aw_channel, "w": wr.w_channel,
            "b": wr.b_channel}


def pause_gen(probability=0.0, rng=None, bytes_per_cycle=None, bus_bytes=1):
    """Per-cycle pause values of one channel: random stalls with ``probability`` and, when
    ``bytes_per_cycle`` is below one beat per cycle, a bandwidth limit: a credit counter
    pauses the cycles without a full beat of credit (a burst of n beats takes
    ~n * bus_bytes / bytes_per_cycle cycles). A stalled cycle keeps its credit, capped at
    one beat, so stalls never let a later stretch run above the limit."""
    throttle = bytes_per_cycle is not None and bytes_per_cycle < bus_bytes
    credit = 0.0
    while True:
        stall = probability > 0 and rng.random() < probability
        if not throttle:
            yield stall
            continue
        credit += bytes_per_cycle
        if stall:
            credit = min(credit, bus_bytes)
            yield True
        elif credit >= bus_bytes:
            credit -= bus_bytes
            yield False
        else:
            yield True


def add_stalls(ram, stall, seed=0, bytes_per_cycle=None, bus_bytes=1):
    """Backpressure on the channels of a cocotbext-axi AxiRam (its pause generators):
    ``stall`` = {channel: probability} over ar, r, aw, w, b (a number: every channel);
    R and W also keep the bandwidth limit (pause_gen). One seeded generator per channel."""
    import random
    if not isinstance(stall, dict):
        stall = {ch: float(stall or 0) for ch in CHANNELS}
    for i, (name, ch) in enumerate(_channels(ram).items()):
        p = float(stall.get(name, 0.0))
        bw = bytes_per_cycle if name in ("r", "w") else None
        if p <= 0 and (bw is None or bw >= bus_bytes):
            ch.set_pause_generator(None)
            ch.pause = False
            continue
        ch.set_pause_generator(pause_gen(p, random.Random(seed * 8 + i), bw, bus_bytes))


def add_latency(ram, cycles):
    """Make a cocotbext-axi AxiRam a DRAM with ``cycles`` of latency (cfg.dram.latency).

    Reads: the first R beat of a burst goes out no earlier than ``cycles`` after its AR
    handshake; bursts queue up (AR_QUEUE), so back-to-back bursts overlap their latency
    like a pipelined DRAM. Writes: each B response is sent ``cycles`` after the burst's last
    W beat, without holding up the next burst. cocotbext-axi has no latency option; this
    wraps its channel objects (AR queue put/recv, B send) instead of copying its processes.
    ``ram.vta_latency`` may be changed between runs (a batch's per-program latency).
    """
    ram.vta_epoch = 0
    ram.vta_latency = cycles
    rd, wr = ram.read_if, ram.write_if
    ar = rd.ar_channel
    ar.queue_occupancy_limit = AR_QUEUE
    put, recv = ar.queue.put_nowait, ar.recv

    def stamped_put(obj):
        obj._vta_due = get_sim_time("ns") + ram.vta_latency * PERIOD_NS   # handshake + latency
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

    async def later(b, epoch, delay):
        await Timer(delay, unit="ns")
        if epoch == ram.vta_epoch:   # a reset in between (batch after a hang) drops it
            await send(b)

    async def delayed_send(b):
        if ram.vta_latency <= 0:
            await send(b)
        else:   # equal delays keep the B responses in order
            cocotb.start_soon(later(b, ram.vta_epoch, ram.vta_latency * PERIOD_NS))

    wr.b_channel.send = delayed_send


def add_responses(ram, bus_bytes):
    """Error responses for a cocotbext-axi AxiRam, which always answers OKAY: wraps the AR
    and AW receives (to know the burst being answered: its read and write processes serve
    one burst at a time, in order) and the R and B sends (to set rresp/bresp of the burst
    ``ram.vta_faults``, a vta.tlm.faults.FaultInjector, chooses). The first non-OKAY
    response sent (injected or the model's own SLVERR) is kept in ``ram.vta_bad`` as
    (channel, resp, address, beats, sim time in ns) for the run's report."""
    ram.vta_faults = None
    ram.vta_bad = None
    chans = _channels(ram)
    for addr_ch, data_ch, kind, field in (("ar", "r", "r", "rresp"), ("aw", "b", "b", "bresp")):
        recv, send = chans[addr_ch].recv, chans[data_ch].send
        state = {"burst": None, "bad": False}

        async def burst_recv(recv=recv, state=state, kind=kind, addr_ch=addr_ch):
            obj = await recv()
            addr = int(getattr(obj, f"{addr_ch}addr"))
            beats = int(getattr(obj, f"{addr_ch}len", 0)) + 1
            state["burst"] = (addr, beats)
            inj = ram.vta_faults
            state["bad"] = inj is not None and inj.hit(kind, addr, beats, bus_bytes)
            return obj

        async def resp_send(obj, send=send, state=state, kind=kind, field=field):
            if state["bad"]:
                setattr(obj, field, ram.vta_faults.spec.code)
            code = int(getattr(obj, field))
            if code and ram.vta_bad is None and state["burst"] is not None:
                ram.vta_bad = (kind, code, *state["burst"], get_sim_time("ns"))
            await send(obj)

        chans[addr_ch].recv = burst_recv
        chans[data_ch].send = resp_send


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


def parse_stall(text):
    """VTA_AXI_STALL: a probability for every channel, or JSON {channel: probability}."""
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        return {k: float(v) for k, v in json.loads(text).items()}
    return {ch: float(text) for ch in CHANNELS}


class Bench:
    """Clock, AXI RAM (with the configured latency) and AXI-Lite host around one dut."""

    def __init__(self, dut):
        from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam
        self.dut = dut
        self.cfg = Config.from_dict(yaml.safe_load(open(os.environ["VTA_CONFIG_YAML"])))
        lat = os.environ.get("VTA_DRAM_LATENCY")
        self.latency = self.cfg.dram_latency if lat in (None, "") else int(lat)
        self.stall = parse_stall(os.environ.get("VTA_AXI_STALL"))
        self.stall_seed = int(os.environ.get("VTA_AXI_STALL_SEED") or 0)
        self.fault = os.environ.get("VTA_INJECT_FAULT") or None
        self.max_cycles = int(os.environ.get("VTA_MAX_CYCLES") or 0)
        cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
        self.ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=self.cfg.dram_bytes)
        add_latency(self.ram, self.latency)
        add_responses(self.ram, self.cfg.bus_bytes)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)

    def memory(self, latency=None, stall=None, seed=None, fault=None):
        """Set the RAM model up for the next run: latency (cycles), stall ({channel: p}),
        the pause generators' seed and the fault to inject (vta.tlm.faults spec), each
        defaulting to the session's (environment) value."""
        self.ram.vta_latency = self.latency if latency is None else int(latency)
        stall = self.stall if stall is None else stall
        if not isinstance(stall, dict):
            stall = {ch: float(stall or 0) for ch in CHANNELS}
        self.run_stall = max(stall.values(), default=0.0)
        add_stalls(self.ram, stall, self.stall_seed if seed is None else int(seed),
                   self.cfg.dram_bytes_per_cycle, self.cfg.bus_bytes)
        self.run_fault = self.fault if fault is None else fault

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

    def bad_response(self, program, t_start, ctrl):
        """The report of an AXI error response (None if none was sent and none is flagged):
        what the RAM model sent (channel, address, requester, cycle) and whether the
        master's error bit (CTRL bit 2) agrees."""
        from vta.tlm.faults import fault_message, regions, requester
        bad, inj = self.ram.vta_bad, self.ram.vta_faults
        self.fault_doc = None
        flagged = bool(ctrl & 0b100)
        if bad is None:
            if not flagged:
                return None
            return ("the AXI master set its error bit (CTRL bit 2) but the memory model sent no "
                    "error response")
        kind, code, addr, beats, t = bad
        if kind == "b":   # the B goes out dram.latency after the last W beat
            t += self.ram.vta_latency * PERIOD_NS
        cycle = max(0, int(t - t_start) // PERIOD_NS)
        who = requester(regions(program), kind, addr, beats, self.cfg.bus_bytes)
        msg = fault_message(inj.spec.text if inj and inj.fired else "", kind, code, addr, beats,
                            self.cfg.bus_bytes, *who, cycle)
        self.fault_doc = {"channel": kind, "addr": addr, "beats": beats, "resp": code,
                          "cycle": cycle, "flagged": flagged}
        if not flagged:
            msg += ("; but the AXI master did NOT set its error bit (CTRL bit 2): the error "
                    "was not detected")
        return msg

    async def run(self, program):
        """Reset, load ``program`` into a cleared RAM, run it; the result document."""
        from vta.tlm.faults import FaultInjector
        await self.reset()
        self.ram.mem.clear()   # SparseMemory: every byte reads 0 again
        self.ram.vta_bad = None
        self.ram.vta_faults = FaultInjector(self.run_fault, program) if self.run_fault else None
        if os.environ.get("VTA_SRAM_INIT"):
            self.fill_srams()
            await ClockCycles(self.dut.clk, 1)   # the writes take effect
        max_cycles = self.max_cycles or estimate_cycles(program, self.ram.vta_latency)
        if self.run_stall:
            max_cycles = int(max_cycles / (1 - min(self.run_stall, 0.9)))
        axil = self.axil
        for base, data in program.dram_image():
            self.ram.write(base, bytes(data))
        await axil.write_dword(offset("INSN_ADDR"), program.insn_base)
        await axil.write_dword(offset("INSN_COUNT"), len(program.insns))
        t0 = time.perf_counter()
        t_start = get_sim_time("ns")
        await axil.write_dword(offset("CTRL"), 1)
        waited = 0
        done = False
        while waited < max_cycles:
            await Timer(POLL_CYCLES * PERIOD_NS, unit="ns")
            waited += POLL_CYCLES
            ctrl = await axil.read_dword(offset("CTRL"))
            # done, or an error response: the master's sticky error bit ends the run now
            # (the core may go on with bad data, or wait for data that never comes)
            if ctrl & 0b110:
                done = True
                break
        run_seconds = time.perf_counter() - t0
        counters = await read_counters(axil)
        doc = {"cycles": counters["CYCLES"], "counters": counters, "run_seconds": run_seconds,
               "sim_cycles": waited, "dram_latency": self.ram.vta_latency}
        bad = self.bad_response(program, t_start, counters["CTRL"]) if done else None
        if not done:
            st = counters["STATUS"]
            busy = [n for i, n in enumerate(STATUS_BITS) if st >> i & 1] or ["none"]
            detail = "; ".join(f"{k}={v}" for k, v in counters.items() if k.startswith("BUSY"))
            inner = internal_state(self.dut)
            doc["error"] = (f"watchdog: not done after {max_cycles} cycles; busy: {', '.join(busy)}; "
                            f"{detail}" + (f"; state: {' '.join(inner)}" if inner else ""))
        elif bad:
            doc["error"] = bad
            doc["error_kind"] = "axi"
            doc["fault"] = getattr(self, "fault_doc", None)
        else:
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
    bench.memory()
    doc = await bench.run(program)
    _write(os.environ["VTA_RESULT"], doc)
    assert "error" not in doc, doc["error"]


@cocotb.test()
async def run_batch(dut):
    """Many programs in one simulator session (saves the ~1.5 s start-up per program).

    A job may set its own memory: "latency", "stall" ({channel: p}), "seed", "fault".
    A program that fails (watchdog, bad bundle, error response) gets an "error" in its
    result; the design is reset and the next one runs."""
    bench = Bench(dut)
    for job in json.load(open(os.environ["VTA_BATCH"])):
        try:
            program = read_bundle(job["bundle"], config=bench.cfg)
            bench.memory(job.get("latency"), job.get("stall"), job.get("seed"), job.get("fault"))
            doc = await bench.run(program)
        except Exception as e:   # recorded per program; the batch goes on
            doc = {"error": f"{type(e).__name__}: {e}"}
        _write(job["result"], doc)
