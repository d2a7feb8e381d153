"""Random valid programs for differential testing (TLM vs RTL), and their shrinking.

A random program is a list of *rounds*; each round is three instruction groups run by
the load, compute and store stages. Dependence tokens are added when the program is
built so that the groups run in program order (load -> compute -> store, and the next
round's loads and computes wait for the buffers they overwrite), which makes every
program deadlock-free and its result independent of timing. The generator only reads
buffer entries that an earlier instruction wrote, so uninitialized SRAM never decides a
result, and keeps every index inside its buffer and every DRAM access inside its segment.

Shrinking deletes instructions (and empties rounds) while the program stays valid and
the caller's predicate still fails, giving a small reproducer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vta.isa import (ALU_ADD, ALU_MAX, ALU_MIN, ALU_SHR, INSN_BYTES, MEM_ACC, MEM_INP, MEM_OUT,
                     MEM_UOP, MEM_WGT, UOP_BYTES, Alu, Finish, Gemm, Load, Program, Segment, Store,
                     Uop, first_out_of_range, loop_indices)

# DRAM layout of a random program: sources, then the output area.
SEGMENT_ELEMS = {"inp": 64, "wgt": 32, "acc": 32, "out": 64}
N_UOPS = 64


def _edge_imms(cfg):
    """ALU immediates at the edges of the signed imm field and around small shifts."""
    f = cfg.layout.field("alu", "imm")
    return (f.min, f.min + 1, -1, 0, 1, 2, 31, 32, f.max)


@dataclass
class Round:
    """One phase of a random program: loads, then computes, then stores."""
    load: list = field(default_factory=list)
    compute: list = field(default_factory=list)
    store: list = field(default_factory=list)

    def groups(self):
        return (self.load, self.compute, self.store)


def _dtype(bits, fallback):
    """The numpy integer type of a lane of ``bits`` bits (so a segment row is one DRAM
    element); ``fallback`` for sub-byte lanes, which numpy cannot hold one per lane."""
    return {8: np.int8, 16: np.int16, 32: np.int32}.get(bits, fallback)


def _segments(cfg, rng):
    """Random source data and a zeroed output area, laid out after the uop region."""
    specs = [("inp", "input", MEM_INP, np.int8, cfg.batch * cfg.block_in, cfg.inp_bits),
             ("wgt", "weight", MEM_WGT, np.int8, cfg.block_out * cfg.block_in, cfg.wgt_bits),
             ("acc", "bias", MEM_ACC, np.int32, cfg.batch * cfg.block_out, cfg.acc_bits),
             ("out", "output", MEM_OUT, np.int8, cfg.batch * cfg.block_out, cfg.out_bits)]
    specs = [(name, role, mem, _dtype(bits, dt), lanes, bits) for name, role, mem, dt, lanes, bits in specs]
    segs, base = [], 0x10000
    for name, role, mem, dtype, lanes, bits in specs:
        n = SEGMENT_ELEMS[name]
        if name == "out":
            data = np.zeros((n, lanes), dtype)
        else:
            lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
            # Mix full-range values with edge values so wrap and truncation are exercised.
            data = rng.integers(lo, hi, size=(n, lanes), endpoint=True, dtype=np.int64)
            edges = np.array([lo, hi, 0, -1, 1], dtype=np.int64)
            mask = rng.random(data.shape) < 0.1
            data[mask] = rng.choice(edges, size=int(mask.sum()))
            data = data.astype(dtype)
        align = cfg.elem_bytes(mem)
        base = -(-base // align) * align
        segs.append(Segment(name, base, data, role))
        base += data.nbytes + 0x100
    return segs


class _Written:
    """Which entries of each on-chip buffer hold defined values, and the uop SRAM."""

    def __init__(self, cfg, uops, uop_dram_base):
        self.cfg = cfg
        self.uops = uops                    # the program's micro-ops in DRAM
        self.uop_dram_base = uop_dram_base  # uop index of uops[0]
        self.uop_buffer = [None] * cfg.uop_depth
        self.sets = {MEM_UOP: np.zeros(cfg.uop_depth, bool), MEM_INP: np.zeros(cfg.inp_depth, bool),
                     MEM_WGT: np.zeros(cfg.wgt_depth, bool), MEM_ACC: np.zeros(cfg.acc_depth, bool),
                     MEM_OUT: np.zeros(cfg.out_depth, bool)}

    def ok(self, mem, idx):
        idx = np.asarray(idx)
        return idx.size == 0 or (idx.min() >= 0 and idx.max() < len(self.sets[mem])
                                 and bool(self.sets[mem][idx].all()))

    def mark(self, mem, idx):
        self.sets[mem][np.asarray(idx, dtype=np.int64)] = True


def _loop_indices(insn, uop_buffer, cfg):
    """(dst, src[, wgt]) index arrays of a GEMM/ALU loop nest in execution order, or None
    if an index would leave its buffer (the generator never relies on index wrap)."""
    block = uop_buffer[insn.uop_bgn:insn.uop_end]
    operands = [("dst", [u.dst_idx for u in block], cfg.acc_depth)]
    if isinstance(insn, Gemm):
        operands += [("src", [u.src_idx for u in block], cfg.inp_depth),
                     ("wgt", [u.wgt_idx for u in block], cfg.wgt_depth)]
    else:
        operands.append(("src", [u.src_idx for u in block], cfg.acc_depth))
    if any(first_out_of_range(insn, *op) for op in operands):
        return None
    return loop_indices(insn, operands)


def _apply(insn, state):
    """Check that ``insn`` reads only defined entries, then record what it writes.

    Returns False (and changes nothing) if it would read an undefined entry or go out of
    bounds.
    """
    cfg, uop_buffer = state.cfg, state.uop_buffer
    if isinstance(insn, Load):
        mem = insn.memory_type
        if mem == MEM_UOP:
            end = insn.sram_base + insn.x_size
            if end > cfg.uop_depth:
                return False
            first = insn.dram_base - state.uop_dram_base
            if first < 0 or first + insn.x_size > len(state.uops):
                return False
            uop_buffer[insn.sram_base:end] = state.uops[first:first + insn.x_size]
            state.mark(MEM_UOP, np.arange(insn.sram_base, end))
            return True
        rows = insn.y_pad_0 + insn.y_size + insn.y_pad_1
        cols = insn.x_pad_0 + insn.x_size + insn.x_pad_1
        end = insn.sram_base + rows * cols
        if end > cfg.depth(mem):
            return False
        state.mark(mem, np.arange(insn.sram_base, end))
        return True
    if isinstance(insn, Store):
        idx = insn.sram_base + np.arange(insn.y_size * insn.x_size)
        return state.ok(MEM_OUT, idx)
    if isinstance(insn, (Gemm, Alu)):
        if not state.ok(MEM_UOP, np.arange(insn.uop_bgn, insn.uop_end)):
            return False
        indices = _loop_indices(insn, uop_buffer, cfg)
        if indices is None:
            return False
        dst, src = indices[:2]
        if isinstance(insn, Gemm):
            wgt = indices[2]
            # Even with reset the out buffer gets trunc(acc before + product) (docs/isa.md), so
            # a reset GEMM reads acc, inp and wgt too. Entries written earlier in this same
            # instruction are defined.
            first_write = _first_occurrence(dst)
            needs_acc = dst[~_written_before(dst, first_write)]
            if not (state.ok(MEM_ACC, needs_acc) and state.ok(MEM_INP, src)
                    and state.ok(MEM_WGT, wgt)):
                return False
        else:
            first_write = _first_occurrence(dst)
            reads = [dst[~_written_before(dst, first_write)]]
            if not insn.use_imm:
                reads.append(src[~_written_before(src, first_write)])
            if not all(state.ok(MEM_ACC, r) for r in reads):
                return False
        state.mark(MEM_ACC, dst)
        state.mark(MEM_OUT, dst)
        return True
    return True


def _first_occurrence(dst):
    """Map index value -> position of its first write in the loop nest."""
    first = {}
    for pos, d in enumerate(dst.tolist()):
        first.setdefault(d, pos)
    return first


def _written_before(reads, first_write):
    """Mask of read positions whose entry was written earlier in the same instruction."""
    return np.array([first_write.get(r, len(reads)) < pos for pos, r in enumerate(reads.tolist())],
                    dtype=bool) if len(reads) else np.zeros(0, bool)


def _random_mem(rng, cfg, mem, seg, depth, pad):
    """A random LOAD (mem INP/WGT/ACC) or STORE (OUT) inside segment and buffer."""
    n_seg = seg.data.shape[0]
    big = rng.random() < 0.2   # now and then a larger tile, wider stride gaps and pads
    y = int(rng.integers(1, 7 if big else 4))
    x = int(rng.integers(1, 9 if big else 5))
    stride = x + int(rng.integers(0, 6 if big else 3))
    if (y - 1) * stride + x > n_seg:
        y = 1
    pads = [int(rng.integers(0, 7 if big else 3)) if pad and rng.random() < 0.5 else 0
            for _ in range(4)]
    rows = pads[0] + y + pads[1]
    cols = pads[2] + x + pads[3]
    if rows * cols > depth:
        pads, rows, cols = [0, 0, 0, 0], y, x
    # Mostly near the start of the buffer, where the micro-ops' indices point (so loops
    # find defined entries), sometimes anywhere in it.
    hi = depth - rows * cols
    sram = int(rng.integers(0, (min(hi, 16) if rng.random() < 0.7 else hi) + 1))
    dram_first = int(rng.integers(0, n_seg - ((y - 1) * stride + x) + 1))
    dram = seg.base // cfg.elem_bytes(mem) + dram_first
    cls = Store if mem == MEM_OUT else Load
    return cls(memory_type=mem, sram_base=sram, dram_base=dram, y_size=y, x_size=x, x_stride=stride,
               y_pad_0=pads[0], y_pad_1=pads[1], x_pad_0=pads[2], x_pad_1=pads[3])


def _random_loop(rng, cfg, written, kind):
    """A random GEMM or ALU over a loaded micro-op range."""
    loaded = np.flatnonzero(written.sets[MEM_UOP])
    if loaded.size == 0:
        return None
    bgn = int(rng.choice(loaded))
    end = bgn + 1
    while end < cfg.uop_depth and written.sets[MEM_UOP][end] and end - bgn < 8 and rng.random() < 0.7:
        end += 1
    big = rng.random() < 0.2   # now and then a longer loop nest (pipeline back-to-back hazards)
    fields = dict(uop_bgn=bgn, uop_end=end, iter_out=int(rng.integers(1, 9 if big else 4)),
                  iter_in=int(rng.integers(1, 9 if big else 4)),
                  dst_factor_out=int(rng.integers(0, 5)), dst_factor_in=int(rng.integers(0, 3)),
                  src_factor_out=int(rng.integers(0, 5)), src_factor_in=int(rng.integers(0, 3)))
    if kind == "gemm":
        return Gemm(reset=bool(rng.random() < 0.2), wgt_factor_out=int(rng.integers(0, 3)),
                    wgt_factor_in=int(rng.integers(0, 3)), **fields)
    op = int(rng.choice([ALU_MIN, ALU_MAX, ALU_ADD, ALU_SHR]))
    use_imm = bool(rng.random() < 0.5)
    if op == ALU_SHR:
        imm = int(rng.integers(-cfg.acc_bits // 2, cfg.acc_bits // 2))
    else:
        f = cfg.layout.field("alu", "imm")
        imm = int(rng.choice(_edge_imms(cfg))) if rng.random() < 0.5 else int(rng.integers(f.min, f.max + 1))
    return Alu(alu_opcode=op, use_imm=use_imm, imm=imm, **fields)


def _reset_repeat_gemm(rng, written):
    """A reset GEMM of one micro-op whose inner loop hits the same dst on consecutive
    executions (dst_factor_in 0): each execution must read acc[dst] = 0 as the previous one
    left it (the acc read bypass of a pipeline must forward the reset, not the sum)."""
    loaded = np.flatnonzero(written.sets[MEM_UOP])
    if loaded.size == 0:
        return None
    bgn = int(rng.choice(loaded))
    return Gemm(reset=True, uop_bgn=bgn, uop_end=bgn + 1, iter_out=int(rng.integers(1, 3)),
                iter_in=int(rng.integers(2, 5)), dst_factor_out=int(rng.integers(0, 3)), dst_factor_in=0,
                src_factor_out=int(rng.integers(0, 3)), src_factor_in=int(rng.integers(0, 3)),
                wgt_factor_out=int(rng.integers(0, 3)), wgt_factor_in=int(rng.integers(0, 3)))


def _direct_store(rng, cfg, written, insn, seg):
    """A STORE of out entries the GEMM ``insn`` (just applied) wrote last, so its out
    write-back is observed before any ALU pass overwrites it; None if none fits."""
    dst = _loop_indices(insn, written.uop_buffer, cfg)[0]
    first = int(rng.choice(dst))
    x = 1
    while x < 4 and first + x < cfg.out_depth and written.ok(MEM_OUT, [first + x]) and rng.random() < 0.5:
        x += 1
    n_seg = seg.data.shape[0]
    dram = seg.base // cfg.elem_bytes(MEM_OUT) + int(rng.integers(0, n_seg - x + 1))
    st = Store(memory_type=MEM_OUT, sram_base=first, dram_base=dram, y_size=1, x_size=x, x_stride=x)
    return st if _apply(st, written) else None


def _simple_alu(rng, written):
    """An ALU-immediate over one loaded micro-op whose dst holds data (random search failed)."""
    for k in np.flatnonzero(written.sets[MEM_UOP]):
        dst = written.uop_buffer[k].dst_idx
        if written.ok(MEM_ACC, [dst]):
            return Alu(alu_opcode=int(rng.choice([ALU_MIN, ALU_MAX, ALU_ADD])), use_imm=True,
                       imm=int(rng.choice(_edge_imms(written.cfg))), uop_bgn=int(k), uop_end=int(k) + 1,
                       iter_out=1, iter_in=1, dst_factor_out=0, dst_factor_in=0,
                       src_factor_out=0, src_factor_in=0)
    return None


def random_program(cfg, seed, rounds=3, max_tries=200):
    """A random valid Program for ``cfg`` (no expected outputs: compare two models)."""
    rng = np.random.default_rng(seed)
    segs = _segments(cfg, rng)
    seg = {s.name: s for s in segs}
    # Micro-ops index small regions so random factors stay in bounds often enough.
    span = lambda depth: max(1, min(depth, 16))  # noqa: E731
    uops = [Uop(int(rng.integers(0, span(cfg.acc_depth))),
                int(rng.integers(0, span(min(cfg.inp_depth, cfg.acc_depth)))),
                int(rng.integers(0, span(cfg.wgt_depth)))) for _ in range(N_UOPS)]
    uop_base = 0x2000
    written = _Written(cfg, uops, uop_base // UOP_BYTES)
    plan = []
    for r in range(rounds):
        rnd = Round()
        for _ in range(int(rng.integers(1 if r == 0 else 0, 4))):
            mem = int(rng.choice([MEM_INP, MEM_WGT]))
            rnd.load.append(_random_mem(rng, cfg, mem, seg["inp" if mem == MEM_INP else "wgt"],
                                        cfg.depth(mem), pad=mem == MEM_INP))
        compute = []
        # Start each round with a uop load and (first round) an acc load, so loops have data.
        n = int(rng.integers(1, 9))
        sram = int(rng.integers(0, cfg.uop_depth - n + 1))
        first = int(rng.integers(0, N_UOPS - n + 1))
        compute.append(Load(memory_type=MEM_UOP, sram_base=sram, dram_base=written.uop_dram_base + first, x_size=n,
                            y_size=1, x_stride=n))
        if r == 0:
            # Define acc[0:16], where the micro-ops' dst indices start, so every program
            # has loops to run (random ACC loads follow).
            n_acc = min(16, cfg.acc_depth, seg["acc"].data.shape[0])
            compute.append(Load(memory_type=MEM_ACC, sram_base=0, y_size=1, x_size=n_acc,
                                x_stride=n_acc, dram_base=seg["acc"].base // cfg.elem_bytes(MEM_ACC)
                                + int(rng.integers(0, seg["acc"].data.shape[0] - n_acc + 1))))
        if r == 0 or rng.random() < 0.5:
            compute.append(_random_mem(rng, cfg, MEM_ACC, seg["acc"], cfg.acc_depth, pad=True))
        for insn in rnd.load:
            _apply(insn, written)
        for insn in compute:
            _apply(insn, written)
        rnd.compute.extend(compute)
        for _ in range(int(rng.integers(1, 5))):
            for _try in range(max_tries):
                kind = "gemm" if rng.random() < 0.5 else "alu"
                insn = _random_loop(rng, cfg, written, kind)
                if insn is not None and _apply(insn, written):
                    rnd.compute.append(insn)
                    break
            else:
                insn = _simple_alu(rng, written)
                if insn is not None and _apply(insn, written):
                    rnd.compute.append(insn)
        if rng.random() < 0.5:
            # End the round with a GEMM whose out results are stored directly (before any
            # ALU pass), often a reset GEMM hitting one dst on consecutive micro-ops.
            for _try in range(max_tries):
                insn = (_reset_repeat_gemm(rng, written) if rng.random() < 0.6
                        else _random_loop(rng, cfg, written, "gemm"))
                if insn is not None and _apply(insn, written):
                    rnd.compute.append(insn)
                    store = _direct_store(rng, cfg, written, insn, seg["out"])
                    if store is not None:
                        rnd.store.append(store)
                    break
        for _ in range(int(rng.integers(0, 3))):
            for _try in range(max_tries):
                insn = _random_mem(rng, cfg, MEM_OUT, seg["out"], cfg.out_depth, pad=False)
                if _apply(insn, written):
                    rnd.store.append(insn)
                    break
        plan.append(rnd)
    return build(cfg, plan, uops, segs, name=f"random-{cfg.name}-{seed}", uop_base=uop_base)


def is_valid(cfg, plan, uops, uop_base):
    """True if every instruction of ``plan`` reads only entries written before it and
    every round that loads or stores also computes (its tokens pass through compute)."""
    if any((rnd.load or rnd.store) and not rnd.compute for rnd in plan):
        return False
    written = _Written(cfg, uops, uop_base // UOP_BYTES)
    return all(_apply(insn, written) for rnd in plan for group in rnd.groups() for insn in group)


def build(cfg, plan, uops, segments, name="random", uop_base=0x2000):
    """Serialize rounds into a Program, adding the dependence tokens that order them."""
    insns = []
    rounds = [r for r in plan if r.compute]
    pending_s2g = False  # the previous round's stores pushed a token to compute
    for k, rnd in enumerate(rounds):
        load = list(rnd.load)
        compute = list(rnd.compute)
        store = list(rnd.store)
        if load:
            # Wait for the previous round's computes to release the buffers: they push
            # g2l exactly when this round loads (see _g2l_pushed).
            load[0] = load[0].replace(pop_next=k > 0)
            load[-1] = load[-1].replace(push_next=True)
        compute[0] = compute[0].replace(pop_prev=bool(load), pop_next=pending_s2g)
        compute[-1] = compute[-1].replace(push_prev=_g2l_pushed(rounds, k), push_next=bool(store))
        if store:
            store[0] = store[0].replace(pop_prev=True)
            store[-1] = store[-1].replace(push_prev=True)
        pending_s2g = bool(store)
        insns += load + compute + store
    insns.append(Finish(pop_next=pending_s2g))
    prog = Program(config=cfg, insns=insns, uops=list(uops), segments=segments, uop_base=uop_base,
                   insn_base=0x1000, name=name)
    # Keep the instruction stream clear of the uop region.
    prog.insn_base = 0x1000 if 0x1000 + INSN_BYTES * len(insns) <= uop_base else _after(segments, cfg)
    return prog.validate()


def _g2l_pushed(rounds, k):
    """Round k's computes signal the loads of the next round that has loads."""
    return k + 1 < len(rounds) and bool(rounds[k + 1].load)


