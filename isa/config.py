"""Hardware configs: YAML (or Apache VTA ``vta_config.json``) -> a validated ``Config``.

A config fixes the architecture. Everything derived from it (element sizes, buffer
depths, index widths) is computed here and only here; the field layouts of the ISA are
computed from it in :mod:`vta.isa.layout`.

YAML format::

    name: default              # required
    target: pynq               # optional board name (default "sim")
    arch:                      # required, exactly these keys, log2 values as in Apache VTA
      log_inp_width: 3  ...
    clock:  {mhz: 100}                         # optional sections, see SECTION_DEFAULTS
    queues: {cmd_depth: 16, dep_depth: 64}
    dram:   {size_mib: 64, latency: 32, bytes_per_cycle: null}
    timing: {...}                              # TLM cost parameters, see tlm/README.md
    fpga:   {part: xc7z020clg400-1}
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType


from .errors import ConfigError, EncodingError, shown
from .layout import SRAM_BASE_W
from .opcodes import INSN_BYTES, MEM_ACC, MEM_INP, MEM_OUT, MEM_UOP, MEM_WGT, UOP_BYTES

#: The arch keys, in Apache VTA order. All are log2 values.
ARCH_KEYS = (
    "log_inp_width", "log_wgt_width", "log_acc_width",
    "log_batch", "log_block_in", "log_block_out",
    "log_uop_buff_size", "log_inp_buff_size", "log_wgt_buff_size", "log_acc_buff_size",
    "log_bus_width",
)

#: Inclusive ranges of each arch key, with the reason shown when a value is outside.
ARCH_RANGES = {
    "log_inp_width": (0, 4, "input elements are 1..16 bits"),
    "log_wgt_width": (0, 4, "weight elements are 1..16 bits"),
    "log_acc_width": (3, 5, "accumulators are 8..32 bits"),
    "log_batch": (0, 4, "batch is 1..16"),
    "log_block_in": (0, 6, "block_in is 1..64"),
    "log_block_out": (0, 6, "block_out is 1..64"),
    "log_uop_buff_size": (3, 20, "uop buffer is 8 B..1 MiB"),
    "log_inp_buff_size": (3, 24, "inp buffer is 8 B..16 MiB"),
    "log_wgt_buff_size": (3, 24, "wgt buffer is 8 B..16 MiB"),
    "log_acc_buff_size": (3, 24, "acc buffer is 8 B..16 MiB"),
    "log_bus_width": (5, 7, "the AXI bus is 32, 64 or 128 bits (an instruction is a whole number of beats)"),
}

#: Known boards: FPGA part, clock and AXI width as in Apache VTA's pkg_config, except the
#: PYNQ-Z1's part: Apache VTA names xc7z020clg484-1 (the ZC702's package); the board carries
#: an XC7Z020-1CLG400C (Digilent's PYNQ-Z1 reference manual). ``ecp5``: the ULX3S board's
#: Lattice ECP5-85F, target of the open place-and-route timing run (vta-fpga pnr).
TARGETS = MappingProxyType({
    "sim": {"part": None, "mhz": 100.0, "log_bus_width": 6},
    "tsim": {"part": None, "mhz": 100.0, "log_bus_width": 6},
    "pynq": {"part": "xc7z020clg400-1", "mhz": 100.0, "log_bus_width": 6},
    "ultra96": {"part": "xczu3eg-sbva484-1-e", "mhz": 333.0, "log_bus_width": 7},
    "zcu104": {"part": "xczu7ev-ffvc1156-2-e", "mhz": 333.0, "log_bus_width": 7},
    "de10nano": {"part": "5CSEBA6U23I7", "mhz": 100.0, "log_bus_width": 6},
    "ecp5": {"part": "LFE5U-85F-6BG381C", "mhz": 100.0, "log_bus_width": 6},
})

#: Optional sections and their defaults. ``None`` means "derived" (see Config).
SECTION_DEFAULTS = MappingProxyType({
    "clock": {"mhz": None},  # None: the target's clock
    # Command queues (fetch -> load/compute/store) and dependence-token queues.
    "queues": {"cmd_depth": 16, "dep_depth": 64},
    "dram": {
        "size_mib": 64,          # DRAM size in MiB
        "latency": 32,           # cycles from request to first data beat
        "bytes_per_cycle": None,  # None: one bus beat per cycle
        "max_outstanding_reads": 8,    # AXI read bursts in flight (1: wait out each round trip)
        "max_outstanding_writes": 8,   # AXI write bursts awaiting their B response
        "max_burst_beats": 256,        # longest INCR burst the port takes (AXI3 HP ports: 16)
    },
    # TLM cost model (cycles); documented in tlm/README.md and calibrated against the RTL.
    "timing": {
        "fetch_insn_cycles": 1,   # fetch: cycles to decode and dispatch one instruction
        "insn_overhead": 2,       # load/compute/store: fixed cycles per instruction
        "dep_latency": 1,         # cycles for a token to cross a dependence queue
        "axi_req_cycles": 2,      # DRAM read: cycles from arbiter grant to the first AR
        "write_resp_cycles": 0,   # DRAM write: cycles beyond dram.latency until the B is seen
        "gemm_ii": 1,             # GEMM initiation interval (cycles per micro-op)
        "gemm_pipeline": 8,       # GEMM pipeline depth (cycles to drain: rtl/compute.py S0b-S7)
        "alu_ii": 2,              # ALU II, vector-vector (two acc reads per micro-op on one port)
        "alu_imm_ii": 1,          # ALU initiation interval with use_imm (one acc read per uop)
        "alu_pipeline": 7,        # ALU pipeline depth (rtl/compute.py S0b-S6)
        "sram_write_cycles": 1,   # cycles per SRAM entry written by a load (padding too)
    },
    "fpga": {"part": None},  # None: the target's part
    # Progressive refinement (cosim/mixed.py): each unit runs as its TLM or its RTL in one
    # co-simulation; gemm/alu: the GEMM and ALU cores inside a TLM compute unit.
    "refine": {"fetch": "tlm", "load": "tlm", "compute": "tlm", "store": "tlm",
               "gemm": "tlm", "alu": "tlm"},
})

#: What a unit of the ``refine`` section may run as.
REFINE_LEVELS = ("tlm", "rtl")

TOP_KEYS = ("name", "target", "description", "arch", *SECTION_DEFAULTS)


def _is_pow2(x):
    return isinstance(x, int) and x > 0 and x & (x - 1) == 0


@dataclass(frozen=True)
class Config:
    """A validated accelerator configuration with every derived quantity.

    Build one with :func:`load_config` or :meth:`Config.from_dict`; both validate.
    """

    name: str
    arch: MappingProxyType
    target: str = "sim"
    description: str = ""
    sections: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    path: str | None = None

    # ---- arch values -------------------------------------------------------
    def __getattr__(self, item):
        # Arch keys read as attributes: cfg.log_batch.
        arch = self.__dict__.get("arch")
        if arch is not None and item in arch:
            return arch[item]
        raise AttributeError(item)

    @property
    def inp_bits(self): return 1 << self.arch["log_inp_width"]
    @property
    def wgt_bits(self): return 1 << self.arch["log_wgt_width"]
    @property
    def acc_bits(self): return 1 << self.arch["log_acc_width"]
    @property
    def out_bits(self): return self.inp_bits  # OUT_WIDTH = INP_WIDTH
    @property
    def batch(self): return 1 << self.arch["log_batch"]
    @property
    def block_in(self): return 1 << self.arch["log_block_in"]
    @property
    def block_out(self): return 1 << self.arch["log_block_out"]
    @property
    def bus_bits(self): return 1 << self.arch["log_bus_width"]
    @property
    def bus_bytes(self): return self.bus_bits // 8

    # ---- element sizes (bytes) -------------------------------------------
    @property
    def inp_bytes(self): return self.batch * self.block_in * self.inp_bits // 8
    @property
    def wgt_bytes(self): return self.block_out * self.block_in * self.wgt_bits // 8
    @property
    def acc_bytes(self): return self.batch * self.block_out * self.acc_bits // 8
    @property
    def out_bytes(self): return self.batch * self.block_out * self.out_bits // 8
    uop_bytes = UOP_BYTES
    insn_bytes = INSN_BYTES

    def elem_bytes(self, mem_type):
        """Bytes of one element of a memory type (what dram_base counts)."""
        return self._elem_bytes[mem_type]

    @cached_property   # a Config is immutable; every program check asks for these
    def _elem_bytes(self):
        return {MEM_UOP: UOP_BYTES, MEM_WGT: self.wgt_bytes, MEM_INP: self.inp_bytes,
                MEM_ACC: self.acc_bytes, MEM_OUT: self.out_bytes}

    # ---- buffer depths (entries) and index widths -------------------------
    @property
    def log_uop_depth(self): return self.arch["log_uop_buff_size"] - 2
    @property
    def log_inp_depth(self):
        a = self.arch
        return a["log_inp_buff_size"] - a["log_batch"] - a["log_block_in"] - a["log_inp_width"] + 3
    @property
    def log_wgt_depth(self):
        a = self.arch
        return a["log_wgt_buff_size"] - a["log_block_out"] - a["log_block_in"] - a["log_wgt_width"] + 3
    @property
    def log_acc_depth(self):
        a = self.arch
        return a["log_acc_buff_size"] - a["log_batch"] - a["log_block_out"] - a["log_acc_width"] + 3
    @property
    def log_out_depth(self): return self.log_acc_depth  # out buffer is indexed like acc
    @property
    def uop_depth(self): return 1 << self.log_uop_depth
    @property
    def inp_depth(self): return 1 << self.log_inp_depth
    @property
    def wgt_depth(self): return 1 << self.log_wgt_depth
    @property
    def acc_depth(self): return 1 << self.log_acc_depth
    @property
    def out_depth(self): return 1 << self.log_out_depth

    def depth(self, mem_type):
        """Entries of the on-chip buffer a memory type loads into or stores from."""
        return {MEM_UOP: self.uop_depth, MEM_WGT: self.wgt_depth, MEM_INP: self.inp_depth,
                MEM_ACC: self.acc_depth, MEM_OUT: self.out_depth}[mem_type]

    # ---- optional sections -------------------------------------------------
    def section(self, name):
        """The section ``name`` with defaults filled in (read-only mapping)."""
        return self.sections[name]

    @property
    def clock_mhz(self): return self.sections["clock"]["mhz"]
    @property
    def cmd_queue_depth(self): return self.sections["queues"]["cmd_depth"]
    @property
    def dep_queue_depth(self): return self.sections["queues"]["dep_depth"]
    @property
    def dram_bytes(self): return self.sections["dram"]["size_mib"] << 20
    @property
    def dram_latency(self): return self.sections["dram"]["latency"]
    @property
    def dram_bytes_per_cycle(self): return self.sections["dram"]["bytes_per_cycle"]
    @property
    def dram_max_outstanding_reads(self): return self.sections["dram"]["max_outstanding_reads"]
    @property
    def dram_max_outstanding_writes(self): return self.sections["dram"]["max_outstanding_writes"]
    @property
    def dram_max_burst_beats(self): return self.sections["dram"]["max_burst_beats"]
    @property
    def refined(self):
        """Units (fetch, load, compute, store, gemm, alu) the config runs as RTL."""
        return frozenset(k for k, v in self.sections["refine"].items() if v == "rtl")
    @property
    def timing(self): return self.sections["timing"]
    @property
    def fpga_part(self): return self.sections["fpga"]["part"]

    # ---- ISA ----------------------------------------------------------------
    @cached_property
    def layout(self):
        """The instruction and micro-op field layout of this config (:class:`IsaLayout`)."""
        from .layout import IsaLayout
        return IsaLayout(self)

    @cached_property   # hashed on every program/bundle check otherwise
    def fingerprint(self):
        """Hex digest of the ISA-relevant fields: two configs with equal fingerprints
        share the instruction encoding and the DRAM data layout."""
        blob = json.dumps({k: self.arch[k] for k in ARCH_KEYS}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_dict(self):
        """Plain dict in the YAML format (defaults filled in)."""
        d = {"name": self.name, "target": self.target}
        if self.description:
            d["description"] = self.description
        d["arch"] = dict(self.arch)
        for sec, vals in self.sections.items():
            d[sec] = dict(vals)
        return d

    def summary_rows(self):
        """(label, value) rows describing the derived machine, for CLIs."""
        return [
            ("GEMM core", f"{self.batch}x{self.block_in}x{self.block_out}"),
            ("inp/wgt/acc/out bits", f"{self.inp_bits}/{self.wgt_bits}/{self.acc_bits}/{self.out_bits}"),
            ("uop buffer", f"{self.uop_depth} x {UOP_BYTES} B"),
            ("inp buffer", f"{self.inp_depth} x {self.inp_bytes} B"),
            ("wgt buffer", f"{self.wgt_depth} x {self.wgt_bytes} B"),
            ("acc buffer", f"{self.acc_depth} x {self.acc_bytes} B"),
            ("out buffer", f"{self.out_depth} x {self.out_bytes} B"),
            ("bus", f"{self.bus_bits} bit"),
            ("clock", f"{self.clock_mhz:g} MHz"),
        ]

    # ---- construction -------------------------------------------------------
    @classmethod
    def from_dict(cls, data, path=None):
        """Validate a YAML-shaped dict and build the Config (raises ConfigError)."""
        return _build(data, path)

    def replace(self, **sections):
        """A copy with some section values overridden, e.g. replace(dram={"latency": 64})."""
        d = self.to_dict()
        for sec, vals in sections.items():
            if sec == "arch":
                d["arch"].update(vals)
            elif isinstance(vals, dict):
                d.setdefault(sec, {}).update(vals)
            else:
                d[sec] = vals
        return _build(d, self.path)


def _err(path, key, value, rule):
    return ConfigError(rule, path=path, key=key, value=value)


def _check_int(path, key, value, lo, hi, reason):
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(path, key, value, "must be an integer")
    if not lo <= value <= hi:
        raise _err(path, key, value, f"must be in {lo}..{hi} ({reason})")


def _check_number(path, key, value, hi, reason):
    """A finite number in (0, hi]: NaN, infinities, zero and negatives are errors."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _err(path, key, value, "must be a number")
    if not math.isfinite(value) or not 0 < value <= hi:
        raise _err(path, key, value, f"must be a finite positive number, at most {hi} ({reason})")


