"""The board driver (vta.fpga.driver) and the relocation it relies on (vta.isa.relocate).

The RTL test runs examples/gemm.s and a reference workload through the driver API on vta_top
in cocotb (AXI-Lite master + AXI RAM, non-coherent CPU copy: vta.fpga.board_tb), with the
buffers at a nonzero, odd base, and compares the outputs bit for bit with the programs'
expected outputs (from the assembler's numpy evaluation / the reference interpreter).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vta.assembler import load_program
from vta.compiler import build_workload
from vta.fpga import driver as drv
from vta.isa import MEM_UOP, VTAError, MemInsn
from vta.isa.relocate import alignment, footprint, relocate
from vta.rtl.regs import ID_VALUE, fingerprint_word, offset
from vta.tlm import run_program

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gemm_tiny(tiny_cfg):
    return load_program(ROOT / "examples" / "gemm.s", tiny_cfg)


def test_relocate_moves_every_address(gemm_tiny, tiny_cfg):
    low, high = footprint(gemm_tiny)
    align = alignment(tiny_cfg)
    assert align == 16   # tiny: instruction 16 B, wgt element 4x4 int8 = 16 B
    delta = 37 * align
    moved = relocate(gemm_tiny, low + delta)
    assert footprint(moved) == (low + delta, high + delta)
    assert moved.insn_base == gemm_tiny.insn_base + delta
    assert moved.uop_base == gemm_tiny.uop_base + delta
    assert [s.base for s in moved.segments] == [s.base + delta for s in gemm_tiny.segments]
    mem = [(a, b) for a, b in zip(gemm_tiny.insns, moved.insns) if isinstance(a, MemInsn)]
    assert len(mem) == 4
    for a, b in mem:
        elem = tiny_cfg.elem_bytes(a.memory_type)
        assert (b.dram_base - a.dram_base) * elem == delta, (a, b)
    assert any(a.memory_type == MEM_UOP for a, _ in mem)
    # the original is untouched
    assert gemm_tiny.insns[0] is not moved.insns[0] and footprint(gemm_tiny) == (low, high)


def test_relocated_program_runs_the_same_on_the_tlm(tiny_cfg):
    """Semantics, not just fields: the TLM runs the moved program to the same outputs."""
    program = build_workload("load_pad", tiny_cfg)
    low, _ = footprint(program)
    moved = relocate(program, low + 0x40_0000 + 3 * alignment(tiny_cfg))
    ref, res = run_program(program), run_program(moved)
    assert ref.passed and res.passed
    for seg in program.segments:
        if seg.role == "output":
            assert np.array_equal(ref.outputs[seg.name], res.outputs[seg.name])


def test_relocate_rejects(gemm_tiny, tiny_cfg):
    low, _ = footprint(gemm_tiny)
    with pytest.raises(VTAError, match="multiple of 16 bytes"):
        relocate(gemm_tiny, low + 8)
    with pytest.raises(VTAError, match="outside the 32-bit address space"):
        relocate(gemm_tiny, (1 << 32) - 16)


class FakeBackend:
    """Registers and a DRAM buffer in Python, for the driver's error paths."""

    def __init__(self, cfg, ident=ID_VALUE, done_after=None):
        self.regs = {offset("ID"): ident, offset("FINGERPRINT"): fingerprint_word(cfg),
                     offset("CTRL"): 0, offset("STATUS"): 0b100}
        self.done_after = done_after
        self.t = 0.0
        self.log = []

    async def read32(self, off):
        return self.regs.get(off, 0)

    async def write32(self, off, value):
        self.log.append((off, value))
        self.regs[off] = value if off != offset("CTRL") else 0b1   # running, never done

    async def alloc(self, n):
        class B:
            phys = 0x1000_0000
            data = bytearray(n)
        return B()

    async def write(self, buf, off, data):
        buf.data[off:off + len(data)] = data

    async def read(self, buf, off, n):
        return bytes(buf.data[off:off + n])

    async def flush(self, buf):
        self.log.append("flush")

    async def invalidate(self, buf):
        self.log.append("invalidate")

    async def free(self, buf):
        self.log.append("free")

    async def sleep(self, s):
        self.t += s

    def now(self):
        return self.t


def test_driver_wrong_bitstream(gemm_tiny, tiny_cfg):
    d = drv.Driver(FakeBackend(tiny_cfg, ident=0xDEADBEEF), tiny_cfg)
    with pytest.raises(drv.DriverError, match="ID reads 0xdeadbeef"):
        drv.run_sync(d.run(gemm_tiny))


def test_driver_timeout_names_busy_units_and_frees(gemm_tiny, tiny_cfg):
    b = FakeBackend(tiny_cfg)
    d = drv.Driver(b, tiny_cfg)
    with pytest.raises(drv.DriverError, match=r"not done after 0\.001 s; busy: compute"):
        drv.run_sync(d.run(gemm_tiny, timeout=1e-3, poll=1e-4))
    assert "flush" in b.log and b.log[-1] == "free"
    # INSN_ADDR got the relocated instruction base, in the allocated buffer
    insn_addr = [e[1] for e in b.log if isinstance(e, tuple) and e[0] == offset("INSN_ADDR")]
    low, _ = footprint(gemm_tiny)
    assert insn_addr[0] - 0x1000_0000 == (gemm_tiny.insn_base - low) + (low - 0x1000_0000) % 16


@pytest.mark.rtl
def test_driver_on_rtl(gemm_tiny, tiny_cfg):
    programs = [gemm_tiny, build_workload("load_pad", tiny_cfg)]
    results = drv.run_on_rtl(programs, tiny_cfg, sim="icarus")
    for p, r in zip(programs, results):
        assert not isinstance(r, Exception), r
        assert r.ok, r.describe_mismatches()
        assert p.expect, "the workload carries expected outputs"
        for name, want in p.expect.items():
            assert r.outputs[name].dtype == want.dtype
            assert np.array_equal(r.outputs[name], want), name   # bit-exact
        low, _ = footprint(p)
        assert r.base != low and r.base >= drv.SIM_BASE and (r.base - low) % alignment(tiny_cfg) == 0
        assert r.calls == {"flush": 1, "invalidate": 1}
        assert r.cycles > 0 and r.counters["BUSY_COMPUTE"] > 0
