"""A JIT runtime for VTA: a Python command stream that becomes a :class:`vta.isa.Program`.

In the spirit of Apache VTA's runtime (``runtime.cc``), with the dependence tokens
computed rather than written by hand:

* **DRAM buffers**: :meth:`Runtime.alloc` places a tiled array as a segment with a role
  (input, weight, bias, output); instructions address it by element offset.
* **Emission**: :meth:`load`, :meth:`gemm`, :meth:`alu`, :meth:`store` append instructions
  in program order and record the buffer regions (SRAM entries, DRAM bytes) each one
  reads and writes.
* **Micro-kernels**: :meth:`kernel` returns a uop block cached by signature. A kernel is
  stored once in DRAM; a LOAD UOP is issued only when it is not resident in the uop buffer
  (kernels are placed one after another and the buffer is flushed when full).
* **Tokens**: :meth:`finish` runs a pass over the instructions in program order. For each
  instruction B and each other stage X it finds the latest instruction A of X whose regions
  conflict with B's (read-after-write, write-after-read, write-after-write). If B's stage
  does not already know (transitively, through earlier pops) that A completed, A pushes a
  token on the X->B queue and B pops it. Load and store have no queue between them: such a
  dependence is relayed through a compute no-op (a LOAD UOP of size 0), as Apache VTA does.
  FINISH pops from load and store so that it completes last.

Why this cannot deadlock: every pop matches a push made by an instruction earlier in
program order (queues are FIFO and pushes/pops are created in matching order), so running
the instructions one by one in program order is a valid schedule; the pass also checks that
in that order no token queue holds more than ``queues.dep_depth`` tokens, which keeps the
earliest unexecuted instruction always able to run. Why it cannot race: every pair of
instructions of different stages that touch the same region is ordered by a chain of tokens.

Virtual threads (double buffering) are a way of using the buffers, not a mode of the pass:
:meth:`Runtime.regions` splits a buffer into equal parts that an operator uses in turn, and
the pass then lets loads into one part overlap compute on the other.

Running the program is the caller's business (an executor, e.g. ``vta.tlm.run_program``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from vta.isa import (INSN_BYTES, MEM_ACC, MEM_INP, MEM_OUT, MEM_UOP, MEM_WGT, Alu, ConfigError,
                     Finish, Gemm, Load, Program, Segment, Store, Uop, first_out_of_range,
                     loop_indices)

from .builder import PAGE, ROLE_MEM, _align

STAGES = ("load", "compute", "store")
# (from stage, to stage) -> (flag the producer sets, flag the consumer sets)
QUEUES = {("load", "compute"): ("push_next", "pop_prev"),
          ("compute", "load"): ("push_prev", "pop_next"),
          ("compute", "store"): ("push_next", "pop_prev"),
          ("store", "compute"): ("push_prev", "pop_next")}
_SPACE = {MEM_INP: "inp", MEM_WGT: "wgt", MEM_ACC: "acc", MEM_OUT: "out", MEM_UOP: "uop"}
DATA_BASE = 0x1000


class RuntimeError_(ConfigError):
    """A command stream the runtime cannot turn into a program (named for clarity in
    messages; it is a ConfigError so command-line tools report it as bad input)."""


@dataclass(frozen=True)
class Buffer:
    """A DRAM buffer: a segment plus its element size (what ``dram_base`` counts)."""
    segment: Segment
    mem_type: int
    elem_bytes: int

    @property
    def name(self):
        return self.segment.name

    @property
    def first(self):
        """Element address (``dram_base``) of the buffer's first element."""
        return self.segment.base // self.elem_bytes


@dataclass(frozen=True)
class Kernel:
    """A cached micro-op block: its uops and where they live in DRAM (index into the
    program's uop list)."""
    signature: object
    uops: tuple
    dram_index: int

    def __len__(self):
        return len(self.uops)

    @functools.cached_property
    def array(self):
        """The uops as an (n, 3) int64 array (read-only: a kernel is shared by every
        instruction that runs it), made once."""
        a = np.array(self.uops, dtype=np.int64).reshape(-1, 3)
        a.flags.writeable = False
        return a


