"""Compute unit: micro-op, accumulator and output buffers; UOP and ACC loads; GEMM; ALU.

Every GEMM/ALU instruction is executed over its whole loop nest with numpy, in
chunks of a few thousand micro-op executions applied in program order:

* GEMM: products are computed per distinct weight tile as one matrix product (float64
  is exact here: |sum| < 2**37). Several executions hitting the same dst are summed
  per dst (sequential semantics of += modulo 2**acc_bits); with ``reset`` only the last
  hit of each dst decides ``out`` and acc becomes 0.
* ALU: results depend on order when an execution reads an entry an earlier one wrote.
  The chunk is split into order-preserving runs in which no entry is written twice and
  nothing written earlier in the run is read; each run is one vectorized step.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from simpy.events import Timeout

from vta.isa import (ALU_ADD, ALU_MAX, ALU_MIN, ALU_SHR, MEM_ACC, MEM_UOP, Alu, Finish, Gemm, Load,
                     alu_apply, first_out_of_range, loop_indices, truncate, uop_range,
                     wrap_signed)

from .dram import lazy_zeros
from .load import load_2d, sram_indices
from .unit import Unit, advance


def _chunk_size(cfg):
    # Executions per vector step: bounded so the gathered operand tiles stay ~16 MiB.
    lanes = cfg.block_out * cfg.block_in + cfg.batch * (cfg.block_in + cfg.block_out)
    return max(1024, min(1 << 17, (1 << 21) // lanes))

_USE_WRAP_PROBLEMS = ("uop_end", "empty or reversed")


class Compute(Unit):
    """Executes the compute command queue: LOAD UOP/ACC, GEMM, ALU, FINISH."""

    name = "compute"

    def __init__(self, top):
        super().__init__(top)
        cfg = self.cfg
        self.uop_dst = np.zeros(cfg.uop_depth, dtype=np.int64)
        self.uop_src = np.zeros(cfg.uop_depth, dtype=np.int64)
        self.uop_wgt = np.zeros(cfg.uop_depth, dtype=np.int64)
        self.acc = lazy_zeros((cfg.acc_depth, cfg.batch, cfg.block_out), np.int64)
        self.out = lazy_zeros((cfg.out_depth, cfg.batch, cfg.block_out), np.int64)
        self.gemm_uops = 0      # micro-op executions (each one BATCH x BLOCK_IN x BLOCK_OUT MACs)
        self.alu_uops = 0
        self.gemm_cycles = 0
        self.alu_cycles = 0
        self.chunk = _chunk_size(cfg)
        self._isa = cfg.fingerprint

    # ---- the process -----------------------------------------------------------------
    def run(self):
        top, t = self.top, self.timing
        overhead = t["insn_overhead"]
        cmd, dep = top.cmd["compute"], top.dep
        while True:
            item = cmd.get_now()   # (the queues' *_now: no generator when they need not wait)
            if item is None:
                item = yield from self.next_command(cmd)
            index, insn = item
            self.begin(index, insn)
            problems = self.cfg.facts(insn)[0]
            if top.wrap:
                problems = [p for p in problems if not p.startswith(_USE_WRAP_PROBLEMS)]
            if problems:
                raise self.error("; ".join(problems), index, insn)
            if insn.pop_prev and not dep["l2g"].pop_now():
                yield from self.pop_token("l2g")
            if insn.pop_next and not dep["s2g"].pop_now():
                yield from self.pop_token("s2g")
            if isinstance(insn, Load):
                if overhead:
                    if not advance(self.env, overhead):
                        yield Timeout(self.env, overhead)
                if insn.memory_type == MEM_UOP:
                    yield from self.load_uops(index, insn)
                else:
                    idx, vals = yield from load_2d(self, index, insn, MEM_ACC, padded=True)
                    self.acc[idx] = vals.reshape(-1, self.cfg.batch, self.cfg.block_out)
                    top.watch.wrote("acc", idx)
            elif isinstance(insn, (Gemm, Alu)):
                self._check_cost(index, insn, overhead)
                yield from self.loop_insn(index, insn, overhead)
            elif overhead:  # FINISH
                if not advance(self.env, overhead):
                    yield Timeout(self.env, overhead)
            if insn.push_prev and not dep["g2l"].push_now():
                yield from self.push_token("g2l")
            if insn.push_next and not dep["g2s"].push_now():
                yield from self.push_token("g2s")
            self.end(index, insn)
            if isinstance(insn, Finish):
                top.finish(index)

    def loop_insn(self, index, insn, overhead):
        """A GEMM or ALU: its results at once, its cycles from the cost model. (A mixed run
        replaces this to run the GEMM or ALU core as RTL: cosim/cores.py.)"""
        if isinstance(insn, Gemm):
            n = self.gemm(index, insn)
            busy = self._busy(insn, n)
            self.gemm_uops += n
            self.gemm_cycles += busy
        else:
            n = self.alu(index, insn)
            busy = self._busy(insn, n)
            self.alu_uops += n
            self.alu_cycles += busy
        if not advance(self.env, overhead + busy):
            yield Timeout(self.env, overhead + busy)

    def _busy(self, insn, n):
        """Cycles a GEMM/ALU of ``n`` micro-op runs keeps the core busy."""
        t = self.timing
        if isinstance(insn, Gemm):
            ii, pipe = t["gemm_ii"], t["gemm_pipeline"]
        else:
            ii, pipe = (t["alu_imm_ii"] if insn.use_imm else t["alu_ii"]), t["alu_pipeline"]
        return n * ii + (pipe if n else 0)

    def _check_cost(self, index, insn, overhead):
        """A GEMM/ALU's cycles follow from its loop bounds: refuse one that would pass the
        cycle limit before computing it (one instruction can be 2**41 micro-op runs)."""
        n = max(insn.uop_end - insn.uop_bgn, 0) * insn.iter_out * insn.iter_in
        self.top.watch.check_cost(self, index, insn, overhead + self._busy(insn, n))

    def _step(self, index, insn, done, total):
        if total > self.chunk:   # long instructions only: time limit and progress
            self.top.long_step(self, index, insn, done, total)

    # ---- loads -------------------------------------------------------------------------
    def load_uops(self, index, insn):
        """x_size micro-ops from DRAM uop index dram_base (read from the aligned beat)."""
        cfg, dram = self.cfg, self.top.dram
        n = insn.x_size
        idx = sram_indices(self, index, insn, insn.sram_base, n, cfg.uop_depth, "uop")
        addr = insn.dram_base * cfg.uop_bytes
        if addr + n * cfg.uop_bytes > dram.size:
            raise self.error(f"reads DRAM bytes [{addr:#x}, {addr + n * cfg.uop_bytes:#x}), "
                             f"outside the {dram.size >> 20} MiB DRAM", index, insn)
        if not n:
            return
        # One micro-op is written per sram_write_cycles as the beats arrive; a slower
        # writer back-pressures the read (R waits for it).
        per = self.timing["sram_write_cycles"]
        # inside the DRAM (above); in the watch's current region: no per-read checks
        checked = dram.watch is None or dram.watch.covers(addr, addr + n * cfg.uop_bytes)
        raw, bursts = yield from dram.read(self.name, addr, n * cfg.uop_bytes, unit=self,
                                           min_cycles=n * per, view=True, checked=checked)
        raw = raw.tobytes()   # the bytes at the read, as a copy would hold them
        if bursts[-1].end > self.env._now:
            if not advance(self.env, bursts[-1].end - self.env._now):
                yield Timeout(self.env, bursts[-1].end - self.env._now)
        dst, src, wgt = _decode_uops(self._isa, cfg.layout, raw)
        self.uop_dst[idx], self.uop_src[idx], self.uop_wgt[idx] = dst, src, wgt
        self.top.watch.wrote("uop", idx)

    # ---- loop nest -----------------------------------------------------------------------
    def _chunks(self, index, insn, names, ks):
        """Yield (dst, src[, wgt]) index arrays of consecutive loop executions, in order.

        ``names`` lists (field prefix, uop array, buffer depth, buffer name); ``ks`` the
        micro-op entries (uop_range)."""
        total = ks.size * insn.iter_out * insn.iter_in
        if total == 0:
            return
        operands = []
        for prefix, uarr, depth, bname in names:
            base = uarr[ks]
            bad = None if self.top.wrap else first_out_of_range(insn, prefix, base, depth)
            if bad:
                i, j, n, value = bad
                raise self.error(f"{prefix} index {value} at iteration i={i}, j={j}, uop {int(ks[n])} "
                                 f"is outside the {bname} buffer ({depth} entries)", index, insn)
            operands.append((prefix, base, depth))
        for p0 in range(0, total, self.chunk):
            yield loop_indices(insn, operands, p0, p0 + self.chunk)

    def _watch_uops(self, index, insn, ks=None):
        """Check the micro-op entries the loop nest reads: (the entries, the number of
        micro-op runs)."""
        if ks is None:
            ks = uop_range(insn, self.cfg.uop_depth)
        if ks.size:
            self.top.watch.read("uop", ks, self)
        return ks, ks.size * insn.iter_out * insn.iter_in

    def _loop_nest(self, index, insn, names):
        """(micro-op runs, the chunks of index arrays, a _Nest or None) of a GEMM/ALU, the
        micro-op entries watched. A nest of one chunk is cached (see _NESTS) when its
        micro-op range does not wrap: a hit skips the index arithmetic, the range checks
        (passed when it was cached) and what the GEMM or ALU works out from the indices
        alone (_Nest.memo)."""
        bgn, end = insn.uop_bgn, insn.uop_end
        if bgn < end <= self.cfg.uop_depth:
            key = (self._isa, self.top.wrap, insn) + tuple(u[bgn:end].tobytes() for _, u, _, _ in names)
            nest = _NESTS.get(key)
            if nest is not None:
                total = self._watch_uops(index, insn, nest.ks)[1]
                return total, [nest.chunk], nest
        ks, total = self._watch_uops(index, insn)
        chunks = self._chunks(index, insn, names, ks)
        if not 0 < total <= self.chunk or not bgn < end <= self.cfg.uop_depth:
            return total, chunks, None
        chunk = next(chunks)
        for a in (ks, *chunk):
            a.flags.writeable = False   # shared by every run that hits the cache
        nest = _NESTS.put(key, _Nest(ks, chunk), total)
        return total, [chunk], nest

    # ---- GEMM ----------------------------------------------------------------------------
    def gemm(self, index, insn):
        cfg = self.cfg
        names = [("dst", self.uop_dst, cfg.acc_depth, "acc"),
                 ("src", self.uop_src, cfg.inp_depth, "inp"),
                 ("wgt", self.uop_wgt, cfg.wgt_depth, "wgt")]
        n, watch = 0, self.top.watch
        total, chunks, nest = self._loop_nest(index, insn, names)
        memo = None if nest is None else nest.memo
        for dst, src, wgt in chunks:
            n += dst.size
            watch.gemm_chunk(self, insn.reset, dst, src, wgt)
            self._step(index, insn, n, total)
            if insn.reset:
                self._gemm_reset(dst, src, wgt, memo)
            else:
                self._gemm_acc(dst, src, wgt, memo)
        return n

    def _products(self, src, wgt, plan=None):
        """float64 (n, batch, block_out): inp[src] @ wgt[wgt]^T for each execution (exact
        integers: see _exact_sum), in the order of ``plan`` (_product_plan(src, wgt, sel):
        the executions ``sel``; default all, in order). Gathers use take: the same rows
        as indexing, several times cheaper."""
        inp_buf, wgt_buf = self.top.inp_buf, self.top.wgt_buf
        if plan is None:
            plan = _product_plan(src, wgt)
        if plan[0] == "each":
            # a stacked matmul per execution: about twice as fast as the same einsum
            _, s, w = plan
            return np.matmul(inp_buf.take(s, 0), wgt_buf.take(w, 0).transpose(0, 2, 1))
        # One BLAS product per distinct weight tile: each group padded to the largest one
        # (padding slots hold any inp row: their products are never read), all of them one
        # stacked matmul (float64 sums of these integers are exact in any order).
        cfg = self.cfg
        _, uw, widest, pad_src, pos = plan
        stack = inp_buf.take(pad_src, 0).reshape(uw.size, -1, cfg.block_in)
        prods = np.matmul(stack, wgt_buf.take(uw, 0).transpose(0, 2, 1))
        return prods.reshape(-1, cfg.batch, cfg.block_out).take(pos, 0)

    def _exact_sum(self, hits):
        """True if float64 holds every sum of ``hits`` products exactly (< 2**53)."""
        cfg = self.cfg
        return hits * cfg.block_in << (cfg.inp_bits - 1 + cfg.wgt_bits - 1) < 1 << 53

    def _gemm_acc(self, dst, src, wgt, memo=None):
        cfg = self.cfg
        plan = None if memo is None else memo.get("acc")
        if plan is None:   # what follows from the indices alone (a cached nest keeps it)
            dst_groups = _dst_groups(dst)
            # the products in dst order when dsts repeat (for the sums per dst)
            plan = (_product_plan(src, wgt, dst_groups[0] if dst_groups else None), dst_groups)
            if memo is not None:
                memo["acc"] = plan
        products, dst_groups = plan
        prods = self._products(src, wgt, products)
        if not dst_groups:
            u, sums = dst, prods.astype(np.int64)
        else:
            # Sum the contributions of every execution that hits the same dst (in float64
            # when that is exact: fewer values to convert).
            _, starts, u, most = dst_groups
            if not self._exact_sum(most):
                prods = prods.astype(np.int64)
            sums = np.add.reduceat(prods, starts, axis=0).astype(np.int64)
        new = wrap_signed(self.acc.take(u, 0) + sums, cfg.acc_bits)
        self.acc[u] = new
        self.out[u] = truncate(new, cfg.out_bits)

    def _gemm_reset(self, dst, src, wgt, memo=None):
        # acc[dst] = 0 at every hit; out[dst] = trunc(acc before the hit + product), so
        # only the last hit of each dst is visible, and acc before it is 0 if dst was hit
        # earlier in this chunk.
        cfg = self.cfg
        plan = None if memo is None else memo.get("reset")
        if plan is None:   # what follows from the indices alone (a cached nest keeps it)
            rev = dst[::-1]
            u, first_rev, counts = np.unique(rev, return_index=True, return_counts=True)
            last = dst.size - 1 - first_rev
            plan = (u, (counts == 1)[:, None, None], _product_plan(src[last], wgt[last]))
            if memo is not None:
                memo["reset"] = plan
        u, once, products = plan
        prods = self._products(src, wgt, products).astype(np.int64)
        before = np.where(once, self.acc.take(u, 0), 0)
        self.out[u] = truncate(before + prods, cfg.out_bits)
        self.acc[u] = 0

    # ---- ALU -----------------------------------------------------------------------------
    def alu(self, index, insn):
        cfg = self.cfg
        names = [("dst", self.uop_dst, cfg.acc_depth, "acc"),
                 ("src", self.uop_src, cfg.acc_depth, "acc")]
        n, watch = 0, self.top.watch
        total, chunks, nest = self._loop_nest(index, insn, names)
        # flat views (entry * lanes + lane; the buffers are C-contiguous: lazy_zeros):
        # take/put on flat indices cost a fraction of numpy's indexing of rows
        acc, out = self.acc.reshape(-1), self.out.reshape(-1)
        rhs = np.int64(insn.imm) if insn.use_imm else None   # the immediate operand
        lanes = cfg.batch * cfg.block_out
        for dst, src in chunks:
            n += dst.size
            src = None if insn.use_imm else src
            watch.alu_chunk(self, dst, src)
            self._step(index, insn, n, total)
            # what follows from the indices alone (a cached nest keeps it)
            plan = _alu_plan({} if nest is None else nest.memo, dst, src, lanes)
            if plan[0] == "python":
                self._alu_python(insn, plan, src is None, rhs)
                continue
            runs, d_all = plan[1], plan[2]
            for d, s in runs:
                operand = rhs if s is None else acc.take(s)
                new = alu_apply(insn.alu_opcode, acc.take(d), operand, cfg.acc_bits,
                                cfg.log_acc_width)
                acc[d] = new
            # out of every entry written = its final acc truncated (nothing reads out
            # in between): once per chunk, not per run; one run writes each entry once,
            # so its results are those final values
            out[d_all] = truncate(new if len(runs) == 1 else acc.take(d_all), cfg.out_bits)
        return n

    def _alu_python(self, insn, plan, use_imm, imm):
        """A chunk of dependent executions (several vector steps) one by one, on Python
        ints: cheaper than numpy's calls per step when the chunk is short."""
        cfg = self.cfg
        _, d_list, s_list, touched, written, w_flat = plan
        acc = self.acc.reshape(len(self.acc), -1)      # a view: (entries, lanes)
        rows = dict(zip(touched, acc.take(touched, 0).tolist()))   # entry -> its lanes, as they change
        if use_imm:
            f = scalar_alu(insn.alu_opcode, cfg.acc_bits, cfg.log_acc_width, int(imm))
            for d in d_list:
                rows[d] = f(rows[d])
        else:
            f = scalar_alu(insn.alu_opcode, cfg.acc_bits, cfg.log_acc_width)
            for d, s in zip(d_list, s_list):
                rows[d] = f(rows[d], rows[s])
        vals = np.array([x for e in written for x in rows[e]], dtype=np.int64)
        self.acc.reshape(-1)[w_flat] = vals
        self.out.reshape(-1)[w_flat] = truncate(vals, cfg.out_bits)


