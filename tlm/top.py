"""Top level: wires DRAM, queues and the four stages, runs a Program, collects results.

``run_program(program)`` is the API other parts use (the RTL cross-check, the CLI).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from vta.isa import BundleError, Finish, Program, VTAError, format_insn, load_config

from . import stats as stats_mod
from .compute import Compute
from .dram import Dram, lazy_zeros
from .errors import DeadlockError, LeftoverTokensError, ProgramError
from .faults import TlmFaults
from .fetch import Fetch
from .image import dram_image
from .load import Load
from .queues import DEP_QUEUES, BoundedQueue, DepQueue
from .store import Store
from .trace import Tracer
from .unit import Environment, FrozenConfig
from .watch import DEFAULT_MAX_CYCLES, DEFAULT_TIMEOUT, Watch, sram_fill

STAGES = ("fetch", "load", "compute", "store")


@dataclass
class Mismatch:
    """An output segment that differs from its expected contents."""
    segment: str
    count: int          # number of differing elements
    total: int
    index: tuple        # first differing element
    got: int
    expected: int

    def __str__(self):
        return (f"segment '{self.segment}': {self.count} of {self.total} elements differ; "
                f"first at {list(self.index)}: got {self.got}, expected {self.expected}")


@dataclass
class TlmResult:
    """What a run produced: cycle count, outputs, statistics and the final DRAM."""
    program: object
    config: object
    cycles: int
    stats: dict
    dram: Dram
    wall_seconds: float
    outputs: dict = field(default_factory=dict)
    mismatches: list = field(default_factory=list)
    trace: object = None
    warnings: list = field(default_factory=list)   # at most watch.MAX_SHOWN_WARNINGS
    warning_count: int = 0                         # all of them

    @property
    def checked(self):
        """True if the program carried expected outputs to compare against."""
        return bool(self.program.expect)

    @property
    def passed(self):
        return not self.mismatches

    def read_segment(self, name):
        """A segment's contents in the final DRAM, as an array of its dtype and shape."""
        seg = self.program.segment(name)
        raw = self.dram.peek(seg.base, seg.nbytes)
        dt = seg.data.dtype.newbyteorder("<")
        return np.frombuffer(raw.tobytes(), dtype=dt).astype(seg.data.dtype).reshape(seg.shape)

    def read(self, addr, nbytes):
        """Raw bytes of the final DRAM."""
        return self.dram.peek(addr, nbytes)

    def last_writer(self, segment, index):
        """(instruction index, disassembly) of the STORE that last wrote element ``index``
        (a tuple into the segment's shape) of an output segment, or None if none did."""
        seg = self.program.segment(segment)
        flat = int(np.ravel_multi_index(tuple(index), seg.shape))
        tag = self.dram.last_writer(seg.base + flat * seg.data.dtype.itemsize)
        if tag is None:
            return None
        return tag, format_insn(self.program.insns[tag])


