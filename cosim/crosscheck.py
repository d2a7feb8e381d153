"""TLM vs RTL cross-check: the one module that imports both ``vta.tlm`` and ``vta.rtl``.

``check_program(program)`` runs a program on the TLM (the executable reference) and on the
exported RTL under cocotb, and compares every output segment bit for bit between the TLM,
the RTL and the bundle's expected outputs, and the cycle counts. ``check_many`` does the
same for many programs with one simulator session (random differential testing).

Both models see the same memory: the RTL testbench's AXI RAM delays read bursts and write
responses by the config's ``dram.latency`` (vta.cosim.simtb.add_latency), the latency the
TLM charges. ``cycle_error`` = (TLM - RTL) / RTL.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vta.isa import load_config

from .sim import SimError, WatchdogError, run_many_on_rtl, run_on_rtl

#: relative cycle error the reference workloads must stay within
CYCLE_TOLERANCE = 0.05


@dataclass
class Difference:
    """The first element of an output segment on which TLM, RTL and expected disagree."""
    segment: str
    count: int                 # elements that differ in any pair
    total: int
    index: tuple
    tlm: int
    rtl: int | None            # None: the RTL produced no data for the segment
    expected: int | None       # None: no expected output for the segment
    writer: tuple | None       # (instruction index, disassembly) of the STORE that wrote it

    @property
    def between(self):
        """Which sides disagree, e.g. 'TLM vs RTL' or 'RTL vs expected'."""
        pairs = []
        if self.rtl is None or self.tlm != self.rtl:
            pairs.append("TLM vs RTL")
        if self.expected is not None:
            if self.tlm != self.expected:
                pairs.append("TLM vs expected")
            if self.rtl is not None and self.rtl != self.expected:
                pairs.append("RTL vs expected")
        return ", ".join(pairs)

    def __str__(self):
        idx = ",".join(str(i) for i in self.index)
        exp = "" if self.expected is None else f", expected {self.expected}"
        rtl = "missing" if self.rtl is None else self.rtl
        who = (f"; last written by instruction {self.writer[0]}: {self.writer[1]}"
               if self.writer else "; no STORE wrote it")
        return (f"segment '{self.segment}' [{idx}] ({self.between}; {self.count} of "
                f"{self.total} elements differ): TLM {self.tlm}, RTL {rtl}{exp}{who}")


@dataclass
class CheckResult:
    """One program on both models."""
    program: object
    tlm: object                      # vta.tlm.TlmResult
    rtl: object                      # vta.cosim.sim.RtlResult
    differences: list = field(default_factory=list)

    @property
    def agree(self):
        return not self.differences

    @property
    def tlm_cycles(self):
        return self.tlm.cycles

    @property
    def rtl_cycles(self):
        return self.rtl.cycles

    @property
    def cycle_error(self):
        return cycle_error(self.tlm.cycles, self.rtl.cycles)

    @property
    def roofline(self):
        """The program's roofline bound (vta.tlm.stats.roofline, the same for both models)."""
        st = self.tlm.stats
        return {k: st[k] for k in ("roofline_cycles", "bound", "compute_cycles",
                                   "dram_bytes_read", "dram_bytes_written")}

    def report_lines(self):
        """(label, text) lines for GEMM-core utilization and the roofline, RTL then TLM."""
        from vta.tlm.stats import roofline_line
        uops, roof = self.tlm.stats["gemm_uops"], self.roofline
        util = "  ".join(f"{who} {100 * uops / c:.1f} %" if c else f"{who} -"
                         for who, c in (("RTL", self.rtl.cycles), ("TLM", self.tlm.cycles)))
        return [("GEMM-core utilization", util),
                ("roofline (RTL)", roofline_line(roof, self.rtl.cycles)),
                ("roofline (TLM)", roofline_line(roof, self.tlm.cycles))]

    def stats(self):
        """What ``--out`` writes to stats.json."""
        return {"program": self.program.name, "config": self.tlm.config.name,
                "sim": self.rtl.sim, "dram_latency": self.rtl.dram_latency,
                "rtl_cycles": self.rtl.cycles, "tlm_cycles": self.tlm.cycles,
                "cycle_error": self.cycle_error, "agree": self.agree, **self.roofline,
                "rtl_roofline_fraction": (self.roofline["roofline_cycles"] / self.rtl.cycles
                                          if self.rtl.cycles else 0.0),
                "rtl_gemm_utilization": (self.tlm.stats["gemm_uops"] / self.rtl.cycles
                                         if self.rtl.cycles else 0.0),
                "differences": [str(d) for d in self.differences],
                "rtl_counters": self.rtl.counters,
                "tlm_wall_seconds": self.tlm.wall_seconds, "rtl_wall_seconds": self.rtl.wall_seconds}


