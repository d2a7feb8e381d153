"""cocotb testbench that runs one program bundle on vta_top (used by vta.rtl.sim.run_on_rtl).

Environment (set by run_on_rtl): VTA_CONFIG_YAML (the config), VTA_BUNDLE (bundle dir),
VTA_RESULT (JSON written here), VTA_MAX_CYCLES (optional watchdog limit), VTA_AXI_STALL
(optional: probability that the RAM model stalls each AXI channel in a cycle).

The host side is what a driver does: write the DRAM image into an AXI RAM, program
INSN_ADDR/INSN_COUNT over AXI-Lite, write CTRL.start, poll CTRL until done, read the
counters. The watchdog reports every stage's state (STATUS register, busy counters and
the core's internal state/counter/occupancy signals the simulator exposes) on timeout.
"""
from __future__ import annotations

import json
import os
import time

import cocotb
import yaml
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer

from vta.isa import read_bundle
from vta.isa.config import Config

from .regs import REGISTERS, offset

PERIOD_NS = 10
POLL_CYCLES = 50
STATUS_BITS = ("fetch", "load", "compute", "store", "axi_rd", "axi_wr", "axi_b_pending")
# internal signals worth showing when a run hangs (MyHDL flattens the design into vta_top)
STATE_HINTS = ("state", "count", "occ", "level", "busy", "left", "pc", "pending", "fsm")


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


def estimate_cycles(program):
    """A generous bound on a program's run time: ~4x a simple work estimate plus margin."""
    cfg = program.config
    lat = cfg.dram_latency + 8
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


@cocotb.test()
async def run_program(dut):
    from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam
    cfg = Config.from_dict(yaml.safe_load(open(os.environ["VTA_CONFIG_YAML"])))
    program = read_bundle(os.environ["VTA_BUNDLE"], config=cfg)
    result_path = os.environ["VTA_RESULT"]
    max_cycles = int(os.environ.get("VTA_MAX_CYCLES") or estimate_cycles(program))

    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=cfg.dram_bytes)
    stall = float(os.environ.get("VTA_AXI_STALL") or 0)
    if stall:
        add_stalls(ram, stall)
        max_cycles = int(max_cycles / (1 - min(stall, 0.9)))
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 8)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    for base, data in program.dram_image():
        ram.write(base, bytes(data))
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
           "sim_cycles": waited}
    if not done:
        st = counters["STATUS"]
        busy = [n for i, n in enumerate(STATUS_BITS) if st >> i & 1] or ["none"]
        detail = "; ".join(f"{k}={v}" for k, v in counters.items() if k.startswith("BUSY"))
        inner = internal_state(dut)
        doc["error"] = (f"watchdog: not done after {max_cycles} cycles; busy: {', '.join(busy)}; "
                        f"{detail}" + (f"; state: {' '.join(inner)}" if inner else ""))
    else:
        if counters["CTRL"] & 0b100:
            doc["error"] = "the AXI master saw an error response (SLVERR/DECERR)"
        doc["outputs"] = {s.name: ram.read(s.base, s.nbytes).hex()
                          for s in program.segments if s.role == "output"}
    with open(result_path, "w") as f:
        json.dump(doc, f)
    assert "error" not in doc, doc["error"]