class Tlm:
    """One accelerator instance loaded with one program."""

    def __init__(self, program, config=None, *, wrap=False, trace=False, progress=None,
                 max_cycles=DEFAULT_MAX_CYCLES, timeout=DEFAULT_TIMEOUT, strict=False,
                 sram_init=None, detail=None, inject_fault=None):
        cfg = program.config if config is None else load_config(config)
        if cfg.fingerprint != program.config.fingerprint:
            raise BundleError(f"program '{program.name}' was built for config "
                              f"'{program.config.name}', whose ISA differs from '{cfg.name}'")
        program.validate()
        self.program, self.cfg, self.wrap = program, cfg, wrap
        self.fast_cfg = fast = FrozenConfig.of(cfg)   # what the stages read
        self.env = env = Environment()   # SimPy's, see unit.next_up
        self.tracer = Tracer(cfg.clock_mhz) if trace else None
        self.dram = Dram(env, fast, self.tracer)
        for addr, data in dram_image(program):
            self.dram.poke(addr, data)
        self.insn_base, self.insn_count = program.insn_base, len(program.insns)
        cmd_depth, dep_depth = fast.cmd_queue_depth, fast.dep_queue_depth
        self.cmd = {name: BoundedQueue(env, f"cmd {name}", cmd_depth, self.tracer)
                    for name in ("load", "compute", "store")}
        self.dep = {name: DepQueue(env, name, dep_depth, cfg.timing["dep_latency"], self.tracer)
                    for name in DEP_QUEUES}
        # On-chip buffers written by the load unit and read by compute. float64 holds the
        # int8..int16 values exactly and lets GEMM use BLAS.
        self.inp_buf = lazy_zeros((fast.inp_depth, fast.batch, fast.block_in))
        self.wgt_buf = lazy_zeros((fast.wgt_depth, fast.block_out, fast.block_in))
        self.fetch, self.load, self.compute, self.store = (Fetch(self), Load(self), Compute(self),
                                                          Store(self))
        self.units = (self.fetch, self.load, self.compute, self.store)
        self.watch = self.dram.watch = Watch(self, max_cycles, timeout, strict)
        if inject_fault:   # fault mode: tlm/faults.py
            self.dram.faults = TlmFaults(inject_fault, program, self.dram)
        if sram_init is not None:
            self._fill_srams(sram_init)
        self._detail = detail   # f(text): what a long instruction is doing (progress)
        self._detail_shown = False
        self.done = env.event()
        self.finish_cycle = None
        self._disasm = {}
        self._progress = progress
        self._completed = 0

    def _fill_srams(self, seed):
        """--sram-init: every buffer holds watch.sram_fill's values before the run."""
        cfg, comp, fill = self.cfg, self.compute, sram_fill(self.cfg, seed)
        self.inp_buf[:] = fill["inp"].reshape(self.inp_buf.shape)
        self.wgt_buf[:] = fill["wgt"].reshape(self.wgt_buf.shape)
        comp.acc[:] = fill["acc"].reshape(comp.acc.shape)
        comp.out[:] = fill["out"].reshape(comp.out.shape)
        words = fill["uop"].reshape(-1).astype(np.uint32)
        comp.uop_dst[:], comp.uop_src[:], comp.uop_wgt[:] = cfg.layout.decode_uops_array(words)

    # ---- callbacks from the units --------------------------------------------------
    def long_step(self, unit, index, insn, done, total):
        """Between the vector chunks of one long instruction: time limit and progress."""
        self.watch.check_time()
        if self._detail is not None:
            self._detail(f"instruction {index} ({self.disasm(insn)}): {done:,}/{total:,} micro-op runs")
            self._detail_shown = True

    def disasm(self, insn):
        text = self._disasm.get(insn)
        if text is None:
            text = self._disasm[insn] = format_insn(insn)
        return text

    def cmd_named(self):
        return {f"cmd_{k}": v for k, v in self.cmd.items()}

    def insn_done(self):
        # Limits are checked as instructions complete: each one is bounded (loads by the
        # buffer sizes, GEMM/ALU by compute's cost check before their work).
        self._completed += 1
        if self.env.now > self.watch.max_cycles:
            raise self.watch.limit_error(f"cycle {self.env.now:,} passed the limit of "
                                         f"{self.watch.max_cycles:,} cycles before FINISH completed "
                                         "(raise it with --max-cycles)")
        if self._completed % 256 == 0:
            self.watch.check_time()
        if self._detail_shown:
            self._detail(self.program.name)
            self._detail_shown = False
        if self._progress is not None and self._completed % 64 == 0:
            self._progress(self._completed, self.insn_count)

    def finish(self, index):
        if self.finish_cycle is None:
            self.finish_cycle = self.env.now
            self.done.succeed()

    # ---- running ----------------------------------------------------------------------
    def run(self):
        """Run to FINISH; raise DeadlockError / ProgramError / LeftoverTokensError."""
        env = self.env
        t0 = time.perf_counter()
        self.watch.start()
        self._processes = [env.process(u.run()) for u in self.units]
        try:
            env.run(until=self.done)
        except RuntimeError as e:
            if "until" not in str(e) and "No scheduled events" not in str(e):
                raise
        except VTAError as e:
            raise _original(e) from None
        if self.finish_cycle is None:
            raise self._deadlock()
        # Let work still in flight (e.g. a store FINISH did not wait for) complete.
        try:
            env.run()
        except VTAError as e:
            raise _original(e) from None
        wall = time.perf_counter() - t0
        if self._progress is not None:
            self._progress(self._completed, self.insn_count)
        result = self._result(wall)
        leftovers = {name: len(q) for name, q in self.dep.items() if len(q)}
        stuck = self._blocked()
        if leftovers or stuck:
            err = LeftoverTokensError(leftovers, result) if leftovers else None
            if stuck:
                lines = [f"{s} instruction {i} ({t}): {w}" for s, i, t, w in stuck]
                msg = ("program finished but some instructions never completed: "
                       + "; ".join(lines))
                if err is not None:
                    msg = f"{err.detail}; {msg}"
                err = ProgramError(msg, cycle=self.finish_cycle)
                err.result = result
            raise err
        return result

    def close(self):
        """Break the reference cycles a finished run leaves (stages <-> top, the stages'
        processes waiting forever for a command, queues <-> their waiters' events), so
        that its objects and buffers are freed when the last reference goes, not by a
        later cyclic garbage collection: until then the next run cannot reuse their
        memory and touches fresh pages (~10% of a short run's host time). The Tlm
        cannot run afterwards; its result stays valid. run_program calls it."""
        for p in getattr(self, "_processes", ()):
            if p.is_alive:   # as SimPy's interrupt detaches a process from its event
                p._target.callbacks.remove(p._resume)
                p._generator.close()
        for q in (*self.cmd.values(), *self.dep.values()):
            q.close()
        for u in self.units:
            u.top = None
        self.watch.top = self.dram.watch = None

    def _blocked(self):
        out = []
        for u in self.units:
            st = u.state()
            if st is not None:
                out.append((u.name, *st))
        for name, q in self.cmd.items():
            if q.items:
                index, insn = q.items[0]
                more = len(q) - 1
                out.append((name, index, self.disasm(insn),
                            "never started: waits in the command queue"
                            + (f" (with {more} more behind it)" if more else "")))
        return out

    def _deadlock(self):
        blocked = self._blocked()
        queues = {**{k: len(v) for k, v in self.cmd_named().items()},
                  **{k: len(v) for k, v in self.dep.items()}}
        has_finish = any(isinstance(i, Finish) for i in self.program.insns)
        return DeadlockError(self.env.now, blocked, queues, has_finish)

    def _result(self, wall):
        cycles = self.finish_cycle
        st = stats_mod.collect(self, cycles, wall)
        res = TlmResult(program=self.program, config=self.cfg, cycles=cycles, stats=st,
                        dram=self.dram, wall_seconds=wall, trace=self.tracer,
                        warnings=list(self.watch.warnings), warning_count=self.watch.warning_count)
        for seg in self.program.segments:
            if seg.role == "output":
                res.outputs[seg.name] = res.read_segment(seg.name)
        for name, exp in self.program.expect.items():
            got = res.outputs.get(name)
            if got is None:
                got = res.read_segment(name)
            diff = got != exp
            if diff.any():
                first = tuple(int(x) for x in np.argwhere(diff)[0])
                res.mismatches.append(Mismatch(name, int(diff.sum()), int(diff.size), first,
                                               int(got[first]), int(exp[first])))
        st["passed"] = res.passed
        st["checked"] = res.checked
        return res


