"""Programs and the on-disk program bundle (``NAME.vtab/``).

A :class:`Program` is what the accelerator runs: instructions, micro-ops and named
DRAM segments (with base byte address, dtype, shape, role and optional expected
contents). A bundle stores it as ``bundle.yaml`` plus raw little-endian ``.bin`` files:

    format: vta-bundle/1
    config: {name: default, fingerprint: 1a2b...}
    insns: {file: insns.bin, count: 12, base: 0x1000}
    uops:  {file: uops.bin, count: 3, base: 0x2000}
    segments:
      - {name: inp, file: inp.bin, base: 0x10000, dtype: int8, shape: [16, 16], role: input}
    expect:
      - {segment: out, file: out.expect.bin}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .config import Config, load_config
from .errors import BundleError, EncodingError, VTAError
from .insn import decode_insns, decode_uops, encode_insns, encode_uops
from .opcodes import INSN_BYTES, MEM_ACC, MEM_INP, MEM_OUT, MEM_WGT, UOP_BYTES

BUNDLE_FORMAT = "vta-bundle/1"
DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32")
ROLES = {"input": MEM_INP, "weight": MEM_WGT, "bias": MEM_ACC, "output": MEM_OUT}


@dataclass
class Segment:
    """A named region of DRAM. ``base`` is a byte address; ``data`` its initial contents."""
    name: str
    base: int
    data: np.ndarray
    role: str = "input"

    @property
    def dtype(self):
        return self.data.dtype.name

    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def nbytes(self):
        return self.data.nbytes

    @property
    def end(self):
        return self.base + self.nbytes

    @property
    def mem_type(self):
        """The memory type whose element size addresses this segment."""
        return ROLES[self.role]


@dataclass
class Program:
    """Everything needed to run one workload on one config."""
    config: Config
    insns: list
    uops: list = field(default_factory=list)
    segments: list = field(default_factory=list)
    insn_base: int = 0x1000
    uop_base: int = 0x2000
    expect: dict = field(default_factory=dict)  # segment name -> expected ndarray
    name: str = "program"

    def segment(self, name):
        for s in self.segments:
            if s.name == name:
                return s
        raise KeyError(f"no segment named '{name}' (have: {', '.join(s.name for s in self.segments)})")

    def regions(self):
        """(name, base, end) of every DRAM region the program occupies."""
        out = [("insns", self.insn_base, self.insn_base + INSN_BYTES * len(self.insns))]
        if self.uops:
            out.append(("uops", self.uop_base, self.uop_base + UOP_BYTES * len(self.uops)))
        out += [(s.name, s.base, s.end) for s in self.segments]
        return out

    def validate(self):
        """Check names, dtypes, alignment and overlap; raise BundleError on the first problem."""
        names = set()
        for s in self.segments:
            if s.name in names or s.name in ("insns", "uops"):
                raise BundleError(f"segment name '{s.name}' is used twice or reserved")
            names.add(s.name)
            if s.role not in ROLES:
                raise BundleError(f"segment '{s.name}': role '{s.role}' is not one of {', '.join(ROLES)}")
            if s.dtype not in DTYPES:
                raise BundleError(f"segment '{s.name}': dtype '{s.dtype}' is not one of {', '.join(DTYPES)}")
            align = self.config.elem_bytes(s.mem_type)
            if s.base < 0 or s.base % align:
                raise BundleError(f"segment '{s.name}': base {s.base:#x} is not aligned to its "
                                  f"{s.role} element size ({align} bytes)")
            if s.end > self.config.dram_bytes:
                raise BundleError(f"segment '{s.name}' ends at {s.end:#x}, past the "
                                  f"{self.config.dram_bytes >> 20} MiB DRAM")
        if self.insn_base % INSN_BYTES:
            raise BundleError(f"instruction base {self.insn_base:#x} is not {INSN_BYTES}-byte aligned")
        if self.uop_base % UOP_BYTES:
            raise BundleError(f"micro-op base {self.uop_base:#x} is not {UOP_BYTES}-byte aligned")
        for name, base, end in self.regions()[:2 if self.uops else 1]:  # insns, uops
            if base < 0 or end > self.config.dram_bytes:
                raise BundleError(f"'{name}' [{base:#x}, {end:#x}) lies outside the "
                                  f"{self.config.dram_bytes >> 20} MiB DRAM")
        regions = sorted(self.regions(), key=lambda r: r[1])
        for (n1, b1, e1), (n2, b2, _) in zip(regions, regions[1:]):
            if b2 < e1:
                raise BundleError(f"segments '{n1}' [{b1:#x}, {e1:#x}) and '{n2}' (base {b2:#x}) overlap")
        for name, arr in self.expect.items():
            seg = self.segment(name) if name in names else None
            if seg is None:
                raise BundleError(f"expected output for unknown segment '{name}'")
            if arr.dtype != seg.data.dtype or arr.shape != seg.data.shape:
                raise BundleError(f"expected output of '{name}' is {arr.dtype}{list(arr.shape)}, "
                                  f"segment is {seg.dtype}{list(seg.shape)}")
        return self

    def dram_image(self):
        """(base, bytes) chunks to write into DRAM before starting the accelerator."""
        chunks = [(self.insn_base, encode_insns(self.insns, self.config))]
        if self.uops:
            chunks.append((self.uop_base, encode_uops(self.uops, self.config)))
        chunks += [(s.base, s.data.astype(s.data.dtype.newbyteorder("<")).tobytes()) for s in self.segments]
        return chunks


def _hex(n):
    return f"{n:#x}"


def write_bundle(program, path):
    """Write ``program`` as a bundle directory; returns its Path."""
    program.validate()
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    cfg = program.config
    (path / "insns.bin").write_bytes(encode_insns(program.insns, cfg))
    doc = {
        "format": BUNDLE_FORMAT,
        "name": program.name,
        "config": {"name": cfg.name, "fingerprint": cfg.fingerprint},
        "insns": {"file": "insns.bin", "count": len(program.insns), "base": program.insn_base},
    }
    if program.uops:
        (path / "uops.bin").write_bytes(encode_uops(program.uops, cfg))
        doc["uops"] = {"file": "uops.bin", "count": len(program.uops), "base": program.uop_base}
    doc["segments"] = []
    for s in program.segments:
        fname = f"{s.name}.bin"
        (path / fname).write_bytes(s.data.astype(s.data.dtype.newbyteorder("<")).tobytes())
        doc["segments"].append({"name": s.name, "file": fname, "base": s.base, "dtype": s.dtype,
                                "shape": list(s.shape), "role": s.role})
    if program.expect:
        doc["expect"] = []
        for name, arr in program.expect.items():
            fname = f"{name}.expect.bin"
            (path / fname).write_bytes(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
            doc["expect"].append({"segment": name, "file": fname})
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)
    # Addresses read better in hex; YAML 1.1 loaders accept 0x literals as ints.
    for key in ("base",):
        text = _hexify(text, key)
    (path / "bundle.yaml").write_text(text)
    return path


def _hexify(text, key):
    import re
    return re.sub(rf"\b{key}: (\d+)", lambda m: f"{key}: {_hex(int(m.group(1)))}", text)


def _need(d, key, where, kind=None):
    if not isinstance(d, dict) or key not in d:
        raise BundleError(f"{where}: missing key '{key}'")
    v = d[key]
    if kind is not None and (not isinstance(v, kind) or isinstance(v, bool)):
        raise BundleError(f"{where}: '{key}' = {v!r} must be {kind.__name__ if isinstance(kind, type) else 'valid'}")
    return v


def _count(d, where):
    n = _need(d, "count", where, int)
    if n < 0:
        raise BundleError(f"{where}: 'count' = {n} must not be negative")
    return n


def _list(doc, key, where):
    v = doc.get(key) or []
    if not isinstance(v, list):
        raise BundleError(f"{where}: '{key}' must be a list, found {v!r}")
    return v


def _read_bin(root, fname, nbytes, where):
    p = root / fname
    if not p.is_file():
        raise BundleError(f"{where}: file '{fname}' is missing from {root}")
    data = p.read_bytes()
    if len(data) != nbytes:
        raise BundleError(f"{where}: file '{fname}' has {len(data)} bytes, expected {nbytes}")
    return data


def read_bundle(path, config=None):
    """Load a bundle directory into a Program.

    ``config`` (a Config, a path or a bundled name) decodes the instructions; without
    it the config named in ``bundle.yaml`` is loaded from the bundled configs. A
    fingerprint that does not match the config is an error.
    """
    root = Path(path)
    meta = root / "bundle.yaml"
    if not meta.is_file():
        raise BundleError(f"{root}: not a bundle (no bundle.yaml)")
    try:
        doc = yaml.safe_load(meta.read_text())
    except yaml.YAMLError as e:
        raise BundleError(f"{meta}: invalid YAML: {e}") from None
    where = str(meta)
    if not isinstance(doc, dict):
        raise BundleError(f"{where}: must hold a mapping")
    fmt = doc.get("format")
    if fmt != BUNDLE_FORMAT:
        raise BundleError(f"{where}: format {fmt!r} is not {BUNDLE_FORMAT!r}")
    cdoc = doc.get("config") or {}
    if not isinstance(cdoc, dict):
        raise BundleError(f"{where}: 'config' must be a mapping such as {{name: default}}, found {cdoc!r}")
    if config is None:
        if "name" not in cdoc:
            raise BundleError(f"{where}: no config given and bundle names none")
        _need(cdoc, "name", f"{where}: config", str)
        try:
            config = load_config(cdoc["name"])
        except VTAError as e:
            raise BundleError(f"{where}: cannot load its config '{cdoc['name']}': {e}") from None
    else:
        config = load_config(config)
    fp = cdoc.get("fingerprint")
    if fp is not None and str(fp) != config.fingerprint:
        raise BundleError(f"{where}: built for config '{cdoc.get('name')}' (fingerprint {fp}), "
                          f"not for '{config.name}' (fingerprint {config.fingerprint})")
    try:
        idoc = _need(doc, "insns", where)
        count = _count(idoc, f"{where}: insns")
        insns = decode_insns(_read_bin(root, _need(idoc, "file", f"{where}: insns", str),
                                       count * INSN_BYTES, f"{where}: insns"), config)
        uops, uop_base = [], 0x2000
        if doc.get("uops"):
            udoc = doc["uops"]
            ucount = _count(udoc, f"{where}: uops")
            uops = decode_uops(_read_bin(root, _need(udoc, "file", f"{where}: uops", str),
                                         ucount * UOP_BYTES, f"{where}: uops"), config)
            uop_base = _need(udoc, "base", f"{where}: uops", int)
    except EncodingError as e:
        raise BundleError(f"{where}: {e}") from None
    segments = []
    for i, sd in enumerate(_list(doc, "segments", where)):
        sw = f"{where}: segment {i}"
        name = _need(sd, "name", sw, str)
        sw = f"{where}: segment '{name}'"
        dtype = _need(sd, "dtype", sw, str)
        if dtype not in DTYPES:
            raise BundleError(f"{sw}: dtype '{dtype}' is not one of {', '.join(DTYPES)}")
        shape = _need(sd, "shape", sw, list)
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise BundleError(f"{sw}: shape {shape} must be a list of non-negative integers")
        dt = np.dtype(dtype).newbyteorder("<")
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        raw = _read_bin(root, _need(sd, "file", sw, str), nbytes, sw)
        data = np.frombuffer(raw, dtype=dt).astype(dtype).reshape(shape)
        segments.append(Segment(name, _need(sd, "base", sw, int), data, sd.get("role", "input")))
    expect = {}
    by_name = {s.name: s for s in segments}
    for i, ed in enumerate(_list(doc, "expect", where)):
        ew = f"{where}: expect {i}"
        sname = _need(ed, "segment", ew, str)
        if sname not in by_name:
            raise BundleError(f"{ew}: unknown segment '{sname}'")
        seg = by_name[sname]
        raw = _read_bin(root, _need(ed, "file", ew, str), seg.nbytes, ew)
        expect[sname] = np.frombuffer(raw, dtype=seg.data.dtype.newbyteorder("<")).astype(
            seg.data.dtype).reshape(seg.shape)
    prog = Program(config=config, insns=insns, uops=uops, segments=segments,
                   insn_base=_need(idoc, "base", f"{where}: insns", int), uop_base=uop_base,
                   expect=expect, name=str(doc.get("name") or root.name.removesuffix(".vtab")))
    try:
        return prog.validate()
    except BundleError as e:
        raise BundleError(f"{where}: {e}") from None
