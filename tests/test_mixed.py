"""Mixed TLM/RTL co-simulation (vta.cosim.mixed, issue 14): each single-unit mix and the
all-RTL mix on small workloads and random programs give the pure TLM's outputs (and the
expected and reference ones) within 2% of its cycles; with a simulator, within 2% of the full
RTL's; bad unit names and refine: values are clear errors; a deadlocking program under a mix
is a DeadlockError, not a hang. The full matrix (16 subsets x every workload x 200 random
programs) is bench/mixed_check.py, a reduced one here in the slow set."""
from __future__ import annotations

import functools
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from reference import run_reference
from vta.compiler import build_workload
from vta.cosim.mixed import CORES, UNITS, parse_units, run_mixed
from vta.isa import MEM_INP, ConfigError, Finish, Gemm, Load, load_config
from vta.tlm import DeadlockError, run_program

ROOT = Path(__file__).resolve().parents[1]


def load_bench_file(name):
    spec = importlib.util.spec_from_file_location(f"vta_bench_{name}", ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


B = load_bench_file("mixed_check")
TINY = load_config("tiny")
MIXES = {u: frozenset({u}) for u in UNITS + CORES} | {"all": frozenset(UNITS)}


def slow_all(mixes, keep=()):
    """The mix names as parameters, ``all`` (every unit as RTL: the full RTL's job, covered
    by the cross-check tests) marked slow unless ``keep``."""
    return [pytest.param(m, marks=pytest.mark.slow) if m == "all" and m not in keep else m
            for m in mixes]


# Small programs: a compute-RTL mix runs ~1k cycles/s. Seed 2: 3 rounds, 984 TLM cycles
# (2% of a shorter program is a couple of cycles).
PROGRAMS = ("gemm_4x4", "load_pad", "alu_add_vv", "random-2")


@functools.lru_cache(maxsize=None)
def program(label):
    if label.startswith("random-"):
        return B.Spec(seed=int(label.split("-")[1])).build(TINY)
    return build_workload(label, TINY)


@functools.lru_cache(maxsize=None)
def tlm_run(label):
    return run_program(program(label), TINY)


@pytest.mark.parametrize("label", PROGRAMS)
@pytest.mark.parametrize("mix", slow_all(MIXES))
def test_mix_matches_the_pure_tlm(mix, label):
    prog, units = program(label), MIXES[mix]
    want = tlm_run(label)
    got = run_mixed(prog, TINY, rtl=units)
    assert got.stats["refined"] == sorted(units)
    assert B.outputs_differ(got.outputs, want.outputs) == []
    assert B.outputs_differ(got.outputs, prog.expect) == [] and got.passed
    ref = run_reference(prog)
    assert B.outputs_differ(got.outputs, {n: ref.read_segment(n) for n in got.outputs}) == []
    assert abs(got.cycles - want.cycles) <= 0.02 * want.cycles, (got.cycles, want.cycles)
    for u in UNITS:   # the refined units ran as RTL (and took the TLM's instructions)
        st, tst = got.stats["stages"][u], want.stats["stages"][u]
        assert st.get("rtl", False) == (u in units)
        assert st["instructions"] == tst["instructions"]
        assert (st["busy_cycles"] > 0) == (tst["instructions"] > 0)


def test_outputs_differ_sees_one_element():
    a = {"out": np.zeros((2, 3), np.int8)}
    b = {"out": a["out"].copy()}
    assert B.outputs_differ(a, b) == []
    b["out"][1, 2] = 1
    assert B.outputs_differ(a, b) == ["out"]
    assert B.outputs_differ({}, b) == ["out"]


@pytest.mark.rtl
@pytest.mark.slow
def test_mixes_match_the_full_rtl():
    # One Verilator batch (fast harness) for the programs, then every single-unit mix and
    # all: bit-exact with the RTL, cycles within 2% of its.
    mixes = list(MIXES.values())
    rows, failures = B.check(TINY, mixes, ["gemm_4x4", "load_pad"], count=1, others=0, seed=2)
    assert failures == []
    assert [r["programs"] for r in rows] == [3] * len(mixes)
    assert all(r["worst"] is not None and r["worst"] <= 0.02 for r in rows)


@pytest.mark.rtl
@pytest.mark.slow
def test_mixed_matrix_reduced():
    # Issue 14's matrix at a reduced count (bench/mixed_check.py runs the full one).
    rows, failures = B.check(TINY, B.default_mixes(), B.workload_names(), count=10, others=3, jobs=2)
    assert failures == []
    assert len(rows) >= 16


# ---- errors -------------------------------------------------------------------------------
def test_parse_units():
    assert parse_units("load, compute") == {"load", "compute"}
    assert parse_units("all") == set(UNITS)
    assert parse_units("none") == parse_units("") == frozenset()
    with pytest.raises(ConfigError, match=r"--rtl: unknown unit 'decode'; choose from fetch"):
        parse_units("load,decode")
    with pytest.raises(ConfigError, match=r"--mixes: unknown unit 'lod'"):
        B.parse_mix("lod+store")
    assert B.parse_mix("tlm") == frozenset() and B.mix_name(B.parse_mix("store+fetch")) == "fetch+store"


def test_run_mixed_rejects_an_unknown_unit():
    with pytest.raises(ConfigError, match="unknown unit 'decode'; choose from fetch"):
        run_mixed(program("gemm_4x4"), TINY, rtl={"load", "decode"})


def test_run_mixed_defaults_to_the_refine_section(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({**TINY.to_dict(), "name": "tiny-store-rtl",
                                 "refine": {"store": "rtl"}}))
    cfg = load_config(p)
    got = run_mixed(build_workload("gemm_4x4", cfg), cfg)
    assert got.stats["refined"] == ["store"] and got.stats["stages"]["store"]["rtl"]
    assert got.cycles == run_mixed(build_workload("gemm_4x4", TINY), TINY, rtl={"store"}).cycles
    assert run_mixed(build_workload("gemm_4x4", cfg), cfg, rtl=()).stats["refined"] == []


def test_rtl_compute_with_rtl_cores_is_rejected():
    with pytest.raises(ConfigError, match="gemm/alu refine the cores inside a TLM compute unit"):
        run_mixed(program("gemm_4x4"), TINY, rtl={"compute", "gemm"})


def test_sram_init_with_rtl_compute_is_rejected():
    with pytest.raises(ConfigError, match="--sram-init"):
        run_mixed(program("gemm_4x4"), TINY, rtl={"compute"}, sram_init=0)


@pytest.mark.parametrize("section,key,rule", [
    ({"load": "RTL"}, "refine.load", "must be 'tlm' or 'rtl'"),
    ({"compute": "verilog"}, "refine.compute", "must be 'tlm' or 'rtl'"),
    ({"store": 1}, "refine.store", "must be 'tlm' or 'rtl'"),
    ({"store": None}, "refine.store", "must be 'tlm' or 'rtl'"),
    ({"decode": "rtl"}, "refine.decode", "unknown key"),
])
def test_refine_section_is_validated(tmp_path, section, key, rule):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({**TINY.to_dict(), "refine": section}))
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert e.value.key == key and str(p) in str(e.value) and rule in str(e.value)


