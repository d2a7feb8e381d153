"""bench/resnet18_layers.py: one small layer end to end (table, JSON keys, bit-exact)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "resnet18_layers.py"


def _bench():
    spec = importlib.util.spec_from_file_location("resnet18_layers", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_c11_row_and_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert _bench().main(["default", "--layers", "c11", "--confirm", "2", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "C11" in text and "confirmed:" in text and "all bit-exact: yes" in text
    row = json.loads(out.read_text())["layers"][0]
    assert row["bit_exact"] and row["cycles"] > row["ideal_cycles"] > 0
    # ideal: 14x14 -> 7x7, 256->512, 1x1: MACs/256 = 25,088 < compulsory bytes / 8 B per cycle
    assert row["macs"] == 7 * 7 * 256 * 512 and row["ideal_cycles"] == round((14 * 14 * 256 + 256 * 512 + 512 * 4 + 7 * 7 * 512) / 8)
    assert 0.3 < row["fraction_of_ideal"] <= 1.0 and len(row["confirmed"]) == 2
    # the 1x1 schedule: bias folded into the GEMM, only the even input rows read (main before
    # this: 0.587 of ideal, 223 KB read); the floor of this requantization is about 0.79
    assert row["bias"] == "gemm" and row["fraction_of_ideal"] > 0.65 and row["dram_bytes_read"] < 175_000


def test_unknown_layer_is_exit_2(capsys):
    assert _bench().main(["default", "--layers", "C13"]) == 2
    assert "unknown layer(s) C13" in capsys.readouterr().err
