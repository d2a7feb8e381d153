"""AXI4 master + AXI4-Lite registers, tested with cocotb + cocotbext-axi on the exported harness."""
from pathlib import Path

import pytest

from vta.isa import load_config
from vta.cosim import sim

pytestmark = pytest.mark.rtl   # needs an HDL simulator

HERE = Path(__file__).resolve().parent / "cocotb"


#: tiny with 2 bursts in flight each way and AXI3-sized bursts (limits reached often)
NARROW = {"max_outstanding_reads": 2, "max_outstanding_writes": 2, "max_burst_beats": 16}


@pytest.mark.parametrize("cfg_name,stall,dram", [("tiny", 0, {}), ("default", 0, {}),
                                                 ("tiny", 0.4, {}), ("tiny", 0.4, NARROW)])
def test_axi_harness_icarus(cfg_name, stall, dram, tmp_path):
    # stall: the AXI RAM randomly pauses every channel (AR, R, AW, W, B)
    cfg = load_config(cfg_name).replace(dram=dram) if dram else load_config(cfg_name)
    results = sim.run_test(cfg, "axi_harness_test", sim="icarus", top="axi_harness",
                           test_dir=tmp_path, pythonpath=[HERE],
                           env={"VTA_AXI_STALL": str(stall)} if stall else None)
    assert sim.failures(results) == []
    import xml.etree.ElementTree as ET
    names = {c.get("name") for c in ET.parse(results).getroot().iter("testcase")}
    assert {"reads_and_arbiter", "writes_and_done", "registers"} <= names