def cycle_error(tlm_cycles, rtl_cycles):
    """Relative error of the TLM's cycle count against the RTL's."""
    return (tlm_cycles - rtl_cycles) / rtl_cycles if rtl_cycles else float("inf")


def compare(program, tlm, rtl):
    """Differences between the TLM's, the RTL's and the expected outputs, per segment."""
    out = []
    for name, want_tlm in tlm.outputs.items():
        got = rtl.outputs.get(name)
        exp = program.expect.get(name)
        if got is not None and got.shape != want_tlm.shape:
            got = None
        if exp is not None and exp.shape != want_tlm.shape:
            exp = None
        bad = np.zeros(want_tlm.shape, bool) if got is not None else np.ones(want_tlm.shape, bool)
        if got is not None:
            bad |= got != want_tlm
        if exp is not None:
            bad |= exp != want_tlm
            if got is not None:
                bad |= exp != got
        if not bad.any():
            continue
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        out.append(Difference(
            segment=name, count=int(bad.sum()), total=int(bad.size), index=first,
            tlm=int(want_tlm[first]), rtl=None if got is None else int(got[first]),
            expected=None if exp is None else int(exp[first]),
            writer=tlm.last_writer(name, first)))
    return out


def _tlm(program, cfg, sram_init=None):
    from vta.tlm import run_program
    return run_program(program, cfg, sram_init=sram_init)


def check_program(program, config=None, sim="icarus", waves=False, workdir=None,
                  max_cycles=None, sram_init=None, fast=False):
    """Run ``program`` on both models and compare; returns a CheckResult.

    Raises VTAError if the TLM rejects the program (a program error, not a disagreement)
    and SimError if the RTL cannot be built or run; a hang of the RTL on a program the
    TLM finishes raises WatchdogError (with the per-stage report). ``sram_init`` (a seed)
    fills both models' buffers with the same values before the run. ``fast``: the RTL runs
    in the fast harness (vta.cosim.fastsim).
    """
    cfg = load_config(config) if config is not None else program.config
    tlm = _tlm(program, cfg, sram_init)
    rtl = run_on_rtl(program, cfg, sim=sim, waves=waves, workdir=workdir, max_cycles=max_cycles,
                     sram_init=sram_init, fast=fast)
    return CheckResult(program, tlm, rtl, compare(program, tlm, rtl))


def check_many(programs, config=None, sim="icarus", workdir=None, max_cycles=None,
               axi_stall=0.0, fast=False, mem=None):
    """Cross-check many programs (one config) with one simulator session (``fast``: in the
    fast harness, one short process per program).

    ``axi_stall`` (0..1): random AXI back-pressure in the RTL's memory (outputs must not
    change; cycle counts then do not compare). ``mem``: per program, the RTL memory's
    overrides (vta.cosim.sim.run_many_on_rtl); a "latency" there is the TLM's too.
    Returns one entry per program: a CheckResult, or the exception (TLM program error,
    RTL SimError/WatchdogError) that stopped that program.
    """
    programs = list(programs)
    if not programs:
        return []
    cfg = load_config(config) if config is not None else programs[0].config
    mem = list(mem) if mem is not None else [None] * len(programs)
    tlms = []
    for p, m in zip(programs, mem):
        try:
            lat = (m or {}).get("latency")
            tlms.append(_tlm(p, cfg if lat is None else cfg.replace(dram={"latency": int(lat)})))
        except Exception as e:  # noqa: BLE001 -- reported per program
            tlms.append(e)
    keep = [not isinstance(t, Exception) for t in tlms]
    runnable = [p for p, k in zip(programs, keep) if k]
    rtls = iter(run_many_on_rtl(runnable, cfg, sim=sim, workdir=workdir, max_cycles=max_cycles,
                                 axi_stall=axi_stall, fast=fast,
                                 mem=[m for m, k in zip(mem, keep) if k]))
    out = []
    for p, t in zip(programs, tlms):
        if isinstance(t, Exception):
            out.append(t)
            continue
        r = next(rtls)
        out.append(r if isinstance(r, Exception) else CheckResult(p, t, r, compare(p, t, r)))
    return out


__all__ = ["CYCLE_TOLERANCE", "CheckResult", "Difference", "SimError", "WatchdogError",
           "check_many", "check_program", "compare", "cycle_error"]