def _alu_plan(memo, dst, src, lanes):
    """How alu() applies a chunk, from its indices alone (kept in ``memo``, a cached
    nest's): ("python", the dst list, the src list, the entries touched, those written,
    their flat indices) for a chain of several vector steps short enough for Python ints
    (_LANE_OPS_PER_STEP, read at each call); else ("vector", [(flat acc indices of a
    run's dst, its src's or None)] per run, the flat indices of every dst). Flat index:
    entry * lanes + lane."""
    runs = memo.get("runs")
    if runs is None:
        runs = memo["runs"] = _alu_runs(dst, src)
    kind = "python" if len(runs) > 1 and dst.size * lanes <= _LANE_OPS_PER_STEP * len(runs) \
        else "vector"
    plan = memo.get(kind)
    if plan is not None:
        return plan
    lane = np.arange(lanes, dtype=np.int64)

    def flat(idx):
        return (np.asarray(idx, dtype=np.int64)[:, None] * lanes + lane).reshape(-1)
    if kind == "python":
        d_list = dst.tolist()
        s_list = [] if src is None else src.tolist()
        written = list(dict.fromkeys(d_list))
        plan = ("python", d_list, s_list, list(dict.fromkeys(d_list + s_list)), written,
                flat(written))
    else:
        plan = ("vector", [(flat(dst[a:b]), None if src is None else flat(src[a:b]))
                           for a, b in runs], flat(dst))
    memo[kind] = plan
    return plan


