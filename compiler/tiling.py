"""Tiling search for conv2d (and conv2d_transpose, which lowers to conv2d sub-problems).

A schedule is (to, toh, tow, tc, order, vt): an output tile of ``to`` channel blocks x ``toh``
rows x ``tow`` columns, the reduction walked in steps of ``tc`` input-channel blocks, the
tiles visited output-channel group outer ("os", weights stay resident when tc covers every
input channel) or spatial tile outer ("so", inputs stay resident then), ``vt`` buffer regions.

Cost model (per layer, closed form, no instruction is emitted):

    cycles     = p-norm (p = OVERLAP_P) of (compute, dram_read, dram_write) + fill + drain
    compute    = sum over GEMM/ALU instructions of (micro-op executions * II + overhead):
                 GEMM II 1 (reset, bias fold, reduction), ALU vector-vector II 2 (bias ADD
                 when not folded), immediate II 1 (SHR, MAX, MIN), overhead 6
    dram_read  = max(beats, (bursts * (axi_req_cycles + dram.latency) + beats) / max_outstanding_reads)
    dram_write = the same over STORE rows, or the STOREs one after another (each retires at
                 its last write response: insn_overhead + latency + write_resp_cycles), if longer
    fill       = the first step's loads (nothing to overlap them), drain = the last tile's store

Loads run on their own stage and overlap compute (vt=2); the p-norm (1.044 x max for two
equal parts) charges the imperfect overlap of two nearly balanced units. Reads are counted
per burst (a LOAD row split at dram.max_burst_beats; each holds an outstanding-read slot for
its round trip and its beats); inputs are re-read once per output-channel group, weights once
per spatial tile, except where a region keeps its data: with one reduction step (regions
alternate per tile: "os" loads weights min(vt, spatial tiles) times per group, "so" inputs
min(vt, groups) times per spatial tile) or with vt steps (region = step: loaded once); rows
of the halo are re-read by each row tile (a 1x1 strided kernel loads only its rows,
Geometry.row_skip). Candidates: every to, toh, tow, tc of the form ceil(n / k) that fits the
buffers (INP vt * (tc * rows * cols + b), WGT vt * to * (tc * kh * kw + b), ACC vt * to *
(toh * tow + 1 - b), b = 1 when the bias is folded into the GEMM (Geometry.bias "gemm"), the
micro-kernel at most half the uop buffer, no one-entry edge tile) for both orders; the
model ranks them and ties go to the fewest tiles, then the tuple order, so the same layer
always gets the same schedule. :func:`confirm` runs the best few on an executor (the TLM)
and keeps the fewest measured cycles.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from vta.isa import MEM_INP, MEM_WGT, ConfigError

GEMM_OVERHEAD = ALU_OVERHEAD = 6
MAX_ITER = (1 << 14) - 1
OVERLAP_P = 16
WIDTHS = 4      # per (to, toh) the widest fitting column tiles: narrower ones only add halo and overhead


@dataclass(frozen=True)
class Geometry:
    """A conv2d problem in blocks: nb images of the batch, cb/ob channel blocks, h x w input,
    kh x kw kernel, stride s, pads (top, bottom, left, right); ``bias`` how the bias is added
    (requant.bias_weights): "gemm" reserves per region one INP entry (the constant input) and
    a WGT tile per output channel block instead of an acc entry per output channel block."""
    nb: int
    cb: int
    h: int
    w: int
    ob: int
    kh: int
    kw: int
    s: int
    pads: tuple
    bias: str = "add"

    @property
    def row_skip(self):
        """A one-row kernel with stride > 1 reads every s-th input row only: a tile loads
        just those rows (a LOAD row stride of s rows), not the rows in between."""
        return self.kh == 1 and self.s > 1 and self.pads[0] == self.pads[1] == 0

    def in_rows(self, toh):
        """Input rows a tile of ``toh`` output rows holds in INP."""
        return toh if self.row_skip else (toh - 1) * self.s + self.kh

    @property
    def oh(self):
        return (self.h + self.pads[0] + self.pads[1] - self.kh) // self.s + 1

    @property
    def ow(self):
        return (self.w + self.pads[2] + self.pads[3] - self.kw) // self.s + 1


@dataclass(frozen=True, order=True)
class Schedule:
    to: int
    toh: int
    tow: int
    tc: int
    order: str = "os"
    vt: int = 2

    def __str__(self):
        return (f"to={self.to} toh={self.toh} tow={self.tow} tc={self.tc} order={self.order} "
                f"vt={self.vt}")


@dataclass(frozen=True)
class Cost:
    compute: float
    dram_read: float
    dram_write: float
    bytes_read: int
    bytes_written: int
    edges: float = 0.0

    @property
    def cycles(self):
        # the units overlap, but not perfectly when two of them are nearly balanced: a
        # p-norm instead of max (p = OVERLAP_P: 1.044 x max for two equal ones)
        parts = (self.compute, self.dram_read, self.dram_write)
        top = max(parts)
        return top * sum((v / top) ** OVERLAP_P for v in parts) ** (1 / OVERLAP_P) + self.edges


def extents(n, t):
    """Extents of the tiles of size t covering n."""
    return [min(t, n - i) for i in range(0, n, t)]


def last_extent(n, t):
    return n - (-(-n // t) - 1) * t


def sizes(n):
    """Candidate tile sizes for an axis of n: every ceil(n / k), largest first."""
    return sorted({-(-n // k) for k in range(1, n + 1)}, reverse=True)


def inner_axis(bo, boh, bow):
    """The output axis the micro-kernel unrolls innermost: one with extent >= 2, so that two
    consecutive micro-ops write different acc entries; None if the tile is one entry."""
    for axis, ext in (("ob", bo), ("ow", bow), ("oh", boh)):
        if ext >= 2:
            return axis
    return None


@lru_cache(maxsize=4096)
def _spans(n, t, s, k, p0, real):
    """Per tile along one axis: (padded input extent, real input rows/cols it loads)."""
    out = []
    for o0 in range(0, n, t):
        b = min(t, n - o0)
        r0, r1 = o0 * s, (o0 + b - 1) * s + k
        out.append((r1 - r0, min(r1 - p0, real) - max(r0 - p0, 0)))
    return tuple(out)


def reserved(g):
    """Per region, entries the bias takes besides the tile: (INP entries, WGT tiles per
    output channel block, acc entries per output channel block)."""
    return (1, 1, 0) if g.bias == "gemm" else (0, 0, 1)


def fits(cfg, g, sc):
    """None if schedule ``sc`` fits ``cfg`` for ``g``, else the reason."""
    ihp, iwp = g.in_rows(sc.toh), (sc.tow - 1) * g.s + g.kw
    kk = g.kh * g.kw
    ei, ew, ea = reserved(g)
    if sc.vt * (sc.tc * ihp * iwp + ei) > cfg.inp_depth:
        return (f"{sc.vt} x ({sc.tc} x {ihp} x {iwp} + {ei}) input entries exceed the {cfg.inp_depth}-entry "
                "INP buffer")
    if sc.vt * sc.to * (sc.tc * kk + ew) > cfg.wgt_depth:
        return (f"{sc.vt} x {sc.to} x ({sc.tc} x {kk} + {ew}) weight tiles exceed the {cfg.wgt_depth}-entry "
                "WGT buffer")
    if sc.vt * sc.to * (sc.toh * sc.tow + ea) > cfg.acc_depth:
        return (f"{sc.vt} x {sc.to} x ({sc.toh} x {sc.tow} + {ea}) accumulator entries exceed the "
                f"{cfg.acc_depth}-entry acc buffer")
    if sc.to * sc.toh > MAX_ITER or sc.tow > MAX_ITER:
        return "a loop count exceeds the 14-bit iter fields"
    ends = [(a, b, c) for a in {sc.to, last_extent(g.ob, sc.to)} for b in {sc.toh, last_extent(g.oh, sc.toh)}
            for c in {sc.tow, last_extent(g.ow, sc.tow)}]
    for a, b, c in ends:
        ax = inner_axis(a, b, c)
        if ax is None:
            return "a tile of one accumulator entry would make consecutive micro-ops write it"
        if sc.tc * kk * {"ob": a, "ow": c, "oh": b}[ax] > cfg.uop_depth // 2:
            return f"its micro-kernel exceeds half the {cfg.uop_depth}-entry uop buffer"
    return None


def model(cfg, g, sc, *, bias=True, shift=True):
    """The :class:`Cost` of schedule ``sc`` (see the module docstring)."""
    kk, bus = g.kh * g.kw, cfg.bus_bytes
    bpc = cfg.dram_bytes_per_cycle or bus
    inp_eb, wgt_eb = cfg.elem_bytes(MEM_INP), cfg.elem_bytes(MEM_WGT)
    out_eb, acc_eb = cfg.out_bytes, cfg.acc_bytes
    req = _request_cycles(cfg)
    rd_out, wr_out = max(1, cfg.dram_max_outstanding_reads), max(1, cfg.dram_max_outstanding_writes)
    hs = (tuple((b, b) for b in extents(g.oh, sc.toh)) if g.row_skip
          else _spans(g.oh, sc.toh, g.s, g.kh, g.pads[0], g.h))
    ws = _spans(g.ow, sc.tow, g.s, g.kw, g.pads[2], g.w)
    n_ob, n_sp = -(-g.ob // sc.to), len(hs) * len(ws)
    steps = -(-g.cb // sc.tc)
    one_step = steps == 1
    # a read holds an outstanding-read slot per burst, not per request (LOAD row)
    mbb = min(cfg.dram_max_burst_beats, 256)
    bursts = lambda nbytes: -(-(-(-nbytes // bus)) // mbb)
    # input: one LOAD row per real input row of each channel block of each tile
    # a load is skipped when its region holds the data: regions alternate per step, so with
    # one step (each region every other tile) or vt steps (region = step) data stay resident
    # across the tiles of the outer loop
    resident = 1 if steps == sc.vt else (min(sc.vt, n_ob if sc.order == "so" else n_sp) if one_step else 0)
    in_pass = n_sp * resident if (sc.order == "so" and resident) else n_ob * n_sp   # tiles that load inputs
    rows = sum(r for _, r in hs) * sum(bursts(c * inp_eb) for _, c in ws)  # per channel block, all tiles
    row_beats = sum(-(-c * inp_eb // bus) for _, c in ws) * sum(r for _, r in hs)
    per_sp = in_pass / n_sp
    in_req = g.nb * g.cb * rows * per_sp
    in_beats = g.nb * g.cb * row_beats * per_sp
    in_bytes = g.nb * g.cb * sum(r for _, r in hs) * sum(c for _, c in ws) * inp_eb * per_sp
    # weights: one LOAD row per output channel block per step
    w_pass = resident if (sc.order == "os" and resident) else n_sp
    w_req = g.nb * w_pass * g.ob * sum(bursts(bc * kk * wgt_eb) for bc in extents(g.cb, sc.tc))
    w_bytes = g.nb * w_pass * g.ob * g.cb * kk * wgt_eb
    w_beats = g.nb * w_pass * g.ob * sum(-(-bc * kk * wgt_eb // bus) for bc in extents(g.cb, sc.tc))
    tiles = g.nb * n_ob * n_sp
    fold = bias and g.bias == "gemm"
    if fold:     # a bias weight tile per output channel block, loaded along with the weights
        b_pass = min(sc.vt, n_sp) if sc.order == "os" else n_sp    # keyed by the group only
        b_bytes, b_req = g.nb * b_pass * g.ob * wgt_eb, g.nb * b_pass * n_ob
    else:        # an acc entry per output channel block of every tile
        b_bytes, b_req = (tiles * sc.to * acc_eb, tiles) if bias else (0, 0)
    read = _channel((in_beats + w_beats + b_bytes / bus) * bus / bpc, in_req + w_req + b_req, req, rd_out)
    outs = g.nb * g.ob * g.oh * g.ow
    st_rows = g.nb * g.ob * g.oh * sum(bursts(c * out_eb) for c in extents(g.ow, sc.tow))
    wr_beats = sum(-(-c * out_eb // bus) for c in extents(g.ow, sc.tow)) * g.nb * g.ob * g.oh
    # a STORE (one per output channel block of a tile) retires at its last write response:
    # the store stage runs them one after another
    t = cfg.section("timing")
    n_st = g.nb * g.ob * n_sp
    per_st = t["insn_overhead"] + cfg.section("dram")["latency"] + t["write_resp_cycles"]
    write = max(_channel(wr_beats * bus / bpc, st_rows, req, wr_out), wr_beats * bus / bpc + n_st * per_st)
    # compute: reset + one GEMM per step per tile, the bias (a GEMM micro-op per entry, or an
    # ALU vector-vector ADD), SHR, MAX, MIN
    macs_uops = outs * g.cb * kk
    alu_bias = bias and not fold
    alu = outs * ((2 if alu_bias else 0) + (1 if shift else 0) + 2)
    n_alu = tiles * ((1 if alu_bias else 0) + (1 if shift else 0) + 2)
    n_gemm = tiles * (steps + 1 + fold)
    compute = macs_uops + outs * (1 + fold) + alu + n_gemm * GEMM_OVERHEAD + n_alu * ALU_OVERHEAD
    # what overlaps nothing: the first step's loads before any compute, the last tile's
    # store after it (a few large tiles cost a long fill and drain)
    to, toh, tow, tc = min(sc.to, g.ob), min(sc.toh, g.oh), min(sc.tow, g.ow), min(sc.tc, g.cb)
    fill = (tc * g.in_rows(toh) * ((tow - 1) * g.s + g.kw) * inp_eb + to * tc * kk * wgt_eb) / bpc + req
    drain = to * toh * tow * out_eb / bpc + req
    return Cost(compute, read, write, int(in_bytes + w_bytes + b_bytes), outs * out_eb, fill + drain)


def _channel(data, bursts, req, slots):
    """Cycles of a DRAM channel moving ``data`` cycles of beats in ``bursts`` bursts: the
    beats back to back, or each burst holding one of ``slots`` outstanding slots for its
    round trip ``req`` and its beats, whichever binds."""
    return max(data, (bursts * req + data) / slots)


def _request_cycles(cfg):
    """Fixed cycles of one DRAM read request (AXI request + latency), from the config."""
    return cfg.section("timing").get("axi_req_cycles", 2) + cfg.section("dram")["latency"]


_RANKED = {}   # (the config's values, geometry, vts) -> rank's list; see rank
_RANKED_MAX = 256


def rank(cfg, g, vts=(2, 1)):
    """The fitting schedules, best modeled first: [(Cost, Schedule)]. Deterministic. Per
    (to, toh, tow) only the largest fitting tc of the form ceil(cb / k) is kept (a larger
    reduction step never moves more data and issues fewer instructions), and per (to, toh)
    the WIDTHS widest fitting tow.

    Remembered per (config values, geometry, vts): a network repeats its layers (ResNet-18:
    12 distinct convs of 20) and a search costs ~60 ms. A new list each call."""
    key = (json.dumps(cfg.to_dict(), sort_keys=True), g, tuple(vts))
    hit = _RANKED.get(key)
    if hit is None:
        if len(_RANKED) >= _RANKED_MAX:
            _RANKED.clear()
        hit = _RANKED[key] = _rank(cfg, g, vts)
    return list(hit)


def _rank(cfg, g, vts):
    out, kk = [], g.kh * g.kw
    ei, ew, _ = reserved(g)
    tcs = sizes(g.cb)
    for vt in vts:
        for to in sizes(g.ob):
            if vt * to * (kk + ew) > cfg.wgt_depth:
                continue
            for toh in sizes(g.oh):
                ihp = g.in_rows(toh)
                widths = 0
                for tow in sizes(g.ow):
                    iwp = (tow - 1) * g.s + g.kw
                    cap = min((cfg.inp_depth // vt - ei) // (ihp * iwp), (cfg.wgt_depth // vt // to - ew) // kk)
                    tc = next((t for t in tcs if t <= cap), None)
                    if tc is None:
                        continue
                    # the order changes the traffic only with one reduction step, several
                    # channel groups and several spatial tiles
                    orders = ("os", "so") if (tc >= g.cb and to < g.ob and (toh < g.oh or tow < g.ow)) else ("os",)
                    found = [Schedule(to, toh, tow, tc, order, vt) for order in orders]
                    found = [sc for sc in found if fits(cfg, g, sc) is None]
                    out += [(model(cfg, g, sc), sc) for sc in found]
                    widths += bool(found)
                    if widths == WIDTHS:
                        break
        if out:
            break        # vt=1 only when no double-buffered schedule fits
    tiles = lambda sc: -(-g.ob // sc.to) * -(-g.oh // sc.toh) * -(-g.ow // sc.tow) * -(-g.cb // sc.tc)
    out.sort(key=lambda cs: (round(cs[0].cycles), tiles(cs[1]), cs[1]))
    return out


def best(cfg, g, op="conv2d"):
    """The model's best schedule; a ConfigError naming the limit if nothing fits."""
    ranked = rank(cfg, g)
    if not ranked:
        sc = Schedule(1, 1, min(2, g.ow), 1, "os", 1)
        raise ConfigError(f"{op}: no tiling fits config '{cfg.name}': even the smallest tile ({sc}) "
                          f"fails: {fits(cfg, g, sc) or 'no tile of two entries'}")
    return ranked[0][1]


def confirm(ranked, run, top=3):
    """Run the ``top`` best-modeled schedules with ``run(schedule) -> cycles`` (e.g. a TLM
    run) and return (chosen schedule, [(schedule, modeled cycles, measured cycles)])."""
    table = [(sc, cost.cycles, run(sc)) for cost, sc in ranked[:top]]
    chosen = min(enumerate(table), key=lambda ir: (ir[1][2], ir[0]))[1][0]   # ties: better modeled
    return chosen, table