@dataclass
class _Rec:
    """One emitted instruction and the regions it touches: lists of (space, lo, hi)."""
    insn: object
    stage: str
    reads: list
    writes: list
    uop_kernel: Kernel = None    # LOAD UOP: patched with the DRAM address at finish


def stage_of(insn):
    if isinstance(insn, Load) and insn.memory_type in (MEM_INP, MEM_WGT):
        return "load"
    return "store" if isinstance(insn, Store) else "compute"


def _overlap(a, b):
    # loops, not any() over a generator: the token pass calls this ~200,000 times on ResNet-18
    for sa, la, ha in a:
        for sb, lb, hb in b:
            if sa == sb and la < hb and lb < ha:
                return True
    return False


def _conflict(a, b):
    return _overlap(a.writes, b.writes) or _overlap(a.writes, b.reads) or _overlap(a.reads, b.writes)


def _triples(uops):
    """``uops`` as a tuple of (dst, src, wgt) tuples of Python ints. Large kernels come as
    arrays: their conversion is one tolist() (an element-wise int() cost ResNet-18's
    compilation ~1 s)."""
    if isinstance(uops, np.ndarray):
        if uops.ndim != 2 or uops.shape[1] != 3 or uops.dtype.kind not in "iu":
            raise RuntimeError_(f"micro-ops as an array must be (n, 3) integers, not "
                                f"{uops.shape} {uops.dtype}")
        return tuple(map(tuple, uops.tolist()))
    return tuple(tuple(int(v) for v in u) for u in uops)


def _span(space, idx):
    """The range (space, lo, hi) covering the indices ``idx`` (empty list if none)."""
    return [(space, int(idx.min()), int(idx.max()) + 1)] if idx.size else []


