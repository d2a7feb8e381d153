"""Hostile configs: numbers that are not (NaN, infinities, huge, fractional), duplicate keys,
unknown targets, YAML bombs and oversized values. Each is a clear error naming the file
and key (exit 2, no traceback, a message of bounded length, bounded time and memory)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hostile_cli import assert_clean_error, listing, run_cases

from vta.isa import ConfigError, load_config
from vta.isa.config import TARGETS

ROOT = Path(__file__).resolve().parents[1]
TINY = (ROOT / "configs" / "tiny.yaml").read_text()
BOMB = "\n".join(['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
                 + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)])
JSON = {"TARGET": "sim", "HW_VER": "0.0.2", "LOG_INP_WIDTH": 3, "LOG_WGT_WIDTH": 3,
        "LOG_ACC_WIDTH": 5, "LOG_BATCH": 0, "LOG_BLOCK": 4, "LOG_UOP_BUFF_SIZE": 15,
        "LOG_INP_BUFF_SIZE": 15, "LOG_WGT_BUFF_SIZE": 18, "LOG_ACC_BUFF_SIZE": 17}


def tiny_with(**sections):
    doc = yaml.safe_load(TINY)
    for key, value in sections.items():
        if isinstance(value, dict):
            doc.setdefault(key, {}).update(value)
        else:
            doc[key] = value
    return yaml.safe_dump(doc)


# (file name, text, words the message must hold)
BAD_CONFIGS = [
    ("nan.yaml", tiny_with(clock={"mhz": float("nan")}), ["'clock.mhz' = nan", "finite positive"]),
    ("inf.yaml", tiny_with(clock={"mhz": float("inf")}), ["'clock.mhz' = inf", "finite"]),
    ("neg.yaml", tiny_with(clock={"mhz": -100}), ["'clock.mhz' = -100", "positive"]),
    ("str.yaml", tiny_with(clock={"mhz": "fast"}), ["'clock.mhz'", "must be a number"]),
    ("bpc.yaml", tiny_with(dram={"bytes_per_cycle": float("nan")}), ["'dram.bytes_per_cycle' = nan"]),
    ("bpc0.yaml", tiny_with(dram={"bytes_per_cycle": 0}), ["'dram.bytes_per_cycle' = 0"]),
    ("ii.yaml", tiny_with(timing={"gemm_ii": 1.5}), ["'timing.gemm_ii' = 1.5", "integer"]),
    ("big.yaml", tiny_with(dram={"size_mib": 2 ** 70}), ["'dram.size_mib'", "1..4096"]),
    ("bool.yaml", tiny_with(queues={"cmd_depth": True}), ["'queues.cmd_depth'"]),
    ("sec.yaml", tiny_with(clock=7), ["'clock' = 7", "mapping"]),
    ("target.yaml", tiny_with(target="pynqq"), ["'target' = 'pynqq'", "known targets: " + ", ".join(TARGETS)]),
    ("tlist.yaml", tiny_with(target=["sim"]), ["'target'", "known targets"]),
    ("nl.yaml", tiny_with(name="x\nmodule evil;"), ["'name'", "control characters"]),
    ("dot.yaml", tiny_with(name=".."), ["'name'", "'..' cannot be"]),
    ("long.yaml", tiny_with(name="n" * 5000), ["'name'", "at most 100 characters", "nnn...nnn"]),
    ("dup.yaml", TINY + "clock: {mhz: 50}\n", ["duplicate key 'clock'", "(first at line"]),
    ("dup2.yaml", TINY.replace("arch:", "arch:\n  log_batch: 0", 1), ["duplicate key 'log_batch'"]),
    ("bomb.yaml", BOMB + "\n" + TINY, ["expands to more than 100000 values"]),
    ("bomb2.yaml", BOMB + "\nname: *a8\n", ["expands to more than"]),
    ("rec.yaml", "name: &a [*a]\n", ["recursive"]),
    ("deep.yaml", "name: " + "[" * 100000, ["nested deeper than 64"]),
    ("digits.yaml", "name: " + "7" * 6000, ["invalid YAML"]),
    ("huge.yaml", "name: '" + "x" * (2 << 20) + "'\n", ["larger than 1048576 bytes"]),
    ("bin.yaml", "", ["not UTF-8"]),
    ("obj.yaml", "name: !!python/object/apply:os.system ['true']\n", ["invalid YAML"]),
    ("j.json", json.dumps(JSON)[:-1] + ', "LOG_BATCH": 1}', ["duplicate key 'LOG_BATCH'"]),
    ("jnan.json", json.dumps(JSON).replace('"LOG_BATCH": 0', '"LOG_BATCH": NaN'), ["NaN is not a number"]),
    ("jtarget.json", json.dumps({**JSON, "TARGET": "sim2"}), ["'TARGET' = 'sim2'", "known targets"]),
    ("jdeep.json", "[" * 100000 + "]" * 100000, ["invalid JSON"]),
    ("jdigits.json", json.dumps(JSON).replace('"LOG_BATCH": 0', '"LOG_BATCH": ' + "1" * 6000),
     ["invalid JSON"]),
]


def test_hostile_configs_are_clear_errors(tmp_path):
    for name, text, _ in BAD_CONFIGS:
        (tmp_path / name).write_text(text)
    (tmp_path / "bin.yaml").write_bytes(b"name: \xff\xfe\n")   # not UTF-8
    prog = ROOT / "examples" / "gemm.s"
    before = listing(tmp_path)
    cases = [("vta-asm", [prog, "-c", tmp_path / name, "-o", tmp_path / "out.vtab"])
             for name, _, _ in BAD_CONFIGS]
    cases += [("vta-tlm", ["run", tmp_path / "bomb.yaml", prog, "--quiet"]),
              ("vta-rtl", ["export", tmp_path / "nan.yaml", "-o", tmp_path / "rtl"])]
    results = run_cases(cases, cwd=tmp_path)
    for (name, _, needles), r in zip(BAD_CONFIGS, results):
        msg = assert_clean_error(r, str(tmp_path / name), *needles)
        assert len(msg) < 600, msg   # values are shown cut to ~200 characters
    assert_clean_error(results[-2], "expands to more than")
    assert_clean_error(results[-1], "'clock.mhz' = nan")
    assert listing(tmp_path) == before


def test_the_bundled_configs_and_plain_yaml_features_still_load(tmp_path):
    for name in ("tiny", "default", "ultra96", "zcu104"):
        assert load_config(name).name == name
    # anchors, aliases and merge keys within the limits are fine; a name with '/' is data
    p = tmp_path / "anchors.yaml"
    p.write_text(TINY.replace("name: tiny", "name: a/b c%")
                 .replace("queues:\n  cmd_depth: 8", "queues: &q\n  cmd_depth: 8")
                 .replace("clock:\n  mhz: 100", "clock: {<<: {mhz: 100}, mhz: 50}"))
    cfg = load_config(p)
    assert cfg.clock_mhz == 50.0 and cfg.name == "a/b c%" and cfg.cmd_queue_depth == 8


def test_limits_are_raised_by_environment_variables(tmp_path, monkeypatch):
    p = tmp_path / "c.yaml"
    p.write_text(tiny_with(description="d" * 2000))
    monkeypatch.setenv("VTA_YAML_MAX_BYTES", "1000")
    with pytest.raises(ConfigError, match="larger than 1000 bytes"):
        load_config(p)
    monkeypatch.setenv("VTA_YAML_MAX_BYTES", "100000")
    assert load_config(p).description == "d" * 2000
    monkeypatch.setenv("VTA_YAML_MAX_NODES", "5")
    with pytest.raises(ConfigError, match="more than 5 values"):
        load_config(p)
    monkeypatch.setenv("VTA_YAML_MAX_NODES", "many")
    with pytest.raises(Exception, match="VTA_YAML_MAX_NODES='many' must be a positive integer"):
        load_config(p)


def test_error_messages_show_at_most_about_200_characters_of_a_value():
    from vta.isa.errors import shown
    assert shown("ab") == "'ab'"
    assert len(shown("x" * 10 ** 6)) < 260
    assert len(shown([[1] * 1000] * 1000)) < 260
    assert shown(10 ** 5000).startswith("<an integer of")
    e = ConfigError("bad", path="c.yaml", key="name", value="v" * 10 ** 6)
    assert len(str(e)) < 300
