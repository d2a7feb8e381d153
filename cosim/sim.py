"""Run the exported RTL under cocotb (Icarus or Verilator): build cache and ``run_on_rtl``.

Builds are cached on disk, keyed by a hash of the config and of every source file that
reaches the generated Verilog (``vta.rtl`` and ``vta.isa``: so an edit rebuilds, and a test
session builds each config once per simulator).
The cache lives in ``$VTA_RTL_CACHE`` or ``~/.cache/vta-cosim/rtl``.

``run_on_rtl(program, cfg, sim)`` writes the program as a bundle, runs the cocotb testbench
``vta.cosim.simtb`` on the exported ``vta_top`` (AXI RAM model + AXI-Lite host) and returns an
:class:`RtlResult` with the output segments read back from DRAM and the cycle counters.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vta.isa import load_config, write_bundle
from vta.isa.errors import VTAError
from vta.isa.paths import file_name

from . import tools

SIMULATORS = ("icarus", "verilator")
KEEP_BUILDS = 3   # builds kept per config and top in the cache
PKG_ROOT = Path(__file__).resolve().parents[1]   # the ``vta`` package (the repository root)
# Everything the Verilog is generated from: vta.rtl imports only vta.isa (tests/test_layers.py),
# and the package's own __init__ runs on every import.
HW_SOURCES = ("__init__.py", "isa/*.py", "rtl/*.py", "cosim/hdl/*_sim.v")


class SimError(VTAError):
    """The RTL simulation could not run or did not finish."""


class WatchdogError(SimError):
    """The design did not signal done in time (the message holds the per-stage report)."""


class AxiResponseError(SimError):
    """The run ended on an AXI error response (SLVERR/DECERR, e.g. injected): the message
    names channel, burst address, requester and cycle; ``fault`` holds them as a dict
    (channel, addr, beats, resp, cycle, flagged = the master's error bit was set)."""
    fault = None


AXI_CHANNELS = ("ar", "r", "aw", "w", "b")


def stall_spec(axi_stall):
    """{channel: probability} from a number (every channel) or a dict over ar/r/aw/w/b;
    SimError names a bad channel or probability (must be 0 <= p < 1: p = 1 never moves)."""
    if not axi_stall:
        return {}
    if not isinstance(axi_stall, dict):
        axi_stall = {ch: axi_stall for ch in AXI_CHANNELS}
    out = {}
    for ch, p in axi_stall.items():
        if ch not in AXI_CHANNELS:
            raise SimError(f"AXI stall: unknown channel {str(ch)[:20]!r} (channels: "
                           f"{', '.join(AXI_CHANNELS)})")
        try:
            p = float(p)
        except (TypeError, ValueError):
            p = -1.0
        if not 0.0 <= p < 1.0:
            raise SimError(f"AXI stall of channel {ch}: {str(axi_stall[ch])[:20]!r} is not a "
                           "probability in [0, 1)")
        if p:
            out[ch] = p
    return out


def fault_spec(inject_fault, program):
    """Validate an --inject-fault spec against ``program`` before any simulator starts
    (vta.tlm.faults: a SimError names the problem); returns its text or None."""
    if not inject_fault:
        return None
    from vta.tlm.faults import FaultInjector, parse_fault
    try:
        spec = parse_fault(inject_fault) if isinstance(inject_fault, str) else inject_fault
        FaultInjector(spec, program)
    except ValueError as e:
        raise SimError(str(e)) from None
    return spec.text


@dataclass
class RtlResult:
    """What one RTL run produced."""
    outputs: dict                       # segment name -> ndarray read back from DRAM
    cycles: int                         # CYCLES register: start to done
    counters: dict = field(default_factory=dict)   # BUSY_* registers and more
    sim: str = "icarus"
    wall_seconds: float = 0.0    # whole call: build check, simulator start, run
    run_seconds: float = 0.0     # simulated run only (start to done), for speed figures
    sim_cycles: int = 0          # cycles simulated in that time (done is polled)
    waves: Path | None = None    # waveform file (with waves=True)
    dram_latency: int = 0        # latency the AXI RAM model added (cycles)

    @property
    def cycles_per_second(self):
        return self.sim_cycles / self.run_seconds if self.run_seconds else 0.0

    def mismatches(self, expect):
        """{segment: number of differing elements} against expected arrays (empty = pass)."""
        bad = {}
        for name, want in expect.items():
            got = self.outputs.get(name)
            if got is None or got.shape != want.shape:
                bad[name] = int(want.size)
            else:
                n = int(np.count_nonzero(got != want))
                if n:
                    bad[name] = n
        return bad


def cache_root():
    return Path(os.environ.get("VTA_RTL_CACHE") or Path.home() / ".cache" / "vta-cosim" / "rtl")


#: dram keys that shape the AXI master (the rest is the testbench memory's business)
HW_DRAM_KEYS = ("max_outstanding_reads", "max_outstanding_writes", "max_burst_beats")


def source_key(cfg, top, root=None):
    """Cache folder name for ``top`` of ``cfg``: a hash of what the generated Verilog depends on.

    Hashes the source files (``HW_SOURCES`` under ``root``, default: the imported ``vta``
    package), the config's hardware part, ``top`` and the MyHDL version. Hashing the sources
    rather than the generated Verilog keeps a cache hit free (getting the Verilog means running
    the conversion, seconds per config); the price is a rebuild after an edit that does not
    change the Verilog (a comment).
    """
    root = Path(root) if root is not None else PKG_ROOT
    h = hashlib.sha256()
    h.update(top.encode() + b"\0")
    # timing and DRAM figures do not change the hardware (the testbench memory reads the
    # latency at run time), so TLM calibration and latency variants reuse one build; the
    # AXI master's outstanding limits and burst cap do
    d = cfg.to_dict()
    d.pop("timing", None)
    d.pop("refine", None)   # which units a mixed run refines: not the hardware
    dram = d.pop("dram", None) or {}
    d["axi"] = {k: dram.get(k) for k in HW_DRAM_KEYS}
    h.update(json.dumps(d, sort_keys=True).encode() + b"\0")
    h.update(hardware_digest(root).encode())
    # the config's name is user data: escaped so that it stays one folder inside the cache
    return f"{file_name(cfg.name, what='config name')}-{top}-{h.hexdigest()[:16]}"


def hardware_digest(root=None):
    """Hex SHA-256 of what every config's Verilog is generated from: the ``HW_SOURCES``
    files under ``root`` (default: the imported ``vta`` package) and the MyHDL version."""
    root = Path(root) if root is not None else PKG_ROOT
    h = hashlib.sha256()
    files = sorted({p for pattern in HW_SOURCES for p in root.glob(pattern)})
    if not any(p.parent.name == "rtl" for p in files):   # a wrong root would hash nothing
        raise SimError(f"no RTL sources under {root}")
    for p in files:
        data = p.read_bytes()
        # name and length first: moving code between files changes the key too
        h.update(f"{p.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    import myhdl
    h.update(myhdl.__version__.encode())
    return h.hexdigest()


def exported(cfg, top="vta_top"):
    """A directory holding the export of ``top`` for ``cfg`` (made once, then reused)."""
    from vta.rtl.export import convert_verilog, export
    d = cache_root() / source_key(cfg, top)
    marker = d / "export.ok"
    if marker.exists():
        try:   # in use: _prune's grace counts from the last use, not from the export
            os.utime(d)
        except FileNotFoundError:   # pruned just now by another process: export again
            return exported(cfg, top)
        return d
    d.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=d.name + ".", dir=d.parent))
    try:
        if top == "vta_top":
            export(cfg, tmp)
        else:
            convert_verilog(cfg, tmp, top)
        (tmp / "export.ok").write_text("ok\n")
        try:
            tmp.rename(d)
        except OSError:  # another process won the race: use its copy
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(d)
    return d