# Decoded micro-op runs by (ISA fingerprint, their bytes): a program loads the same runs
# again (and a network's layers repeat programs); the arrays are read-only.
_UOPS = {}
_UOPS_MAX = 1 << 12


def _decode_uops(isa, layout, raw):
    """layout.decode_uops_array of the little-endian words in ``raw`` (bytes), cached."""
    key = (isa, raw)
    hit = _UOPS.get(key)
    if hit is None:
        hit = layout.decode_uops_array(np.frombuffer(raw, dtype="<u4"))
        for a in hit:
            a.flags.writeable = False
        if len(_UOPS) >= _UOPS_MAX:
            _UOPS.clear()
        _UOPS[key] = hit
    return hit


class _Nest:
    """A cached loop nest of one chunk: micro-op entries, index arrays, and what the GEMM
    or ALU works out from them alone (``memo``: the ALU's runs and plans, the GEMM's product
    plans and grouping by dst)."""

    __slots__ = ("ks", "chunk", "memo")

    def __init__(self, ks, chunk):
        self.ks, self.chunk, self.memo = ks, chunk, {}


def _product_plan(src, wgt, sel=None):
    """How _products computes the products of the executions ``sel`` (an index array;
    None: all, in order): ("each", their src, their wgt) for a product per execution
    (every tile used once, or groups too uneven to pad), else ("tiles", the tiles, the
    largest group, the src of each padded slot (0 in padding), the slot of each
    execution of ``sel``), the executions grouped by tile in a stable order."""
    n = src.size
    # a stable counting order: indices are small
    counts = np.bincount(wgt)
    uw = np.flatnonzero(counts)
    counts = counts[uw]
    widest = int(counts.max())
    if widest == 1 or uw.size * widest > 2 * n:
        return ("each", src, wgt) if sel is None else ("each", src[sel], wgt[sel])
    order = _stable_order(wgt)
    group = np.repeat(np.arange(uw.size), counts)          # each sorted execution's tile
    slot = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    flat = group * widest + slot                            # its slot in the padded stack
    pad_src = np.zeros(uw.size * widest, dtype=np.int64)
    pad_src[flat] = src[order]
    pos = np.empty(n, dtype=np.int64)
    pos[order] = flat                                       # each execution's slot
    return "tiles", uw, widest, pad_src, (pos if sel is None else pos[sel])


