"""Progressive refinement: one co-simulation in which each of fetch, load, compute and
store runs as its SimPy TLM or as its MyHDL RTL (and, inside a TLM compute unit, the GEMM
and ALU cores as RTL: cosim/cores.py).

The RTL units run in this process under MyHDL's simulator, one clock per TLM cycle: a
SimPy process (the stepper) advances the MyHDL simulation by one clock period, and the
transactors (cosim/transactors.py) connect the RTL ports to the TLM's command queues,
token queues, buffers and DRAM model at each rising edge. Everything between the units
stays at TLM level (queues, buffers, DRAM and AXI), so a mix differs from the pure TLM
only inside the refined units. While every RTL unit is idle (not busy, nothing in its
command queue, no DRAM request in flight) the stepper does not clock the RTL: idle cycles
cost a SimPy timeout, not a MyHDL clock.

Why in-process MyHDL and not a Verilated unit stepped from Python: see docs/refinement.md
(the measured speeds are in bench/cosim_speed.py).
"""
from __future__ import annotations

import math
from pathlib import Path

import simpy
from myhdl import ResetSignal, Signal, Simulation, always, block, delay, intbv

from vta.isa import Alu, ConfigError, Gemm, load_config
from vta.rtl.fields import INSN_BITS, beats
from vta.rtl.interfaces import (BusyFlags, CommandQueue, ReadPort, SramRead, SramWrite,
                                TokenQueue, WritePort)
from vta.tlm.top import Tlm, progress_bar, run_with_bar

from . import cores, myhdl_speed, transactors as tx  # noqa: F401  (myhdl_speed: on import)

UNITS = ("fetch", "load", "compute", "store")
CORES = ("gemm", "alu")
RESET_CYCLES = 2         # clocks of reset before TLM cycle 0
# A busy RTL unit with no handshake for this many cycles while the TLM has nothing left
# to do is stuck (waiting for a token nobody will push): stop clocking it, so the TLM
# reports the deadlock.
STUCK_CYCLES = 1000


class Late(simpy.events.Event):
    """A timeout processed after every other event of its cycle (SimPy orders events of
    one time by priority: URGENT 0, NORMAL 1): the RTL's clock edge sees what the TLM
    did in that cycle, as a register sees the logic in front of it."""

    def __init__(self, env, delay):
        super().__init__(env)
        self._ok, self._value = True, None
        env.schedule(self, LATE_PRIORITY, delay)


LATE_PRIORITY = 2