def export_dir(cfg, out=None):
    """Export ``cfg`` into the folder ``out``, or (no ``out``) into the build cache; returns it."""
    if out:
        from vta.rtl.export import export
        export(cfg, out)
        return Path(out)
    return exported(cfg, "vta_top")


def _prune(keep, n=KEEP_BUILDS):
    """Drop all but the ``n`` newest builds of the same config and top (edits make new keys)."""
    prefix = keep.name.rsplit("-", 1)[0] + "-"
    mine = [p for p in keep.parent.iterdir() if p.is_dir() and p.name.startswith(prefix)]
    old = sorted((p for p in mine if p.name.count("-") == keep.name.count("-")
                  and (p / "export.ok").exists()), key=lambda p: p.stat().st_mtime, reverse=True)
    # exports interrupted before their rename (KEY.xxxx without export.ok) are stale too
    stale = [p for p in mine if not (p / "export.ok").exists()]
    import time
    for p in old[n:] + stale:
        # an hour's grace since its last use (exported() touches a build it hands out):
        # another process may still be simulating it (a mutant run's pristine build)
        if p != keep and time.time() - p.stat().st_mtime > 3600:
            shutil.rmtree(p, ignore_errors=True)


HDL = Path(__file__).resolve().parent / "hdl"
#: simulation models of the FPGA primitives an export may instantiate (rtl/gemm.py
#: mul_one_ecp5 on an ECP5 part); the synthesis tools have their own
PRIMITIVE_MODELS = {"MULT18X18D": HDL / "mult18x18d_sim.v"}


