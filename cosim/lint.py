"""Checks an export must pass: Verilator -Wall lint, pyslang, Icarus compile.

Each check takes an export directory (see vta.rtl.export) and returns a CheckResult;
``ok`` is False when the tool reports a warning (Verilator, with the export's commented
waivers in lint.vlt applied) or an error (pyslang, Icarus).
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from vta.rtl.export import SOURCES, SV_TOP

from . import tools


@dataclass
class CheckResult:
    name: str
    ok: bool
    messages: list = field(default_factory=list)

    def summary(self):
        state = "clean" if self.ok else f"{len(self.messages)} problem(s)"
        return f"{self.name}: {state}"


def verilator_lint(export_dir):
    d = Path(export_dir)
    proc = tools.run(["verilator", "--lint-only", "-Wall", "--top-module", SV_TOP,
                      "lint.vlt", *SOURCES], cwd=d, check=False)
    out = (proc.stdout or "") + (proc.stderr or "")
    msgs = [ln for ln in out.splitlines() if ln.startswith(("%Warning", "%Error"))]
    return CheckResult("verilator --lint-only -Wall", proc.returncode == 0 and not msgs, msgs)


def pyslang_check(export_dir):
    import pyslang
    d = Path(export_dir)
    comp = pyslang.ast.Compilation()
    for name in SOURCES:
        # fromText: pyslang caches files by path within a process, and exports get rewritten
        comp.addSyntaxTree(pyslang.syntax.SyntaxTree.fromText((d / name).read_text(), name))
    diags = [x for x in comp.getAllDiagnostics() if x.isError()]
    msgs = []
    if diags:
        text = pyslang.DiagnosticEngine.reportAll(comp.sourceManager, diags)
        msgs = [ln for ln in text.splitlines() if "error:" in ln]
    return CheckResult("pyslang", not diags, msgs or [f"{len(diags)} error(s)"] if diags else [])


def icarus_compile(export_dir):
    d = Path(export_dir)
    with tempfile.TemporaryDirectory() as tmp:
        proc = tools.run(["iverilog", "-g2012", "-s", SV_TOP, "-o", str(Path(tmp) / "a.vvp"),
                          *SOURCES], cwd=d, check=False)
    out = ((proc.stdout or "") + (proc.stderr or "")).strip()
    msgs = [ln for ln in out.splitlines() if re.search(r"error|warning", ln, re.I)]
    return CheckResult("iverilog -g2012", proc.returncode == 0 and not msgs, msgs)


CHECKS = (verilator_lint, pyslang_check, icarus_compile)


def run_all(export_dir):
    return [check(export_dir) for check in CHECKS]
