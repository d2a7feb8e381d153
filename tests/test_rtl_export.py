"""Export: the SystemVerilog package matches cfg.layout bit for bit; the export is deterministic."""
import hashlib

import pyslang
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vta.isa import bundled_configs, load_config
from vta.isa.config import ARCH_RANGES, Config
from vta.isa.errors import ConfigError
from vta.rtl import export as E


def compile_pkg(text):
    comp = pyslang.ast.Compilation()
    comp.addSyntaxTree(pyslang.syntax.SyntaxTree.fromText(text, "vta_pkg.sv"))
    errors = [d for d in comp.getAllDiagnostics() if d.isError()]
    assert not errors, pyslang.DiagnosticEngine.reportAll(comp.sourceManager, errors)
    return comp.getPackage("vta_pkg")


def check_package(cfg, pkg):
    lay = cfg.layout
    for fmt, tname, total, _ in E.STRUCTS:
        ty = pkg.find(tname).targetType.type
        assert ty.bitWidth == total, tname
        members = {m.name: m for m in ty}
        fields = getattr(lay, fmt)
        for f in fields:
            m = members.pop(f.name)
            assert (m.bitOffset, m.type.bitWidth) == (f.lo, f.width), (tname, f.name)
            assert m.type.isSigned == f.signed, (tname, f.name)
        # whatever is left is padding, and it covers exactly the bits no field uses
        used = sum(f.width for f in fields)
        assert all(n.startswith("pad_") for n in members), members
        assert sum(m.type.bitWidth for m in members.values()) == total - used


@pytest.mark.parametrize("name", bundled_configs())
def test_package_fields_match_layout(name):
    cfg = load_config(name)
    check_package(cfg, compile_pkg(E.package_sv(cfg)))


def _key(k):
    lo, hi, _ = ARCH_RANGES[k]
    return st.integers(lo, hi)


@st.composite
def arch(draw):
    """Arch dicts drawn through buffer depths, so that ~40% are valid configs (independent
    uniform keys give ~8%, which left about 3 of 40 examples actually checked)."""
    a = {k: draw(_key(k)) for k in ("log_inp_width", "log_wgt_width", "log_batch", "log_block_in",
                                     "log_block_out", "log_bus_width")}
    a["log_acc_width"] = draw(st.integers(max(3, a["log_inp_width"], a["log_wgt_width"]),
                                          ARCH_RANGES["log_acc_width"][1]))
    depth = {m: draw(st.integers(1, 13)) for m in ("uop", "inp", "wgt", "acc")}
    a["log_uop_buff_size"] = depth["uop"] + 2
    a["log_inp_buff_size"] = depth["inp"] + a["log_batch"] + a["log_block_in"] + a["log_inp_width"] - 3
    a["log_wgt_buff_size"] = depth["wgt"] + a["log_block_out"] + a["log_block_in"] + a["log_wgt_width"] - 3
    a["log_acc_buff_size"] = depth["acc"] + a["log_batch"] + a["log_block_out"] + a["log_acc_width"] - 3
    return a


@settings(max_examples=40, deadline=None)
@given(arch())
def test_package_fields_random_configs(a):
    try:
        cfg = Config.from_dict({"name": "rand", "arch": a})
    except ConfigError:
        assume(False)  # rejected configs are test_isa_config's business
    check_package(cfg, compile_pkg(E.package_sv(cfg)))


def test_struct_members_pad_gaps(default_cfg):
    cfg = default_cfg
    members = E.struct_members(cfg.layout.mem, 128)
    # MSB first, contiguous, the C bit-field gap of LOAD/STORE is [58:64)
    pos = 128
    for name, lo, width, _ in members:
        assert lo + width == pos
        pos = lo
    assert pos == 0
    assert ("pad_58", 58, 6, False) in members


def _digest(d):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def test_export_deterministic(tmp_path, tiny_cfg):
    cfg = tiny_cfg
    a, b = tmp_path / "a", tmp_path / "b"
    E.export(cfg, a)
    E.export(cfg, b)
    da, db = _digest(a), _digest(b)
    assert set(da) >= {"vta_top.v", "vta_pkg.sv", "vta_top.sv", "files.f", "vta_top.core", "lint.vlt"}
    assert da == db
    assert str(a) not in (a / "vta_top.v").read_text()  # no absolute paths leak in


def test_wrapper_has_vta_top_ports(tmp_path, tiny_cfg):
    from vta.cosim.sim import exported
    d = exported(tiny_cfg)
    ports = E.verilog_ports((d / "vta_top.v").read_text())
    names = [n for _, _, n in ports]
    assert names[:2] == ["clk", "rst"]
    assert "s_axil_awaddr" in names and "m_axi_rdata" in names and "m_axi_wstrb" in names
    sv = (d / "vta_top.sv").read_text()
    for n in names:
        assert f".{n}({n})" in sv


def test_fusesoc_core_and_file_list(tmp_path, tiny_cfg):
    import yaml
    from vta.cosim.sim import exported
    d = exported(tiny_cfg)
    text = (d / "vta_top.core").read_text()
    assert text.startswith("CAPI=2:")
    core = yaml.safe_load(text)
    files = [next(iter(f)) for f in core["filesets"]["rtl"]["files"]]
    assert files == (d / "files.f").read_text().split()
    assert all((d / f).exists() for f in files)
    assert core["targets"]["lint"]["toplevel"] == E.SV_TOP
    assert core["targets"]["lint"]["tools"]["verilator"]["verilator_options"] == ["-Wall"]


@pytest.mark.parametrize("chained, single", [
    ("a[8-1:0][3-1:1]", "a[2:1]"),
    ("a[12-1:4][3]", "a[7]"),
    ("b[5-1:0][(5 - 1)]", "b[4]"),        # MyHDL's v[len(v) - 1] (broke Icarus, issue 13)
    ("b[9-1:2][(2 + 3)]", "b[7]"),
    ("b[9-1:2][(6)]", "b[8]"),
    ("c[4-1:0][(4 + 0)]", "c[4-1:0][(4 + 0)]"),   # outside the outer range: left for lint
    ("c[4-1:0][5-1:2]", "c[4-1:0][5-1:2]"),
    ("d[4-1:0][i]", "d[4-1:0][i]"),         # not a constant: left alone
])
def test_unchain_selects(chained, single):
    assert E.unchain_selects(f"assign y = {chained};") == f"assign y = {single};"
