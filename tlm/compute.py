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

import numpy as np

from vta.isa import (MEM_ACC, MEM_UOP, Alu, Finish, Gemm, Load, alu_apply, check_insn,
                     first_out_of_range, loop_indices, truncate, uop_range, wrap_signed)

from .dram import lazy_zeros
from .load import load_2d, sram_indices
from .unit import Unit


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

    # ---- the process -----------------------------------------------------------------
    def run(self):
        top, t = self.top, self.timing
        overhead = t["insn_overhead"]
        while True:
            index, insn = yield from self.next_command(top.cmd["compute"])
            self.begin(index, insn)
            problems = check_insn(insn, self.cfg)
            if top.wrap:
                problems = [p for p in problems if not p.startswith(_USE_WRAP_PROBLEMS)]
            if problems:
                raise self.error("; ".join(problems), index, insn)
            if insn.pop_prev:
                yield from self.pop_token("l2g")
            if insn.pop_next:
                yield from self.pop_token("s2g")
            if isinstance(insn, Load):
                if overhead:
                    yield self.env.timeout(overhead)
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
                yield self.env.timeout(overhead)
            if insn.push_prev:
                yield from self.push_token("g2l")
            if insn.push_next:
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
        yield self.env.timeout(overhead + busy)

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
        raw, bursts = yield from dram.read(self.name, addr, n * cfg.uop_bytes, unit=self,
                                           min_cycles=n * per)
        if bursts[-1].end > self.env.now:
            yield self.env.timeout(bursts[-1].end - self.env.now)
        dst, src, wgt = cfg.layout.decode_uops_array(raw.view("<u4"))
        self.uop_dst[idx], self.uop_src[idx], self.uop_wgt[idx] = dst, src, wgt
        self.top.watch.wrote("uop", idx)

    # ---- loop nest -----------------------------------------------------------------------
    def _chunks(self, index, insn, names):
        """Yield (dst, src[, wgt]) index arrays of consecutive loop executions, in order.

        ``names`` lists (field prefix, uop array, buffer depth, buffer name)."""
        ks = uop_range(insn, self.cfg.uop_depth)
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

    def _watch_uops(self, index, insn):
        """Check the micro-op entries the loop nest reads; its number of runs."""
        ks = uop_range(insn, self.cfg.uop_depth)
        if ks.size:
            self.top.watch.read("uop", ks, self)
        return ks.size * insn.iter_out * insn.iter_in

    # ---- GEMM ----------------------------------------------------------------------------
    def gemm(self, index, insn):
        cfg = self.cfg
        names = [("dst", self.uop_dst, cfg.acc_depth, "acc"),
                 ("src", self.uop_src, cfg.inp_depth, "inp"),
                 ("wgt", self.uop_wgt, cfg.wgt_depth, "wgt")]
        n, total, watch = 0, self._watch_uops(index, insn), self.top.watch
        for dst, src, wgt in self._chunks(index, insn, names):
            n += dst.size
            watch.gemm_chunk(self, insn.reset, dst, src, wgt)
            self._step(index, insn, n, total)
            if insn.reset:
                self._gemm_reset(dst, src, wgt)
            else:
                self._gemm_acc(dst, src, wgt)
        return n

    def _products(self, src, wgt):
        """int64 (n, batch, block_out): inp[src] @ wgt[wgt]^T for each execution."""
        inp_buf, wgt_buf = self.top.inp_buf, self.top.wgt_buf
        n = src.size
        uw, inv = np.unique(wgt, return_inverse=True)
        if uw.size * 16 > n:
            # a stacked matmul: about twice as fast as the same einsum on long chunks
            res = np.matmul(inp_buf[src], wgt_buf[wgt].transpose(0, 2, 1))
        else:
            # One BLAS product per distinct weight tile.
            cfg = self.cfg
            order = np.argsort(inv, kind="stable")
            counts = np.bincount(inv, minlength=uw.size)
            a = inp_buf[src[order]].reshape(n, cfg.batch, cfg.block_in)
            res_sorted = np.empty((n, cfg.batch, cfg.block_out))
            s = 0
            for g, c in enumerate(counts.tolist()):
                rows = a[s:s + c].reshape(-1, cfg.block_in)
                res_sorted[s:s + c] = (rows @ wgt_buf[uw[g]].T).reshape(c, cfg.batch, cfg.block_out)
                s += c
            res = np.empty_like(res_sorted)
            res[order] = res_sorted
        return res.astype(np.int64)

    def _gemm_acc(self, dst, src, wgt):
        cfg = self.cfg
        prods = self._products(src, wgt)
        if np.bincount(dst, minlength=1).max() <= 1:
            u, sums = dst, prods
        else:
            # Sum the contributions of every execution that hits the same dst.
            order = np.argsort(dst, kind="stable")
            ds = dst[order]
            starts = np.flatnonzero(np.r_[True, ds[1:] != ds[:-1]])
            u = ds[starts]
            sums = np.add.reduceat(prods[order], starts, axis=0)
        new = wrap_signed(self.acc[u] + sums, cfg.acc_bits)
        self.acc[u] = new
        self.out[u] = truncate(new, cfg.out_bits)

    def _gemm_reset(self, dst, src, wgt):
        # acc[dst] = 0 at every hit; out[dst] = trunc(acc before the hit + product), so
        # only the last hit of each dst is visible, and acc before it is 0 if dst was hit
        # earlier in this chunk.
        cfg = self.cfg
        rev = dst[::-1]
        u, first_rev, counts = np.unique(rev, return_index=True, return_counts=True)
        last = dst.size - 1 - first_rev
        prods = self._products(src[last], wgt[last])
        before = np.where((counts == 1)[:, None, None], self.acc[u], 0)
        self.out[u] = truncate(before + prods, cfg.out_bits)
        self.acc[u] = 0

    # ---- ALU -----------------------------------------------------------------------------
    def alu(self, index, insn):
        cfg = self.cfg
        names = [("dst", self.uop_dst, cfg.acc_depth, "acc"),
                 ("src", self.uop_src, cfg.acc_depth, "acc")]
        n, total, watch = 0, self._watch_uops(index, insn), self.top.watch
        for dst, src in self._chunks(index, insn, names):
            n += dst.size
            watch.alu_chunk(self, dst, None if insn.use_imm else src)
            self._step(index, insn, n, total)
            for a, b in _alu_runs(dst, None if insn.use_imm else src):
                d = dst[a:b]
                rhs = np.int64(insn.imm) if insn.use_imm else self.acc[src[a:b]]
                r = alu_apply(insn.alu_opcode, self.acc[d], rhs, cfg.acc_bits, cfg.log_acc_width)
                self.acc[d] = r
                self.out[d] = truncate(r, cfg.out_bits)
        return n


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
