"""Fast RTL mode (vta.cosim.fastsim: AXI RAM inside the simulator, no cocotb) against the
cocotb testbench: the same cycle counts and output bytes on the same programs (examples,
reference workloads, random programs), at dram latencies 1 and 32 on Icarus and (slow set)
on Verilator; its DRAM image and result files; what it refuses."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vta.assembler import load_program
from vta.compiler import build_workload
from vta.isa import Finish, Program, Segment
from vta.isa.errors import VTAError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import fuzz_rtl  # noqa: E402 -- random programs with the reference's expected outputs


def _programs(cfg, fuzz_seeds):
    progs = [load_program(ROOT / "examples" / f"{n}.s", cfg) for n in ("gemm", "padded_load")]
    progs += [build_workload(n, cfg) for n in ("gemm_4x4", "alu_add_vv")]
    progs += [fuzz_rtl.make_program(cfg, s) for s in fuzz_seeds]
    return progs


def _same(programs, cocotb, fast):
    for p, a, b in zip(programs, cocotb, fast):
        assert not isinstance(a, Exception), (p.name, a)
        assert not isinstance(b, Exception), (p.name, b)
        assert b.cycles == a.cycles, (p.name, a.cycles, b.cycles)
        assert b.counters == a.counters, p.name   # BUSY_* too: the same run, cycle for cycle
        assert set(b.outputs) == set(a.outputs) and a.outputs, p.name
        for name in a.outputs:
            assert np.array_equal(a.outputs[name], b.outputs[name]), (p.name, name)
        assert b.mismatches(p.expect) == {}, p.name


@pytest.mark.rtl
@pytest.mark.parametrize("latency", [1, 32])
def test_fast_mode_equals_cocotb_icarus(tmp_path, tiny_cfg, latency):
    from vta.cosim.sim import run_many_on_rtl
    cfg = tiny_cfg.replace(dram={"latency": latency})
    programs = _programs(cfg, range(3))
    cocotb = run_many_on_rtl(programs, cfg, sim="icarus", workdir=tmp_path / "cocotb")
    fast = run_many_on_rtl(programs, cfg, sim="icarus", workdir=tmp_path / "fast", fast=True)
    _same(programs, cocotb, fast)


@pytest.mark.rtl
@pytest.mark.slow   # two Verilator builds of the design (about a minute each)
def test_fast_mode_equals_cocotb_verilator(tmp_path, tiny_cfg):
    from vta.cosim.sim import run_many_on_rtl, run_on_rtl
    cfg = tiny_cfg
    programs = _programs(cfg, range(10, 16))
    programs += [load_program(ROOT / "examples" / f"{n}.s", cfg) for n in ("relu", "requant")]
    programs += [build_workload(n, cfg) for n in ("load_pad", "gemm_blocked_vt2")]
    fast = run_many_on_rtl(programs, cfg, sim="verilator", fast=True)
    cocotb = run_many_on_rtl(programs, cfg, sim="verilator")
    _same(programs, cocotb, fast)
    # the latency is a run-time input of the same build: 32 more cycles per read round trip
    slow = run_on_rtl(programs[0], cfg, sim="verilator", fast=True, dram_latency=48)
    assert slow.cycles > fast[0].cycles + 32 and slow.dram_latency == 48


@pytest.mark.rtl
def test_fast_mode_throttled_bandwidth(tmp_path, tiny_cfg):
    # dram.bytes_per_cycle of half a beat: the RAM pauses R and W as simtb.add_bandwidth does
    from vta.cosim.sim import run_on_rtl
    cfg = tiny_cfg.replace(dram={"bytes_per_cycle": tiny_cfg.bus_bytes // 2})
    p = build_workload("load_pad", cfg)
    a = run_on_rtl(p, cfg, sim="icarus")
    b = run_on_rtl(p, cfg, sim="icarus", fast=True)
    full = run_on_rtl(p, tiny_cfg, sim="icarus", fast=True)
    assert b.mismatches(p.expect) == {} and b.cycles > full.cycles
    # the one place where the modes may differ: the pause phase (cosim/hdl/axi_ram.v)
    assert abs(b.cycles - a.cycles) <= 2, (a.cycles, b.cycles)


@pytest.mark.rtl
def test_fast_mode_watchdog(tiny_cfg):
    from vta.cosim.sim import WatchdogError, run_on_rtl
    hang = Program(config=tiny_cfg, insns=[Finish(pop_next=True)], name="hang")
    with pytest.raises(WatchdogError, match=r"hang: watchdog: not done after \d+ cycles; busy:"):
        run_on_rtl(hang, tiny_cfg, sim="icarus", fast=True, max_cycles=500)


def test_fast_mode_refuses_cocotb_only_options(tiny_cfg):
    from vta.cosim.sim import run_many_on_rtl, run_on_rtl
    p = build_workload("gemm_4x4", tiny_cfg)
    for kw in ({"axi_stall": 0.1}, {"sram_init": "zero"}, {"waves": True}):
        with pytest.raises(VTAError, match="fast mode does not support .* run without --fast"):
            run_on_rtl(p, tiny_cfg, fast=True, **kw)
    with pytest.raises(VTAError, match="random AXI stalls"):
        run_many_on_rtl([p], tiny_cfg, fast=True, axi_stall=0.5)
    r = subprocess.run([sys.executable, "-m", "vta.cosim.cli", "check", "tiny", "--workload",
                        "gemm_4x4", "--fast", "--sram-init", "zero"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "SRAM initialisation" in r.stderr
    assert "Traceback" not in r.stderr


def test_dram_image_file(tmp_path, tiny_cfg):
    # unaligned, overlapping (the later chunk wins) and distant chunks, as $readmemh words
    from vta.cosim.fastsim import write_image

    class P:
        def dram_image(self):
            return [(0x102, b"\x01\x02\x03"), (0x103, b"\xaa"), (0x40000, bytes(range(8)))]
    f = tmp_path / "img.hex"
    write_image(P(), f, 4)
    mem = {}
    addr = 0
    for line in f.read_text().split():
        if line.startswith("@"):
            addr = int(line[1:], 16)
        else:
            mem[addr] = int(line, 16)
            addr += 1
    assert mem[0x40] == 0xAA010000 and mem[0x41] == 0x03
    assert mem[0x10000] == 0x03020100 and mem[0x10001] == 0x07060504
    assert len(mem) == 4   # the gap between the runs is not written


def test_result_file_parsing(tmp_path, tiny_cfg):
    from vta.cosim.fastsim import read_result
    from vta.cosim.sim import SimError
    out = Segment("out", 0x106, np.zeros((1, 1, 4), dtype=np.int8), "output")
    p = Program(config=tiny_cfg, insns=[Finish()], segments=[out], name="p")
    f = tmp_path / "r.txt"
    regs = "".join(f"reg {4 * i} {v}\n" for i, v in enumerate([2, 0, 0, 1, 77, 5, 6, 7, 8]))
    # words most significant lane first; Icarus prints never-written nibbles as x (read as 0)
    f.write_text(f"done 1\nsim_cycles 100\n{regs}dump 41 2\n04030000\nx8070605\nend\n")
    doc = read_result(f, p, 4)
    assert doc["cycles"] == 77 and doc["counters"]["BUSY_LOAD"] == 6
    assert bytes.fromhex(doc["outputs"]["out"]) == bytes([3, 4, 5, 6])
    f.write_text("done 1\n")   # the harness died before its last line
    with pytest.raises(SimError, match="stopped before writing its result"):
        read_result(f, p, 4)
