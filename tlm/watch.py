"""What a run watches besides the model itself: its cycle and wall-time limits, and the
accesses whose results depend on state the program did not set up (warnings).

Limits: ``max_cycles`` and ``timeout`` (seconds) stop a run with a LimitError naming the
instructions that were running. A GEMM/ALU's cycle cost is known from its loop bounds,
so compute checks it before doing the work; the wall time is checked between
instructions and between the vector chunks of one long instruction.

Warnings (``strict`` makes the first one an error):
* a DRAM access outside every declared region (segments, instructions, micro-ops);
* a DRAM write into the instruction or micro-op area;
* a read of an SRAM entry (inp, wgt, acc, out, uop) that no instruction of this run
  wrote: its value is whatever the buffer held before (``sram_init`` fills them).
Written entries are tracked with one boolean mask per buffer (numpy, no Python loops).
"""
from __future__ import annotations

import bisect
import time

import numpy as np

from vta.isa import INSN_BYTES, UOP_BYTES

from .errors import LimitError, ProgramError

DEFAULT_MAX_CYCLES = 10 ** 9
DEFAULT_TIMEOUT = 3600.0          # seconds of host time
MAX_SHOWN_WARNINGS = 20           # more are counted, not listed
BUFFERS = ("uop", "inp", "wgt", "acc", "out")


def parse_sram_init(text):
    """'zero', 'random' or a seed (an integer >= 0) -> "zero" or a seed (int).

    'random' draws a seed (printed by the CLIs, so the run can be repeated)."""
    t = str(text).strip().lower()
    if t in ("zero", "zeros"):
        return "zero"
    if t == "random":
        return int(np.random.SeedSequence().entropy % (1 << 32))
    try:
        seed = int(t, 0)
    except ValueError:
        raise ValueError(f"expected zero, random or a seed (integer >= 0), found {str(text)[:40]!r}") \
            from None
    if seed < 0:
        raise ValueError(f"a seed must be >= 0, found {seed}")
    return seed


def sram_fill(cfg, seed):
    """{buffer: int64 array (depth, lanes)} of every SRAM's contents for ``--sram-init``.

    "zero": all zeros. A seed: defined so another model can reproduce it: ``numpy.random.default_rng(seed)``, then
    for each buffer in BUFFERS order ``rng.integers(0, 2**bits, size=(depth, lanes),
    dtype=uint64)`` with the element's bits and lanes (uop: one 32-bit word per entry),
    read as signed for inp, wgt, acc, out (two's complement)."""
    rng = None if seed == "zero" else np.random.default_rng(seed)
    layout = {"uop": (cfg.uop_depth, 1, 32),
              "inp": (cfg.inp_depth, cfg.batch * cfg.block_in, cfg.inp_bits),
              "wgt": (cfg.wgt_depth, cfg.block_out * cfg.block_in, cfg.wgt_bits),
              "acc": (cfg.acc_depth, cfg.batch * cfg.block_out, cfg.acc_bits),
              "out": (cfg.out_depth, cfg.batch * cfg.block_out, cfg.out_bits)}
    out = {}
    for name in BUFFERS:
        depth, lanes, bits = layout[name]
        if seed == "zero":
            out[name] = np.zeros((depth, lanes), dtype=np.int64)
            continue
        raw = rng.integers(0, 1 << bits, size=(depth, lanes), dtype=np.uint64).astype(np.int64)
        if name != "uop":
            raw = np.where(raw >= 1 << (bits - 1), raw - (1 << bits), raw)
        out[name] = raw
    return out


def _all(mask):
    """mask.all() of a boolean array, ~3x cheaper on the short ones of every instruction
    (count_nonzero is one C call; .all() goes through numpy's Python reduction wrapper)."""
    return np.count_nonzero(mask) == mask.size


