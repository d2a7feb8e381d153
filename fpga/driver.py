"""Board driver: run a program bundle on VTA through its registers and a DRAM buffer.

The driver talks to a small interface (a *backend*), so the same code runs a board and the
RTL in cocotb:

- registers: ``read32(offset)``, ``write32(offset, value)`` (the AXI-Lite map of
  rtl/README.md, defined in ``vta.rtl.regs.REGISTERS``);
- DRAM: ``alloc(nbytes)`` -> a buffer with ``.phys`` (its physical byte address, as the
  accelerator sees it), ``write(buf, offset, data)``, ``read(buf, offset, nbytes)``,
  ``flush(buf)`` (CPU caches -> DRAM: the HP ports are not cache coherent, so the
  accelerator would read stale data without it), ``invalidate(buf)`` (drop cached lines
  before the CPU reads what the accelerator wrote), ``free(buf)``;
- time: ``sleep(seconds)`` and ``now()`` (seconds; simulated time in cocotb).

Every method is a coroutine (cocotb's AXI-Lite master is asynchronous); a synchronous backend
(PYNQ) just returns. :func:`run_sync` runs the driver without an event loop of its own.

A run: check the ID and FINGERPRINT registers; allocate one buffer for the program's whole
DRAM footprint; move the program to where the buffer landed (vta.isa.relocate: the segment
bases and every LOAD/STORE ``dram_base``, keeping each element size's alignment); copy the
DRAM image, flush; write INSN_ADDR, INSN_COUNT, CTRL.start; poll CTRL.done with a timeout;
invalidate; read the output segments and the counters; compare with the expected outputs.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from vta.isa import VTAError
from vta.isa.relocate import alignment, footprint, relocate
from vta.rtl.regs import ID_VALUE, fingerprint_word, offset

POLL_SECONDS = 1e-6     # between CTRL reads (100 cycles at 100 MHz)
DEFAULT_TIMEOUT = 10.0  # seconds
STATUS_BITS = ("fetch", "load", "compute", "store", "axi_rd", "axi_wr", "axi_b_pending")
COUNTERS = ("CYCLES", "BUSY_FETCH", "BUSY_LOAD", "BUSY_COMPUTE", "BUSY_STORE")


class DriverError(VTAError):
    """The board did not run the program (wrong bitstream, timeout, AXI error)."""


@dataclass
class RunResult:
    program: str
    base: int                 # physical byte address the footprint was moved to
    outputs: dict             # segment name -> ndarray
    counters: dict            # CYCLES, BUSY_* registers
    mismatches: list = field(default_factory=list)   # (segment, count, first index, got, expected)

    @property
    def cycles(self):
        return self.counters["CYCLES"]

    @property
    def ok(self):
        return not self.mismatches

    def describe_mismatches(self):
        return "; ".join(f"{seg}: {n} element(s) differ, first at {idx}: got {got}, expected {want}"
                         for seg, n, idx, got, want in self.mismatches)


def compare(expect, outputs):
    """[(segment, count, first index, got, expected)] for every expected output that differs."""
    out = []
    for name, want in expect.items():
        got = outputs[name]
        diff = np.argwhere(got != want)
        if len(diff):
            idx = tuple(int(i) for i in diff[0])
            out.append((name, len(diff), list(idx), int(got[idx]), int(want[idx])))
    return out


class Driver:
    """Runs programs on one accelerator through ``backend`` (see the module docstring)."""

    def __init__(self, backend, cfg):
        self.backend = backend
        self.cfg = cfg

    async def check_hardware(self):
        """DriverError unless the registers say VTA with this config's ISA fingerprint."""
        b = self.backend
        ident = await b.read32(offset("ID"))
        if ident != ID_VALUE:
            raise DriverError(f"no VTA at the register window: ID reads {ident:#010x}, "
                              f"expected {ID_VALUE:#010x}")
        fp = await b.read32(offset("FINGERPRINT"))
        if fp != fingerprint_word(self.cfg):
            raise DriverError(f"the bitstream is for another config: FINGERPRINT {fp:#010x}, config "
                              f"'{self.cfg.name}' has {fingerprint_word(self.cfg):#010x}")

    async def run(self, program, timeout=DEFAULT_TIMEOUT, poll=POLL_SECONDS):
        """Run ``program``; a RunResult (mismatches listed, not raised)."""
        if program.config.fingerprint != self.cfg.fingerprint:
            raise DriverError(f"program '{program.name}' is for config '{program.config.name}', "
                              f"the driver's is '{self.cfg.name}'")
        b = self.backend
        await self.check_hardware()
        if await b.read32(offset("CTRL")) & 1:
            raise DriverError("the accelerator is still running a previous program")
        low, high = footprint(program)
        align = alignment(self.cfg)
        buf = await b.alloc(high - low + align)
        try:
            # same offset modulo the alignment as the original: every field moves exactly
            base = buf.phys + (low - buf.phys) % align
            moved = relocate(program, base)
            for addr, data in moved.dram_image():
                await b.write(buf, addr - buf.phys, bytes(data))
            await b.flush(buf)
            await b.write32(offset("INSN_ADDR"), moved.insn_base)
            await b.write32(offset("INSN_COUNT"), len(moved.insns))
            await b.write32(offset("CTRL"), 1)
            await self._wait_done(program, timeout, poll)
            await b.invalidate(buf)
            outputs = {}
            for seg in moved.segments:
                if seg.role == "output":
                    raw = await b.read(buf, seg.base - buf.phys, seg.nbytes)
                    outputs[seg.name] = (np.frombuffer(raw, dtype=seg.data.dtype.newbyteorder("<"))
                                         .astype(seg.data.dtype).reshape(seg.shape))
            counters = {n: await b.read32(offset(n)) for n in COUNTERS}
        finally:
            await b.free(buf)
        return RunResult(program.name, base, outputs, counters, compare(program.expect, outputs))

    async def _wait_done(self, program, timeout, poll):
        b = self.backend
        t0 = b.now()
        while True:
            ctrl = await b.read32(offset("CTRL"))
            if ctrl & 0b10:
                if ctrl & 0b100:
                    raise DriverError(f"program '{program.name}': the accelerator saw an AXI error "
                                      "response (SLVERR/DECERR): a buffer outside the HP port's map?")
                return
            if b.now() - t0 > timeout:
                st = await b.read32(offset("STATUS"))
                busy = [n for i, n in enumerate(STATUS_BITS) if st >> i & 1] or ["none"]
                raise DriverError(f"program '{program.name}' not done after {timeout:g} s; busy: "
                                  f"{', '.join(busy)}")
            await b.sleep(poll)


