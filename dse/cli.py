"""``vta-dse``: design-space exploration over the config YAML.

    vta-dse sweep SPEC.yaml -o DIR [--jobs N] [--budget N [--search random|halving] [--seed S]
                                   [--exhaustive-check]]
                                   [--scheduler tcp://HOST:PORT] [--cache DIR] [--synth-front N]
                                   [--pnr N [--pnr-timeout S]] [-q]

Writes DIR/points.csv, DIR/pareto.png, DIR/best-<board>.yaml and prints a summary table.
``vta-dse model`` prints the resource model's coefficients and its error on held-out points;
``vta-dse calibrate CONFIG... [--hold-out]`` synthesizes configs into its calibration file.
Exit codes: 0 ok (also when some points failed: they are reported), 2 bad input.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from vta.cli import positive_int as positive, run_command

from . import sweep as sw
from .resources import MODELED as MODELED_SHOWN, ResourceModel
from .spec import MAX_POINTS, SpecError, load_spec


def write_csv(rows, path):
    cols = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)


def write_best(row, cfg, board, out):
    """best-<board>.yaml: the point's config set to the board's target, clock and part."""
    import yaml

    from vta.isa import Config
    part, mhz, _ = sw.board_info(board)
    d = cfg.to_dict()
    d.update(name=f"dse-best-{board}", target=board,
             description=f"vta-dse: fastest point fitting {board} ({row['label']})")
    d["clock"] = {"mhz": row[f"mhz_{board}"]}   # the board's, or the point's measured Fmax (--pnr)
    d["fpga"] = {"part": part}
    Config.from_dict(d)   # it must load as a normal config
    path = out / f"best-{board}.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False, default_flow_style=False))
    return path


def plot(rows, base, path, board):
    """Latency at the first board's clock vs LUT, DSP, BRAM36 in percent of that board's part
    (the units differ between parts); the 2-D front of each marked, and the board's fit limit
    as a dashed line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .pareto import front
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    lat = f"latency_ms_{board}"
    for ax, res in zip(axes, ("LUT", "DSP", "BRAM36")):
        pct = f"{res}_pct_{board}"
        xs, ys = [r[pct] for r in rows], [r[lat] for r in rows]
        ax.scatter(xs, ys, s=14, c="0.6", label="points")
        idx = front(list(zip(xs, ys)))
        fx, fy = zip(*sorted((xs[i], ys[i]) for i in idx)) if idx else ((), ())
        ax.step(fx, fy, where="post", c="tab:red", lw=1)
        ax.scatter(fx, fy, s=26, c="tab:red", label="Pareto front")
        if base is not None:
            ax.scatter([base[pct]], [base[lat]], marker="*", s=160, c="tab:blue", label="base config")
        ax.axvline(100 * sw.MARGINS[res], ls="--", c="0.3", lw=1, label=f"{board} limit ({sw.MARGINS[res]:.0%})")
        ax.set_xlabel(f"{res}, % of {sw.board_info(board)[0]} (model)")
        ax.set_ylabel(f"latency, ms at the {board} clock" + (" (some points: their pnr Fmax)" if any(
            r.get(f"clock_source_{board}") == "pnr" for r in rows) else f", {rows[0][f'mhz_{board}']:g} MHz"))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("vta-dse: workload latency vs resources")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def synth_front(ok, cfgs, n, console):
    """Yosys synth_xilinx (xc7z020) of the ``n`` fastest front points: ``synth_*`` columns and
    the model's error on them (points the model was not fitted on)."""
    from vta.cosim.sim import export_dir
    from vta.fpga.synth import synth
    front = sorted((r for r in ok if r["on_front"]), key=lambda r: r["cycles"])[:n]
    for r in front:
        console.print(f"synthesizing front point {r['point']} ({r['label']}) with yosys synth_xilinx ...")
        res = synth(export_dir(cfgs[r["point"]]), "xc7z020")
        errs = []
        for k in MODELED_SHOWN:
            r[f"synth_{k}"] = res.use[k]
            if res.use[k]:
                errs.append(f"{k} {100 * (r[k] / res.use[k] - 1):+.1f}%")
        r["synth_seconds"] = round(res.seconds)
        console.print(f"  measured {', '.join(f'{k} {res.use[k]:g}' for k in MODELED_SHOWN)} in "
                      f"{res.seconds:.0f} s; model error {', '.join(errs)}")