class Watch:
    """Limits and warnings of one Tlm run (see the module docstring)."""

    def __init__(self, top, max_cycles=DEFAULT_MAX_CYCLES, timeout=DEFAULT_TIMEOUT, strict=False):
        for name, v in (("max_cycles", max_cycles), ("timeout", timeout)):
            if not (v is None or v > 0):   # refuses NaN too
                raise ValueError(f"{name} must be positive (or None: no limit), not {v!r}")
        self.top, self.timeout, self.strict = top, timeout, strict
        self.max_cycles = float("inf") if max_cycles is None else max_cycles
        self.deadline = None
        self.warnings = []        # messages, at most MAX_SHOWN_WARNINGS
        self.warning_count = 0
        self._seen = set()        # (kind, instruction index): one warning each
        cfg, prog = top.fast_cfg, top.program   # (its values computed once per Config)
        self.written = {name: np.zeros(getattr(cfg, f"{name}_depth"), dtype=bool) for name in BUFFERS}
        code = [(prog.insn_base, prog.insn_base + INSN_BYTES * len(prog.insns), "instructions")]
        if prog.uops:
            code.append((prog.uop_base, prog.uop_base + UOP_BYTES * len(prog.uops), "micro-ops"))
        self.code = code
        regions = sorted(code + [(s.base, s.end, f"segment '{s.name}'") for s in prog.segments])
        self._starts = [r[0] for r in regions]
        self._regions = regions
        self._hit = regions[0]    # the last region an access fell in (the common case)

    # ---- limits ---------------------------------------------------------------------
    def start(self):
        if self.timeout is not None:
            self.deadline = time.perf_counter() + self.timeout

    def check_time(self):
        """Raise LimitError once the wall-time limit has passed."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise self.limit_error(f"the run took longer than the time limit of {self.timeout:g} s "
                                   "(raise it with --timeout)")

    def check_cost(self, unit, index, insn, cycles):
        """Refuse an instruction that would end past max_cycles, before doing its work."""
        end = unit.env.now + cycles
        if end > self.max_cycles:
            raise LimitError(f"would run until cycle {end:,}, past the limit of "
                             f"{self.max_cycles:,} cycles (raise it with --max-cycles)",
                             stage=unit.name, index=index, text=unit.text(index, insn),
                             cycle=unit.env.now)

    def limit_error(self, what):
        running = [(u.name, u.current[0], u.text(*u.current)) for u in self.top.units
                   if u.current is not None]
        if running:
            where = "; ".join(f"{s} instruction {i} ({t})" for s, i, t in running)
            what += f"; running: {where}"
        return LimitError(what, cycle=self.top.env.now)

    # ---- warnings ---------------------------------------------------------------------
    def warn(self, kind, unit, message):
        """Record a warning (once per kind and instruction); raise it under ``strict``."""
        index, insn = unit.current if unit.current is not None else (None, None)
        key = (kind, index)
        if key in self._seen:
            return
        self._seen.add(key)
        if self.strict:
            raise ProgramError(f"{message} (an error with --strict)", stage=unit.name, index=index,
                               text=unit.text(index, insn) if insn is not None else None,
                               cycle=unit.env.now)
        self.warning_count += 1
        if len(self.warnings) < MAX_SHOWN_WARNINGS:
            where = f"{unit.name}: instruction {index} ({unit.text(index, insn)}): " if insn else ""
            self.warnings.append(f"{where}{message}")

    def covers(self, addr, end, write=False):
        """True if [addr, end) lies in one declared region (for a write, not the
        instructions' or micro-ops'): an access anywhere in it would pass dram_access
        without a warning (regions do not overlap: Program.validate). That region
        becomes _hit, as dram_access would make it (_hit is only a shortcut)."""
        hit = self._hit
        if not (hit[0] <= addr and end <= hit[1]):
            i = bisect.bisect_right(self._starts, addr) - 1
            if i < 0 or end > self._regions[i][1]:
                return False
            hit = self._hit = self._regions[i]
        return not (write and hit in self.code)

    def dram_access(self, unit, addr, nbytes, write):
        """Warn about an access outside the declared regions or a write over the code."""
        end = addr + nbytes
        b, e, _ = self._hit
        if (b <= addr and end <= e and not write) or nbytes <= 0 or unit.name == "fetch":
            return
        if write:
            for b, e, what in self.code:
                if addr < e and b < end:
                    self.warn("code-write", unit, f"writes DRAM [{addr:#x}, {end:#x}), over the "
                              f"{what} [{b:#x}, {e:#x})")
                    return
        # Covered if consecutive regions span [addr, end) without a gap.
        i = bisect.bisect_right(self._starts, addr) - 1
        pos = addr
        while i >= 0 and i < len(self._regions) and pos < end:
            b, e, _ = self._regions[i]
            if b > pos:
                break
            if b <= addr and end <= e:
                self._hit = self._regions[i]
            pos = max(pos, e)
            i += 1
        if pos < end:
            verb = "writes" if write else "reads"
            self.warn("outside", unit, f"{verb} DRAM [{addr:#x}, {end:#x}), outside every declared "
                      f"segment (byte {pos:#x} is in none)")

    def wrote(self, buf, idx):
        self.written[buf][idx] = True

    def read(self, buf, idx, unit, written_before=None):
        """Warn if an entry in ``idx`` was never written. ``written_before[p]`` (optional)
        says position p's entry was written earlier by the same instruction."""
        seen = self.written[buf][idx]
        if written_before is None and _all(seen):   # the common case
            return
        fresh = ~seen
        if written_before is not None:
            fresh &= ~written_before
        if fresh.any():
            bad = np.asarray(idx)[fresh]
            n = np.unique(bad).size
            self.warn(f"sram-{buf}", unit, f"reads {n} {buf} buffer entr{'y' if n == 1 else 'ies'} "
                      f"no instruction of this run wrote (first: {buf}[{int(bad[0])}]); the result "
                      "depends on what the buffer held before")

    # ---- GEMM / ALU chunks: reads checked against the masks before the chunk's writes ----
    def gemm_chunk(self, unit, reset, dst, src, wgt):
        w = self.written
        if reset:
            # acc becomes 0; out gets acc + product, defined only if all three were written
            # (the read itself is harmless until such an out entry is stored).
            w["out"][dst] = w["acc"][dst] & w["inp"][src] & w["wgt"][wgt]
        else:
            self.read("inp", src, unit)
            self.read("wgt", wgt, unit)
            self._read_acc(dst, (dst,), unit)
            w["out"][dst] = True
        w["acc"][dst] = True

    def alu_chunk(self, unit, dst, src):
        """``src`` is None for an immediate operand."""
        self._read_acc(dst, (dst,) if src is None else (dst, src), unit)
        self.written["acc"][dst] = True
        self.written["out"][dst] = True

    def _read_acc(self, dst, queries, unit):
        """Reads of acc[query[p]] for each query array, where an earlier execution q < p of
        this chunk that wrote dst[q] == query[p] counts as a write."""
        mask = self.written["acc"]
        if all(_all(mask[q]) for q in queries):
            return
        u, first = np.unique(dst, return_index=True)
        pos = np.arange(dst.size)
        earlier = []
        for q in queries:
            at = np.minimum(np.searchsorted(u, q), u.size - 1)
            earlier.append((u[at] == q) & (first[at] < pos))
        self.read("acc", np.concatenate(queries), unit, np.concatenate(earlier))
