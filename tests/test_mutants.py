"""bench/mutants.py stays applicable: every mutant's target text is still in the sources (a
refactor that moves it must update the mutant, not silently drop it), and the list keeps the
coverage issue 10 asks for. Running the mutants is bench work, not part of the test run."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_bench():
    spec = importlib.util.spec_from_file_location("vta_bench_mutants", ROOT / "bench" / "mutants.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod   # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


B = load_bench()


@pytest.mark.parametrize("mutant", B.MUTANTS, ids=[m.name for m in B.MUTANTS])
def test_mutant_applies_to_the_sources(mutant):
    changed = B.mutated_texts(mutant, ROOT)   # raises MutantError naming the lost target
    assert changed and all(p.read_text() != t for p, t in changed.items())


def test_mutant_list_covers_issue_10():
    names = [m.name for m in B.MUTANTS]
    assert len(names) == len(set(names)) >= 20
    for cls in B.CLASSES:
        assert sum(m.cls == cls for m in B.MUTANTS) >= 2, cls
    tops = {e[0].split("/")[0] for m in B.MUTANTS for e in m.edits}
    assert {"isa", "tlm", "rtl", "compiler", "assembler"} <= tops


def test_lost_target_fails_loudly(tmp_path):
    (tmp_path / "isa").mkdir()
    (tmp_path / "isa" / "layout.py").write_text("PAD_W = 4\n")
    m = B.M("probe", "field", "a target that is gone", ("isa/layout.py", "PAD_W = 5", "PAD_W = 3"))
    with pytest.raises(B.MutantError, match="probe: isa/layout.py: target text found 0 times"):
        B.mutated_texts(m, tmp_path)