def pnr_front(ok, cfgs, boards, a, cache, console):
    """Place and route the ``a.pnr`` fastest front points of each board with the open flow
    (on the executor, cached) and run them at their measured clock; say which boards keep
    their nominal clock. Returns {point key: [(board, result)]} of the points placed."""
    from .spec import OPEN_FLOW
    placed = {}
    closed = [b for b in boards if b not in OPEN_FLOW]
    if closed:
        console.print(f"--pnr: {', '.join(closed)} {'has' if len(closed) == 1 else 'have'} no open place-and-route "
                      f"flow (Vivado): {'its' if len(closed) == 1 else 'their'} points keep the board clock")
    for b in boards:
        if b not in OPEN_FLOW:
            continue
        pairs = sw.pnr_tasks(ok, cfgs, b, a.pnr, cache, a.pnr_timeout)
        if not pairs:
            console.print(f"--pnr: no front point fits {b}: nothing to place and route")
            continue
        results, n = sw.run_points([t for _, t in pairs], cache, a.jobs, a.scheduler, not a.quiet,
                                   a.connect_timeout, worker=sw.evaluate_pnr, what=f"place and route ({b})")
        console.print(f"--pnr: {len(pairs)} front point(s) on {b} (seed {','.join(map(str, sw.PNR_SEEDS))}), "
                      f"{n} placed and routed now, the rest from the cache")
        for r, t in pairs:
            res = results[t["key"]]
            if res["status"] != "ok":
                console.print(f"[red]  point {r['point']} ({r['label']}): place and route failed (above)[/red]: "
                              f"it keeps the board clock")
                continue
            sw.apply_pnr(r, b, res)
            placed.setdefault(r["key"], []).append((b, res))
            console.print(f"  point {r['point']} ({r['label']}): Fmax {res['fmax_mhz']:.1f} MHz -> clock "
                          f"{r[f'mhz_{b}']:g} MHz, {r[f'latency_ms_{b}']:.3f} ms, {r[f'gops_{b}']:.2f} GOPS "
                          f"({res['seconds']:.0f} s); critical path {res.get('critical', '?')}")
    return placed


