"""Block-level RTL tests: each datapath block converted on its own (rtl/export.py BLOCK_TOPS)
and run under cocotb + Icarus against a numpy/Python model written in its cocotb module
(tests/cocotb/blocks/<block>_tests.py). Stimulus is random with a fixed seed (VTA_SEED)."""
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vta.isa import load_config
from vta.isa.config import Config
from vta.cosim.sim import failures, run_test

BLOCKS = Path(__file__).resolve().parent / "cocotb" / "blocks"


def narrow_config():
    """tiny with another GEMM shape and widths: batch 2, 2x2 block, int16 weights (so the
    multipliers are not packed in pairs), 16-bit accumulators."""
    d = load_config("tiny").to_dict()
    d["name"] = "tiny-b2-w16-a16"
    d["arch"].update(log_wgt_width=4, log_acc_width=4, log_batch=1, log_block_in=1, log_block_out=1)
    return Config.from_dict(d)


def ecp5_int8_config():
    """tiny on the ECP5 part: int8 products not packed in pairs (rtl/gemm.can_pack)."""
    return load_config("tiny").replace(fpga={"part": "LFE5U-85F-6BG381C"})


CONFIGS = {"tiny": lambda: load_config("tiny"), "narrow": narrow_config,
           "tiny-ecp5": ecp5_int8_config}

# (config, top, cocotb module, cocotb test cases)
CASES = [
    ("tiny", "fifo", "fifo_tests", {"random_push_pop", "reset_empties"}),
    ("tiny", "sram", "sram_tests", {"random_access"}),
    ("tiny", "load_engine", "load_tests", {"random_tiles"}),
    ("tiny", "gemm_core", "gemm_tests", {"gemm_core_matches_numpy"}),
    ("tiny", "acc_update", "gemm_tests", {"acc_update_wraps"}),
    ("tiny", "alu_core", "alu_tests", {"alu_matches_numpy"}),
    ("tiny", "dep_queue", "dep_queue_tests", {"push_and_pop_together_keep_the_count", "random_push_pop"}),
    ("narrow", "gemm_core", "gemm_tests", {"gemm_core_matches_numpy"}),
    ("tiny-ecp5", "gemm_core", "gemm_tests", {"gemm_core_matches_numpy"}),
    ("narrow", "acc_update", "gemm_tests", {"acc_update_wraps"}),
    ("narrow", "alu_core", "alu_tests", {"alu_matches_numpy"}),
]


@pytest.mark.rtl
@pytest.mark.parametrize("cfg_name,top,module,cases", CASES,
                         ids=[f"{c}-{t}" for c, t, _, _ in CASES])
def test_block(cfg_name, top, module, cases, tmp_path):
    cfg = CONFIGS[cfg_name]()
    results = run_test(cfg, module, sim="icarus", top=top, test_dir=tmp_path, pythonpath=[BLOCKS],
                       env={"VTA_SEED": "7"}, testcase=sorted(cases), check=False)
    assert failures(results) == []
    ran = {c.get("name") for c in ET.parse(results).getroot().iter("testcase")}
    assert ran == cases, f"cocotb ran {sorted(ran)}"