class Runtime:
    """Command stream for one program on one config. ``name`` names the Program."""

    def __init__(self, cfg, name="runtime"):
        self.cfg, self.name = cfg, name
        self.recs, self.segments = [], []
        self.uops = []                   # every kernel's uops, as stored in DRAM
        self._kernels = {}               # signature -> Kernel
        self._resident = {}              # signature -> uop buffer entry
        self._uop_next = 0               # next free uop buffer entry
        self._next = DATA_BASE
        self.stats = {"uop_loads": 0, "kernel_hits": 0, "noops": 0, "tokens": 0}

    # ---- DRAM buffers --------------------------------------------------------------------------
    def alloc(self, name, data, role):
        """Place ``data`` (already in the tiled layout VTA reads) as a segment with ``role``."""
        if role not in ROLE_MEM:
            raise RuntimeError_(f"buffer '{name}': role '{role}' is not one of {', '.join(ROLE_MEM)}")
        mem = ROLE_MEM[role]
        eb = self.cfg.elem_bytes(mem)
        data = np.ascontiguousarray(data)
        if data.nbytes % eb:
            raise RuntimeError_(f"buffer '{name}': {data.nbytes} bytes are not a whole number of "
                                f"{eb}-byte {role} elements")
        base = _align(self._next, max(PAGE, eb))
        seg = Segment(name, base, data, role)
        self.segments.append(seg)
        self._next = _align(base + seg.nbytes, PAGE)
        return Buffer(seg, mem, eb)

    def regions(self, mem_type, parts):
        """Split on-chip buffer ``mem_type`` into ``parts`` equal regions: [(base, size)].
        With 2 parts an operator alternates between them (virtual threads)."""
        size = self.cfg.depth(mem_type) // parts
        return [(p * size, size) for p in range(parts)]

    # ---- emission ---------------------------------------------------------------------------------
    def _emit(self, insn, reads, writes, kernel=None):
        self.recs.append(_Rec(insn, stage_of(insn), reads, writes, kernel))
        return insn

    @staticmethod
    def _dram_rows(buf, offset, y, x, stride):
        lo = (buf.first + offset) * buf.elem_bytes
        hi = (buf.first + offset + (y - 1) * stride + x) * buf.elem_bytes
        if y and x and hi > buf.segment.end:
            raise RuntimeError_(f"buffer '{buf.name}': a {y}x{x} access at element {offset} "
                                f"(stride {stride}) runs past its end")
        return [("dram", lo, hi)] if y and x else []

    def load(self, buf, sram_base, *, offset=0, y_size=1, x_size=1, x_stride=None, pads=(0, 0, 0, 0)):
        """LOAD ``y_size`` rows of ``x_size`` elements of ``buf`` (from element ``offset``,
        rows ``x_stride`` apart) into on-chip entries from ``sram_base``; ``pads`` =
        (y_pad_0, y_pad_1, x_pad_0, x_pad_1) zero entries (INP and ACC only)."""
        if buf.mem_type == MEM_OUT:
            raise RuntimeError_(f"buffer '{buf.name}' is an output: it can be stored, not loaded")
        x_stride = x_size if x_stride is None else x_stride
        yp0, yp1, xp0, xp1 = pads
        n = (yp0 + y_size + yp1) * (xp0 + x_size + xp1)
        insn = Load(memory_type=buf.mem_type, sram_base=sram_base, dram_base=buf.first + offset,
                    y_size=y_size, x_size=x_size, x_stride=x_stride, y_pad_0=yp0, y_pad_1=yp1,
                    x_pad_0=xp0, x_pad_1=xp1)
        self._check_range(buf.mem_type, sram_base, n, "LOAD")
        return self._emit(insn, self._dram_rows(buf, offset, y_size, x_size, x_stride),
                          [(_SPACE[buf.mem_type], sram_base, sram_base + n)])

    def store(self, buf, sram_base, *, offset=0, y_size=1, x_size=1, x_stride=None):
        """STORE ``y_size * x_size`` out entries from ``sram_base`` to ``buf``."""
        if buf.mem_type != MEM_OUT:
            raise RuntimeError_(f"buffer '{buf.name}' has role '{buf.segment.role}': only output "
                                "buffers can be stored to")
        x_stride = x_size if x_stride is None else x_stride
        n = y_size * x_size
        self._check_range(MEM_OUT, sram_base, n, "STORE")
        insn = Store(memory_type=MEM_OUT, sram_base=sram_base, dram_base=buf.first + offset,
                     y_size=y_size, x_size=x_size, x_stride=x_stride)
        return self._emit(insn, [("out", sram_base, sram_base + n)],
                          self._dram_rows(buf, offset, y_size, x_size, x_stride))

    def _check_range(self, mem, base, n, what):
        depth = self.cfg.depth(mem)
        if base < 0 or base + n > depth:
            raise RuntimeError_(f"{what} {_SPACE[mem]} entries [{base}, {base + n}) lie outside "
                                f"the {depth}-entry buffer")

    def kernel(self, uops, signature=None):
        """The cached micro-kernel of ``uops`` ((dst, src, wgt) triples, or an (n, 3)
        integer array); ``signature`` (default: the uops themselves) is the cache key."""
        uops = _triples(uops)
        key = uops if signature is None else signature
        k = self._kernels.get(key)
        if k is None:
            if not uops:
                raise RuntimeError_("a micro-kernel needs at least one micro-op")
            if len(uops) > self.cfg.uop_depth:
                raise RuntimeError_(f"a micro-kernel of {len(uops)} micro-ops does not fit the "
                                    f"{self.cfg.uop_depth}-entry uop buffer")
            k = Kernel(key, uops, len(self.uops))
            self.uops.extend(Uop(*u) for u in uops)
            self._kernels[key] = k
        elif k.uops != uops:
            raise RuntimeError_(f"micro-kernel signature {key!r} is already used by other micro-ops")
        return k

    def _bind(self, k):
        """Uop buffer entry of kernel ``k``, issuing a LOAD UOP if it is not resident."""
        at = self._resident.get(k.signature)
        if at is not None:
            self.stats["kernel_hits"] += 1
            return at
        if self._uop_next + len(k) > self.cfg.uop_depth:   # full: start over (in-order, so safe)
            self._resident.clear()
            self._uop_next = 0
        at = self._uop_next
        self._uop_next += len(k)
        self._resident[k.signature] = at
        self.stats["uop_loads"] += 1
        insn = Load(memory_type=MEM_UOP, sram_base=at, dram_base=0, y_size=1, x_size=len(k),
                    x_stride=len(k))
        self._emit(insn, [], [("uop", at, at + len(k))], kernel=k)
        return at

    def _loop(self, cls, k, loop, **fields):
        at = self._bind(k)
        loop = {"iter_out": 1, "iter_in": 1, **loop}
        insn = cls(uop_bgn=at, uop_end=at + len(k), **loop, **fields)
        if insn.iter_out < 1 or insn.iter_in < 1:
            raise RuntimeError_(f"{insn.mnemonic}: iter_out and iter_in must be at least 1")
        return insn, k.array

    def gemm(self, k, *, reset=False, **loop):
        """GEMM over kernel ``k`` with loop fields ``loop`` (iter_out, iter_in,
        {dst,src,wgt}_factor_{out,in})."""
        insn, u = self._loop(Gemm, k, loop, reset=reset)
        cfg = self.cfg
        dst, src, wgt = loop_indices(insn, [("dst", u[:, 0], cfg.acc_depth), ("src", u[:, 1], cfg.inp_depth),
                                            ("wgt", u[:, 2], cfg.wgt_depth)])
        self._check_loop(insn, u, {"dst": (0, cfg.acc_depth), "src": (1, cfg.inp_depth),
                                   "wgt": (2, cfg.wgt_depth)})
        # reset GEMMs still read inp/wgt: out receives acc + inp @ wgt^T
        return self._emit(insn, _span("inp", src) + _span("wgt", wgt),
                          _span("acc", dst) + _span("out", dst))

    def alu(self, k, op, *, imm=None, **loop):
        """ALU ``op`` (an ALU_* opcode) over kernel ``k``; with ``imm`` vector-scalar."""
        insn, u = self._loop(Alu, k, loop, alu_opcode=op, use_imm=imm is not None,
                             imm=0 if imm is None else int(imm))
        cfg = self.cfg
        self._check_loop(insn, u, {"dst": (0, cfg.acc_depth), "src": (1, cfg.acc_depth)})
        dst, src = loop_indices(insn, [("dst", u[:, 0], cfg.acc_depth), ("src", u[:, 1], cfg.acc_depth)])
        reads = [] if imm is not None else _span("acc", src)
        return self._emit(insn, reads, _span("acc", dst) + _span("out", dst))

    def _check_loop(self, insn, u, operands):
        # out-of-range indices would wrap on hardware and be an error on the TLM: refuse them here
        for name, (col, depth) in operands.items():
            bad = first_out_of_range(insn, name, u[:, col], depth)
            if bad is not None:
                raise RuntimeError_(f"{insn.mnemonic}: {name} index {bad[3]} (i={bad[0]}, j={bad[1]}, "
                                    f"uop {bad[2]}) is outside the {depth}-entry buffer")

    # ---- the token pass ---------------------------------------------------------------------------
    def _schedule(self):
        """Insert dependence tokens (and relay no-ops); returns the final instruction list."""
        out, flags, after = [], [], []     # final records, their flags, their knowledge when done
        last = {s: -1 for s in STAGES}     # index in `out` of each stage's latest instruction
        mine = {s: [] for s in STAGES}     # indices in `out` of each stage's instructions
        # known[s][x]: stage s knows that instructions of stage x up to this index completed
        known = {s: {x: -1 for x in STAGES} for s in STAGES}

        def append(rec, pops):
            """Add ``rec``; ``pops`` = {stage: index of the instruction it must wait for}."""
            b, s = len(out), rec.stage
            out.append(rec)
            flags.append(set())
            for x, a in pops.items():
                if a > known[s][x]:                 # not yet known, even transitively
                    push, pop = QUEUES[(x, s)]
                    flags[a].add(push)
                    flags[b].add(pop)
                    self.stats["tokens"] += 1
                    for y in STAGES:
                        known[s][y] = max(known[s][y], after[a][y])
            last[s] = known[s][s] = b
            mine[s].append(b)
            after.append(dict(known[s]))
            return b

        def latest_conflict(x, rec, bound):
            """The latest instruction of stage ``x`` after index ``bound`` that conflicts
            with ``rec`` (None if none)."""
            for i in reversed(mine[x]):
                if i <= bound:
                    return None
                if _conflict(out[i], rec):
                    return i
            return None

        for rec in list(self.recs) + [_Rec(Finish(), "compute", [], [])]:
            s = rec.stage
            if isinstance(rec.insn, Finish):        # FINISH completes after everything else
                need = {x: last[x] for x in STAGES if x != s and last[x] >= 0}
            else:
                need = {}
                for x in STAGES:
                    if x != s:
                        a = latest_conflict(x, rec, known[s][x])
                        if a is not None:
                            need[x] = a
            for x in [x for x in need if (x, s) not in QUEUES]:
                a = need.pop(x)                     # load <-> store: relay through compute
                if known[s][x] >= a:
                    continue
                if known["compute"][x] < a:
                    noop = Load(memory_type=MEM_UOP, sram_base=0, dram_base=0, y_size=0, x_size=0,
                                x_stride=0)
                    append(_Rec(noop, "compute", [], []), {x: a})
                    self.stats["noops"] += 1
                need["compute"] = max(need.get("compute", -1), last["compute"])
            append(rec, need)
        self._check_depth(out, flags)
        insns = []
        for rec, f in zip(out, flags):
            insn = rec.insn.replace(**{flag: True for flag in f}) if f else rec.insn   # frozen
            if rec.uop_kernel is not None:
                insn = insn.replace(dram_base=self._uop_base // self.cfg.uop_bytes + rec.uop_kernel.dram_index)
            insns.append(insn)
        return insns

    def _check_depth(self, out, flags):
        """In program order, no token queue may hold more than queues.dep_depth tokens (then
        the earliest instruction not yet run can always run: no deadlock)."""
        depth, held = self.cfg.dep_queue_depth, {q: 0 for q in QUEUES}
        for rec, f in zip(out, flags):
            for q, (push, pop) in QUEUES.items():
                if q[1] == rec.stage and pop in f:
                    held[q] -= 1
            for q, (push, pop) in QUEUES.items():
                if q[0] == rec.stage and push in f:
                    held[q] += 1
                    if held[q] > depth:
                        raise RuntimeError_(f"program '{self.name}' would hold more than {depth} "
                                            f"{q[0]}->{q[1]} tokens (queues.dep_depth) at once")

    def finish(self, expect=None):
        """The Program of everything emitted so far, with tokens and a FINISH."""
        self._uop_base = _align(self._next, PAGE)
        insn_base = _align(self._uop_base + self.cfg.uop_bytes * max(1, len(self.uops)), PAGE)
        insns = self._schedule()
        if insn_base + INSN_BYTES * len(insns) > self.cfg.dram_bytes:
            raise RuntimeError_(f"program '{self.name}' does not fit the {self.cfg.dram_bytes >> 20} MiB DRAM")
        prog = Program(config=self.cfg, insns=insns, uops=list(self.uops), segments=list(self.segments),
                       insn_base=insn_base, uop_base=self._uop_base, expect=dict(expect or {}),
                       name=self.name)
        return prog.validate()


def outputs_of(result):
    """Output segments from an executor's result: a dict, or an object with ``.outputs``
    (such as the TLM's TlmResult)."""
    return result if isinstance(result, dict) else result.outputs
