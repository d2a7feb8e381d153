"""The RTL build cache key covers every source that reaches the Verilog: rtl/ and isa/."""
from __future__ import annotations

from pathlib import Path

import vta.isa
import vta.rtl
from vta.cosim import sim


def test_the_key_covers_the_hardware_and_the_isa():
    files = {p.resolve() for p in sim.hardware_sources()}
    for pkg in (vta.rtl, vta.isa):
        folder = Path(pkg.__file__).resolve().parent
        assert {p.resolve() for p in folder.glob("*.py")} <= files
    assert (Path(vta.rtl.__file__).parent / "export.py").resolve() in files


def test_an_edit_of_a_layout_fact_changes_the_key(tiny_cfg, tmp_path, monkeypatch):
    """An isa/ edit (a field position, say) must rebuild: a stale Verilog would run old code."""
    before = sim.source_key(tiny_cfg, "vta_top")
    edited = []
    for p in sim.hardware_sources():
        q = tmp_path / p.parent.name / p.name
        q.parent.mkdir(exist_ok=True)
        text = p.read_text()
        if p.parent.name == "isa" and p.name == "layout.py":
            text += "\n# edited\n"
        q.write_text(text)
        edited.append(q)
    monkeypatch.setattr(sim, "hardware_sources", lambda: edited)
    assert sim.source_key(tiny_cfg, "vta_top") != before
    monkeypatch.undo()
    assert sim.source_key(tiny_cfg, "vta_top") == before