def _after(segments, cfg):
    end = max(s.end for s in segments)
    return -(-end // 4096) * 4096


def plan_of(program):
    """Recover the rounds of a program made by :func:`build` (flags removed)."""
    plain = lambda i: i.replace(pop_prev=False, pop_next=False, push_prev=False, push_next=False)  # noqa: E731
    plan, rnd, stage_seen = [], Round(), 0
    for insn in program.insns[:-1]:
        stage = 0 if isinstance(insn, Load) and insn.memory_type in (MEM_INP, MEM_WGT) else (
            2 if isinstance(insn, Store) else 1)
        if stage < stage_seen:
            plan.append(rnd)
            rnd = Round()
        rnd.groups()[stage].append(plain(insn))
        stage_seen = stage
    plan.append(rnd)
    return plan


def shrink(program, fails, max_steps=200):
    """Smallest program found (by deleting instructions) for which ``fails(p)`` holds."""
    cfg = program.config
    plan = plan_of(program)
    best = program
    steps = 0
    changed = True
    while changed and steps < max_steps:
        changed = False
        for r in range(len(plan)):
            for g in range(3):
                i = 0
                while i < len(plan[r].groups()[g]) and steps < max_steps:
                    trial = [Round(*(list(x) for x in rnd.groups())) for rnd in plan]
                    del trial[r].groups()[g][i]
                    steps += 1
                    if is_valid(cfg, trial, program.uops, program.uop_base) and any(t.compute for t in trial):
                        cand = build(cfg, trial, program.uops, program.segments,
                                     name=program.name + "-shrunk", uop_base=program.uop_base)
                        if fails(cand):
                            plan, best, changed = trial, cand, True
                            continue
                    i += 1
    return best
