"""Config loading: bundled configs, derived quantities (docs/isa.md's numbers), Apache
VTA's vta_config.json, minimal files, and rejections that name key, value and rule."""
import json

import pytest
import yaml

from vta.isa import (ARCH_KEYS, MEM_ACC, MEM_INP, MEM_OUT, MEM_UOP, MEM_WGT, ConfigError,
                     bundled_configs, load_config)

DEFAULT_ARCH = dict(log_inp_width=3, log_wgt_width=3, log_acc_width=5, log_batch=0, log_block_in=4,
                    log_block_out=4, log_uop_buff_size=15, log_inp_buff_size=15,
                    log_wgt_buff_size=18, log_acc_buff_size=17, log_bus_width=6)


def test_bundled_configs_load():
    names = bundled_configs()
    assert {"default", "tiny", "ultra96", "zcu104"} <= set(names)
    for name in names:
        cfg = load_config(name)
        assert cfg.name == name and set(cfg.arch) == set(ARCH_KEYS)


def test_default_derived_values_match_the_spec():
    c = load_config("default")
    assert (c.batch, c.block_in, c.block_out) == (1, 16, 16)
    assert (c.inp_bits, c.wgt_bits, c.acc_bits, c.out_bits) == (8, 8, 32, 8)
    assert [c.elem_bytes(m) for m in (MEM_UOP, MEM_INP, MEM_WGT, MEM_ACC, MEM_OUT)] == [4, 16, 256, 64, 16]
    assert (c.log_uop_depth, c.log_inp_depth, c.log_wgt_depth, c.log_acc_depth) == (13, 11, 10, 11)
    assert c.out_depth == c.acc_depth == 2048
    # buffer bytes = depth x element size: 32/256/128/32 KiB
    assert c.inp_depth * c.inp_bytes == 32 << 10 and c.wgt_depth * c.wgt_bytes == 256 << 10
    assert c.acc_depth * c.acc_bytes == 128 << 10 and c.uop_depth * 4 == 32 << 10
    assert c.bus_bits == 64 and c.clock_mhz == 100 and c.fpga_part == "xc7z020clg400-1"


def test_board_configs():
    for name, part in (("ultra96", "xczu3eg-sbva484-1-e"), ("zcu104", "xczu7ev-ffvc1156-2-e")):
        c = load_config(name)
        assert c.bus_bits == 128 and c.clock_mhz == 333 and c.fpga_part == part
        assert c.fingerprint != load_config("default").fingerprint   # bus width is ISA-visible


def test_minimal_config_is_valid_with_documented_defaults(tmp_path):
    p = tmp_path / "mini.yaml"
    p.write_text(yaml.safe_dump({"name": "mini", "arch": DEFAULT_ARCH}))
    c = load_config(p)
    assert c.target == "sim" and c.cmd_queue_depth == 16 and c.dep_queue_depth == 64
    assert c.dram_bytes == 64 << 20 and c.dram_bytes_per_cycle == c.bus_bytes == 8
    assert c.fingerprint == load_config("default").fingerprint
    assert load_config(c) is c


def test_apache_vta_config_json(tmp_path):
    p = tmp_path / "vta_config.json"
    p.write_text(json.dumps({"TARGET": "pynq", "HW_VER": "0.0.2", "LOG_INP_WIDTH": 3,
                             "LOG_WGT_WIDTH": 3, "LOG_ACC_WIDTH": 5, "LOG_BATCH": 0, "LOG_BLOCK": 4,
                             "LOG_UOP_BUFF_SIZE": 15, "LOG_INP_BUFF_SIZE": 15,
                             "LOG_WGT_BUFF_SIZE": 18, "LOG_ACC_BUFF_SIZE": 17}))
    c = load_config(p)
    assert c.target == "pynq" and c.bus_bits == 64
    assert c.fingerprint == load_config("default").fingerprint
    assert c.layout.mem == load_config("default").layout.mem


def write(tmp_path, doc):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


@pytest.mark.parametrize("change,key,rule", [
    ({"colour": 1}, "colour", "unknown key"),
    ({"arch": {**DEFAULT_ARCH, "log_blok_in": 4}}, "arch.log_blok_in", "unknown arch key"),
    ({"arch": {k: v for k, v in DEFAULT_ARCH.items() if k != "log_batch"}}, "arch.log_batch", "is required"),
    ({"arch": {**DEFAULT_ARCH, "log_block_in": 9}}, "arch.log_block_in", "must be in 0..6"),
    ({"arch": {**DEFAULT_ARCH, "log_acc_width": "5"}}, "arch.log_acc_width", "must be an integer"),
    ({"arch": {**DEFAULT_ARCH, "log_inp_buff_size": 4}}, "arch.log_inp_buff_size", "at least 2"),
    ({"arch": {**DEFAULT_ARCH, "log_block_in": 0, "log_block_out": 0, "log_bus_width": 7}},
     "arch.log_bus_width", "multiple of the 128-bit bus width"),
    ({"queues": {"cmd_depth": 3}}, "queues.cmd_depth", "power of two"),
    ({"dram": {"latency": -1}}, "dram.latency", "must be in"),
    ({"dram": {"max_outstanding_reads": 0}}, "dram.max_outstanding_reads", "must be in 1..64"),
    ({"dram": {"max_outstanding_writes": 65}}, "dram.max_outstanding_writes", "must be in 1..64"),
    ({"dram": {"max_burst_beats": 257}}, "dram.max_burst_beats", "AXI4 INCR bursts"),
    ({"clock": {"mhz": 0}}, "clock.mhz", "positive"),
    ({"fpga": {"part": 5}}, "fpga.part", "must be an FPGA part name string"),
    ({"fpga": {"part": ""}}, "fpga.part", "must be an FPGA part name string"),
])
def test_bad_configs_name_key_value_and_rule(tmp_path, change, key, rule):
    doc = {"name": "bad", "arch": dict(DEFAULT_ARCH), **change}
    p = write(tmp_path, doc)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert str(p) in msg and f"'{key}'" in msg and rule in msg
    assert e.value.key == key


def test_impossible_field_layout_is_rejected(tmp_path):
    # 2^16-entry buffers need 16-bit factors: GEMM's factor fields no longer fit 128 bits.
    arch = {**DEFAULT_ARCH, "log_inp_buff_size": 20, "log_wgt_buff_size": 24, "log_acc_buff_size": 22}
    with pytest.raises(ConfigError, match="instruction fields do not fit"):
        load_config(write(tmp_path, {"name": "huge", "arch": arch}))


def test_unknown_config_name_lists_the_bundled_ones():
    with pytest.raises(ConfigError, match="bundled configs: .*default.*tiny"):
        load_config("no-such-config")


def test_replace_makes_a_validated_variant():
    c = load_config("default").replace(dram={"latency": 64})
    assert c.dram_latency == 64 and c.fingerprint == load_config("default").fingerprint
    assert (c.dram_max_outstanding_reads, c.dram_max_outstanding_writes) == (8, 8)
    assert c.dram_max_burst_beats == 16 and load_config("tiny").dram_max_burst_beats == 256
    with pytest.raises(ConfigError):
        load_config("default").replace(arch={"log_batch": 9})
