"""Random differential testing (vta.compiler.fuzz): random valid programs on the TLM, the
RTL and the tests' reference interpreter (tests/reference.py, the programs' expected outputs)
must produce bit-identical outputs, and each program's TLM and RTL cycle counts must be within
bench/fuzz_rtl.py's CYCLE_BOUND (7% + 16 cycles). Every program gets fuzz_rtl's random memory
(latency; for half of them random backpressure on every AXI channel, where only the outputs
are compared); on tiny also two outstanding limits. Default run, one simulator session each:
100 programs on tiny with Verilator, 20 with Icarus, 60 on the default config, 40 on an
8-bit-accumulator config, 12 on zcu104 (128-bit bus), 30 on a batch-2 config with 16-bit
inputs and weights (derived from tiny); `-m slow`: 500 more on tiny, 200 each on batch-2 and on
16-bit inputs alone. Long runs: bench/fuzz_rtl.py --count N."""
import subprocess
import sys
from pathlib import Path

import pytest

from vta.isa import load_config
from vta.cosim.crosscheck import check_many

pytestmark = pytest.mark.rtl   # needs an HDL simulator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import fuzz_rtl  # noqa: E402 -- the bench's program maker, failure rule and cycle bound


def _differential(config, sim, seeds, tmp_path, limits=None):
    """The programs of ``seeds`` with fuzz_rtl's random memory (latency, AXI backpressure on
    every channel) and outstanding limits drawn from ``limits`` (default: the config's)."""
    cfg = load_config(config) if isinstance(config, str) else config
    limits = limits or [(cfg.dram_max_outstanding_reads, cfg.dram_max_outstanding_writes)]
    groups = {}
    for s in seeds:
        m = fuzz_rtl.memory_for(s, limits)
        groups.setdefault(m["limits"], []).append((s, m))
    bad = []
    for lim, group in groups.items():
        programs = [fuzz_rtl.make_program(cfg, s) for s, _ in group]
        assert all(p.expect for p in programs)   # the reference's outputs
        results = check_many(programs, fuzz_rtl.limit_config(cfg, lim), sim=sim,
                             workdir=tmp_path / f"{lim[0]}-{lim[1]}",
                             mem=[fuzz_rtl._rtl_mem(m) for _, m in group])
        for (s, m), p, r in zip(group, programs, results):
            why = fuzz_rtl.failure(r, timing=not m["stall"])
            if why:
                bad.append(f"{p.name} ({fuzz_rtl.describe(m)}): {why}")
    assert not bad, "\n".join(bad)


def test_random_programs_tiny_verilator(tmp_path):
    _differential("tiny", "verilator", range(100), tmp_path, limits=[(1, 1), (8, 8)])


def test_random_memory_is_mixed():
    # the default run's fuzz covers backpressure and latencies (what memory_for promises)
    mems = [fuzz_rtl.memory_for(s, [(1, 1), (8, 8)]) for s in range(100)]
    assert 30 <= sum(bool(m["stall"]) for m in mems) <= 70
    assert {m["latency"] for m in mems} == set(fuzz_rtl.LATENCIES)
    assert {m["limits"] for m in mems} == {(1, 1), (8, 8)}
    assert {ch for m in mems for ch in m["stall"]} == {"ar", "r", "aw", "w", "b"}
    assert fuzz_rtl.memory_for(7, [(1, 1)]) == fuzz_rtl.memory_for(7, [(1, 1)])   # reproducible


def test_random_programs_tiny_icarus(tmp_path):
    _differential("tiny", "icarus", range(5000, 5020), tmp_path)


@pytest.mark.slow
def test_random_programs_tiny_many(tmp_path):
    _differential("tiny", "verilator", range(10000, 10500), tmp_path)


def test_random_programs_default_config(tmp_path):
    _differential("default", "verilator", range(20000, 20060), tmp_path)


def test_random_programs_narrow_accumulators(tmp_path):
    # 8-bit accumulators (every bundled config has 32-bit ones): immediates wider than the
    # accumulator, wrap and truncation at other widths.
    cfg = tmp_path / "acc8.yaml"
    cfg.write_text("name: acc8\narch: {log_inp_width: 3, log_wgt_width: 3, log_acc_width: 3, "
                   "log_batch: 0, log_block_in: 2, log_block_out: 2, log_uop_buff_size: 10, "
                   "log_inp_buff_size: 10, log_wgt_buff_size: 12, log_acc_buff_size: 10, "
                   "log_bus_width: 5}\n")
    _differential(str(cfg), "verilator", range(30000, 30040), tmp_path)


def test_random_programs_128_bit_bus(tmp_path):
    # zcu104 (= ultra96's arch): four micro-ops per beat, one beat per inp/out element
    _differential("zcu104", "verilator", range(40000, 40012), tmp_path)