def cmd_sweep(a):
    from rich.console import Console
    from rich.table import Table
    spec = load_spec(a.spec)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    # a pipe or file gets the whole table, not one cut to 80 columns
    console = Console(width=None if sys.stdout.isatty() else 200)
    if spec.size > MAX_POINTS and (not a.budget or a.exhaustive_check):
        raise SpecError(f"{spec.path}: the knobs make {spec.size:,} points, more than {MAX_POINTS:,} to "
                        f"evaluate exhaustively: use --budget N (without --exhaustive-check)")
    space = spec.points() if not a.budget or a.exhaustive_check else None
    cache = a.cache or out / "cache"
    cfgs, fresh = {}, [0]
    t0 = time.time()

    def run(spec_, pts):
        tasks, pairs = sw.make_tasks(spec_, pts)
        results, n = sw.run_points(tasks, cache, a.jobs, a.scheduler, not a.quiet, a.connect_timeout)
        fresh[0] += n
        cfgs.update((r["point"], c) for r, c in pairs)
        return [sw.finish_row(dict(r), c, results.get(r.get("key")), spec_.boards, spec_.layers)
                for r, c in pairs], n

    rungs = None
    if a.budget and a.search == "halving":
        rows, rungs = sw.halving(spec, sw.sample(spec, a.budget, a.seed), run)
    else:
        rows, _ = run(spec, sw.sample(spec, a.budget, a.seed) if a.budget else space)
    base = run(spec, [{}])[0][0]   # the base config: the reference point
    base.update(point="base", label="base")
    full = sw.mark_front(run(spec, space)[0]) if a.budget and a.exhaustive_check else None
    wall = time.time() - t0
    ok = sw.mark_front(rows)
    note = ResourceModel.load().staleness()
    if note:
        console.print(f"[yellow]{note}[/yellow]")
    if a.synth_front:
        synth_front(ok, cfgs, a.synth_front, console)
    placed = pnr_front(ok, cfgs, spec.boards, a, cache, console) if a.pnr else {}
    for b, res in placed.get(base.get("key"), []):   # the base is a placed point: the same clock
        sw.apply_pnr(base, b, res)
    write_csv(rows + ([base] if "key" in base else []), out / "points.csv")   # the base: a reference row
    board0 = spec.boards[0]
    if ok:
        plot(ok, base if base.get("status") == "ok" else None, out / "pareto.png", board0)
    n_bad = {s: sum(r.get("status") == s for r in rows) for s in ("invalid", "failed")}
    if rungs:
        console.print("successive halving: " + " -> ".join(f"{n} points at 1/{sc} size" for sc, n in rungs))
    console.print(f"{len(rows)} points ({len(ok)} valid, {n_bad['invalid']} invalid, {n_bad['failed']} failed) "
                  f"of a {spec.size}-point space; {fresh[0]} evaluated now, the rest from the cache; "
                  f"{wall:.1f} s; layers {','.join(spec.layers)} at 1/{spec.scale} size")
    t = Table(title="best point per board (fastest that fits: LUT <= 80 %, BRAM36/DSP <= 90 %, bus <= PS port)")
    for c in ("board", "point", "GEMM", "bus", "cycles", "MHz", "ms", "GOPS", "GOPS/DSP", "LUT %", "DSP %", "BRAM %",
              "vs base"):
        t.add_column(c)
    for b in spec.boards:
        r = sw.best(ok, b)
        if r is None:
            (out / f"best-{b}.yaml").unlink(missing_ok=True)   # not one from an earlier sweep
            t.add_row(b, "no point fits", *[""] * 11)
            continue
        path = write_best(r, cfgs[r["point"]], b, out)
        # at each one's clock on the board (a --pnr point's may be below the base's)
        speed = (f"{base['cycles'] * r[f'mhz_{b}'] / (r['cycles'] * base[f'mhz_{b}']):.2f}x"
                 if base.get("status") == "ok" else "-")
        t.add_row(b, r["label"], r["gemm"], str(r["bus_bits"]), f"{r['cycles']:,}",
                  f"{r[f'mhz_{b}']:g} ({r[f'clock_source_{b}']})", f"{r[f'latency_ms_{b}']:.3f}",
                  f"{r[f'gops_{b}']:.2f}", f"{r[f'gops_per_dsp_{b}']:.3f}", f"{r[f'LUT_pct_{b}']}",
                  f"{r[f'DSP_pct_{b}']}", f"{r[f'BRAM36_pct_{b}']}", speed)
        console.print(f"wrote {path}")
    console.print(t)
    if base.get("status") == "ok":
        objs = tuple(base[o] for o in sw.OBJECTIVES)
        dom = [r for r in ok if sw.pareto.dominates(tuple(r[o] for o in sw.OBJECTIVES), objs)]
        fits = ", ".join(f"{b}: {'fits' if base.get(f'fits_{b}') else 'does not fit'}" for b in spec.boards)
        console.print(f"base config '{spec.base.name}' ({base['gemm']}, {base['bus_bits']}-bit bus): "
                      f"{base['cycles']:,} cycles, LUT {base['LUT']}, DSP {base['DSP']}, BRAM36 {base['BRAM36']} "
                      f"({fits}); " + (f"dominated by {len(dom)} swept point(s) (cycles, LUT, DSP, BRAM36)"
                                       if dom else "on the front of the swept points (no point dominates it)"))
    else:
        console.print(f"base config: {base.get('status')}: {base.get('message')}")
    if full is not None:
        ratio = sw.hv_ratio(ok, full)
        console.print(f"{a.search} search: {len(rows)} of {spec.size} points; hypervolume ratio vs the "
                      f"exhaustive front (cycles, LUT): {ratio:.3f}" if ratio is not None else
                      "no valid point to compare")
    for r in rows:
        if r.get("status") == "failed":
            console.print(f"[red]failed[/red] point {r['point']} ({r['label']}): {r['message']}")
    console.print(f"wrote {out / 'points.csv'}" + (f", {out / 'pareto.png'}" if ok else " (no valid point: no plot)"))
    return 0


