"""vta-fpga formal: the SymbiYosys AXI4 properties of the AXI master.

The full bounded check on tiny is slow (minutes); the planted-bug tests export the master,
break one AXI rule in a copy of its Verilog and check that the named property fails within
a few cycles (each about 10-30 s on an idle machine, hence marker rtl).
"""
from __future__ import annotations

import re

import pytest

from vta.fpga import axi_formal as F
from vta.fpga.cli import main


def limits_cfg():
    """tiny with tight AXI limits: 3 reads and 2 writes outstanding, 16-beat (AXI3) bursts,
    so that the limits are reached within a short bound."""
    from vta.isa import Config, load_config
    d = load_config("tiny").to_dict()
    d["name"] = "tiny-limits"
    d["dram"].update(max_outstanding_reads=3, max_outstanding_writes=2, max_burst_beats=16)
    return Config.from_dict(d)


@pytest.fixture(scope="module")
def exported_master(tmp_path_factory):
    """cfg -> the text of its exported master (each config exported once for this module)."""
    from vta.rtl.export import convert_verilog
    done = {}

    def get(cfg):
        if cfg.name not in done:
            d = tmp_path_factory.mktemp(f"axi_master_{cfg.name}")
            done[cfg.name] = convert_verilog(cfg, d, "axi_master").read_text()
        return done[cfg.name]
    return get


@pytest.fixture(scope="module")
def master_v(exported_master, tiny_cfg):
    return exported_master(tiny_cfg)


def mutant(text, pattern, repl, tmp_path):
    """A copy of the master's Verilog with ``pattern`` replaced once (the planted bug)."""
    new, n = re.subn(pattern, repl, text, count=1)
    assert n == 1, f"mutation pattern {pattern!r} not in the exported master: update the test"
    p = tmp_path / "mutant_axi_master.v"
    p.write_text(new)
    return p


@pytest.mark.rtl
@pytest.mark.parametrize("name, pattern, repl, task, groups", [
    # AWLEN one more than the W beats sent: W beats per burst / WLAST / burst addresses
    ("awlen_off_by_one", r"(m_awlen <= )(\w*aw_b_len);", r"\1(\2 + 1);", "bmc_write",
     {"P3 AW burst rules", "P5 W bursts", "P7 write addresses and completion"}),
    # a read burst may run one beat past the end of its 4 KiB page
    # (the page-limited ARLEN is page_beats - 1 - x: planted as page_beats - x)
    ("read_crosses_4k", r"\(\((\d+) - 1\) - (\w*reader\w*ar_next)\[", lambda m: f"({m.group(1)} - {m.group(2)}[",
     "bmc_read", {"P3 AR burst rules"}),
])
def test_planted_bug_is_caught(master_v, tmp_path, tiny_cfg, name, pattern, repl, task, groups):
    bad = mutant(master_v, pattern, repl, tmp_path)
    env, sby = F.tool_env()
    work = F.prepare(tiny_cfg, tmp_path / "work", depth=6, verilog=bad)
    res = F.run_task(work, task, env, sby, timeout=600)
    assert res.status == "FAIL", res.line()
    assert {f.group for f in res.failures} & groups, res.line()
    assert res.trace is not None and res.trace.exists()


@pytest.mark.rtl
def test_outstanding_limit_bug_is_caught(exported_master, tmp_path):
    # the read side lets one burst more than dram.max_outstanding_reads (3) go out (its
    # routing FIFO has room for 4, so only the limit is wrong)
    cfg = limits_cfg()
    # ("every slot taken" is a flip-flop set when the count reaches slots - 1 and a burst issues)
    bad = mutant(exported_master(cfg), r"(\w*inflight\}\)) == \(3 - 1\)\)", r"\1 == (4 - 1))", tmp_path)
    env, sby = F.tool_env()
    work = F.prepare(cfg, tmp_path / "work", depth=8, verilog=bad)
    res = F.run_task(work, "bmc_read", env, sby, timeout=600)
    assert res.status == "FAIL", res.line()
    assert {f.group for f in res.failures} == {"P4 read outstanding limit"}, res.line()


@pytest.mark.rtl
def test_unmodified_master_passes_a_short_bound(master_v, tmp_path, tiny_cfg):
    # the same check that catches the mutants passes on the real master (no false alarm)
    p = tmp_path / "axi_master.v"
    p.write_text(master_v)
    env, sby = F.tool_env()
    work = F.prepare(tiny_cfg, tmp_path / "work", depth=6, verilog=p)
    for task in F.BMC_TASKS:
        res = F.run_task(work, task, env, sby, timeout=600)
        assert res.status == "PASS", res.line()


@pytest.mark.rtl
@pytest.mark.slow
def test_formal_tiny_passes_at_the_default_depth(tmp_path, capsys):
    assert main(["formal", "tiny", "-o", str(tmp_path), "--cover"]) == 0
    out = capsys.readouterr().out
    assert f"4 of 4 tasks passed at depth {F.DEFAULT_DEPTH}" in out


@pytest.mark.parametrize("argv, msg", [
    (["formal", "tiny", "--depth", "1"], "--depth 1: must be 2..200"),
    (["formal", "tiny", "--verilog", "/nonexistent/m.v"], "/nonexistent/m.v"),
    (["formal", "no-such-config"], "no-such-config"),
])
def test_bad_input_exit_2(argv, msg, capsys, tmp_path):
    assert main([*argv, "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("vta-fpga: error:") and msg in err[-1]
    assert not any("Traceback" in ln for ln in err)


def test_verilog_without_the_master_module_is_refused(tmp_path, tiny_cfg):
    p = tmp_path / "other.v"
    p.write_text("module something_else(input a); endmodule\n")
    with pytest.raises(F.VTAError, match=r"other\.v: no 'module axi_master'"):
        F.prepare(tiny_cfg, tmp_path / "work", verilog=p)


def test_checker_parameters_follow_the_config(tiny_cfg, default_cfg):
    tiny = F.params_vh(tiny_cfg, 10)
    assert "`define MAX_BURST 256" in tiny and "`define BUS_BYTES 4" in tiny
    assert "`define MAX_RD 8" in tiny and "`define MAX_WR 8" in tiny
    # the PYNQ config's AXI3 ports take 16-beat bursts
    assert "`define MAX_BURST 16" in F.params_vh(default_cfg, 10)


def test_failure_is_named_by_its_property_group(tmp_path):
    props = F.FORMAL_DIR / F.PROPS_FILE
    lines = props.read_text().splitlines()
    ln = next(i for i, s in enumerate(lines, 1) if "assert(ar_end <= 13'd4096)" in s)
    group, src = F.property_group(props, ln)
    assert group == "P3 AR burst rules" and "4096" in src