def test_refine_section_names_the_rtl_units(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({**TINY.to_dict(), "refine": {"load": "rtl", "store": "tlm"}}))
    assert load_config(p).refined == {"load"}
    assert TINY.refined == frozenset()


def missing_token_program():
    """The GEMM pops l2g, which the INP load never pushes: FINISH never completes."""
    from vta.compiler import ProgramBuilder
    pb = ProgramBuilder(TINY, "deadlock")
    inp = pb.segment("inp", np.ones((8, TINY.batch, TINY.block_in), np.int8), "input")
    pb.segment("out", np.zeros((8, TINY.batch, TINY.block_out), np.int8), "output")
    pb.add_uops([(0, 0, 0)])
    pb.load_uops(0, 1)
    pb.emit(Load(memory_type=MEM_INP, sram_base=0, dram_base=pb.elem(inp), y_size=1, x_size=4,
                 x_stride=4))
    pb.emit(Gemm(uop_bgn=0, uop_end=1, iter_out=1, iter_in=1, pop_prev=True))
    pb.emit(Finish())
    return pb.build({})


@pytest.mark.parametrize("mix", MIXES)
def test_deadlock_under_a_mix_is_reported(mix):
    t0 = time.monotonic()
    with pytest.raises(DeadlockError) as e:
        run_mixed(missing_token_program(), TINY, rtl=MIXES[mix])
    assert time.monotonic() - t0 < 30
    msg = str(e.value)
    assert "deadlock" in msg and "FINISH never completed" in msg
    # the GEMM (instruction 2) waits for l2g, whichever model runs compute
    assert any(b[0] == "compute" and b[1] == 2 and "pop l2g" in b[3] for b in e.value.blocked), \
        e.value.blocked