def test_random_programs_batch_2_with_16_bit_inputs_and_weights(tmp_path, tiny_cfg):
    # one build for both (each Verilator build costs ~12 s of the default run): two rows
    # per GEMM tile and 16-bit inputs, weights and out lanes (out width = input width),
    # multi-beat inp/wgt/acc/out elements on the 32-bit bus
    cfg = tiny_cfg.replace(arch={"log_batch": 1, "log_inp_width": 4, "log_wgt_width": 4})
    _differential(cfg, "verilator", range(50000, 50030), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("arch", [{"log_batch": 1}, {"log_inp_width": 4, "log_wgt_width": 4}],
                         ids=["batch2", "inp16"])
def test_random_programs_batch_2_and_16_bit_separately(tmp_path, tiny_cfg, arch):
    _differential(tiny_cfg.replace(arch=arch), "verilator", range(60000, 60200), tmp_path)


def test_cycle_bound_is_7_percent_plus_16_cycles():
    assert fuzz_rtl.CYCLE_BOUND == (0.07, 16)
    assert not fuzz_rtl.over_bound(1086, 1000) and not fuzz_rtl.over_bound(914, 1000)
    assert fuzz_rtl.over_bound(1087, 1000) and fuzz_rtl.over_bound(913, 1000)
    assert fuzz_rtl.over_bound(27, 10)   # short programs: the constant, not the percentage


def test_fuzz_bench_runs(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "fuzz_rtl.py"), "--count", "6",
                        "--seed", "77", "--batch", "3", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "mismatches" in p.stdout and "programs/s" in p.stdout


def test_mismatch_is_shrunk_to_a_reproducer_bundle(tmp_path, monkeypatch, tiny_cfg):
    # a stand-in disagreement: "RTL differs whenever the program has an ALU-immediate"; the
    # bench must shrink the program (re-running both models) and write a bundle that keeps it
    import vta.cosim.crosscheck as cc
    from vta.isa import Alu, read_bundle
    real = cc.compare

    def fake(program, tlm, rtl):
        diffs = real(program, tlm, rtl)
        if not diffs and any(isinstance(i, Alu) and i.use_imm for i in program.insns):
            diffs = [cc.Difference("out", 1, 1, (0, 0), 0, 1, None, None)]
        return diffs
    monkeypatch.setattr(cc, "compare", fake)
    seed = next(s for s in range(200) if sum(isinstance(i, Alu) and i.use_imm for i in
                                             fuzz_rtl.make_program(tiny_cfg, s).insns) >= 1
                and len(fuzz_rtl.make_program(tiny_cfg, s).insns) >= 12)
    rc = fuzz_rtl.main(["--count", "1", "--seed", str(seed), "--out", str(tmp_path)])
    assert rc == 1
    (shrunk,) = tmp_path.glob("*-shrunk.vtab")
    small = read_bundle(shrunk)
    (orig,) = [p for p in tmp_path.glob("*.vtab") if p != shrunk]
    assert len(small.insns) < len(read_bundle(orig).insns)
    assert any(isinstance(i, Alu) and i.use_imm for i in small.insns)
    assert small.expect   # the reference's outputs, so `vta-rtl check` compares against them


def _table_value(out, what):
    import re
    m = re.search(rf"│ {re.escape(what)}\s*│\s*([\d,]+) │", out)
    assert m, out
    return int(m.group(1).replace(",", ""))


def _campaign(tmp_path, capsys, *extra):
    seeds = range(900, 920)
    rc = fuzz_rtl.main(["--count", "20", "--seed", "900", "--sim", "icarus", "--fast", "--out", str(tmp_path),
                        *extra])
    out = capsys.readouterr().out
    assert rc == 0, out
    # every program's record merged once: the instructions of all 20 programs, made here again
    cfg = load_config("tiny")
    assert _table_value(out, "instructions run") == sum(len(fuzz_rtl.make_program(cfg, s).insns) for s in seeds)
    assert _table_value(out, "programs") == 20
    return out


def test_fuzz_bench_jobs_local_processes(tmp_path, capsys):
    # 2 local jobs of vta-dse's executor, a chunk of 10 seeds each
    assert [list(c) for c in fuzz_rtl.chunk_seeds(900, 20, 100, jobs=2)] == [list(range(900, 910)),
                                                                             list(range(910, 920))]
    assert [len(c) for c in fuzz_rtl.chunk_seeds(0, 250, 100, jobs=2, scheduler="tcp://x")] == [100, 100, 50]
    _campaign(tmp_path, capsys, "--jobs", "2")


def test_fuzz_bench_on_dask(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        _campaign(tmp_path, capsys, "--scheduler", cluster.scheduler_address, "--batch", "10")


def test_fuzz_bench_unreachable_scheduler(tmp_path, capsys):
    pytest.importorskip("distributed")
    assert fuzz_rtl.main(["--count", "2", "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "1",
                          "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "fuzz_rtl: error: cannot reach the Dask scheduler tcp://127.0.0.1:9" in err and "Traceback" not in err
