"""Verilator line and toggle coverage of the RTL over a random-program campaign.

    python bench/coverage.py --count 200 [--seed 0] [--config tiny] [--batch 100]
                             [--out build/coverage] [--depth 3] [--list 40]

Exports the RTL of the config afresh into OUT/export and builds a separate Verilator model
with --coverage-line --coverage-toggle in OUT/sim-verilator-coverage (the RTL build cache is
not touched); runs the fuzz programs of bench/fuzz_rtl.py (seeds seed..seed+count-1) on it
through the usual cross-check (TLM = RTL = reference, cycle bound), one session per batch;
merges the batches' coverage.dat files and prints, per unit (the instance path of the
flattened Verilog's names, ``--depth`` levels, e.g. core0_compute0_acc_buffer0), the line and
toggle points hit, then the uncovered lines (file:line and the block they belong to) and the
signals with untoggled bits. Writes OUT/coverage.json with every point.
Exit status: 0 done (the cross-check found nothing), 1 a program failed, 2 error.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fuzz_rtl  # noqa: E402 -- the campaign's programs and failure rule

from vta.cosim import sim, tools  # noqa: E402
from vta.cosim.crosscheck import check_many  # noqa: E402
from vta.isa import VTAError, load_config  # noqa: E402

COVERAGE_ARGS = ["--coverage-line", "--coverage-toggle"]
# MyHDL flattens the design into one module; every name starts with its instance path,
# e.g. core0_compute0_acc_buffer0_bypass: levels are name pieces that end in a number
LEVEL = re.compile(r"[A-Za-z_]+?\d+_")


def levels(name, depth):
    """The instance path prefixes of a flattened Verilog name, shortest first (at most
    ``depth`` levels); a signal named like an instance (xp0) yields one too many."""
    out, path, rest = [], "", name + "_"
    for _ in range(depth):
        m = LEVEL.match(rest)
        if not m:
            break
        path += m.group(0)
        rest = rest[m.end():]
        out.append(path.rstrip("_"))
    return out


def unit_of(name, depth, instances=None):
    """The unit (instance path of at most ``depth`` levels) a name belongs to: with
    ``instances`` (the paths of the always blocks), the longest prefix of the name that
    is one of them or an ancestor of one."""
    cands = levels(name, depth)
    if instances is not None:
        known = [c for c in cands if any(i == c or i.startswith(c + "_") for i in instances)]
        cands = known or cands[:1]
    return cands[-1] if cands else "vta_top (ports, top level)"


def build_model(cfg, out):
    """Fresh export + a Verilator model with coverage; returns (runner, build_dir)."""
    tools.apply_hdl_env()
    tools.which("verilator")
    from cocotb_tools.runner import get_runner
    export = sim.export_dir(cfg, out / "export")
    build_dir = out / "sim-verilator-coverage"
    runner = get_runner("verilator")
    # the cached build's options (cosim/sim.py) plus coverage
    args = ["-Wno-fatal", "-Wno-WIDTH", "-Wno-lint", "-O3", "--x-assign", "0", *COVERAGE_ARGS]
    try:
        runner.build(sources=sim.sources(export, "vta_top"), hdl_toplevel="vta_top", build_dir=build_dir,
                     build_args=args, timescale=("1ns", "10ps"), log_file=build_dir / "build.log",
                     always=True)
    except SystemExit as e:
        raise VTAError(f"coverage build failed (see {build_dir / 'build.log'}): exit {e.code}") from None
    return runner, build_dir


def read_points(path):
    """{point key: (fields, count)} of one coverage.dat (Verilator's text format:
    C '<\\x01key\\x02value...>' count)."""
    points = {}
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("C '"):
            continue
        body, _, count = line[3:].rpartition("' ")
        fields = dict(kv.split("\x02", 1) for kv in body.split("\x01") if "\x02" in kv)
        points[body] = (fields, int(count))
    return points


def merge(into, points):
    for key, (fields, count) in points.items():
        old = into.get(key)
        into[key] = (fields, count + (old[1] if old else 0))


def scan_verilog(verilog):
    """(line number -> name of the always block or assigned signal the line is in,
    the always blocks' names, the signals tied to a constant)."""
    names, blocks, constants, current = {}, set(), set(), None
    for n, text in enumerate(verilog.read_text().splitlines(), 1):
        m = re.search(r"begin: (\w+)", text)
        a = re.match(r"\s*assign (\w+) = (\d+'[sd]?[dhb]?[0-9a-fA-F_]+|\d+);", text) or \
            re.match(r"\s*assign (\w+)", text)
        if m:
            current = m.group(1)
            blocks.add(current)
        elif a:
            names[n] = a.group(1)
            if a.lastindex == 2:
                constants.add(a.group(1))
            continue
        elif text.startswith(("always", "initial", "endmodule")) or not text.strip():
            current = None if not text.startswith(("always", "initial")) else current
        if current:
            names[n] = current
    return names, blocks, constants


def summarize(points, verilog, depth):
    """Per unit: line [hit, total], toggle [hit, total]; uncovered lines and signals
(signals tied to a constant are left out)."""
    blocks, block_set, constants = scan_verilog(verilog)
    instances = {unit_of(b, depth) for b in block_set}
    units = defaultdict(lambda: {"line": [0, 0], "toggle": [0, 0]})
    missed_lines, missed_toggles = defaultdict(list), defaultdict(list)
    for fields, count in points.values():
        page = fields.get("page", "")
        kind = ("toggle" if page.startswith("v_toggle")
                else "line" if page.startswith(("v_line", "v_branch")) else None)
        if kind is None:
            continue
        if kind == "toggle":
            signal = fields.get("o", "?")
            name = re.sub(r"[\[:].*$", "", signal)
            if name in constants:   # a tie-off never toggles: not a coverage point
                continue
        else:
            line = int(fields.get("l", 0))
            name = blocks.get(line, f"line {line}")
        unit = unit_of(name, depth, instances)
        units[unit][kind][1] += 1
        units[unit][kind][0] += count > 0
        if count:
            continue
        if kind == "line":
            # a line point is a block or branch: its lines (S) and kind (o: if, else, ...)
            missed_lines[unit].append((line, f"{fields.get('o', '?')} lines {fields.get('S', line)}, {name}"))
        else:
            missed_toggles[unit].append(signal)
    return units, missed_lines, missed_toggles


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200, help="number of random programs")
    ap.add_argument("--seed", type=int, default=0, help="first seed (program i uses seed + i)")
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--batch", type=int, default=100, help="programs per simulator session")
    ap.add_argument("--out", default="build/coverage")
    ap.add_argument("--depth", type=int, default=3, help="instance levels per unit")
    ap.add_argument("--list", type=int, default=40, metavar="N",
                    help="uncovered lines/signals listed per unit (0: all)")
    a = ap.parse_args(argv)
    if a.count < 1 or a.batch < 1 or a.depth < 1:
        print("coverage: error: --count, --batch and --depth must be at least 1", file=sys.stderr)
        return 2
    out = Path(a.out).resolve()
    try:
        cfg = load_config(a.config)
        t0 = time.perf_counter()
        runner, build_dir = build_model(cfg, out)
        print(f"coverage model built in {time.perf_counter() - t0:.0f} s: {build_dir}")
    except VTAError as e:
        print(f"coverage: error: {e}", file=sys.stderr)
        return 2
    # every simulator session of the cross-check runs on the coverage model
    sim.build = lambda *_args, **_kw: (runner, build_dir)
    points, failures = {}, []
    t0 = time.perf_counter()
    for start in range(0, a.count, a.batch):
        seeds = range(a.seed + start, a.seed + min(start + a.batch, a.count))
        programs = [fuzz_rtl.make_program(cfg, s) for s in seeds]
        work = out / f"batch-{start // a.batch:04d}"
        (work / "coverage.dat").unlink(missing_ok=True)
        try:
            results = check_many(programs, cfg, sim="verilator", workdir=work)
        except VTAError as e:
            print(f"coverage: error: {e}", file=sys.stderr)
            return 2
        failures += [f"{p.name}: {why}" for p, r in zip(programs, results)
                     if (why := fuzz_rtl.failure(r))]
        dat = work / "coverage.dat"
        if not dat.exists():
            print(f"coverage: error: the simulator wrote no {dat}", file=sys.stderr)
            return 2
        merge(points, read_points(dat))
        print(f"  programs {seeds.start}..{seeds.stop - 1}: {len(points)} coverage points so far")
    wall = time.perf_counter() - t0
    verilog = out / "export" / "vta_top.v"
    units, missed_lines, missed_toggles = summarize(points, verilog, a.depth)

    def pct(hit, total):
        return f"{hit}/{total} ({hit / total:.1%})" if total else "-"

    print(f"\nVerilator coverage of the RTL ({cfg.name}) over {a.count} random programs "
          f"(seeds {a.seed}..{a.seed + a.count - 1}, {wall:.0f} s)")
    print(f"{'unit':44} {'lines':>20} {'toggles':>22}")
    tot = {"line": [0, 0], "toggle": [0, 0]}
    for unit in sorted(units):
        u = units[unit]
        for k in tot:
            tot[k][0] += u[k][0]
            tot[k][1] += u[k][1]
        print(f"{unit:44} {pct(*u['line']):>20} {pct(*u['toggle']):>22}")
    print(f"{'total':44} {pct(*tot['line']):>20} {pct(*tot['toggle']):>22}")
    if any(missed_lines.values()):
        print(f"\nuncovered blocks and branches ({verilog}):")
        for unit in sorted(missed_lines):
            rows = sorted(missed_lines[unit])
            shown = rows if a.list == 0 else rows[:a.list]
            print(f"  {unit}: " + "; ".join(what for _, what in shown)
                  + (f", ... {len(rows) - len(shown)} more" if len(shown) < len(rows) else ""))
    if any(missed_toggles.values()):
        print("\nsignals with untoggled bits:")
        for unit in sorted(missed_toggles):
            sigs = sorted({re.sub(r"[\[:].*$", "", s) for s in missed_toggles[unit]})
            shown = sigs if a.list == 0 else sigs[:a.list]
            print(f"  {unit}: {len(missed_toggles[unit])} bit transitions in " + ", ".join(shown)
                  + (f", ... {len(sigs) - len(shown)} more" if len(shown) < len(sigs) else ""))
    report = {"config": cfg.name, "seeds": [a.seed, a.seed + a.count - 1], "units": units,
              "uncovered_lines": {u: sorted(v) for u, v in missed_lines.items()},
              "untoggled": missed_toggles, "failures": failures}
    (out / "coverage.json").write_text(json.dumps(report, indent=1))
    for f in failures:
        print(f"FAILED {f}")
    print(f"\nwritten: {out / 'coverage.json'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