def _dst_groups(dst):
    """() if no dst is hit twice, else (the stable order by dst, where each dst's run
    starts in it, the dsts, the most hits of one)."""
    hits = np.bincount(dst)
    if hits.max() <= 1:
        return ()
    order = _stable_order(dst)
    ds = dst[order]
    starts = np.flatnonzero(np.concatenate(([True], ds[1:] != ds[:-1])))
    return order, starts, ds[starts], int(hits.max())


# Loop nests of one chunk by (ISA fingerprint, wrap, instruction, the micro-op fields its
# range holds): programs repeat GEMM/ALU instructions over the same micro-ops (loops; a
# network's layers repeat whole programs), and the nest follows from these alone. At
# most 1024 nests and 2**18 micro-op runs in all (~10 int64 arrays of that size at most).
class _NestCache:
    def __init__(self, entries, runs):
        self.nests, self.entries, self.runs, self.held = {}, entries, runs, 0

    def get(self, key):
        return self.nests.get(key)

    def put(self, key, nest, runs):
        if len(self.nests) >= self.entries or self.held + runs > self.runs:
            self.nests.clear()   # full: start over
            self.held = 0
        self.nests[key] = nest
        self.held += runs
        return nest


_NESTS = _NestCache(1024, 1 << 18)


def _stable_order(idx):
    """np.argsort(idx, kind="stable") of buffer indices (0 <= idx < depth): as 16-bit
    integers when they fit, which numpy sorts with a radix sort (~10x faster)."""
    if idx.size and int(idx.max()) < 1 << 16:
        idx = idx.astype(np.uint16)
    return np.argsort(idx, kind="stable")