def parse_units(text, where="--rtl"):
    """``"load,compute"`` -> frozenset; ``all`` = the four units; ``none`` = empty."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if names == ["all"]:
        return frozenset(UNITS)
    if names == ["none"] or not names:
        return frozenset()
    bad = [n for n in names if n not in UNITS + CORES]
    if bad:
        raise ConfigError(f"{where}: unknown unit {bad[0]!r}; choose from "
                          f"{', '.join(UNITS + CORES)}, 'all' or 'none'")
    return frozenset(names)


def check_units(units):
    """Reject unknown names and combinations this release cannot build (with the reason)."""
    bad = sorted(str(u) for u in units if u not in UNITS + CORES)
    if bad:
        raise ConfigError(f"unknown unit {bad[0]!r}; choose from {', '.join(UNITS + CORES)}")
    if "compute" in units and units & set(CORES):
        raise ConfigError("gemm/alu refine the cores inside a TLM compute unit; an RTL compute "
                          "unit has its own RTL cores (drop gemm/alu, or compute)")


# The token queues each unit's instructions pop, by flag (rtl/unit.py's TOK state).
TOKEN_POPS = {"load": (("pop_next", "g2l"),), "store": (("pop_prev", "g2s"),),
              "compute": (("pop_prev", "l2g"), ("pop_next", "s2g"))}


class RtlUnit:
    """Stands in for a TLM unit in the run's bookkeeping (stats, deadlock reports,
    trace, progress): the instructions an RTL unit takes, its busy cycles."""

    def __init__(self, top, name, busy, tlm_unit):
        self.top, self.name, self.busy, self.tlm_unit = top, name, busy, tlm_unit
        self.env = top.env
        self.busy_cycles = 0
        self.stall_cycles = 0   # not observed at the unit's boundary
        self.instructions = 0
        self.by_opcode = {}
        self.current = None     # (index, insn, cycle taken)
        self.to_pop = []        # token queues the current instruction has still to pop
        self.gemm_uops = self.alu_uops = 0
        self.waiting = None

    def __getattr__(self, name):   # compute's buffers (out, acc): the TLM unit's arrays
        return getattr(self.__dict__["tlm_unit"], name)

    def run(self):
        """The TLM process slot: empty, the stepper clocks the RTL."""
        return
        yield

    def took(self, index, insn):
        """The RTL took an instruction from its command queue (the previous one retired)."""
        self.retire()
        self.current = (index, insn, self.env.now)
        self.to_pop = [q for flag, q in TOKEN_POPS.get(self.name, ()) if getattr(insn, flag)]
        self.instructions += 1
        self.by_opcode[insn.mnemonic] = self.by_opcode.get(insn.mnemonic, 0) + 1
        if isinstance(insn, (Gemm, Alu)):
            n = max(insn.uop_end - insn.uop_bgn, 0) * insn.iter_out * insn.iter_in
            if isinstance(insn, Gemm):
                self.gemm_uops += n
            else:
                self.alu_uops += n

    def retire(self):
        if self.current is None:
            return
        index, insn, t0 = self.current
        self.current = None
        tracer = self.top.tracer
        if tracer is not None:
            tracer.slice(self.name, f"[RTL] {self.top.disasm(insn)}", t0,
                         max(self.env.now - t0, 1), cat="insn", args={"index": index, "rtl": True})
        if self.name != "fetch":
            self.top.insn_done()

    def tick(self):
        """After each clocked cycle: busy accounting; a unit that went idle retired."""
        if self.busy:
            self.busy_cycles += 1
        elif self.current is not None:
            self.retire()

    def popped(self, qname):
        """The RTL popped a token of queue ``qname`` for its current instruction."""
        if qname in self.to_pop:
            self.to_pop.remove(qname)

    def blocked_on(self):
        """What the unit's current instruction waits for if it is a token that is not
        there (the RTL's TOK state; it pops all of them in one cycle), else None."""
        if self.current is None:
            return None
        for qname in self.to_pop:
            q = self.top.dep[qname]
            if not q.items:
                return q.pop_waits
        return None

    def state(self):
        if self.current is None:
            return None
        index, insn, _ = self.current
        waits = self.blocked_on()
        return (index, self.top.disasm(insn), (waits + " (RTL)") if waits else
                "running as RTL (waits on a full queue or memory)")

    def stats(self):
        return {"busy_cycles": int(self.busy_cycles), "stall_cycles": 0,
                "instructions": self.instructions, "rtl": True}


@block
def clock(clk, half):
    @always(delay(half))
    def tick():
        clk.next = not clk
    return tick


def clock_half(mhz):
    """(MyHDL time units per half clock period, VCD timescale) so that VCD time is real
    time: picoseconds when the half period is a whole number of them, else femtoseconds
    (rounded: at 333 MHz 0.5 fs a half period, 1 ns after a million cycles)."""
    half_ps = 5e5 / mhz
    if half_ps >= 1 and abs(half_ps - round(half_ps)) < 1e-9:
        return round(half_ps), "1ps"
    return max(1, round(5e8 / mhz)), "1fs"


@block
def mixed_rtl(top, units, clk, rst, start, finish, busy, proxies, half):
    """The refined units and their transactors, around the TLM ``top``. (Each unit's RTL
    is imported when refined: a mix that refines the GEMM core alone runs with an
    rtl/gemm.py whose new latency rtl/compute.py does not follow yet.)"""
    cfg, b = top.cfg, top.boundary
    insts = [clock(clk, half)]
    if "fetch" in units:
        from vta.rtl.fetch import fetch_unit
        rd0 = ReadPort(cfg.bus_bits)
        word = Signal(intbv(0)[INSN_BITS:])
        qs = {n: CommandQueue() for n in ("load", "compute", "store")}
        count = [0]
        insts += [fetch_unit(cfg, clk, rst, start, Signal(intbv(top.insn_base)[32:]),
                             Signal(intbv(top.insn_count)[32:]), busy.fetch, rd0, word,
                             qs["load"], qs["compute"], qs["store"]),
                  tx.dram_reader(b, clk, rd0, "fetch")]
        insts += [tx.cmd_sink(b, clk, qs[n], top.cmd[n], word, count, proxies["fetch"].took)
                  for n in qs]
    if "load" in units:
        from vta.rtl.load import load_unit
        lq, g2l, l2g, rd1 = CommandQueue(), TokenQueue(), TokenQueue(), ReadPort(cfg.bus_bits)
        inp_w = SramWrite(beats(cfg, cfg.inp_bytes), cfg.log_inp_depth, cfg.inp_bytes * 8)
        wgt_w = SramWrite(beats(cfg, cfg.wgt_bytes), cfg.log_wgt_depth, cfg.wgt_bytes * 8)
        insts += [load_unit(cfg, clk, rst, lq, g2l, l2g, rd1, inp_w, wgt_w, busy.load),
                  tx.cmd_source(b, clk, top.cmd["load"], lq, proxies["load"].took),
                  tx.token_source(b, clk, top.dep["g2l"], g2l, proxies["load"].popped),
                  tx.token_sink(b, clk, l2g, top.dep["l2g"]),
                  tx.dram_reader(b, clk, rd1, "load"),
                  tx.sram_writer(b, clk, inp_w, top.inp_buf, cfg.inp_bits, "inp"),
                  tx.sram_writer(b, clk, wgt_w, top.wgt_buf, cfg.wgt_bits, "wgt")]
    if "compute" in units:
        from vta.rtl.compute import compute_unit
        cq = CommandQueue()
        l2g, s2g, g2l, g2s = TokenQueue(), TokenQueue(), TokenQueue(), TokenQueue()
        rd2 = ReadPort(cfg.bus_bits)
        inp_r = SramRead(cfg.log_inp_depth, cfg.inp_bytes * 8)
        wgt_r = SramRead(cfg.log_wgt_depth, cfg.wgt_bytes * 8)
        out_w = SramWrite(1, cfg.log_out_depth, cfg.out_bytes * 8)
        insts += [compute_unit(cfg, clk, rst, start, cq, l2g, s2g, g2l, g2s, rd2, inp_r, wgt_r,
                               out_w, busy.compute, finish),
                  tx.cmd_source(b, clk, top.cmd["compute"], cq, proxies["compute"].took),
                  tx.token_source(b, clk, top.dep["l2g"], l2g, proxies["compute"].popped),
                  tx.token_source(b, clk, top.dep["s2g"], s2g, proxies["compute"].popped),
                  tx.token_sink(b, clk, g2l, top.dep["g2l"]),
                  tx.token_sink(b, clk, g2s, top.dep["g2s"]),
                  tx.dram_reader(b, clk, rd2, "compute"),
                  tx.sram_reader(b, clk, inp_r, top.inp_buf, cfg.inp_bits),
                  tx.sram_reader(b, clk, wgt_r, top.wgt_buf, cfg.wgt_bits),
                  tx.sram_writer(b, clk, out_w, top.compute.out, cfg.out_bits, "out")]
    if "gemm" in top.cores:
        insts.append(cores.gemm_feeder(top, clk, top.core_feeders["gemm"]))
    if "alu" in top.cores:
        insts.append(cores.alu_feeder(top, clk, top.core_feeders["alu"]))
    if "store" in units:
        from vta.rtl.store import store_unit
        sq, g2s, s2g, wr = CommandQueue(), TokenQueue(), TokenQueue(), WritePort(cfg.bus_bits)
        out_r = SramRead(cfg.log_out_depth, cfg.out_bytes * 8)
        idle = Signal(bool(0))
        insts += [store_unit(cfg, clk, rst, sq, g2s, s2g, wr, out_r, busy.store, idle),
                  tx.cmd_source(b, clk, top.cmd["store"], sq, proxies["store"].took),
                  tx.token_source(b, clk, top.dep["g2s"], g2s, proxies["store"].popped),
                  tx.token_sink(b, clk, s2g, top.dep["s2g"]),
                  tx.dram_writer(b, clk, wr),
                  tx.sram_reader(b, clk, out_r, top.compute.out, cfg.out_bits)]
    return insts


class MixedTlm(Tlm):
    """A Tlm whose ``units`` (a subset of fetch, load, compute, store) run as RTL."""

    def __init__(self, program, config=None, *, units=frozenset(), waves=None, **kw):
        if kw.get("sram_init") is not None and "compute" in units:
            raise ConfigError("--sram-init fills the TLM's buffers; an RTL compute unit has its "
                              "own acc and micro-op buffers (run without --sram-init)")
        super().__init__(program, config, **kw)
        check_units(units)
        self.refined = frozenset(u for u in units if u in UNITS)
        self.cores = frozenset(u for u in units if u in CORES)
        self.boundary = tx.Boundary(self)
        self.waves = Path(waves) if waves else None
        if self.cores:
            cores.refine_cores(self, self.cores)
        self.proxies = {}
        for name in self.refined:
            tlm_unit = getattr(self, name)
            proxy = RtlUnit(self, name, None, tlm_unit)
            self.proxies[name] = proxy
            setattr(self, name, proxy)
        self.units = tuple(getattr(self, n) for n in UNITS)
        self._sim = None

    def run(self):
        if not (self.refined or self.cores):
            return super().run()
        cfg = self.cfg
        clk = Signal(bool(0))
        rst = ResetSignal(1, active=1, isasync=False)
        start, finish, busy = Signal(bool(0)), Signal(bool(0)), BusyFlags()
        for name, proxy in self.proxies.items():
            proxy.busy = getattr(busy, name)
        self._signals = (clk, rst, start, finish)
        half, timescale = clock_half(cfg.clock_mhz)
        self._period = 2 * half
        rtl = mixed_rtl(self, self.refined, clk, rst, start, finish, busy, self.proxies, half)
        if self.waves is not None:
            self.waves.parent.mkdir(parents=True, exist_ok=True)
            rtl.config_sim(trace=True, name=self.waves.stem, directory=str(self.waves.parent),
                           timescale=timescale)
        self._sim = Simulation(rtl)
        try:
            self._sim.run(RESET_CYCLES * self._period, quiet=1)
            rst.next = 0
            start.next = 1
            self.env.process(self._stepper())   # its first step: the end of cycle 0
            return super().run()
        finally:
            self._sim.quit()
            if self.waves is not None:
                align_vcd(self.waves, RESET_CYCLES * self._period)

    def _idle(self):
        """Every RTL unit idle with nothing to do and nothing in flight."""
        if self.boundary.pending:
            return False
        for name, proxy in self.proxies.items():
            if proxy.busy:
                return False
            if name != "fetch" and self.cmd[name].items:
                return False
        return True

    def _stuck(self):
        """Nothing in flight and every busy RTL unit waits for a token that is not there
        (with the TLM idle too, nobody will push it: a deadlock)."""
        if self.boundary.pending:
            return False
        return all(not p.busy or p.blocked_on() is not None for p in self.proxies.values())

    def _stepper(self):
        env, sim, b, period = self.env, self._sim, self.boundary, self._period
        clk, rst, start, finish = self._signals
        proxies = tuple(self.proxies.values())
        compute_rtl = "compute" in self.refined
        quiet = 0          # cycles without a handshake while the TLM had nothing scheduled
        first = True
        while True:
            if not first and self._idle() and self.waves is None:
                if env.peek() == math.inf:
                    return     # nothing can change any more: finished, or the TLM deadlocked
                yield Late(env, 1)
                continue
            before = b.activity
            sim.run(period, quiet=1)
            if first:
                start.next = 0
                first = False
            for p in proxies:
                p.tick()
            if compute_rtl and finish and self.finish_cycle is None:
                self.finish(None)
            if b.activity == before and env.peek() == math.inf:
                quiet += 1
                if quiet > STUCK_CYCLES or self._stuck():
                    return
            else:
                quiet = 0
            yield Late(env, 1)


def align_vcd(path, offset):
    """Shift the VCD's times by -``offset`` (the reset cycles before TLM cycle 0): the
    reset values land at time 0. Streams the file (a long run's VCD can be large)."""
    path = Path(path)
    if not path.exists():
        return
    tmp = path.with_name(path.name + ".tmp")
    last = None
    with path.open() as src, tmp.open("w") as dst:
        for line in src:
            if line.startswith("#") and line[1:].strip().isdigit():
                t = max(0, int(line[1:]) - offset)
                if t == last:
                    continue
                last = t
                line = f"#{t}\n"
            dst.write(line)
    tmp.replace(path)


def run_mixed(program, config=None, *, rtl=None, waves=None, trace=None, progress=False, **kw):
    """Run ``program`` with the units in ``rtl`` as RTL (default: the config's ``refine:``
    section) and return a TlmResult whose stats name them (``stats['refined']``).
    ``waves``: a VCD path for the RTL units' signals, on the trace's time base. Other
    keywords as vta.tlm.run_program."""
    cfg = load_config(config) if config is not None else program.config
    units = cfg.refined if rtl is None else frozenset(rtl)
    bar, cb, detail = progress_bar(program, progress)
    tlm = MixedTlm(program, cfg, units=units, waves=waves, trace=bool(trace), progress=cb,
                   detail=detail, **kw)
    refined = sorted(tlm.refined | tlm.cores)
    result = run_with_bar(tlm, bar, trace, {"rtl_units": refined})
    result.stats["refined"] = refined
    return result
