"""vta-fpga build: the Vivado batch flow, run under tclsh with stubs for the Vivado commands.

The stubs (tests/vivado_stubs.tcl) accept only a whitelist of commands and option names and
log every call. The calls are checked against FACTS below, written from the vendors'
documentation, not from the generator's tables (fpga/vivado.py):

- parts: Digilent, PYNQ-Z1 reference manual ("ZYNQ XC7Z020-1CLG400C", 512 MB DDR3, "4 High
  Performance AXI3 Slave ports"); Avnet, Ultra96-V2 hardware user's guide (XCZU3EG-SBVA484-1-E,
  2 GB LPDDR4); AMD/Xilinx UG1267 ZCU104 evaluation board user guide (XCZU7EV-2FFVC1156E,
  Vivado part xczu7ev-ffvc1156-2-e, 2 GB PS DDR4).
- Zynq-7000 PS: PG082 (processing_system7 v5.5): IP xilinx.com:ip:processing_system7,
  CONFIG.PCW_USE_S_AXI_HP0 / PCW_USE_M_AXI_GP0 enable the HP0 slave and GP0 master ports,
  CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ sets FCLK_CLK0; HP0's DDR segment is HP0_DDR_LOWOCM.
- Zynq UltraScale+ PS: PG201 (zynq_ultra_ps_e): IP xilinx.com:ip:zynq_ultra_ps_e,
  CONFIG.PSU__USE__S_AXI_GP2 enables S_AXI_HP0_FPD (the PS's slave GP2 is HP0),
  CONFIG.PSU__USE__M_AXI_GP0 enables M_AXI_HPM0_FPD, CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ
  sets pl_clk0 (enabled by PSU__FPGA_PL0_ENABLE); HP0_FPD's low DDR segment is HP0_DDR_LOW.
- Vivado non-project flow (UG892/UG894): synth_design -> opt_design -> place_design ->
  route_design -> write_bitstream; write_hw_platform writes the .xsa.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vta.isa import load_config

STUBS = Path(__file__).with_name("vivado_stubs.tcl")
MIB = 1 << 20

ZYNQ7 = dict(ip="xilinx.com:ip:processing_system7:", clock_prop="CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ",
             enable={"CONFIG.PCW_USE_S_AXI_HP0": "1", "CONFIG.PCW_USE_M_AXI_GP0": "1"},
             hp="S_AXI_HP0", gp="M_AXI_GP0", clk="FCLK_CLK0", ddr_seg="HP0_DDR_LOWOCM")
ZYNQMP = dict(ip="xilinx.com:ip:zynq_ultra_ps_e:", clock_prop="CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ",
              enable={"CONFIG.PSU__USE__S_AXI_GP2": "1", "CONFIG.PSU__USE__M_AXI_GP0": "1",
                      "CONFIG.PSU__FPGA_PL0_ENABLE": "1"},
              hp="S_AXI_HP0_FPD", gp="M_AXI_HPM0_FPD", clk="pl_clk0", ddr_seg="HP0_DDR_LOW")
#: board -> (config, part, PS facts, PS DDR bytes)
FACTS = {
    "pynq-z1": ("configs/default.yaml", "xc7z020clg400-1", ZYNQ7, 512 * MIB),
    "ultra96": ("configs/ultra96.yaml", "xczu3eg-sbva484-1-e", ZYNQMP, 2048 * MIB),
    "zcu104": ("configs/zcu104.yaml", "xczu7ev-ffvc1156-2-e", ZYNQMP, 2048 * MIB),
}
ROOT = Path(__file__).resolve().parents[1]
SIZES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def vta_fpga(*args, cwd=None):
    return subprocess.run(["vta-fpga", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def run_stubbed(flow_dir, tmp_path, version="2023.2"):
    """Source build.tcl under tclsh with the stubs; (calls, tclsh result)."""
    log = tmp_path / "calls.log"
    driver = tmp_path / "run.tcl"
    driver.write_text(f"source {{{STUBS}}}\nsource build.tcl\n")
    proc = subprocess.run(["tclsh", str(driver)], cwd=flow_dir, capture_output=True, text=True,
                          env={"VTA_STUB_LOG": str(log), "VTA_STUB_VERSION": version, "PATH": "/usr/bin:/bin"})
    calls = [line.split("\x1f") for line in log.read_text().splitlines()] if log.exists() else []
    return calls, proc


#: options without a value (Vivado's documentation of each command)
FLAGS = {"-in_memory", "-force", "-fixed", "-include_bit", "-all", "-setup", ("make_wrapper", "-top")}


def opts(call):
    """{option: value or True} of a logged call."""
    out, i = {}, 1
    while i < len(call):
        a = call[i]
        if a.startswith("-"):
            if a in FLAGS or (call[0], a) in FLAGS or i + 1 == len(call):
                out[a] = True
            else:
                out[a] = call[i + 1]
                i += 1
        i += 1
    return out


def nets(calls, kind):
    """Each connect_bd_(intf_)net call's endpoint names."""
    prefix = "intf:" if kind == "connect_bd_intf_net" else "pin:"
    return [[a[len(prefix):] for a in c[1:]] for c in calls if c[0] == kind]


