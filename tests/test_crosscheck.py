"""`vta-rtl check` and vta.cosim.crosscheck: TLM vs RTL vs expected outputs, cycles, exit codes."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from vta.compiler.workloads import build_workload
from vta.isa import Finish, Program, write_bundle
from vta.cosim.cli import main
from vta.cosim.crosscheck import CYCLE_TOLERANCE, Difference, compare, cycle_error
from vta.tlm import run_program


def _run(capsys, *args):
    rc = main(["check", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out + out.err


@pytest.mark.rtl
def test_check_agrees_and_writes_out(tmp_path, capsys):
    rc, text = _run(capsys, "tiny", "--workload", "gemm_4x4", "--sim", "verilator",
                    "--out", tmp_path / "o")
    assert rc == 0, text
    assert "AGREE" in text and "RTL cycles" in text
    stats = json.loads((tmp_path / "o" / "stats.json").read_text())
    prog = build_workload("gemm_4x4", "tiny")
    tlm = run_program(prog)
    assert stats["tlm_cycles"] == tlm.cycles
    assert stats["rtl_cycles"] > 0
    assert stats["cycle_error"] == pytest.approx((tlm.cycles - stats["rtl_cycles"]) / stats["rtl_cycles"])
    assert abs(stats["cycle_error"]) <= CYCLE_TOLERANCE
    raw = (tmp_path / "o" / "out.bin").read_bytes()
    got = np.frombuffer(raw, dtype=prog.expect["out"].dtype).reshape(prog.expect["out"].shape)
    np.testing.assert_array_equal(got, prog.expect["out"])


@pytest.mark.rtl
def test_relative_workdir(tmp_path, capsys, monkeypatch):
    # The simulator runs in its own directory: a relative --workdir used to lose config.yaml.
    monkeypatch.chdir(tmp_path)
    rc, text = _run(capsys, "tiny", "--workload", "alu_add_vs", "--sim", "verilator",
                    "--workdir", "rel")
    assert rc == 0 and "AGREE" in text, text
    assert (tmp_path / "rel" / "program.vtab" / "bundle.yaml").is_file()


@pytest.mark.rtl
def test_corrupted_expected_output_names_segment_index_and_store(tmp_path, capsys):
    prog = build_workload("gemm_4x4", "tiny")
    exp = prog.expect["out"].copy()
    flat = exp.size // 2 + 1
    idx = np.unravel_index(flat, exp.shape)
    good = int(exp[idx])
    exp[idx] = good + 1 if good < 127 else good - 1
    prog.expect["out"] = exp
    bundle = write_bundle(prog, tmp_path / "bad.vtab")
    rc, text = _run(capsys, "tiny", bundle, "--sim", "verilator")
    assert rc == 1, text
    writer = run_program(prog).last_writer("out", tuple(int(i) for i in idx))
    assert writer is not None and writer[1].startswith("STORE")
    line = " ".join(text.split())   # rich may wrap
    assert "MISMATCH" in line and "segment 'out'" in line
    assert f"[{','.join(str(int(i)) for i in idx)}]" in line
    assert f"TLM {good}, RTL {good}, expected {int(exp[idx])}" in line
    assert f"instruction {writer[0]}: {writer[1]}" in line
    mismatch = line[line.index("MISMATCH"):]
    assert "RTL vs expected" in mismatch and "TLM vs RTL" not in mismatch


def test_compare_reports_first_difference_with_writer():
    prog = build_workload("gemm_4x4", "tiny")
    tlm = run_program(prog)

    class FakeRtl:
        outputs = {k: v.copy() for k, v in tlm.outputs.items()}
    FakeRtl.outputs["out"].flat[5] ^= 1
    FakeRtl.outputs["out"].flat[9] ^= 1
    (d,) = compare(prog, tlm, FakeRtl)
    assert isinstance(d, Difference)
    idx = np.unravel_index(5, tlm.outputs["out"].shape)
    assert d.index == tuple(int(i) for i in idx) and d.count == 2
    assert d.rtl == d.tlm ^ 1 and d.expected == d.tlm
    assert d.writer == tlm.last_writer("out", d.index)
    assert "TLM vs RTL" in d.between and "RTL vs expected" in d.between
    assert compare(prog, tlm, type("Same", (), {"outputs": tlm.outputs})) == []
    assert cycle_error(105, 100) == pytest.approx(0.05)


@pytest.mark.rtl
def test_rtl_watchdog_at_the_users_max_cycles_is_an_error_with_stage_report(tmp_path, capsys):
    # the TLM finishes the program; the RTL is cut off after 60 cycles by the watchdog the
    # user set: the user's limit, not a disagreement (exit 2, not "MISMATCH: the RTL hung")
    rc, text = _run(capsys, "tiny", "--workload", "gemm_4x4", "--sim", "verilator",
                    "--max-cycles", 60)
    line = " ".join(text.split())
    assert rc == 2, text
    assert "RTL hung" not in line and "MISMATCH" not in line
    assert "--max-cycles 60" in line and "watchdog" in line and "busy:" in line


@pytest.mark.rtl
def test_waves_icarus(tmp_path, capsys):
    rc, text = _run(capsys, "tiny", "--workload", "alu_add_vs", "--sim", "icarus", "--waves",
                    "--workdir", tmp_path)
    assert rc == 0, text
    waves = list(tmp_path.glob("*.fst")) + list(tmp_path.glob("*.vcd"))
    assert waves and waves[0].stat().st_size > 0


@pytest.mark.parametrize("args, words", [
    (["tiny", "/nonexistent/prog.s"], "no such file"),
    (["tiny", "--workload", "nope"], "unknown workload"),
    (["tiny"], "give a PROGRAM"),
    (["tiny", "x.s", "--workload", "gemm_4x4"], "not both"),
    (["no-such-config", "--workload", "gemm_4x4"], "config"),
])
def test_bad_input_exits_2(capsys, args, words):
    rc, text = _run(capsys, *args)
    assert rc == 2
    assert words in text and "Traceback" not in text
    assert len(text.strip().splitlines()) == 1


def test_tlm_program_error_exits_2(tmp_path, capsys, tiny_cfg):
    # FINISH waits for a store->compute token nobody sends: the TLM reports the deadlock
    cfg = tiny_cfg
    bundle = write_bundle(Program(config=cfg, insns=[Finish(pop_next=True)], name="hang"),
                          tmp_path / "hang.vtab")
    rc, text = _run(capsys, "tiny", bundle, "--sim", "verilator")
    assert rc == 2 and "deadlock" in text.lower() and "Traceback" not in text


@pytest.mark.rtl
def test_console_script_on_assembly_source(tmp_path):
    # the installed entry point, on a .s source, as a user runs it
    src = tmp_path / "t.s"
    src.write_text((__import__("pathlib").Path(__file__).parents[1] / "examples" / "gemm.s").read_text())
    p = subprocess.run([sys.executable, "-m", "vta.cosim.cli", "check", "tiny", str(src),
                        "--sim", "verilator"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "AGREE" in p.stdout and "Traceback" not in p.stderr


@pytest.mark.rtl
def test_testbench_memory_reproduces_dram_latency(tmp_path, tiny_cfg):
    # the RTL's AXI RAM delays every read burst by dram.latency like the TLM's DRAM: a
    # latency change costs both models the same cycles (gemm_4x4: 11 read requests, each
    # waiting out its round trip with one outstanding read; with more in flight the
    # latency overlaps, test_tlm_dram.py and bench/tlm_vs_rtl.py cover that)
    from vta.cosim.crosscheck import check_many
    base = tiny_cfg.replace(dram={"max_outstanding_reads": 1})
    runs = {}
    for lat in (1, 48):
        cfg = base.replace(dram={"latency": lat})
        names = ("gemm_4x4", "load_pad", "alu_add_vv")
        res = check_many([build_workload(n, cfg) for n in names], cfg, sim="verilator",
                         workdir=tmp_path / str(lat))
        for n, r in zip(names, res):
            assert r.agree and r.rtl.dram_latency == lat
            assert abs(r.cycle_error) <= CYCLE_TOLERANCE, (n, lat, r.tlm_cycles, r.rtl_cycles)
        runs[lat] = res[0]
    d_rtl = runs[48].rtl_cycles - runs[1].rtl_cycles
    d_tlm = runs[48].tlm_cycles - runs[1].tlm_cycles
    assert d_tlm == 47 * 11
    assert d_rtl == d_tlm


@pytest.mark.rtl
@pytest.mark.parametrize("sim", ["verilator", "icarus"])
def test_batch_session_recovers_after_a_hang(tmp_path, sim, tiny_cfg):
    # one simulator session: a program that hangs (watchdog, reported), then a real one
    # that must still run correctly after the reset between programs
    from vta.cosim.sim import RtlResult, WatchdogError, run_many_on_rtl
    cfg = tiny_cfg
    hang = Program(config=cfg, insns=[Finish(pop_next=True)], name="hang")
    good = build_workload("gemm_4x4", cfg)
    r_hang, r_good, r_again = run_many_on_rtl([hang, good, good], cfg, sim=sim,
                                              max_cycles=3000, workdir=tmp_path)
    assert isinstance(r_hang, WatchdogError) and "busy:" in str(r_hang)
    assert isinstance(r_good, RtlResult) and r_good.mismatches(good.expect) == {}
    assert r_again.mismatches(good.expect) == {} and r_again.cycles == r_good.cycles


@pytest.mark.rtl
def test_testbench_memory_reproduces_bytes_per_cycle(tmp_path, tiny_cfg):
    # half a bus beat per cycle: the AXI RAM throttles R and W, both models slow down alike
    # (one outstanding read keeps these workloads memory-bound; with 8 in flight
    # gemm_blocked_vt2 is compute-bound and hardly slows down)
    from vta.cosim.crosscheck import check_many
    names = ("gemm_blocked_vt2", "load_pad")
    base = tiny_cfg.replace(dram={"max_outstanding_reads": 1})
    runs = {}
    for bpc in (base.bus_bytes, base.bus_bytes // 2):
        cfg = base.replace(dram={"bytes_per_cycle": bpc})
        runs[bpc] = check_many([build_workload(n, cfg) for n in names], cfg, sim="verilator",
                               workdir=tmp_path / str(bpc))
        for r in runs[bpc]:
            assert r.agree and abs(r.cycle_error) <= CYCLE_TOLERANCE, \
                (bpc, r.tlm_cycles, r.rtl_cycles)
    for fast, slow in zip(runs[base.bus_bytes], runs[base.bus_bytes // 2]):
        # (with reads overlapped, gemm_blocked_vt2 on tiny is near its compute bound: +7%)
        assert slow.rtl_cycles > 1.05 * fast.rtl_cycles


@pytest.mark.rtl
def test_narrow_accumulator_immediates_agree(tmp_path):
    # 8-bit accumulators: MIN/MAX read the 16-bit immediate truncated to acc width in the RTL
    # (as in the HLS design); the TLM used to compare the full immediate.
    from vta.assembler import load_program
    from vta.cosim.crosscheck import check_program
    cfg = tmp_path / "acc8.yaml"
    cfg.write_text("name: acc8\narch: {log_inp_width: 3, log_wgt_width: 3, log_acc_width: 3, "
                   "log_batch: 0, log_block_in: 2, log_block_out: 2, log_uop_buff_size: 10, "
                   "log_inp_buff_size: 10, log_wgt_buff_size: 12, log_acc_buff_size: 10, "
                   "log_bus_width: 5}\n")
    src = tmp_path / "imm.s"
    src.write_text(
        "acc: .data bias shape=(4, BATCH, BLOCK_OUT) random seed=3\n"
        "out: .data output shape=(4, BATCH, BLOCK_OUT) zeros\n"
        "u:\n    UOP dst=0 src=0\n"
        "LOAD uop sram=0 dram=u y=1 x=1\n"
        "LOAD acc sram=0 dram=acc y=1 x=4\n"
        "ALU MAX uop=(u, u + 1) iter=(1, 1) dst=(0,0) src=(0,0) imm=1000\n"
        "ALU MIN uop=(u, u + 1) iter=(1, 2) dst=(0,1) src=(0,1) imm=-1000\n"
        "ALU ADD uop=(u, u + 1) iter=(1, 4) dst=(0,1) src=(0,1) imm=200 push_next\n"
        "STORE out sram=0 dram=out y=1 x=4 pop_prev push_prev\n"
        "FINISH pop_next\n")
    prog = load_program(src, cfg)
    res = check_program(prog, sim="verilator", workdir=tmp_path / "run")
    assert res.agree, res.differences[0]
    acc = prog.segment("acc").data.astype(np.int64)
    exp = acc.copy()
    exp[0] = np.maximum(exp[0], -24)                       # 1000 as int8
    exp[0:2] = np.minimum(exp[0:2], 24)                    # -1000 as int8
    exp = ((exp + (200 - 256) + 128) % 256) - 128          # 200 as int8 = -56, wrapping add
    np.testing.assert_array_equal(res.rtl.outputs["out"].astype(np.int64), exp)


@pytest.mark.rtl
def test_ecp5_export_runs_its_mult18x18d_instances_and_agrees(tmp_path, tiny_cfg):
    # on an ECP5 part every int8 product is an instantiated MULT18X18D with its input and
    # output registers (rtl/gemm.py mul_one_ecp5): simulated with cosim/hdl/mult18x18d_sim.v,
    # the whole design still agrees with the TLM, cycle for cycle within the tolerance
    from vta.cosim.crosscheck import check_many
    from vta.cosim.sim import exported, primitive_models, sources
    cfg = tiny_cfg.replace(fpga={"part": "LFE5U-85F-6BG381C"})
    d = exported(cfg)
    text = (d / "vta_top.v").read_text()
    assert text.count("MULT18X18D #(") == cfg.batch * cfg.block_in * cfg.block_out
    assert primitive_models(d / "vta_top.v") and sources(d, "vta_top")[1].name == "mult18x18d_sim.v"
    names = ("gemm_4x4", "gemm_blocked_vt2")
    res = check_many([build_workload(n, cfg) for n in names], cfg, sim="icarus", workdir=tmp_path)
    for n, r in zip(names, res):
        assert r.agree, (n, r.differences[:1])
        assert abs(r.cycle_error) <= CYCLE_TOLERANCE, (n, r.tlm_cycles, r.rtl_cycles)
    # the default part keeps the inferred multipliers: no primitive, no model
    assert primitive_models(exported(tiny_cfg) / "vta_top.v") == []


def scramble_acc_collisions(vtext):
    """``vtext`` with every acc buffer bank returning the complement of the entry for a read
    in the cycle of a write to it: what a block RAM marked ``no_rw_check`` may return."""
    block = re.compile(
        r"(always @\(posedge clk\) begin: \w+_acc_buffer_sram_bank\d+_port\n"
        r"    if \((?P<we>[^)]+)\) begin\n"
        r"        (?P<mem>\w+)\[(?P<wa>\w+)\] <= [^\n]+\n    end\n"
        r"    if \([^)]+\) begin\n        (?P<rd>\w+) <= )(?P=mem)\[(?P<ra>\w+)\];")
    out, n = block.subn(lambda m: f"{m.group(1)}({m.group('we')} && {m.group('wa')} == {m.group('ra')})"
                                  f" ? ~{m.group('mem')}[{m.group('ra')}] : {m.group('mem')}[{m.group('ra')}];",
                        vtext)
    assert n > 0, "no acc buffer bank found in the export"
    return out


#: micro-ops on the same acc entries back to back: GEMM accumulating into two entries in
#: turn (a write at S7 as the next-but-one reads at S5), immediate ALU chains on one entry,
#: vector-vector pairs whose src is the other's dst (reads at S1/S2 as writes land at S6)
COLLIDING = """\
inp: .data input  shape=(5, BATCH, BLOCK_IN) random seed=1
wgt: .data weight shape=(2, BLOCK_OUT, BLOCK_IN) random seed=2
acc: .data bias   shape=(2, BATCH, BLOCK_OUT) random seed=3
out: .data output shape=(2, BATCH, BLOCK_OUT) zeros
g:
    UOP dst=0 src=0 wgt=0
    UOP dst=1 src=1 wgt=1
