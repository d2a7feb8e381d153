"""Program errors: deadlocks are diagnosed (not hung), leftover tokens reported, bad
indices / DRAM accesses / micro-op ranges name the instruction, --wrap wraps like
hardware, and the CLI prints one message and exits 2 without a traceback."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from vta.compiler import ProgramBuilder, build_workload
from vta.isa import ALU_ADD, ALU_MUL, MEM_ACC, MEM_INP, MEM_OUT, Alu, Finish, Gemm, Load, Store, load_config
from vta.isa import write_bundle
from vta.tlm import DeadlockError, LeftoverTokensError, ProgramError, Tlm, run_program

TINY = load_config("tiny")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "vta.tlm.cli", *args], capture_output=True,
                          text=True, timeout=120)


def _prog(insns, cfg=TINY, uops=((0, 0, 0),)):
    pb = ProgramBuilder(cfg, "bad")
    inp = pb.segment("inp", np.ones((8, cfg.batch, cfg.block_in), np.int8), "input")
    acc = pb.segment("acc", np.ones((8, cfg.batch, cfg.block_out), np.int32), "bias")
    out = pb.segment("out", np.zeros((8, cfg.batch, cfg.block_out), np.int8), "output")
    pb.add_uops(uops)
    pb.load_uops(0, len(uops))
    segs = {"inp": pb.elem(inp), "acc": pb.elem(acc), "out": pb.elem(out)}
    for insn in insns(segs) if callable(insns) else insns:
        pb.emit(insn)
    return pb.build({})


def test_missing_token_is_a_deadlock_with_a_report():
    # The GEMM pops l2g, but the INP load never pushes it.
    prog = _prog(lambda s: [
        Load(memory_type=MEM_INP, sram_base=0, dram_base=s["inp"], y_size=1, x_size=4, x_stride=4),
        Gemm(uop_bgn=0, uop_end=1, iter_out=1, iter_in=1, pop_prev=True),
        Finish(),
    ])
    with pytest.raises(DeadlockError) as ei:
        run_program(prog)
    e = ei.value
    msg = str(e)
    assert "deadlock" in msg and "FINISH never completed" in msg
    (stage, index, text, waiting), = [b for b in e.blocked if b[0] == "compute" and b[1] is not None][:1]
    assert index == 2 and text.startswith("GEMM")
    assert "l2g" in waiting and "load->compute" in waiting
    assert "instruction 2" in msg and "pop l2g" in msg
    # FINISH never started: it is still queued behind the GEMM.
    assert any(b[1] == 3 and "command queue" in b[3] for b in e.blocked)


def test_program_without_finish_says_so():
    # Every instruction completes, yet the run cannot end: the report says why.
    prog = _prog([Alu(alu_opcode=ALU_ADD, use_imm=True, imm=1, uop_bgn=0, uop_end=1,
                      iter_out=1, iter_in=1)])
    with pytest.raises(DeadlockError, match="the program has no FINISH instruction"):
        run_program(prog)
    with_finish = _prog([Gemm(uop_bgn=0, uop_end=1, iter_out=1, iter_in=1, pop_prev=True), Finish()])
    with pytest.raises(DeadlockError) as ei:
        run_program(with_finish)
    assert "no FINISH" not in str(ei.value)


def test_full_dependence_queue_deadlock_names_the_full_queue():
    # The load unit pushes more l2g tokens than the queue holds and compute never pops
    # them; FINISH waits for an s2g token that never comes.
    n = TINY.dep_queue_depth + 1
    prog = _prog(lambda s: [Load(memory_type=MEM_INP, sram_base=0, dram_base=s["inp"], y_size=1,
                                 x_size=1, x_stride=1, push_next=True) for _ in range(n)]
                 + [Finish(pop_next=True)])
    with pytest.raises(DeadlockError) as ei:
        run_program(prog)
    states = {b[0]: b for b in ei.value.blocked}
    assert "queue full" in states["load"][3] and "l2g" in states["load"][3]
    assert states["load"][1] == n  # the (n)th load (index n: after the uop load) is stuck
    assert "s2g" in states["compute"][3]


def test_leftover_tokens_are_reported():
    prog = _prog(lambda s: [
        Load(memory_type=MEM_INP, sram_base=0, dram_base=s["inp"], y_size=1, x_size=1, x_stride=1,
             push_next=True),
        Load(memory_type=MEM_INP, sram_base=0, dram_base=s["inp"], y_size=1, x_size=1, x_stride=1,
             push_next=True),
        Finish(pop_prev=True),
    ])
    with pytest.raises(LeftoverTokensError) as ei:
        run_program(prog)
    assert ei.value.leftovers == {"l2g": 1}
    assert "1 token in l2g" in str(ei.value)
    assert ei.value.result.cycles > 0


@pytest.mark.parametrize("case,needle", [
    ("inp_sram", "inp buffer entries [250, 258)"),
    ("acc_sram", "acc buffer entries [255, 257)"),
    ("gemm_dst", "dst index 256"),
    ("alu_src", "src index 300"),  # 0 + 2 * 150
    ("store_sram", "out buffer entries"),
    ("uop_empty", "empty or reversed"),
    ("uop_reversed", "empty or reversed"),
    ("uop_past_end", "past the uop buffer"),
])
def test_out_of_range_indices_name_the_instruction(case, needle):
    big = TINY.acc_depth
    insns = {
        "inp_sram": [Load(memory_type=MEM_INP, sram_base=250, dram_base=0, y_size=2, x_size=4, x_stride=4)],
        "acc_sram": [Load(memory_type=MEM_ACC, sram_base=255, dram_base=0, y_size=1, x_size=2, x_stride=2)],
        "gemm_dst": [Gemm(uop_bgn=0, uop_end=1, iter_out=3, iter_in=1, dst_factor_out=128)],
        "alu_src": [Alu(uop_bgn=0, uop_end=1, iter_out=3, iter_in=1, src_factor_out=150, alu_opcode=ALU_ADD)],
        "store_sram": [Store(memory_type=MEM_OUT, sram_base=big - 1, dram_base=0, y_size=1, x_size=2,
                             x_stride=2)],
        "uop_empty": [Gemm(uop_bgn=1, uop_end=1, iter_out=1, iter_in=1)],
        "uop_reversed": [Alu(uop_bgn=3, uop_end=1, iter_out=1, iter_in=1)],
        "uop_past_end": [Gemm(uop_bgn=0, uop_end=TINY.uop_depth + 1, iter_out=1, iter_in=1)],
    }[case]
    # dram_base 0 is inside DRAM (and far from other data): only the SRAM side is wrong.
    prog = _prog(insns + [Finish()])
    with pytest.raises(ProgramError) as ei:
        run_program(prog)
    msg = str(ei.value)
    assert needle in msg, msg
    assert "instruction 1" in msg  # instruction 0 is the uop load
    assert ei.value.index == 1 and ei.value.stage in ("load", "compute", "store")


def test_wrap_mode_wraps_indices_like_hardware():
    cfg = TINY
    depth = cfg.acc_depth
    # ACC load of 4 entries from depth-2: entries depth-2, depth-1, 0, 1.
    pb = ProgramBuilder(cfg, "wrap")
    acc = pb.segment("acc", np.arange(16, dtype=np.int32).reshape(4, 1, 4), "bias")
    pb.emit(Load(memory_type=MEM_ACC, sram_base=depth - 2, dram_base=pb.elem(acc), y_size=1,
                 x_size=4, x_stride=4))
    pb.add_uops([(depth - 1, 0, 0)])
    pb.load_uops(0, 1)
    # dst = 255 + i*1 for i < 3 -> 255, 0, 1 (mod 256); adds 100 to each.
    pb.emit(Alu(uop_bgn=0, uop_end=1, iter_out=3, iter_in=1, dst_factor_out=1, alu_opcode=ALU_ADD,
                use_imm=True, imm=100))
    pb.emit(Gemm(uop_bgn=5, uop_end=5, iter_out=1, iter_in=1))  # empty range: does nothing
    pb.emit(Finish())
    prog = pb.build({})
    with pytest.raises(ProgramError):
        run_program(prog)
    tlm = Tlm(prog, wrap=True)
    tlm.run()
    a = tlm.compute.acc[:, 0, :]
    assert a[depth - 2].tolist() == [0, 1, 2, 3]
    assert a[depth - 1].tolist() == [104, 105, 106, 107]
    assert a[0].tolist() == [108, 109, 110, 111]
    assert a[1].tolist() == [112, 113, 114, 115]


def test_dram_out_of_bounds_is_an_error():
    prog = _prog([Load(memory_type=MEM_INP, sram_base=0, dram_base=(TINY.dram_bytes // TINY.inp_bytes) - 1,
                       y_size=1, x_size=2, x_stride=2), Finish()])
    with pytest.raises(ProgramError, match="outside the 16 MiB DRAM") as ei:
        run_program(prog)
    assert ei.value.index == 1


def test_alu_mul_is_rejected():
    prog = _prog([Alu(uop_bgn=0, uop_end=1, iter_out=1, iter_in=1, alu_opcode=ALU_MUL), Finish()])
    with pytest.raises(ProgramError, match="MUL is reserved"):
        run_program(prog)


# ---- the CLI -------------------------------------------------------------------------------
def test_cli_deadlock_exit_2_no_traceback(tmp_path):
    prog = _prog(lambda s: [Gemm(uop_bgn=0, uop_end=1, iter_out=1, iter_in=1, pop_prev=True), Finish()])
    path = write_bundle(prog, tmp_path / "dead.vtab")
    r = cli("run", "tiny", str(path))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout
    assert "deadlock" in r.stderr and "compute" in r.stderr and "l2g" in r.stderr


@pytest.mark.parametrize("args,needle", [
    (["run", "nosuchconfig"], "no such config"),
    (["run", "tiny", "/nonexistent/prog.s"], "no such file"),
    (["run", "tiny", "--workload", "nope"], "unknown workload"),
    (["run", "tiny", "--workload", "gemm_4x4", "--trace", "/nonexistent/t.json"], "cannot write trace"),
    (["run", "tiny", "--workload", "gemm_4x4", "--trace", "/tmp"], "cannot write trace"),
])
def test_cli_bad_input_exit_2(args, needle):
    r = cli(*args)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr


def test_cli_wrong_config_for_bundle_exit_2(tmp_path):
    path = write_bundle(build_workload("gemm_4x4", "tiny"), tmp_path / "g.vtab")
    r = cli("run", "default", str(path))
    assert r.returncode == 2 and "fingerprint" in r.stderr and "Traceback" not in r.stderr


def test_cli_out_of_range_exit_2_and_wrap_runs(tmp_path):
    prog = _prog([Load(memory_type=MEM_ACC, sram_base=255, dram_base=0, y_size=1, x_size=2, x_stride=2),
                  Finish()])
    path = write_bundle(prog, tmp_path / "oor.vtab")
    r = cli("run", "tiny", str(path), "--quiet")
    assert r.returncode == 2 and "instruction 1" in r.stderr and "Traceback" not in r.stderr
    r = cli("run", "tiny", str(path), "--quiet", "--wrap")
    assert r.returncode == 0, r.stderr


def test_range_error_in_a_huge_loop_is_fast_and_exact():
    # 16383 x 16383 executions: the first bad one is found without building the nest.
    prog = _prog([Gemm(uop_bgn=0, uop_end=1, iter_out=16383, iter_in=16383, dst_factor_out=1,
                       dst_factor_in=0), Finish()])
    with pytest.raises(ProgramError, match=r"dst index 256 at iteration i=256, j=0, uop 0"):
        run_program(prog)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from reference import loop_executions, loop_nest  # noqa: E402


@st.composite
def out_of_range_loops(draw):
    """(dsts, iter_out, iter_in, dst_factor_out, dst_factor_in) whose loop nest leaves the
    acc buffer somewhere (drawn that way rather than filtered: most random nests stay in)."""
    depth = TINY.acc_depth
    dsts = draw(st.lists(st.integers(0, 40), min_size=1, max_size=4))
    io, ii = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    fo, fi = draw(st.integers(0, 40)), draw(st.integers(0, 40))
    if max(dsts) + (io - 1) * fo + (ii - 1) * fi < depth:
        # stretch the outer loop past the end, by a random margin
        io = max(io, 3)
        need = -(-(depth - max(dsts) - (ii - 1) * fi) // (io - 1))
        fo = max(fo, need + draw(st.integers(0, 40)))
    return dsts, io, ii, fo, fi


@settings(max_examples=60, deadline=None)
@given(out_of_range_loops())
def test_range_error_names_the_first_bad_execution(case):
    dsts, io, ii, fo, fi = case
    depth = TINY.acc_depth
    insn = Alu(uop_bgn=0, uop_end=len(dsts), iter_out=io, iter_in=ii, dst_factor_out=fo,
               dst_factor_in=fi, alu_opcode=ALU_ADD, use_imm=True)
    uops = [(d, 0, 0) for d in dsts]
    # The reference's loop nest with a buffer too deep to wrap gives the unwrapped indices.
    unwrapped = loop_nest(insn, uops, TINY.uop_depth, {"dst": 1 << 40})
    bad = [(ijk, dst) for ijk, (dst,) in zip(loop_executions(insn), unwrapped) if dst >= depth]
    assert bad, "the strategy draws out-of-range loop nests only"
    (i, j, k), dst = bad[0]
    with pytest.raises(ProgramError, match=rf"dst index {dst} at iteration i={i}, j={j}, uop {k} "):
        run_program(_prog([insn, Finish()], uops=uops))
