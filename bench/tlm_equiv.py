#!/usr/bin/env python3
"""Fingerprint of the TLM's results, to show a speed change left every result as it was.

    python bench/tlm_equiv.py record OUT.json [--fuzz N] [--no-resnet]
    python bench/tlm_equiv.py compare BASE.json NEW.json

``record`` runs, on tiny and default: every reference workload at four memory settings
and with zero-cycle timing (ZERO_TIMING), N random programs (vta.compiler.fuzz, default
320) at the config's memory and a quarter of them at the four others, mutated random programs (one random field of one instruction
changed: range errors, deadlocks, leftover tokens, limits, encoding errors), with and
without ``wrap``, ``strict`` and ``sram_init``, injected AXI faults, a few traced runs, and
every TLM program of ResNet-18 on default. Per run it keeps the cycles, the statistics
(host times left out), hashes of the outputs, of the final SRAMs and of the DRAM writes,
the warnings, or the error (type, message, attributes); and the number of SimPy events
(reported apart: a change may drop events on purpose). Run it with the code before and
after a change (PYTHONPATH picking the ``vta`` package), then ``compare``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from vta.compiler import build_workload, workload_names
from vta.compiler.fuzz import random_program
from vta.isa import VTAError, load_config
from vta.tlm import run_program
from vta.tlm.top import Tlm

CACHE = Path(__file__).resolve().parents[1] / "build" / "models"
MEMORY = {"base": None,
          "slow1": {"max_outstanding_reads": 1, "max_outstanding_writes": 1, "latency": 40},
          "fast_thin": {"latency": 1, "bytes_per_cycle": 1},
          "short_bursts": {"max_burst_beats": 2, "max_outstanding_reads": 2, "latency": 7}}
# zero-cycle dispatch, overheads, token latency and SRAM writes: many events in one cycle,
# where their order decides (a change that drops events must keep it)
ZERO_TIMING = {"fetch_insn_cycles": 0, "insn_overhead": 0, "dep_latency": 0, "sram_write_cycles": 0}
FAULTS = ("r:fetch", "r:load", "r:uop", "r:acc", "b:store", "r:load:decerr:2", "b:store:3")


def _h(data):
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def _result_record(tlm, res):
    stats = {k: v for k, v in res.stats.items() if k != "sim"}
    srams = b""
    if tlm is not None:
        comp = tlm.compute
        srams = b"".join(a.tobytes() for a in (tlm.inp_buf, tlm.wgt_buf, comp.acc, comp.out,
                                               comp.uop_dst, comp.uop_src, comp.uop_wgt))
    writes = b"".join(res.dram.peek(a, e - a).tobytes() for a, e, _ in res.dram.write_log)
    rec = {"cycles": res.cycles, "stats": stats,
           "outputs": {k: _h(v.tobytes()) for k, v in res.outputs.items()},
           "mismatches": [str(m) for m in res.mismatches],
           "srams": _h(srams), "writes": _h(writes), "write_log": _h(repr(res.dram.write_log).encode()),
           "warnings": list(res.warnings), "warning_count": res.warning_count}
    if res.trace is not None and hasattr(res.trace, "events"):
        rec["trace"] = _h(json.dumps(res.trace.events, sort_keys=True, default=str).encode())
    return rec


def run_record(prog, cfg=None, **kw):
    """(record, SimPy events) of one run; errors are part of the record. ``api``: through
    run_program (what the caller gets back: no SRAMs, no event count)."""
    if kw.pop("api", False):
        try:
            return json.loads(json.dumps(_result_record(None, run_program(prog, cfg, **kw)),
                                         default=repr)), 0
        except (VTAError, ValueError) as e:
            return {"error": type(e).__name__, "message": str(e)}, 0
    tlm = None
    try:
        tlm = Tlm(prog, cfg, **kw)
        res = tlm.run()
        rec = _result_record(tlm, res)
    except (VTAError, ValueError) as e:
        rec = {"error": type(e).__name__, "message": str(e),
               "attrs": {k: repr(getattr(e, k, None)) for k in
                         ("stage", "index", "text", "cycle", "blocked", "queues", "leftovers",
                          "burst")}}
        if getattr(e, "result", None) is not None and tlm is not None:
            rec["result"] = _result_record(tlm, e.result)
    events = next(tlm.env._eid) if tlm is not None else 0
    return json.loads(json.dumps(rec, default=repr)), events


def _mutate(prog, rng):
    """A copy of ``prog`` with one field of one instruction set to a random value."""
    import dataclasses
    insns = list(prog.insns)
    loops = [i for i, insn in enumerate(insns) if hasattr(insn, "iter_out")]
    if loops and rng.random() < 0.5:   # GEMM/ALU: the loop nest's checks and warnings
        k = loops[int(rng.integers(0, len(loops)))]
    else:
        k = int(rng.integers(0, len(insns)))
    fields = [f.name for f in dataclasses.fields(insns[k])]
    if not fields:
        return None
    name = fields[int(rng.integers(0, len(fields)))]
    old = getattr(insns[k], name)
    if isinstance(old, bool):
        new = not old
    else:
        new = int(rng.choice([0, 1, old + 1, old - 1, old * 2 + 3, int(rng.integers(0, 64)),
                              int(rng.integers(0, 1 << 12))]))
        new = max(new, 0) if name != "imm" else new
    insns[k] = insns[k].replace(**{name: new})
    return dataclasses.replace(prog, insns=insns, name=f"{prog.name}-mut{k}{name}")


def _stretch(prog, rng):
    """A copy of ``prog`` with one GEMM/ALU's loop stretched (more iterations, a larger
    factor): indices past the buffers, at some iteration and micro-op."""
    import dataclasses
    insns = list(prog.insns)
    loops = [i for i, insn in enumerate(insns) if hasattr(insn, "iter_out")]
    if not loops:
        return None
    k = loops[int(rng.integers(0, len(loops)))]
    insn = insns[k]
    factors = [f.name for f in dataclasses.fields(insn) if "factor" in f.name]
    name = factors[int(rng.integers(0, len(factors)))]
    loop = "iter_out" if name.endswith("out") else "iter_in"
    insns[k] = insn.replace(**{loop: getattr(insn, loop) + int(rng.integers(1, 9)),
                               name: int(rng.integers(1, 1 << int(rng.integers(1, 12))))})
    return dataclasses.replace(prog, insns=insns, name=f"{prog.name}-stretch{k}{name}")


def _retarget(prog, kind, where):
    """A copy of ``prog`` whose first STORE (kind "store") or INP/WGT/ACC LOAD ("load")
    goes to ``where``: "insns", "uops" (a write over the code: warnings), "gap" (between
    the declared regions: outside every one) or "end" (straddling a segment's end)."""
    import dataclasses
    from vta.isa import MEM_UOP, Load, Store
    cfg = prog.config
    insns = list(prog.insns)
    for k, insn in enumerate(insns):
        if (kind == "store" and isinstance(insn, Store)) or \
                (kind == "load" and isinstance(insn, Load) and insn.memory_type != MEM_UOP):
            break
    else:
        return None
    elem = cfg.elem_bytes(insn.memory_type)
    seg = prog.segments[-1]
    addr = {"insns": prog.insn_base, "uops": prog.uop_base, "gap": prog.uop_base + 4096,
            "end": seg.end - elem}[where]
    insns[k] = insn.replace(dram_base=addr // elem)
    return dataclasses.replace(prog, insns=insns, name=f"{prog.name}-{kind}-{where}")


def programs(n_fuzz):
    """Yield (key, program, run config or None, Tlm keyword arguments)."""
    for cname in ("tiny", "default"):
        cfg = load_config(cname)
        variants = {m: cfg if d is None else cfg.replace(dram=d) for m, d in MEMORY.items()}
        variants["zero_timing"] = cfg.replace(timing=ZERO_TIMING)
        for name in workload_names():
            prog = build_workload(name, cname)
            for m, rc in variants.items():
                yield f"{cname}/wl/{name}/{m}", prog, rc, {}
            yield f"{cname}/wl/{name}/api", prog, None, {"api": True}
        for seed in range(n_fuzz):
            prog = random_program(cfg, seed)
            yield f"{cname}/fuzz/{seed}/base", prog, cfg, {}
            if seed % 4 == 1:
                yield f"{cname}/fuzz/{seed}/api", prog, cfg, {"api": True}
            if seed % 4 == 0:
                for m in ("slow1", "fast_thin", "short_bursts", "zero_timing"):
                    yield f"{cname}/fuzz/{seed}/{m}", prog, variants[m], {}
            if seed % 8 == 1:
                yield f"{cname}/fuzz/{seed}/sram5", prog, cfg, {"sram_init": 5}
                yield f"{cname}/fuzz/{seed}/strict-sram", prog, cfg, {"sram_init": "zero",
                                                                      "strict": True}
            if seed % 16 == 2:
                yield f"{cname}/fuzz/{seed}/trace", prog, variants["slow1"], {"trace": True}
            if seed % 5 == 4:
                for kind in ("store", "load"):
                    for where in ("insns", "uops", "gap", "end"):
                        moved = _retarget(prog, kind, where)
                        if moved is not None:
                            yield f"{cname}/fuzz/{seed}/{kind}-{where}", moved, cfg, {}
            if seed % 10 == 3:
                for spec in FAULTS:
                    yield f"{cname}/fuzz/{seed}/fault-{spec}", prog, cfg, {"inject_fault": spec}
        rng = np.random.default_rng(7)
        for seed in range(n_fuzz // 2):
            for kind, change in (("mut", _mutate), ("stretch", _stretch)):
                prog = change(random_program(cfg, 1000 + seed), rng)
                if prog is None:
                    continue
                for kw in ({}, {"wrap": True}, {"strict": True}):
                    yield (f"{cname}/{kind}/{seed}/{'-'.join(kw) or 'plain'}", prog, cfg,
                           {"max_cycles": 3_000_000, **kw})


def resnet_programs():
    """Yield (key, program) of every TLM program ResNet-18 runs on default."""
    from vta.compiler.cli import prepare
    from vta.compiler.graph import run_vta
    from vta.compiler.quantize import quantize_input
    from vta.compiler.zoo import resnet18_path
    cfg = load_config("default")
    rng = np.random.default_rng(1)
    calib = rng.normal(0, 1, (2, 3, 224, 224)).astype(np.float32)
    g = prepare(resnet18_path(CACHE, 0), calib, cfg)
    x = quantize_input(g, calib[:1], cfg.inp_bits)
    progs = []

    def executor(prog):
        progs.append(prog)
        return run_program(prog, cfg)

    run = run_vta(g, x, cfg, executor)
    yield "resnet/output", None, _h(np.ascontiguousarray(run.output).tobytes())
    for i, prog in enumerate(progs):
        yield f"resnet/{i}/{prog.name}", prog, None


def record(out, n_fuzz, resnet):
    recs, events = {}, {}
    t0 = time.time()
    for key, prog, rc, kw in programs(n_fuzz):
        if prog is None:
            continue
        recs[key], events[key] = run_record(prog, rc, **kw)
    if resnet:
        for key, prog, value in resnet_programs():
            if prog is None:
                recs[key], events[key] = value, 0
            else:
                recs[key], events[key] = run_record(prog)
    Path(out).write_text(json.dumps({"records": recs, "events": events}, sort_keys=True))
    errors = sum("error" in r for r in recs.values() if isinstance(r, dict))
    print(f"{len(recs)} runs ({errors} ending in an error) in {time.time() - t0:.0f} s -> {out}")


def compare(base, new):
    a, b = (json.loads(Path(p).read_text()) for p in (base, new))
    ra, rb = a["records"], b["records"]
    bad = [k for k in ra if ra[k] != rb.get(k)] + [k for k in rb if k not in ra]
    for k in bad[:10]:
        x, y = ra.get(k), rb.get(k)
        if isinstance(x, dict) and isinstance(y, dict):
            diff = {f: (x.get(f), y.get(f)) for f in set(x) | set(y) if x.get(f) != y.get(f)}
            print(f"DIFF {k}: {json.dumps(diff, default=repr)[:1500]}")
        else:
            print(f"DIFF {k}: {x!r:.300} vs {y!r:.300}")
    ev = [k for k in a["events"] if a["events"][k] != b["events"].get(k)]
    print(f"{len(ra)} runs compared: {len(bad)} differ; SimPy event counts differ in {len(ev)}")
    return 1 if bad else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("out")
    r.add_argument("--fuzz", type=int, default=320)
    r.add_argument("--no-resnet", action="store_true")
    c = sub.add_parser("compare")
    c.add_argument("base")
    c.add_argument("new")
    args = ap.parse_args(argv)
    if args.cmd == "record":
        record(args.out, args.fuzz, not args.no_resnet)
        return 0
    return compare(args.base, args.new)


if __name__ == "__main__":
    sys.exit(main())