# A chunk that needs several vector steps is applied in Python ints when it has at most
# this many lane operations per step: a numpy step on flat indices costs ~5 us, an
# execution in Python ~1 us and more with its lanes (measured on random programs: 16 is
# near the best on tiny's 4 lanes and default's 16; 64 cost default ~30% more ALU time).
_LANE_OPS_PER_STEP = 16


@lru_cache(maxsize=1024)
def scalar_alu(op, acc_bits, log_acc_width, imm=None):
    """alu_apply's rule on Python ints, one execution at a time: f(a, b) -> the new lanes,
    a the lanes of acc[dst], b those of acc[src] or the immediate repeated; with ``imm``
    (an int) f(a), the immediate's part worked out once (tests compare both with
    alu_apply on every operation, width and edge value). Per operation, so no call per
    lane. Ops check_insn refuses (MUL, unknown) never get here."""
    half, mask = 1 << (acc_bits - 1), (1 << acc_bits) - 1
    if op in (ALU_MIN, ALU_MAX):
        pick = min if op == ALU_MIN else max
        # b is first wrapped to acc_bits (the immediate is cast to acc_T), then the result
        if imm is not None:
            y = ((imm + half) & mask) - half
            return lambda a: [((pick(x, y) + half) & mask) - half for x in a]
        return lambda a, b: [((pick(x, ((y + half) & mask) - half) + half) & mask) - half
                             for x, y in zip(a, b)]
    if op == ALU_ADD:   # wrap(x + wrap(y)) = wrap(x + y): both modulo 2**acc_bits
        if imm is not None:
            c = imm + half
            return lambda a: [((x + c) & mask) - half for x in a]
        return lambda a, b: [((x + y + half) & mask) - half for x, y in zip(a, b)]
    if op == ALU_SHR:
        # the amount: the low log_acc_width bits of wrap(y) (= of y) read as signed
        s_half, s_mask = 1 << (log_acc_width - 1), (1 << log_acc_width) - 1
        if imm is not None:
            n = ((imm + s_half) & s_mask) - s_half
            if n >= 0:
                return lambda a: [(((x >> n) + half) & mask) - half for x in a]
            return lambda a: [(((x << -n) + half) & mask) - half for x in a]

        def shr(a, b):
            amounts = [((y + s_half) & s_mask) - s_half for y in b]
            return [(((x >> n if n >= 0 else x << -n) + half) & mask) - half
                    for x, n in zip(a, amounts)]
        return shr
    raise ValueError(f"ALU operation {op} has no scalar rule")


