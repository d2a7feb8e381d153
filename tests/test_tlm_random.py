"""Whole random programs (compiler.fuzz: loads with padding and strides, UOP loads, GEMM
and ALU with random loops, tokens, stores) on the TLM against a sequential interpreter
written here (the programs' results do not depend on timing)."""
from __future__ import annotations

import numpy as np
import pytest
from test_tlm_isa import ref_loop, wrap

from vta.compiler.fuzz import random_program
from vta.isa import MEM_ACC, MEM_INP, MEM_UOP, MEM_WGT, Alu, Gemm, Load, Store, decode_uops, load_config
from vta.tlm import run_program


def interpret(prog):
    """Run ``prog`` one instruction at a time, in program order; returns the DRAM."""
    cfg = prog.config
    mem = np.zeros(cfg.dram_bytes, np.uint8)
    for base, data in prog.dram_image():
        mem[base:base + len(data)] = np.frombuffer(data, np.uint8)
    b, bi, bo = cfg.batch, cfg.block_in, cfg.block_out
    bufs = {MEM_INP: np.zeros((cfg.inp_depth, b, bi), np.int64),
            MEM_WGT: np.zeros((cfg.wgt_depth, bo, bi), np.int64),
            MEM_ACC: np.zeros((cfg.acc_depth, b, bo), np.int64)}
    out = np.zeros((cfg.out_depth, b, bo), np.int64)
    uops = [(0, 0, 0)] * cfg.uop_depth
    dt = {MEM_INP: np.int8, MEM_WGT: np.int8, MEM_ACC: np.int32}
    for insn in prog.insns:
        if isinstance(insn, Load) and insn.memory_type == MEM_UOP:
            a = insn.dram_base * 4
            for n, u in enumerate(decode_uops(mem[a:a + 4 * insn.x_size].tobytes(), cfg)):
                uops[insn.sram_base + n] = (u.dst_idx, u.src_idx, u.wgt_idx)
        elif isinstance(insn, Load):
            t = insn.memory_type
            buf = bufs[t]
            elem = cfg.elem_bytes(t)
            pads = (0, 0, 0, 0) if t == MEM_WGT else (insn.y_pad_0, insn.y_pad_1, insn.x_pad_0, insn.x_pad_1)
            width = pads[2] + insn.x_size + pads[3]
            e = insn.sram_base
            rows = [None] * pads[0] + list(range(insn.y_size)) + [None] * pads[1]
            for r in rows:
                for x in range(width):
                    if r is None or not pads[2] <= x < pads[2] + insn.x_size:
                        buf[e] = 0
                    else:
                        a = (insn.dram_base + r * insn.x_stride + x - pads[2]) * elem
                        buf[e] = mem[a:a + elem].view(dt[t]).reshape(buf.shape[1:])
                    e += 1
        elif isinstance(insn, (Gemm, Alu)):
            acc = bufs[MEM_ACC]
            acc[:], out[:] = ref_loop(insn, uops, bufs[MEM_INP], bufs[MEM_WGT], acc, out)
        elif isinstance(insn, Store):
            for r in range(insn.y_size):
                for x in range(insn.x_size):
                    a = (insn.dram_base + r * insn.x_stride + x) * cfg.out_bytes
                    mem[a:a + cfg.out_bytes] = wrap(out[insn.sram_base + r * insn.x_size + x], 8).astype(np.int8).view(np.uint8).ravel()
    return mem


@pytest.mark.parametrize("config", ["tiny", "default"])
@pytest.mark.parametrize("seed", range(25))
def test_random_program_matches_sequential_interpreter(config, seed):
    cfg = load_config(config)
    prog = random_program(cfg, seed)
    res = run_program(prog)
    ref = interpret(prog)
    for seg in prog.segments:
        if seg.role == "output":
            np.testing.assert_array_equal(res.read(seg.base, seg.nbytes), ref[seg.base:seg.end],
                                          err_msg=f"segment {seg.name}, seed {seed}")
