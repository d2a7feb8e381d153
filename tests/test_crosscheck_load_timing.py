"""Cycle-exact TLM vs RTL timing of padded 2-D loads (INP on the load unit, ACC on compute).

With a 1-cycle DRAM the SRAM writer, one zero entry per cycle, decides a padded load's
time, so every pad entry shows in the cycle count (with the default latency the row
requests hide up to ~20 pad entries per row). The TLM's offset to the RTL for a whole
program is a constant of a few cycles (start and FINISH); padding must not change it by
more than one cycle, which a per-row or per-pad-entry error (even one cycle per row of
x_pad_0) breaks. The workloads' 5% tolerance does not see such errors.
"""
import numpy as np
import pytest

from vta.compiler import ProgramBuilder
from vta.cosim.crosscheck import check_many
from vta.isa import MEM_ACC, MEM_INP, Finish, Load


pytestmark = pytest.mark.rtl   # needs an HDL simulator

# (y_pad_0, y_pad_1, x_pad_0, x_pad_1); the first is the unpadded baseline
PADS = [(0, 0, 0, 0), (0, 0, 8, 0), (0, 0, 15, 0), (0, 0, 0, 15), (0, 0, 7, 7), (3, 2, 6, 6)]
SHAPES = [(8, 1), (6, 4)]    # (y_size, x_size)


def pad_program(cfg, mem, ys, xs, pads):
    """One padded LOAD (strided source rows) and FINISH."""
    kind = "inp" if mem == MEM_INP else "acc"
    pb = ProgramBuilder(cfg, f"pad-{kind}-{ys}x{xs}-{'-'.join(map(str, pads))}")
    rng = np.random.default_rng(0)
    if mem == MEM_INP:
        data = rng.integers(-128, 128, (64, cfg.batch, cfg.block_in)).astype(np.int8)
    else:
        data = rng.integers(-999, 999, (64, cfg.batch, cfg.block_out)).astype(np.int32)
    seg = pb.segment("src", data, "input" if mem == MEM_INP else "bias")
    yp0, yp1, xp0, xp1 = pads
    pb.emit(Load(memory_type=mem, sram_base=0, dram_base=pb.elem(seg), y_size=ys, x_size=xs,
                 x_stride=xs + 1, y_pad_0=yp0, y_pad_1=yp1, x_pad_0=xp0, x_pad_1=xp1,
                 push_next=mem == MEM_INP))
    pb.emit(Finish(pop_prev=mem == MEM_INP))
    return pb.build({})


def test_padded_load_cycles_match_the_rtl(tiny_cfg, tmp_path):
    cfg = tiny_cfg.replace(dram={"latency": 1})   # same hardware build, a fast memory
    cases = [(mem, shape, pads) for mem in (MEM_INP, MEM_ACC) for shape in SHAPES for pads in PADS]
    progs = [pad_program(cfg, mem, *shape, pads) for mem, shape, pads in cases]
    results = check_many(progs, cfg, sim="verilator", workdir=tmp_path)
    offset, bad = {}, []
    for (mem, shape, pads), p, r in zip(cases, progs, results):
        assert not isinstance(r, Exception), f"{p.name}: {r}"
        assert not r.differences, f"{p.name}: {r.differences[0]}"
        d = r.tlm_cycles - r.rtl_cycles
        base = offset.setdefault((mem, shape), d)   # the unpadded load comes first
        if abs(d - base) > 1:
            bad.append(f"{p.name}: TLM {r.tlm_cycles}, RTL {r.rtl_cycles} cycles: offset {d:+d}, "
                       f"{base:+d} without padding")
    assert not bad, "padding changes the TLM's cycle offset to the RTL:\n" + "\n".join(bad)
    assert all(abs(d) <= 8 for d in offset.values()), offset