def _original(e):
    # SimPy re-raises a failed process's exception as a new object built from its args;
    # the original (with stage/index attributes) is its __cause__.
    cause = e.__cause__
    return cause if isinstance(cause, type(e)) else e


def run_program(program, config=None, *, wrap=False, trace=None, progress=False,
                max_cycles=DEFAULT_MAX_CYCLES, timeout=DEFAULT_TIMEOUT, strict=False, sram_init=None,
                inject_fault=None):
    """Run a Program on the TLM and return a :class:`TlmResult`.

    Reading programs from text or bundles is the caller's (vta.assembler.load_program):
    the TLM depends on vta.isa only.

    config: run on another config with the same ISA (e.g. different timing); default
    the program's. wrap: wrap out-of-range SRAM indices like hardware instead of
    failing. trace: a path to write Chrome trace JSON to (or True to keep the trace
    in ``result.trace``). progress: show a progress bar (rich) on stderr, or a callable
    ``f(done, total)``.

    Limits (tlm/watch.py): max_cycles (default 10**9) and timeout (host seconds, default
    3600; None for no limit) stop the run with a LimitError naming the running
    instructions. Warnings (``result.warnings``): DRAM accesses outside every declared
    segment, writes over the instructions or micro-ops, reads of SRAM entries this run
    never wrote; strict=True makes the first one a ProgramError. sram_init: None or
    "zero" (zeros) or a seed (int) filling every buffer before the run (watch.sram_fill).
    inject_fault: a tlm.faults spec ("r:uop", ...): that AXI burst gets an error response
    and the run stops with an AxiFaultError.
    """
    if not isinstance(program, Program):
        raise TypeError(f"run_program takes a vta.isa.Program, not {type(program).__name__} "
                        "(read .s/.vtab files with vta.assembler.load_program)")
    bar, cb, detail = progress_bar(program, progress)
    tlm = Tlm(program, config, wrap=wrap, trace=bool(trace), progress=cb, max_cycles=max_cycles,
              timeout=timeout, strict=strict, sram_init=sram_init, detail=detail,
              inject_fault=inject_fault)
    result = run_with_bar(tlm, bar, trace)
    tlm.close()
    return result


def progress_bar(program, progress):
    """(rich bar or None, f(done, total) or None, f(text) or None) for ``progress``: True
    (a bar on stderr), a callable (used as is) or False."""
    if callable(progress):
        return None, progress, None
    if not progress:
        return None, None, None
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn)
    from rich.console import Console
    bar = Progress(TextColumn("[bold]TLM[/] {task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task(program.name, total=len(program.insns))
    cb = lambda done, total: bar.update(task, completed=min(done, total))  # noqa: E731
    detail = lambda text: bar.update(task, description=text)  # noqa: E731
    return bar, cb, detail


def run_with_bar(tlm, bar, trace, meta=None):
    """Run ``tlm`` (a Tlm) with its progress bar; write the Chrome trace to ``trace`` if it
    is a path; ``meta``: extra trace metadata."""
    program = tlm.program
    try:
        if bar is not None:
            bar.start()
        result = tlm.run()
    finally:
        if bar is not None:
            bar.stop()
    if trace and not isinstance(trace, bool):
        tlm.tracer.write(trace, f"VTA TLM: {program.name} on {tlm.cfg.name}",
                         {"program": program.name, "config": tlm.cfg.name,
                          "cycles": result.cycles, "clock_mhz": tlm.cfg.clock_mhz, **(meta or {})})
    return result