def primitive_models(verilog):
    """The simulation models ``verilog`` (a Verilog file) needs: a primitive counts when a
    line instantiates it."""
    text = Path(verilog).read_text()
    return [model for name, model in PRIMITIVE_MODELS.items()
            if re.search(rf"^\s*{name}\b", text, re.M)]


def sources(export_dir, top):
    design = export_dir / ("vta_top.v" if top == "vta_top" else f"{top}.v")
    return [design, *primitive_models(design)]


def verilator_args():
    """Verilator flags of every build of the design (cocotb path and fast mode alike)."""
    # (waves: the runner adds --trace, i.e. VCD; FST would need the lz4 headers)
    return ["-Wno-fatal", "-Wno-WIDTH", "-Wno-lint", "-O3", "--x-assign", "0"]


def build(cfg, sim="icarus", top="vta_top", waves=False):
    """Build (or reuse) the simulator model of ``top``; returns (runner, build_dir)."""
    if sim not in SIMULATORS:
        raise SimError(f"unknown simulator '{sim}' (choose from {', '.join(SIMULATORS)})")
    tools.apply_hdl_env()
    tools.which("iverilog" if sim == "icarus" else "verilator")
    from cocotb_tools.runner import get_runner
    d = exported(cfg, top)
    build_dir = d / f"sim-{sim}{'-waves' if waves else ''}"
    runner = get_runner(sim)
    # "Skipping compilation" (a cache hit) is logged as a warning; only real problems matter
    runner.log.setLevel(logging.ERROR)
    build_args = []
    if sim == "verilator":
        build_args = verilator_args()
    log = build_dir / "build.log"
    done = build_dir / "build.ok"   # written last: a build folder without it is incomplete
    with _locked(d / f".{build_dir.name}.lock"):   # one builder at a time per folder
        if build_dir.exists() and not done.exists():
            # an interrupted build (the simulator would reuse a half-written model): redo it
            shutil.rmtree(build_dir, ignore_errors=True)
        build_dir.mkdir(parents=True, exist_ok=True)
        try:
            runner.build(sources=sources(d, top), hdl_toplevel=top, build_dir=build_dir,
                         build_args=build_args, waves=waves, timescale=("1ns", "10ps"),
                         log_file=log)
        except SystemExit as e:  # cocotb's runner exits on a failed tool
            raise SimError(f"{sim} build of {top} failed (see {log}): exit {e.code}") from None
        except Exception as e:
            raise SimError(f"{sim} build of {top} failed (see {log}): {e}") from None
        done.write_text("ok\n")
    return runner, build_dir


