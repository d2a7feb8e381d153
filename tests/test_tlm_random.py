"""Whole random programs (compiler.fuzz: loads with padding and strides, UOP loads, GEMM
and ALU with random loops, tokens, stores) on the TLM against the reference interpreter
(tests/reference.py; the programs' results do not depend on timing)."""
from __future__ import annotations

import numpy as np
import pytest
from reference import run_reference

from vta.compiler.fuzz import random_program
from vta.isa import load_config
from vta.tlm import run_program


@pytest.mark.parametrize("config", ["tiny", "default"])
@pytest.mark.parametrize("seed", range(25))
def test_random_program_matches_sequential_interpreter(config, seed):
    cfg = load_config(config)
    prog = random_program(cfg, seed)
    res = run_program(prog)
    ref = run_reference(prog)
    for seg in prog.segments:
        if seg.role == "output":
            np.testing.assert_array_equal(res.read(seg.base, seg.nbytes), ref.read(seg.base, seg.nbytes),
                                          err_msg=f"segment {seg.name}, seed {seed}")