a:
    UOP dst=0 src=1
v:
    UOP dst=0 src=1
    UOP dst=1 src=0
LOAD uop sram=0 dram=g y=1 x=len(g) + len(a) + len(v)
LOAD acc sram=0 dram=acc y=1 x=2
LOAD inp sram=0 dram=inp y=1 x=5
LOAD wgt sram=0 dram=wgt y=1 x=2 push_next
GEMM uop=(g, g + len(g)) iter=(3, 4) dst=(0, 0) src=(0, 1) wgt=(0, 0) pop_prev
ALU ADD uop=(a, a + 1) iter=(1, 9) dst=(0, 0) src=(0, 0) imm=3
ALU SHR uop=(a, a + 1) iter=(1, 6) dst=(0, 0) src=(0, 0) imm=1
ALU MAX uop=(v, v + len(v)) iter=(1, 5) dst=(0, 0) src=(0, 0)
ALU ADD uop=(v, v + len(v)) iter=(2, 3) dst=(0, 0) src=(0, 0) push_next
STORE out sram=0 dram=out y=1 x=2 pop_prev push_prev
FINISH pop_next
"""


@pytest.mark.rtl
@pytest.mark.parametrize("bypass", [True, False], ids=["rd_hit", "rd_hit-off"])
def test_acc_read_during_write_data_is_never_used(tmp_path, tiny_cfg, monkeypatch, bypass):
    # vta-fpga pnr marks the acc buffer no_rw_check (fpga/pnr.py): the RTL must not use what
    # a read returns while the same entry is written (compute.schedule's rd_hit takes the
    # write-back). With that data scrambled, a program full of such collisions still agrees
    # with the TLM; with rd_hit also forced off it does not (the collisions do happen).
    from vta.assembler import load_program
    from vta.cosim.crosscheck import check_program
    from vta.cosim.sim import exported
    monkeypatch.setenv("VTA_RTL_CACHE", str(tmp_path / "cache"))
    v = exported(tiny_cfg) / "vta_top.v"
    text = scramble_acc_collisions(v.read_text())
    if not bypass:
        text, n = re.subn(r"(\w+_schedule0_s_rd_hit <= )[^;]+;", r"\g<1>1'b0;", text)
        assert n > 0
    v.write_text(text)
    src = tmp_path / "colliding.s"
    src.write_text(COLLIDING)
    res = check_program(load_program(src, tiny_cfg), sim="icarus", workdir=tmp_path / "run")
    assert res.agree == bypass, res.differences[:1]