#: Longest config name: it becomes part of a build-cache folder name.
NAME_CHARS = 100


def _check_name(path, name):
    from .paths import name_problem
    why = name_problem(name)
    if why is None and not name.isprintable():
        why = "must not contain control characters (it is printed and used in file names)"
    if why is None and len(name) > NAME_CHARS:
        why = f"must be at most {NAME_CHARS} characters"
    if why:
        raise _err(path, "name", name, why)


def _build(data, path):
    if not isinstance(data, dict):
        raise ConfigError("a config must be a mapping with 'name' and 'arch'", path=path)
    for key in data:
        if key not in TOP_KEYS:
            raise _err(path, key, None, f"unknown key; expected one of {', '.join(TOP_KEYS)}")
    for key in ("name", "arch"):
        if key not in data:
            raise _err(path, key, None, "is required")
    name = data["name"]
    _check_name(path, name)
    target = data.get("target", "sim")
    if not isinstance(target, str) or target not in TARGETS:
        raise _err(path, "target", target, f"unknown board; known targets: {', '.join(TARGETS)}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _err(path, "description", description, "must be a string")

    arch_in = data["arch"]
    if not isinstance(arch_in, dict):
        raise _err(path, "arch", arch_in, "must be a mapping of the log2 arch keys")
    for key in arch_in:
        if key not in ARCH_KEYS:
            raise _err(path, f"arch.{key}", arch_in[key],
                       f"unknown arch key; expected exactly {', '.join(ARCH_KEYS)}")
    for key in ARCH_KEYS:
        if key not in arch_in:
            raise _err(path, f"arch.{key}", None, "is required (every arch key must be given)")
        lo, hi, reason = ARCH_RANGES[key]
        _check_int(path, f"arch.{key}", arch_in[key], lo, hi, reason)
    arch = MappingProxyType({k: arch_in[k] for k in ARCH_KEYS})

    board = TARGETS[target]
    sections = {}
    for sec, defaults in SECTION_DEFAULTS.items():
        given = data.get(sec)
        if given is None:   # absent, or a section head with nothing under it
            given = {}
        if not isinstance(given, dict):
            raise _err(path, sec, given, "must be a mapping")
        for key in given:
            if key not in defaults:
                raise _err(path, f"{sec}.{key}", given[key],
                           f"unknown key; expected one of {', '.join(defaults)}")
        sections[sec] = {**defaults, **given}

    clk = sections["clock"]
    if clk["mhz"] is None:
        clk["mhz"] = board["mhz"]
    _check_number(path, "clock.mhz", clk["mhz"], 100000, "MHz")
    clk["mhz"] = float(clk["mhz"])
    for key in ("cmd_depth", "dep_depth"):
        v = sections["queues"][key]
        if not _is_pow2(v) or v < 2 or v > 4096 or isinstance(v, bool):
            raise _err(path, f"queues.{key}", v, "must be a power of two in 2..4096")
    dram = sections["dram"]
    _check_int(path, "dram.size_mib", dram["size_mib"], 1, 4096, "DRAM is 1 MiB..4 GiB")
    _check_int(path, "dram.latency", dram["latency"], 0, 100000, "cycles")
    bus_bytes = (1 << arch["log_bus_width"]) // 8
    if dram["bytes_per_cycle"] is None:
        dram["bytes_per_cycle"] = bus_bytes
    _check_number(path, "dram.bytes_per_cycle", dram["bytes_per_cycle"], 1 << 20, "bytes per cycle")
    for key in ("max_outstanding_reads", "max_outstanding_writes"):
        _check_int(path, f"dram.{key}", dram[key], 1, 64, "bursts in flight")
    _check_int(path, "dram.max_burst_beats", dram["max_burst_beats"], 1, 256,
               "AXI4 INCR bursts are 1..256 beats, AXI3 1..16")
    for key, v in sections["timing"].items():
        _check_int(path, f"timing.{key}", v, 0, 100000, "cycles")
    for key in ("gemm_ii", "alu_ii", "alu_imm_ii"):
        if sections["timing"][key] < 1:
            raise _err(path, f"timing.{key}", sections["timing"][key], "must be at least 1 cycle")
    for key, v in sections["refine"].items():
        if v not in REFINE_LEVELS:
            raise _err(path, f"refine.{key}", v, "must be 'tlm' or 'rtl'")
    if sections["fpga"]["part"] is None:
        sections["fpga"]["part"] = board["part"]
    part = sections["fpga"]["part"]  # None: no board (the "sim" target)
    if part is not None and (not isinstance(part, str) or not part):
        raise _err(path, "fpga.part", part, "must be an FPGA part name string (e.g. xc7z020clg400-1)")

    cfg = Config(name=name, arch=arch, target=target, description=description,
                 sections=MappingProxyType({k: MappingProxyType(v) for k, v in sections.items()}),
                 path=None if path is None else str(path))
    _check_derived(cfg, path)
    return cfg


def _check_derived(cfg, path):
    a = cfg.arch
    if a["log_acc_width"] < a["log_inp_width"] or a["log_acc_width"] < a["log_wgt_width"]:
        raise _err(path, "arch.log_acc_width", a["log_acc_width"],
                   "accumulators must be at least as wide as inputs and weights")
    sizes = {
        "inp": ("log_inp_buff_size", cfg.batch * cfg.block_in * cfg.inp_bits),
        "wgt": ("log_wgt_buff_size", cfg.block_out * cfg.block_in * cfg.wgt_bits),
        "acc": ("log_acc_buff_size", cfg.batch * cfg.block_out * cfg.acc_bits),
        "out": ("log_inp_width", cfg.batch * cfg.block_out * cfg.out_bits),
    }
    for mem, (key, bits) in sizes.items():
        if bits % cfg.bus_bits:
            raise _err(path, "arch.log_bus_width", a["log_bus_width"],
                       f"one {mem} element is {bits} bits, which must be a multiple of the "
                       f"{cfg.bus_bits}-bit bus width (elements move as whole bus beats)")
    for mem, log_depth, key in (("uop", cfg.log_uop_depth, "log_uop_buff_size"),
                                ("inp", cfg.log_inp_depth, "log_inp_buff_size"),
                                ("wgt", cfg.log_wgt_depth, "log_wgt_buff_size"),
                                ("acc", cfg.log_acc_depth, "log_acc_buff_size")):
        if log_depth < 1:
            raise _err(path, f"arch.{key}", a[key],
                       f"the {mem} buffer would hold {2.0 ** log_depth:g} elements; it needs at least 2")
        if log_depth > SRAM_BASE_W:
            raise _err(path, f"arch.{key}", a[key],
                       f"the {mem} buffer would hold 2^{log_depth} elements, more than the "
                       f"{SRAM_BASE_W}-bit sram_base field can address")
    try:
        cfg.layout  # noqa: B018  (builds and checks the instruction layout)
    except EncodingError as e:
        raise ConfigError(f"instruction fields do not fit: {e}", path=path) from None


# ---- Apache VTA vta_config.json ----------------------------------------------

_JSON_ARCH = {f"LOG_{k[4:].upper()}": k for k in ARCH_KEYS}


def from_vta_json(data, path=None):
    """Translate Apache VTA's ``vta_config.json`` (TARGET, LOG_BLOCK, ...) to a Config."""
    if not isinstance(data, dict):
        raise ConfigError("vta_config.json must hold an object", path=path)
    target = data.get("TARGET", "sim")
    if not isinstance(target, str) or target not in TARGETS:
        raise _err(path, "TARGET", target, f"unknown board; known targets: {', '.join(TARGETS)}")
    arch = {}
    for key, value in data.items():
        if key in ("TARGET", "HW_VER"):
            continue
        if key == "LOG_BLOCK":
            arch.setdefault("log_block_in", value)
            arch.setdefault("log_block_out", value)
        elif key in _JSON_ARCH:
            arch[_JSON_ARCH[key]] = value
        else:
            raise _err(path, key, value, "unknown vta_config.json key; expected TARGET, HW_VER, "
                       "LOG_BLOCK or one of " + ", ".join(_JSON_ARCH))
    if "log_bus_width" not in arch:
        arch["log_bus_width"] = TARGETS[target]["log_bus_width"]
    name = f"{Path(path).stem}-{target}" if path else f"vta-{target}"
    desc = f"from Apache VTA config (HW_VER {shown(data['HW_VER'], 50)})" if "HW_VER" in data else ""
    return _build({"name": name, "target": target, "description": desc, "arch": arch}, path)


CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def looks_like_path(spec):
    """A config argument is a path when it looks like one: a Path object, or text with a
    folder separator or a .yaml/.yml/.json suffix. Anything else is a bundled config's name,
    so a file or folder called ``default`` in the working directory never shadows it."""
    if isinstance(spec, Path):
        return True
    text = str(spec)
    return "/" in text or os.sep in text or text.lower().endswith(CONFIG_SUFFIXES)


def resolve_config_path(spec):
    """A config argument as given on a command line: a path, or a bundled config name."""
    from vta import CONFIG_DIR
    if looks_like_path(spec):
        p = Path(spec)
        if p.is_file():
            return p
        why = "is a directory, not a config file" if p.is_dir() else "no such config file"
        raise ConfigError(why, path=spec)
    if (CONFIG_DIR / f"{spec}.yaml").is_file():
        return CONFIG_DIR / f"{spec}.yaml"
    raise ConfigError(f"no such config file or bundled config (bundled configs: "
                      f"{', '.join(bundled_configs())}; a file path needs a '/' or a "
                      f"{'/'.join(CONFIG_SUFFIXES)} suffix, e.g. ./{spec}.yaml)", path=spec)


def load_config(spec):
    """Load a config from a YAML or vta_config.json path, or a bundled name ("tiny")."""
    if isinstance(spec, Config):
        return spec
    from .safeload import load_json, load_yaml, read_text
    path = resolve_config_path(spec)
    text = read_text(path, ConfigError, "config")
    if path.suffix == ".json":
        return from_vta_json(load_json(text, path, ConfigError), path)
    return _build(load_yaml(text, path, ConfigError), path)


def bundled_configs():
    """Names of the configs shipped in configs/."""
    from vta import CONFIG_DIR
    return sorted(q.stem for q in CONFIG_DIR.glob("*.yaml"))