def reachable(calls, src, dst, passthrough):
    """dst reachable from src over interface nets, crossing cells of IP ``passthrough`` S00->M00."""
    through = {c[-1] for c in calls if c[0] == "create_bd_cell" and passthrough in " ".join(c)}
    edges = {}
    for a, b in nets(calls, "connect_bd_intf_net"):
        edges.setdefault(a, set()).add(b)
        edges.setdefault(b, set()).add(a)
    for cell in through:
        edges.setdefault(f"{cell}/S00_AXI", set()).add(f"{cell}/M00_AXI")
    seen, todo = set(), [src]
    while todo:
        n = todo.pop()
        if n == dst:
            return True
        if n in seen:
            continue
        seen.add(n)
        todo += edges.get(n, ())
    return False


@pytest.fixture(scope="module", params=sorted(FACTS))
def flow(request, tmp_path_factory):
    board = request.param
    config, part, ps, ddr = FACTS[board]
    out = tmp_path_factory.mktemp(board)
    r = vta_fpga("build", ROOT / config, "--board", board, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "vivado -mode batch -source build.tcl" in r.stdout
    calls, proc = run_stubbed(out, tmp_path_factory.mktemp(board + "-stub"))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return board, load_config(ROOT / config), out, calls, proc


def test_part(flow):
    board, cfg, out, calls, _ = flow
    part = FACTS[board][1]
    assert [opts(c)["-part"] for c in calls if c[0] == "create_project"] == [part]
    assert [opts(c)["-part"] for c in calls if c[0] == "synth_design"] == [part]


def test_ps_configuration(flow):
    board, cfg, out, calls, _ = flow
    ps = FACTS[board][2]
    cells = [c for c in calls if c[0] == "create_bd_cell" and opts(c).get("-vlnv", "").startswith(ps["ip"])]
    assert len(cells) == 1, f"one PS ({ps['ip']}) expected"
    name = cells[0][-1]
    props = {}
    for c in calls:
        if c[0] == "set_property" and c[-1] == name:
            words = c[2].split()
            props.update(zip(words[::2], words[1::2]))
    for k, v in ps["enable"].items():
        assert props.get(k) == v, (k, props)
    assert float(props[ps["clock_prop"]]) == cfg.clock_mhz
    # the fabric clock drives VTA and both PS AXI ports' clocks
    clock_net = [n for n in nets(calls, "connect_bd_net") if f"{name}/{ps['clk']}" in n]
    assert len(clock_net) == 1 and "vta/clk" in clock_net[0]


def test_vta_instance_and_connections(flow):
    board, cfg, out, calls, _ = flow
    ps = FACTS[board][2]
    ref = [c for c in calls if c[0] == "create_bd_cell" and opts(c).get("-type") == "module"]
    assert len(ref) == 1 and ref[0][-1] == "vta"
    module = opts(ref[0])["-reference"]
    text = (out / f"{module}.v").read_text()
    assert f"module {module}" in text and "vta_top core (" in text
    assert (out / "vta_top.v").exists()
    read = [f for c in calls if c[0] == "read_verilog" for a in c[1:] for f in a.split()]
    assert f"{module}.v" in read and "vta_top.v" in read
    # VTA's master reaches the PS HP port and the PS GP master reaches VTA's registers
    assert reachable(calls, "vta/m_axi", f"ps/{ps['hp']}", "smartconnect")
    assert reachable(calls, f"ps/{ps['gp']}", "vta/s_axil", "smartconnect")


def test_address_map_covers_dram(flow):
    board, cfg, out, calls, _ = flow
    ps, ddr = FACTS[board][2], FACTS[board][3]
    assigns = [c for c in calls if c[0] == "assign_bd_address"]
    mem = [c for c in assigns if opts(c)["-target_address_space"] == "space:vta/m_axi"]
    assert len(mem) == 1
    assert mem[0][-1] == f"seg:ps/{ps['hp']}/{ps['ddr_seg']}"
    o = opts(mem[0])
    rng = int(o["-range"][:-1]) * SIZES[o["-range"][-1]]
    assert int(o["-offset"], 16) == 0 and rng == ddr >= cfg.dram_bytes
    regs = [c for c in assigns if c[-1] == "seg:vta/s_axil/reg0"]
    assert len(regs) == 1 and opts(regs[0])["-range"] == "4K"


def test_order_and_outputs(flow):
    board, cfg, out, calls, _ = flow
    names = [c[0] for c in calls]
    order = ["synth_design", "opt_design", "place_design", "route_design", "write_bitstream"]
    idx = [names.index(n) for n in order]
    assert idx == sorted(idx) and all(names.count(n) == 1 for n in order)
    assert names.index("write_hw_platform") > names.index("write_bitstream")
    assert opts(calls[names.index("write_hw_platform")])["-file"] == "vta.xsa"
    assert (out / "vta.hwh").exists()   # copied from the block design's hand-off folder
    assert names.index("report_timing_summary") > names.index("route_design")


def test_version_warning(flow, tmp_path):
    board, cfg, out, calls, _ = flow
    if board != "pynq-z1":
        pytest.skip("once is enough")
    _, proc = run_stubbed(out, tmp_path, version="2022.1")
    assert proc.returncode == 0
    assert "WARNING: written for Vivado 2023.2, running 2022.1" in proc.stdout


def test_stubs_reject_unlisted(tmp_path):
    (tmp_path / "build.tcl").write_text("synth_design -top x -bogus 1\n")
    _, proc = run_stubbed(tmp_path, tmp_path)
    assert proc.returncode != 0 and "does not take option -bogus" in proc.stderr
    (tmp_path / "build.tcl").write_text("launch_runs impl_1\n")
    _, proc = run_stubbed(tmp_path, tmp_path)
    assert proc.returncode != 0 and "not a whitelisted Vivado command" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["configs/default.yaml", "--board", "zcu104"], "fpga.part xc7z020clg400-1, but board zcu104 is xczu7ev-ffvc1156-2-e"),
    (["configs/default.yaml", "--board", "de10nano"], "no Quartus flow"),
    (["configs/default.yaml", "--board", "kv260"], "unknown board 'kv260'"),
    (["tiny"], "has target 'sim' (no board): give --board"),
])
def test_build_errors(tmp_path, args, message):
    args = [ROOT / a if a.startswith("configs/") else a for a in args]
    r = vta_fpga("build", *args, "-o", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(shutil.which("vivado") is not None, reason="Vivado is installed: --run would run it")
def test_pynq_alias_and_run_without_vivado(tmp_path):
    """--run without Vivado on PATH: the flow is written, then exit 2 with the exact command."""
    out = tmp_path / "my flow"
    r = vta_fpga("build", ROOT / "configs/default.yaml", "--board", "pynq", "-o", out, "--run")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "on pynq-z1 (xc7z020clg400-1, 100 MHz)" in r.stdout and (out / "build.tcl").exists()
    assert r.stderr.strip() == (f"vta-fpga: error: vivado is not on PATH; on a machine with Vivado "
                                f"2023.2 run: cd '{out}' && vivado -mode batch -source build.tcl")