def cmd_model(a):
    from .resources import MODELED
    m = ResourceModel.load()
    print(f"resource model: {len(m.points)} calibration points, {m.tool}")
    print(m.staleness() or "  calibrated on the current RTL sources")
    for r in MODELED:
        print(f"  {r:7} coefficients {', '.join(f'{c:.4g}' for c in m.coef[r])}")
    err = m.holdout_error()
    for r, e in err.items():
        print(f"  {r:7} held-out error: " + ", ".join(f"{100 * x:+.1f}%" for x in e))
    if not err:
        print("  (no held-out points)")
    return 0


def cmd_calibrate(a):
    from vta.isa import VTAError, load_config

    from .resources import calibrate, resynthesize
    if a.redo:
        if a.configs:
            raise VTAError("calibrate --redo re-synthesizes the file's own points; give no configs")
        resynthesize(progress=lambda m: print(m, flush=True))
        return cmd_model(a)
    if not a.configs:
        raise VTAError("calibrate: name the configs to add (or --redo)")
    cfgs = [load_config(c) for c in a.configs]   # all of them checked before the long runs
    calibrate(cfgs, fit=not a.hold_out, progress=lambda m: print(m, flush=True))
    return cmd_model(a)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="vta-dse", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sweep", help="evaluate the SPEC's points; CSV, Pareto plot, best config per board")
    s.add_argument("spec", help="SPEC YAML (docs/dse.md)")
    s.add_argument("-o", "--out", required=True, help="output folder")
    s.add_argument("--jobs", type=positive, help="worker processes (default: the CPU count)")
    s.add_argument("--budget", type=positive, help="random search: evaluate N points of the space")
    s.add_argument("--seed", type=int, default=0, help="random search seed (default 0)")
    s.add_argument("--search", choices=("random", "halving"), default="random",
                   help="with --budget: random sample, or successive halving over the workload size")
    s.add_argument("--exhaustive-check", action="store_true",
                   help="with --budget: also evaluate the whole space and report the hypervolume ratio")
    s.add_argument("--scheduler", help="Dask distributed scheduler address (tcp://HOST:PORT)")
    s.add_argument("--connect-timeout", type=positive, default=20, metavar="S",
                   help="seconds to wait for the Dask scheduler (default 20)")
    s.add_argument("--cache", help="point cache folder (default OUT/cache)")
    s.add_argument("--synth-front", type=positive, metavar="N",
                   help="synthesize the N fastest front points with Yosys (minutes each) and "
                        "print the resource model's error on them")
    s.add_argument("--pnr", type=positive, metavar="N",
                   help="place and route the N fastest front points of each board with the open flow "
                        "(ecp5: Yosys + nextpnr-ecp5, minutes each, cached) and run them at their measured "
                        "Fmax, capped at the board clock; other boards keep their clock")
    s.add_argument("--pnr-timeout", type=positive, metavar="S",
                   help="seconds per nextpnr run (default: none; the syntheses have no timeout)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_sweep)
    m = sub.add_parser("model", help="the resource model's coefficients and held-out error")
    m.set_defaults(func=cmd_model)
    c = sub.add_parser("calibrate", help="synthesize configs (vta-fpga synth, xc7z020) into the model's calibration")
    c.add_argument("configs", nargs="*", help="config YAML paths or bundled names")
    c.add_argument("--redo", action="store_true",
                   help="synthesize the file's points again on the current RTL (same roles)")
    c.add_argument("--hold-out", action="store_true", help="do not fit these points: they measure the model's error")
    c.set_defaults(func=cmd_calibrate)
    return run_command("vta-dse", ap, argv)


if __name__ == "__main__":
    sys.exit(main())