def _prev_write(dst, query):
    """For each position p: the last position q < p with dst[q] == query[p], else -1."""
    n = dst.size
    pos = np.arange(n, dtype=np.int64)
    keys = np.sort(dst * n + pos)
    q = query * n + pos
    c = np.searchsorted(keys, q, side="left") - 1
    valid = c >= 0
    found = np.where(valid, keys[np.maximum(c, 0)], -1)
    ok = valid & (found // n == query)
    return np.where(ok, found % n, -1)


# Below this many executions the runs are found in Python: cheaper than numpy's calls.
_SMALL_RUNS = 64


def _alu_runs(dst, src):
    """Order-preserving [a, b) runs of executions that can be applied as one vector step:
    a run ends before an execution that reads or writes an entry written earlier in it."""
    n = dst.size
    # (p, c): execution p touches the entry execution c < p wrote last
    if n <= _SMALL_RUNS:
        d = dst.tolist()
        s = None if src is None else src.tolist()
        last = {}            # entry -> last position that wrote it
        pairs = []
        for p in range(n):
            c = last.get(d[p], -1)
            if s is not None:
                c = max(c, last.get(s[p], -1))
            if c >= 0:
                pairs.append((p, c))
            last[d[p]] = p
    else:
        conflict = _prev_write(dst, dst)
        if src is not None:
            conflict = np.maximum(conflict, _prev_write(dst, src))
        cand = np.flatnonzero(conflict >= 0)
        pairs = zip(cand.tolist(), conflict[cand].tolist())
    bounds, start = [0], 0
    for p, c in pairs:
        if c >= start:
            bounds.append(p)
            start = p
    bounds.append(n)
    return list(zip(bounds[:-1], bounds[1:]))