def run_sync(coro):
    """Run a driver coroutine to completion with a synchronous backend (PYNQ)."""
    return asyncio.run(coro)


# ---- the RTL in cocotb (CI) -------------------------------------------------------------

#: where the simulated allocator puts the first buffer: nonzero and not page aligned, so the
#: relocation is exercised (the driver keeps each element size's alignment from there)
SIM_BASE = 0x0035_A010


def run_on_rtl(programs, cfg=None, sim="icarus", base=SIM_BASE, workdir=None):
    """Run programs through the driver on vta_top in one cocotb session (vta.fpga.board_tb).

    One RunResult (with ``.calls``: flush/invalidate counts) or DriverError per program."""
    import json
    import shutil
    import tempfile
    from pathlib import Path

    from vta.cosim.sim import run_test
    from vta.isa import write_bundle
    programs = list(programs)
    cfg = cfg or programs[0].config
    work = Path(workdir or tempfile.mkdtemp(prefix="vta-driver-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        jobs = []
        for i, p in enumerate(programs):
            jobs.append({"bundle": str(write_bundle(p, work / f"p{i}.vtab")),
                         "result": str(work / f"p{i}.json")})
            Path(jobs[-1]["result"]).unlink(missing_ok=True)
        (work / "jobs.json").write_text(json.dumps(jobs))
        run_test(cfg, "vta.fpga.board_tb", sim=sim, test_dir=work, testcase="run_driver",
                 env={"VTA_DRIVER_JOBS": str(work / "jobs.json"), "VTA_DRIVER_BASE": hex(base)},
                 check=False)
        out = []
        for p, job in zip(programs, jobs):
            path = Path(job["result"])
            if not path.exists():
                out.append(DriverError(f"program '{p.name}': no result (see {work / 'sim.log'})"))
                continue
            doc = json.loads(path.read_text())
            if "error" in doc:
                msg = doc["error"]
                out.append(DriverError(msg if msg.startswith(f"program '{p.name}'")
                                       else f"program '{p.name}': {msg}"))
                continue
            outputs = {}
            for seg in p.segments:
                if seg.name in doc["outputs"]:
                    raw = bytes.fromhex(doc["outputs"][seg.name])
                    outputs[seg.name] = np.frombuffer(raw, dtype=seg.data.dtype).reshape(seg.shape)
            res = RunResult(p.name, doc["base"], outputs, doc["counters"],
                            [tuple(m) for m in doc["mismatches"]])
            res.calls = doc["calls"]
            out.append(res)
        return out
    finally:
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)


# ---- PYNQ backend ----------------------------------------------------------------------

class PynqBackend:
    """A PYNQ image's overlay, MMIO and contiguous buffers (``pynq`` is imported lazily: it
    exists only on the board). ``bitfile``: vta.bit written by ``vta-fpga build`` (with
    vta.hwh beside it); ``ip``: the block design's VTA cell (``vta``)."""

    def __init__(self, bitfile, ip="vta"):
        import pynq   # noqa: PLC0415  (on the board only)
        self._pynq = pynq
        self.overlay = pynq.Overlay(str(bitfile))
        info = self.overlay.ip_dict[ip]
        self.mmio = pynq.MMIO(info["phys_addr"], info["addr_range"])

    async def read32(self, off):
        return self.mmio.read(off)

    async def write32(self, off, value):
        self.mmio.write(off, value)

    async def alloc(self, nbytes):
        buf = self._pynq.allocate(shape=(nbytes,), dtype=np.uint8)
        buf.phys = buf.physical_address
        return buf

    async def write(self, buf, off, data):
        buf[off:off + len(data)] = np.frombuffer(data, dtype=np.uint8)

    async def read(self, buf, off, nbytes):
        return bytes(buf[off:off + nbytes])

    async def flush(self, buf):
        buf.flush()

    async def invalidate(self, buf):
        buf.invalidate()

    async def free(self, buf):
        buf.freebuffer()

    async def sleep(self, seconds):
        await asyncio.sleep(seconds)

    def now(self):
        import time
        return time.monotonic()


def run_on_board(bundle, bitfile, config=None, timeout=DEFAULT_TIMEOUT):
    """On a PYNQ board: run a bundle (path) with the overlay ``bitfile``; a RunResult."""
    from vta.isa import read_bundle
    program = read_bundle(bundle, config=config)
    driver = Driver(PynqBackend(bitfile), program.config)
    return run_sync(driver.run(program, timeout=timeout))