# ---- bench/mixed_check.py: its verdicts and its command line ------------------------------
def test_mixed_check_judges_data_and_cycles():
    from types import SimpleNamespace as NS
    out = {"out": np.arange(4, dtype=np.int8)}
    base = {"program": NS(expect=out), "tlm": NS(outputs=out), "rtl": NS(outputs=out, cycles=1000)}
    assert B.judge("p", base, {"cycles": 1020, "outputs": out}) == ([], 0.02)
    reasons, err = B.judge("p", base, {"cycles": 1021, "outputs": out})
    assert reasons == ["cycles 1021 vs RTL 1000 (+2.10%), over 2%"] and err == pytest.approx(0.021)
    wrong = {"out": out["out"] + 1}
    reasons, _ = B.judge("p", base, {"cycles": 1000, "outputs": wrong})
    assert [r.split(":")[0] for r in reasons] == ["outputs differ from the pure TLM",
                                                  "outputs differ from the expected",
                                                  "outputs differ from the full RTL"]
    assert B.judge("p", base, {"error": "DeadlockError: x", "seconds": 1}) == (["DeadlockError: x"], None)


def test_mixed_check_command_line(capsys):
    assert B.main(["--mixes", "load", "--workloads", "gemm_4x4", "--count", "1", "--no-rtl"]) == 0
    out = capsys.readouterr().out
    assert "│ load" in out and "vs pure TLM" in out
    assert B.main(["--mixes", "lod+store"]) == 2
    assert "--mixes: unknown unit 'lod'" in capsys.readouterr().err
    assert B.main(["--workloads", "gemm_5x5"]) == 2
    assert "unknown workload 'gemm_5x5'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        B.main(["--jobs", "0"])
    assert e.value.code == 2


def test_cosim_speed_bench_runs(capsys):
    S = load_bench_file("cosim_speed")
    rows = S.bench(["tiny"], {"tiny": ("gemm_4x4",)}, ["tlm", "load"])
    assert [(r["mode"], r["outputs_ok"]) for r in rows] == [("tlm", True), ("load", True)]
    assert rows[0]["cycles"] == tlm_run("gemm_4x4").cycles and all(r["cps"] > 0 for r in rows)
    assert S.main(["--configs", "tiny", "--modes", "tlm,decode"]) == 2
    assert "--modes: unknown mode 'decode'" in capsys.readouterr().err
    assert S.main(["--configs", "tiny", "--workloads", "tiny=gemm_5x5"]) == 2
    assert S.main(["--configs", "tiny", "--workloads", "huge=gemm_4x4"]) == 2
    assert "is not CONFIG=W1,W2" in capsys.readouterr().err


@pytest.mark.slow
def test_compute_mix_on_default_alu_vv():
    # a 4096-beat ACC load under an RTL compute unit once ran at half rate (+75% cycles)
    cfg = load_config("default")
    prog = build_workload("alu_add_vv", cfg)
    want = run_program(prog, cfg)
    got = run_mixed(prog, cfg, rtl={"compute"})
    assert B.outputs_differ(got.outputs, want.outputs) == []
    assert abs(got.cycles - want.cycles) <= 0.02 * want.cycles, (got.cycles, want.cycles)


def finish_only():
    from vta.compiler import ProgramBuilder
    pb = ProgramBuilder(TINY, "finish-only")
    pb.emit(Finish())
    return pb.build({})


@pytest.mark.parametrize("mix", slow_all(MIXES))
def test_finish_only_program_under_a_mix(mix):
    want = run_program(finish_only(), TINY)
    got = run_mixed(finish_only(), TINY, rtl=MIXES[mix])
    assert abs(got.cycles - want.cycles) <= 4, (got.cycles, want.cycles)
