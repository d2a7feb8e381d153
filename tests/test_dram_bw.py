"""bench/dram_bw.py: its workloads move the bytes they claim, and its table (TLM part, fast)
shows what outstanding transactions buy; bad options are one-line errors."""
import json
import sys
from pathlib import Path

import pytest

from vta.isa import MEM_INP, MEM_OUT, Load, Store, load_config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import dram_bw  # noqa: E402


@pytest.mark.parametrize("name", dram_bw.WORKLOADS)
def test_workloads_move_the_bytes_they_claim(name):
    cfg = load_config("default")
    prog, nbytes = dram_bw.build(cfg, name)
    moved = sum(i.y_size * i.x_size * cfg.elem_bytes(i.memory_type) for i in prog.insns
                if isinstance(i, (Load, Store)))
    assert moved == nbytes
    rows = {"load_1k": (1, 1024), "rows_64b": (1024, 64), "rows_1elem": (1024, 16)}
    if name in rows:
        n, row = rows[name]
        loads = [i for i in prog.insns if isinstance(i, Load)]
        assert all(i.memory_type == MEM_INP and i.x_size * cfg.elem_bytes(MEM_INP) == row
                   for i in loads)
        assert sum(i.y_size for i in loads) == (n if name != "load_1k" else 64)
        assert all(i.x_stride > i.x_size for i in loads) == (name != "load_1k")  # rows apart
    else:
        assert all(i.memory_type == MEM_OUT for i in prog.insns if isinstance(i, Store))
        assert nbytes == 64 << 10


def test_tlm_table_and_json(tmp_path, capsys):
    out = tmp_path / "bw.json"
    assert dram_bw.main(["--tlm-only", "--latencies", "32", "--limits", "1,16",
                         "--workloads", "rows_1elem,store_long", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "limit 16" in text and "rows_1elem" in text and "TLM" in text
    doc = json.loads(out.read_text())
    by = {(r["workload"], r["limit"]): r for r in doc["rows"]}
    one, many = by[("rows_1elem", 1)], by[("rows_1elem", 16)]
    assert one["rtl_cycles"] is None and one["bytes"] == many["bytes"] == 16 << 10
    # a one-element row pays the whole round trip alone; 16 in flight overlap it
    assert one["tlm_cycles"] > 3 * many["tlm_cycles"]


@pytest.mark.parametrize("args, words", [
    (["--limits", "0"], "max_outstanding_reads"), (["--latencies", "x"], "comma-separated"),
    (["--workloads", "nope"], "unknown workload 'nope'"), (["--scale", "0"], "--scale 0.0"),
])
def test_bad_options(args, words, capsys):
    try:
        code = dram_bw.main(["--tlm-only"] + args)
    except SystemExit as e:   # argparse's own errors
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
