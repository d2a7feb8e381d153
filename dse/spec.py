"""The sweep SPEC: a base config, knobs and their values, workloads, boards.

    base: default                  # bundled config name or a path (relative to the SPEC)
    knobs:                         # SECTION.KEY: [values]; every combination is a point
      arch.log_block_in: [3, 4]
      arch.log_bus_width: [5, 6]
      dram.max_outstanding_reads: [1, 8]
    workloads:
      layers: [C2, C6, C9]         # ResNet-18 conv layers (default: C1..C12)
      scale: 4                     # divide each layer's height and width by this (default 1)
    boards: [pynq]                 # pynq, ultra96, zcu104, ecp5 (default: [pynq])

Errors name the SPEC file, the line and the field (:class:`SpecError`).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import yaml

from vta.isa import ARCH_KEYS, TARGETS, ConfigError, VTAError, load_config
from vta.isa.config import SECTION_DEFAULTS, looks_like_path
from vta.isa.errors import shown
from vta.isa.safeload import load_yaml, read_text

from .workloads import LAYERS

#: boards a point can be placed on: those whose FPGA part the resource model and vta-fpga know
#: (ecp5: the ULX3S's LFE5U-85F has no hard processor; its bus is the target's 64 bits)
BOARD_PORT_BITS = {"pynq": 64, "ultra96": 128, "zcu104": 128, "ecp5": 64}   # PS port width: Zynq-7000 HP = 64
#: boards with an open place-and-route flow (vta-fpga pnr: Yosys + nextpnr-ecp5), for --pnr
OPEN_FLOW = ("ecp5",)
ECP5_PART = TARGETS["ecp5"]["part"]
#: LFE5U-85F in the resource model's units (Lattice DS1044 table 1.1): 83,640 LUT4s, 208
#: 18-Kbit DP16KD = 104 BRAM36, 156 18x18 multipliers
ECP5_CAPACITY = {"LUT": 83640, "BRAM36": 104, "DSP": 156}
#: ECP5 LUT4s (+ 2 per carry cell: nextpnr's TRELLIS_COMB) per modeled xc7 LUT6, least
#: squares over the two placed and routed designs (vta-fpga pnr, RTL of issue 13's fifth
#: round): tiny 11,664 TRELLIS_COMB / 6,153 modeled LUT6 = 1.90, ecp5 19,153 / 10,936 = 1.75
ECP5_LUT4_PER_LUT = 1.79
TOP = ("base", "knobs", "workloads", "boards")
MAX_POINTS = 100_000   # most points of an exhaustive sweep (--budget samples larger spaces)


class SpecError(VTAError):
    """A bad SPEC: names file, line and field."""


@dataclass(frozen=True)
class Spec:
    path: Path
    base: object            # Config
    knobs: dict             # "section.key" -> tuple of values
    layers: tuple
    scale: int
    boards: tuple

    def points(self):
        """Every combination of knob values, as {"section.key": value} dicts, in SPEC order."""
        keys = list(self.knobs)
        return [dict(zip(keys, vals)) for vals in itertools.product(*self.knobs.values())]

    def index(self, knobs):
        """The position of a point in :meth:`points` (mixed radix over the knob values)."""
        if set(knobs) != set(self.knobs):
            return None   # not a point of the space (the base config)
        i = 0
        for k, vals in self.knobs.items():
            i = i * len(vals) + vals.index(knobs[k])
        return i

    def point(self, i):
        """The ``i``-th point of :meth:`points`, without listing the space."""
        out = {}
        for k, vals in reversed(self.knobs.items()):
            i, j = divmod(i, len(vals))
            out[k] = vals[j]
        return dict(reversed(out.items()))

    @property
    def size(self):
        n = 1
        for v in self.knobs.values():
            n *= len(v)
        return n


def _lines(text):
    """field path ("knobs.arch.log_batch") -> 1-based line, from the YAML node tree."""
    out = {}

    def walk(node, prefix):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    p = f"{prefix}.{k.value}" if prefix else str(k.value)
                    out.setdefault(p, k.start_mark.line + 1)
                    walk(v, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                out.setdefault(f"{prefix}[{i}]", v.start_mark.line + 1)
    try:
        walk(yaml.compose(text, Loader=yaml.SafeLoader), "")
    except yaml.YAMLError:
        pass   # load_yaml has already accepted it; lines are a nicety
    return out


def load_spec(path):
    path = Path(path)
    text = read_text(path, SpecError, "SPEC")
    doc = load_yaml(text, path, SpecError)
    lines = _lines(text)

    def err(field, msg):
        line = lines.get(field) or lines.get(field.split("[")[0].rsplit(".", 1)[0])
        at = f"{path}:{line}" if line else f"{path}"
        return SpecError(f"{at}: field '{field}': {msg}")

    if not isinstance(doc, dict):
        raise SpecError(f"{path}: a SPEC is a YAML mapping with keys {', '.join(TOP)}")
    for k in doc:
        if k not in TOP:
            raise err(str(k), f"unknown key (known: {', '.join(TOP)})")
    base_spec = doc.get("base", "default")
    if not isinstance(base_spec, str) or not base_spec:
        raise err("base", f"must be a config name or path, got {shown(base_spec)}")
    if looks_like_path(base_spec) and not Path(base_spec).is_absolute():
        base_spec = str(path.parent / base_spec)
    try:
        base = load_config(base_spec)
    except ConfigError as e:
        raise err("base", str(e)) from None

    knobs = doc.get("knobs") or {}
    if not isinstance(knobs, dict):
        raise err("knobs", "must be a mapping SECTION.KEY: [values]")
    parsed = {}
    for key, vals in knobs.items():
        f = f"knobs.{key}"
        sec, _, name = str(key).partition(".")
        known = ARCH_KEYS if sec == "arch" else tuple(SECTION_DEFAULTS.get(sec, {}))
        if sec not in ("arch", *SECTION_DEFAULTS) or name not in known or sec in ("clock", "fpga"):
            raise err(f, "not a knob: use SECTION.KEY of a config (arch.log_block_in, "
                         "dram.max_outstanding_reads, queues.cmd_depth, ...; the clock is the board's)")
        if not isinstance(vals, list) or not vals:
            raise err(f, f"must be a non-empty list of values, got {shown(vals)}")
        for i, v in enumerate(vals):
            if isinstance(v, bool) or not isinstance(v, int):
                raise err(f"{f}[{i}]", f"must be an integer, got {shown(v)}")
        if len(set(vals)) != len(vals):
            raise err(f, f"repeats a value: {shown(vals)}")
        parsed[str(key)] = tuple(vals)

    wl = doc.get("workloads") or {}
    if not isinstance(wl, dict):
        raise err("workloads", "must be a mapping with 'layers' and/or 'scale'")
    for k in wl:
        if k not in ("layers", "scale"):
            raise err(f"workloads.{k}", "unknown key (known: layers, scale)")
    layers = wl.get("layers", list(LAYERS))
    if not isinstance(layers, list) or not layers:
        raise err("workloads.layers", f"must be a non-empty list of layer names, got {shown(layers)}")
    for i, n in enumerate(layers):
        if n not in LAYERS:
            raise err(f"workloads.layers[{i}]", f"unknown layer {shown(n)} (known: {', '.join(LAYERS)})")
    scale = wl.get("scale", 1)
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= 64:
        raise err("workloads.scale", f"must be an integer in 1..64, got {shown(scale)}")

    boards = doc.get("boards", ["pynq"])
    if not isinstance(boards, list) or not boards:
        raise err("boards", f"must be a non-empty list, got {shown(boards)}")
    for i, b in enumerate(boards):
        if b not in BOARD_PORT_BITS:
            raise err(f"boards[{i}]", f"unknown board {shown(b)} (known: {', '.join(BOARD_PORT_BITS)})")
    return Spec(path, base, parsed, tuple(layers), scale, tuple(dict.fromkeys(boards)))


def board_info(board):
    """(part, clock MHz, PS port bits) of a board."""
    t = TARGETS[board]
    return t["part"], t["mhz"], BOARD_PORT_BITS[board]
