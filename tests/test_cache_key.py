"""The RTL build cache key (vta.cosim.sim.source_key) covers every source that reaches the
generated Verilog: an edit of vta.isa (a field position, an opcode) or of vta.rtl gives a new
key, hence a rebuild; an edit elsewhere (the TLM) reuses the build."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from vta.cosim import sim

PKG = sim.PKG_ROOT


def copy_package(dst):
    """The package's Python sources (no tests, builds or venv) under ``dst``."""
    shutil.copytree(PKG, dst, ignore=shutil.ignore_patterns(
        ".*", "build", "tests", "docs", "bench", "examples", "__pycache__", "*.egg-info"))
    return dst


def edit(path, old, new):
    """Replace ``old`` (which must occur once) by ``new`` in ``path``."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} not found once in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture
def pkg_copy(tmp_path):
    return copy_package(tmp_path / "vta")


def test_same_sources_same_key(pkg_copy, tiny_cfg):
    assert sim.source_key(tiny_cfg, "vta_top", root=pkg_copy) == sim.source_key(tiny_cfg, "vta_top")


@pytest.mark.parametrize("path,old,new", [
    # the planted bug of issue 10: y_pad_0/y_pad_1 positions swapped
    ("isa/layout.py", '("y_pad_0", PAD_W), ("y_pad_1", PAD_W)', '("y_pad_1", PAD_W), ("y_pad_0", PAD_W)'),
    ("isa/layout.py", "LOOP_ITER_W, IMM_W = 14, 16", "LOOP_ITER_W, IMM_W = 13, 16"),
    ("isa/opcodes.py", "OPCODE_ALU = 0, 1, 2, 3, 4", "OPCODE_ALU = 0, 1, 2, 3, 5"),
    ("rtl/alu.py", "", "# a comment\n"),
    ("__init__.py", "", "# a comment\n"),
], ids=["layout-swap", "layout-width", "opcode", "rtl", "package-init"])
def test_hardware_source_edit_changes_the_key(pkg_copy, tiny_cfg, path, old, new):
    before = sim.source_key(tiny_cfg, "vta_top", root=pkg_copy)
    p = pkg_copy / path
    if old:
        edit(p, old, new)
    else:
        p.write_text(p.read_text() + new)
    assert sim.source_key(tiny_cfg, "vta_top", root=pkg_copy) != before


def test_tlm_edit_keeps_the_key(pkg_copy, tiny_cfg):
    before = sim.source_key(tiny_cfg, "vta_top", root=pkg_copy)
    p = pkg_copy / "tlm" / "load.py"
    p.write_text(p.read_text() + "# not hardware\n")
    assert sim.source_key(tiny_cfg, "vta_top", root=pkg_copy) == before


def test_key_depends_on_config_and_top(tiny_cfg, default_cfg):
    keys = {sim.source_key(c, t) for c in (tiny_cfg, default_cfg) for t in ("vta_top", "vta_core")}
    assert len(keys) == 4


def test_wrong_root_is_an_error(tmp_path, tiny_cfg):
    with pytest.raises(sim.SimError, match="no RTL sources"):
        sim.source_key(tiny_cfg, "vta_top", root=tmp_path)


def test_edited_copy_imported_misses_the_cache(tmp_path, tiny_cfg):
    """With a copy of the package importable as ``vta``, the key the build cache uses (no
    root given) follows the copy's isa/layout.py: a layout edit points at a folder that
    does not exist yet, so exported() would convert again instead of reusing stale Verilog."""
    pkg = copy_package(tmp_path / "src" / "vta")
    code = (
        "import sys; from pathlib import Path\n"
        "import vta; from vta.isa import load_config; from vta.cosim import sim\n"
        "assert Path(vta.__file__).parent == Path(sys.argv[1]), vta.__file__\n"
        "cfg = load_config('tiny')\n"
        "before = sim.source_key(cfg, 'vta_top')\n"
        "p = Path(sys.argv[1]) / 'isa' / 'layout.py'\n"
        "old = '(\"y_pad_0\", PAD_W), (\"y_pad_1\", PAD_W)'\n"
        "assert p.read_text().count(old) == 1\n"
        "p.write_text(p.read_text().replace(old, '(\"y_pad_1\", PAD_W), (\"y_pad_0\", PAD_W)'))\n"
        "print(before, sim.source_key(cfg, 'vta_top'))\n")
    env = {**os.environ, "PYTHONPATH": str(pkg.parent), "VTA_RTL_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code, str(pkg)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, after = out.stdout.split()
    assert before == sim.source_key(tiny_cfg, "vta_top")   # the copy is the same code
    assert after != before
    assert not (tmp_path / "cache" / after).exists()