class _locked:
    """An exclusive lock on a file (released by the kernel if the process dies)."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        import fcntl
        self.f = open(self.path, "a")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.f.close()   # closing releases the lock


def run_test(cfg, test_module, sim="icarus", top="vta_top", env=None, waves=False,
             test_dir=None, testcase=None, pythonpath=(), check=True):
    """Run a cocotb test module on ``top``; returns the results.xml path.

    ``pythonpath``: folders the test module is imported from (cocotb's runner hands the
    simulator this process's sys.path as PYTHONPATH). ``check=False``: a failing test is
    not an error here (the caller reads what the test wrote).
    """
    import sys
    runner, build_dir = build(cfg, sim, top, waves)
    # Absolute: the simulator runs in its own directory and reads these paths from there.
    test_dir = Path(test_dir or tempfile.mkdtemp(prefix="vta-cocotb-")).resolve()
    test_dir.mkdir(parents=True, exist_ok=True)
    extra = {"VTA_CONFIG_YAML": str(_config_file(cfg, test_dir))}
    extra.update(env or {})
    results = test_dir / "results.xml"
    added = [str(p) for p in (test_dir, *pythonpath) if str(p) not in sys.path]
    sys.path[:0] = added
    try:
        runner.test(test_module=test_module, hdl_toplevel=top, build_dir=build_dir,
                    test_dir=test_dir, extra_env=extra, waves=waves, results_xml=str(results),
                    testcase=testcase, log_file=test_dir / "sim.log")
    except SystemExit as e:
        if check or not results.exists():
            raise SimError(f"cocotb run failed (exit {e.code}); log: {test_dir / 'sim.log'}") from None
    finally:
        for p in added:
            sys.path.remove(p)
    return results


def _config_file(cfg, d):
    from vta.rtl.export import _cfg_yaml
    p = Path(d) / "config.yaml"
    p.write_text(_cfg_yaml(cfg))
    return p


def failures(results_xml):
    """Names and messages of failed test cases in a cocotb results.xml."""
    import xml.etree.ElementTree as ET
    root = ET.parse(results_xml).getroot()
    out = []
    for case in root.iter("testcase"):
        for bad in list(case.findall("failure")) + list(case.findall("error")):
            msg = bad.get("message") or bad.text or "failed"
            if "non-0/1 values" in msg:  # cocotb meeting X/Z on a bus, e.g. AXI wdata
                msg += (" (undefined X/Z bits reached the testbench: typically the program reads "
                        "buffer entries it never loaded; Icarus is 4-state, while Verilator and "
                        "the TLM read such entries as 0)")
            out.append(f"{case.get('name')}: {msg}")
    return out


def run_on_rtl(program, cfg=None, sim="icarus", waves=False, max_cycles=None, workdir=None,
               axi_stall=0.0, dram_latency=None, sram_init=None, fast=False, inject_fault=None,
               stall_seed=0):
    """Run ``program`` on the RTL; returns an RtlResult (raises SimError on timeout/failure).

    ``max_cycles`` bounds the run (default: generous, from the program size); on timeout the
    error message holds each stage's state as the watchdog saw it. ``axi_stall`` (0..1):
    the DRAM model randomly stalls every AXI channel with this probability per cycle, or a
    dict {channel: probability} over ar, r, aw, w, b (seeded by ``stall_seed``).
    ``inject_fault``: a vta.tlm.faults spec ("r:uop", "b:store", ...): that burst gets an
    error response and the run ends with an AxiResponseError naming it.
    ``dram_latency``: cycles the AXI RAM model adds to each read burst and write response
    (default: the config's ``dram.latency``, so the TLM and the RTL see the same memory).
    Without ``workdir`` the run's files go to a temporary folder, removed afterwards unless
    it holds the waveform (``waves``) or the log of a run that produced no result.
    ``sram_init``: None (leave the buffers as the simulator starts them), "zero" or a
    seed: the testbench writes vta.tlm.watch.sram_fill(cfg, sram_init) into every buffer
    before the run, the same values ``run_program(..., sram_init=...)`` gives the TLM.
    ``fast``: run in the fast harness (vta.cosim.fastsim: the AXI RAM inside the simulator,
    same cycles and outputs; no waves, stalls or sram_init there).
    """
    cfg = load_config(cfg) if cfg is not None else program.config
    if fast:
        from .fastsim import check_fast_options
        check_fast_options(axi_stall, sram_init, waves, inject_fault)
    mem = {"stall": stall_spec(axi_stall), "seed": int(stall_seed),
           "fault": fault_spec(inject_fault, program)}
    work = Path(workdir or tempfile.mkdtemp(prefix="vta-rtl-run-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    keep = False
    try:
        if fast:
            res = _run_fast(program, cfg, sim, work, max_cycles, dram_latency)
        else:
            res = _run_one(program, cfg, sim, waves, max_cycles, work, mem, dram_latency,
                           sram_init)
        keep = waves   # the waveform lives in the folder
        return res
    except (WatchdogError, AxiResponseError):
        raise          # its message holds the whole report
    except SimError:
        keep = True    # a run without a result: the folder's sim.log is all there is
        raise
    finally:
        if workdir is None and not keep:
            shutil.rmtree(work, ignore_errors=True)


def _run_one(program, cfg, sim, waves, max_cycles, work, mem, dram_latency, sram_init):
    import time
    bundle = write_bundle(program, work / "program.vtab")
    result_file = work / "result.json"
    result_file.unlink(missing_ok=True)
    env = {"VTA_BUNDLE": str(bundle), "VTA_RESULT": str(result_file)}
    env.update(_run_env(cfg, max_cycles, mem["stall"], dram_latency, sram_init))
    env["VTA_AXI_STALL_SEED"] = str(mem["seed"])
    if mem["fault"]:
        env["VTA_INJECT_FAULT"] = mem["fault"]
    t0 = time.perf_counter()
    results = run_test(cfg, "vta.cosim.simtb", sim=sim, env=env, waves=waves, test_dir=work,
                       testcase="run_program", check=False)
    wall = time.perf_counter() - t0
    if not result_file.exists():
        bad = failures(results) if results.exists() else []
        raise SimError("RTL run failed: " + ("; ".join(bad) or f"no result (see {work / 'sim.log'})"))
    wave_file = _collect_waves(cfg, sim, work, t0) if waves else None
    res = _result(program, json.loads(result_file.read_text()), sim, wall)
    if isinstance(res, SimError):
        raise res
    res.waves = wave_file
    return res


def _run_fast(program, cfg, sim, work, max_cycles, dram_latency):
    from .fastsim import run_fast_doc
    doc = run_fast_doc(program, cfg, sim, work, max_cycles, dram_latency)
    res = _result(program, doc, sim, float(doc["run_seconds"]))
    if isinstance(res, SimError):
        raise res
    return res


def run_many_on_rtl(programs, cfg=None, sim="icarus", max_cycles=None, workdir=None,
                    axi_stall=0.0, dram_latency=None, sram_init=None, fast=False, mem=None):
    """Run several programs (same config) in one simulator session.

    Simulator start-up costs ~1.5 s per call, more than a small program's run; here the
    testbench resets the design and clears the AXI RAM between programs. Returns one entry
    per program, in order: an RtlResult, or a SimError (watchdog, failed run) -- a failing
    program does not stop the others. ``wall_seconds`` of each result is its share of the
    session (its simulated run plus an equal part of the start-up). Without ``workdir`` the
    session's files go to a temporary directory that is removed afterwards. ``fast``: each
    program runs in the fast harness (its own short process: no session to share).
    ``mem``: per program, None or a dict overriding the memory for that run: "latency"
    (cycles), "stall" (as ``axi_stall``), "seed" (of the stalls), "fault" (as run_on_rtl's
    ``inject_fault``); fast mode takes only "latency".
    """
    programs = list(programs)
    if not programs:
        return []
    mem = list(mem) if mem is not None else [None] * len(programs)
    if len(mem) != len(programs):
        raise SimError(f"mem: {len(mem)} entries for {len(programs)} programs")
    jobs_mem = [_job_mem(m, p) for m, p in zip(mem, programs)]
    cfg = load_config(cfg) if cfg is not None else programs[0].config
    for p in programs:
        if p.config.fingerprint != cfg.fingerprint:
            raise SimError(f"program '{p.name}' was built for config '{p.config.name}', "
                           f"not '{cfg.name}' (one batch runs one config)")
    if fast:
        from .fastsim import check_fast_options
        check_fast_options(any(m.get("stall") for m in jobs_mem) or axi_stall, sram_init,
                           fault=any(m.get("fault") for m in jobs_mem))
    work = Path(workdir or tempfile.mkdtemp(prefix="vta-rtl-batch-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        if fast:
            return _run_fast_batch(programs, cfg, sim, work, max_cycles, dram_latency, jobs_mem)
        return _run_batch(programs, cfg, sim, work, max_cycles, stall_spec(axi_stall), dram_latency,
                          sram_init, jobs_mem)
    finally:
        if workdir is None:   # a fuzz run makes thousands of these; keep only what was asked for
            shutil.rmtree(work, ignore_errors=True)


def _job_mem(m, program):
    """A batch job's memory overrides, validated (see run_many_on_rtl's ``mem``)."""
    if not m:
        return {}
    unknown = set(m) - {"latency", "stall", "seed", "fault"}
    if unknown:
        raise SimError(f"mem: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    out = {}
    if m.get("latency") is not None:
        out["latency"] = int(m["latency"])
        if not 0 <= out["latency"] <= 100000:
            raise SimError(f"mem: latency {m['latency']} outside 0..100000 cycles")
    if "stall" in m:
        out["stall"] = stall_spec(m["stall"])
    if m.get("seed") is not None:
        out["seed"] = int(m["seed"])
    if m.get("fault"):
        out["fault"] = fault_spec(m["fault"], program)
    return out


def _run_batch(programs, cfg, sim, work, max_cycles, axi_stall, dram_latency, sram_init=None,
               jobs_mem=None):
    import time
    jobs = []
    for i, (p, m) in enumerate(zip(programs, jobs_mem or [{}] * len(programs))):
        bundle = write_bundle(p, work / f"p{i:05d}.vtab")
        result = work / f"p{i:05d}.json"
        result.unlink(missing_ok=True)
        jobs.append({"bundle": str(bundle), "result": str(result), **m})
    manifest = work / "batch.json"
    manifest.write_text(json.dumps(jobs))
    env = {"VTA_BATCH": str(manifest)}
    env.update(_run_env(cfg, max_cycles, axi_stall, dram_latency, sram_init))
    t0 = time.perf_counter()
    results = run_test(cfg, "vta.cosim.simtb", sim=sim, env=env, test_dir=work,
                       testcase="run_batch", check=False)
    wall = time.perf_counter() - t0
    docs = [json.loads(Path(j["result"]).read_text()) if Path(j["result"]).exists() else None
            for j in jobs]
    run_total = sum(float(d.get("run_seconds", 0.0)) for d in docs if d)
    overhead = max(0.0, wall - run_total) / len(programs)
    out = []
    for p, d in zip(programs, docs):
        if d is None:
            bad = failures(results) if results.exists() else []
            out.append(SimError("RTL batch stopped before this program: "
                                + ("; ".join(bad) or _last_line(work / "sim.log"))))
            continue
        out.append(_result(p, d, sim, float(d.get("run_seconds", 0.0)) + overhead))
    return out


def _run_fast_batch(programs, cfg, sim, work, max_cycles, dram_latency, jobs_mem):
    out = []
    for i, (p, m) in enumerate(zip(programs, jobs_mem)):
        d = work / f"p{i:05d}"
        d.mkdir(exist_ok=True)
        try:
            out.append(_run_fast(p, cfg, sim, d, max_cycles, m.get("latency", dram_latency)))
        except SimError as e:   # recorded per program, as in a cocotb batch
            out.append(e)
    return out


def _last_line(log):
    """Last non-empty line of a log (the work dir may be deleted right after)."""
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no result"
    return lines[-1].strip() if lines else "no result"


def _run_env(cfg, max_cycles, axi_stall, dram_latency, sram_init=None):
    env = {"VTA_DRAM_LATENCY": str(int(cfg.dram_latency if dram_latency is None else dram_latency))}
    if sram_init is not None:
        env["VTA_SRAM_INIT"] = "zero" if sram_init == "zero" else str(int(sram_init))
        env["VTA_SRAM_MAP"] = json.dumps(sram_map(cfg))
    if max_cycles:
        env["VTA_MAX_CYCLES"] = str(int(max_cycles))
    if axi_stall:   # stall_spec's {channel: probability}
        env["VTA_AXI_STALL"] = json.dumps(axi_stall)
    return env


# A converted buffer bank: `reg [W-1:0] <path>_<buffer>_buffer_sram_bank<K>_mem [0:D-1];`
# (rtl.sram.buffer names its instance after the buffer).
_BANK_RE = re.compile(r"^reg \[(\d+):0\] (\w*_(inp|wgt|out|uop|acc)_buffer_sram_bank(\d+)_mem) "
                      r"\[0:(\d+)-1\];", re.M)


def sram_map(cfg, top="vta_top"):
    """{buffer: [bank memory names, low bits first]} of the exported Verilog's buffers.

    Depth and total width of each are checked against the config, so a renamed or reshaped
    buffer is an error here, not a silent write into the wrong memory."""
    d = exported(cfg, top)
    text = (d / sources(d, top)[0].name).read_text()
    groups = {}
    for width, name, buf, bank, depth in _BANK_RE.findall(text):
        groups.setdefault(buf, []).append((int(bank), name, int(width) + 1, int(depth)))
    want = {"inp": (cfg.inp_depth, cfg.batch * cfg.block_in * cfg.inp_bits),
            "wgt": (cfg.wgt_depth, cfg.block_out * cfg.block_in * cfg.wgt_bits),
            "out": (cfg.out_depth, cfg.batch * cfg.block_out * cfg.out_bits),
            "uop": (cfg.uop_depth, 32),
            "acc": (cfg.acc_depth, cfg.batch * cfg.block_out * cfg.acc_bits)}
    out = {}
    for buf, (depth, width) in want.items():
        banks = sorted(groups.get(buf, []))
        got = (banks[0][3] if banks else 0, sum(b[2] for b in banks))
        if got != (depth, width):
            raise SimError(f"--sram-init: cannot find the {buf} buffer in the exported Verilog "
                           f"(expected {depth} x {width} bits, found {got[0]} x {got[1]})")
        out[buf] = [name for _, name, _, _ in banks]
    return out


def _result(program, doc, sim, wall):
    """RtlResult from the testbench's JSON document (a SimError if the run failed)."""
    if doc.get("error"):
        if doc.get("error_kind") == "axi":
            err = AxiResponseError(f"{program.name}: {doc['error']}")
            err.fault = doc.get("fault")
            return err
        cls = WatchdogError if doc["error"].startswith("watchdog") else SimError
        return cls(f"{program.name}: {doc['error']}")
    outputs = {}
    for seg in program.segments:
        if seg.role == "output":
            raw = bytes.fromhex(doc["outputs"][seg.name])
            outputs[seg.name] = np.frombuffer(raw, dtype=seg.data.dtype.newbyteorder("<")).astype(
                seg.data.dtype).reshape(seg.shape)
    return RtlResult(outputs=outputs, cycles=int(doc["cycles"]), counters=doc["counters"],
                     sim=sim, wall_seconds=wall, run_seconds=float(doc.get("run_seconds", 0.0)),
                     sim_cycles=int(doc.get("sim_cycles", 0)),
                     dram_latency=int(doc.get("dram_latency", 0)))


def _collect_waves(cfg, sim, work, since):
    """Move the run's waveform (the runner writes it in the build or test dir) into ``work``."""
    import time
    cutoff = time.time() - (time.perf_counter() - since) - 1
    build_dir = exported(cfg, "vta_top") / f"sim-{sim}-waves"
    for d in (work, build_dir):
        for p in sorted(d.glob("*.fst")) + sorted(d.glob("*.vcd")):
            if p.stat().st_mtime >= cutoff:
                if p.parent != work:
                    p = Path(shutil.move(str(p), work / p.name))
                return p
    return None
