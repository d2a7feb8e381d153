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

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from .config import Config, load_config
from .errors import BundleError, EncodingError, VTAError, shown
from .insn import decode_insns, decode_uops, encode_insns, encode_uops
from .opcodes import INSN_BYTES, MEM_ACC, MEM_INP, MEM_OUT, MEM_WGT, UOP_BYTES
from .paths import OutputDir, data_file, file_name, name_problem
from .safeload import load_yaml, read_text

BUNDLE_FORMAT = "vta-bundle/1"
DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32")
MAX_DIMS = 32   # numpy's own limit is 32 or 64 dimensions, depending on its version
ROLES = {"input": MEM_INP, "weight": MEM_WGT, "bias": MEM_ACC, "output": MEM_OUT}


@lru_cache(maxsize=64)
def _dtype_name(dtype):
    # numpy computes a dtype's name in Python on every access; programs are checked per run
    return dtype.name


@dataclass
class Segment:
    """A named region of DRAM. ``base`` is a byte address; ``data`` its initial contents."""
    name: str
    base: int
    data: np.ndarray
    role: str = "input"

    @property
    def dtype(self):
        return _dtype_name(self.data.dtype)

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
        dram = self.config.dram_bytes
        for s in self.segments:
            why = name_problem(s.name)   # a segment's name becomes its file's name
            if why:
                raise BundleError(f"segment name {shown(s.name)} {why}")
            if s.name in names or s.name in ("insns", "uops"):
                raise BundleError(f"segment name {shown(s.name)} is used twice or reserved")
            names.add(s.name)
            if not isinstance(s.role, str) or s.role not in ROLES:
                raise BundleError(f"segment {shown(s.name)}: role {shown(s.role)} is not one of "
                                  f"{', '.join(ROLES)}")
            if s.dtype not in DTYPES:
                raise BundleError(f"segment {shown(s.name)}: dtype '{s.dtype}' is not one of {', '.join(DTYPES)}")
            if s.data.size == 0:
                raise BundleError(f"segment {shown(s.name)}: shape {list(s.shape)} has no elements "
                                  "(a segment holds at least one)")
            align = self.config.elem_bytes(s.mem_type)
            if s.base < 0:
                raise BundleError(f"segment {shown(s.name)}: base {s.base} is negative")
            if s.base % align:
                raise BundleError(f"segment {shown(s.name)}: base {s.base:#x} is not aligned to its "
                                  f"{s.role} element size ({align} bytes)")
            if s.end > dram:
                raise BundleError(f"segment {shown(s.name)} ends at {s.end:#x}, past the "
                                  f"{dram >> 20} MiB DRAM")
        # bounds before alignment: a negative base is outside, whatever its remainder
        for name, base, end in self.regions()[:2 if self.uops else 1]:  # insns, uops
            if base < 0 or end > dram:
                raise BundleError(f"'{name}' [{base:#x}, {end:#x}) lies outside the "
                                  f"{dram >> 20} MiB DRAM")
        if self.insn_base % INSN_BYTES:
            raise BundleError(f"instruction base {self.insn_base:#x} is not {INSN_BYTES}-byte aligned")
        if self.uop_base % UOP_BYTES:
            raise BundleError(f"micro-op base {self.uop_base:#x} is not {UOP_BYTES}-byte aligned")
        regions = sorted(self.regions(), key=lambda r: r[1])
        for (n1, b1, e1), (n2, b2, _) in zip(regions, regions[1:]):
            if b2 < e1:
                raise BundleError(f"segments {shown(n1)} [{b1:#x}, {e1:#x}) and {shown(n2)} "
                                  f"(base {b2:#x}) overlap")
        for name, arr in self.expect.items():
            seg = self.segment(name) if name in names else None
            if seg is None:
                raise BundleError(f"expected output for unknown segment {shown(name)}")
            if arr.dtype != seg.data.dtype or arr.shape != seg.data.shape:
                raise BundleError(f"expected output of {shown(name)} is {arr.dtype}{list(arr.shape)}, "
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
    out = OutputDir(path, error=BundleError)
    cfg = program.config
    out.write_bytes("insns.bin", encode_insns(program.insns, cfg))
    doc = {
        "format": BUNDLE_FORMAT,
        "name": program.name,
        "config": {"name": cfg.name, "fingerprint": cfg.fingerprint},
        "insns": {"file": "insns.bin", "count": len(program.insns), "base": _Hex(program.insn_base)},
    }
    if program.uops:
        out.write_bytes("uops.bin", encode_uops(program.uops, cfg))
        doc["uops"] = {"file": "uops.bin", "count": len(program.uops), "base": _Hex(program.uop_base)}
    doc["segments"] = []
    for s in program.segments:
        fname = file_name(s.name, ".bin", what="segment name", error=BundleError)
        out.write_bytes(fname, s.data.astype(s.data.dtype.newbyteorder("<")).tobytes())
        doc["segments"].append({"name": s.name, "file": fname, "base": _Hex(s.base), "dtype": s.dtype,
                                "shape": list(s.shape), "role": s.role})
    if program.expect:
        doc["expect"] = []
        for name, arr in program.expect.items():
            fname = file_name(name, ".expect.bin", what="segment name", error=BundleError)
            out.write_bytes(fname, arr.astype(arr.dtype.newbyteorder("<")).tobytes())
            doc["expect"].append({"segment": name, "file": fname})
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=100)
    out.write_text("bundle.yaml", text)
    return path


class _Hex(int):
    """An address: written in hex (YAML 1.1 loaders read 0x literals as ints)."""


class _Dumper(yaml.SafeDumper):
    pass


# A representer, not a text substitution: names in the data are never rewritten.
_Dumper.add_representer(_Hex, lambda d, v: d.represent_scalar("tag:yaml.org,2002:int", _hex(v)))


def _need(d, key, where, kind=None):
    if not isinstance(d, dict) or key not in d:
        raise BundleError(f"{where}: missing key '{key}'")
    v = d[key]
    if kind is not None and (not isinstance(v, kind) or isinstance(v, bool)):
        raise BundleError(f"{where}: '{key}' = {shown(v)} must be {kind.__name__ if isinstance(kind, type) else 'valid'}")
    return v


def _count(d, where):
    n = _need(d, "count", where, int)
    if n < 0:
        raise BundleError(f"{where}: 'count' = {n} must not be negative")
    return n


def _list(doc, key, where):
    v = doc.get(key) or []
    if not isinstance(v, list):
        raise BundleError(f"{where}: '{key}' must be a list, found {shown(v)}")
    return v


def _read_bin(root, fname, nbytes, where, dram_bytes):
    """The bytes of the data file ``fname``, whose size is checked before it is read."""
    if nbytes > dram_bytes:
        raise BundleError(f"{where}: {nbytes} bytes do not fit the {dram_bytes >> 20} MiB DRAM")
    p = data_file(root, fname, where=where, error=BundleError)
    if not p.is_file():
        raise BundleError(f"{where}: file {shown(fname)} is missing from {root}")
    try:
        with open(p, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size != nbytes:
                raise BundleError(f"{where}: file {shown(fname)} has {size} bytes, expected {nbytes}")
            data = f.read(nbytes + 1)
    except OSError as e:
        raise BundleError(f"{where}: file {shown(fname)}: cannot read: {e.strerror or e}") from None
    if len(data) != nbytes:
        raise BundleError(f"{where}: file {shown(fname)} changed while it was read")
    return data


def _shape(sd, where):
    """A segment's shape, checked with Python integers (no overflow, no allocation)."""
    shape = _need(sd, "shape", where, list)
    if len(shape) > MAX_DIMS or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                        for n in shape):
        raise BundleError(f"{where}: shape {shown(shape)} must be a list of at most {MAX_DIMS} "
                          "positive integers")
    if 0 in shape:
        raise BundleError(f"{where}: shape {shown(shape)} has no elements (a segment holds at least one)")
    return shape


def bundle_files(root):
    """Paths of the files a bundle in ``root`` reads (none if ``root`` holds no bundle).

    Results written into ``root`` must not replace them; if ``bundle.yaml`` cannot be
    read, every file already in ``root`` counts as one of them."""
    root = Path(root)
    meta = root / "bundle.yaml"
    if not meta.is_file():
        return set()
    try:
        doc = load_yaml(read_text(meta, BundleError, "bundle description"), meta, BundleError)
        files = {meta}
        for key in ("insns", "uops"):
            if isinstance(doc.get(key), dict):
                files.add(data_file(root, doc[key].get("file"), where=meta, error=BundleError))
        for key in ("segments", "expect"):
            for d in doc.get(key) or []:
                files.add(data_file(root, d.get("file"), where=meta, error=BundleError))
        return files
    except (VTAError, AttributeError, TypeError):
        return {p for p in root.iterdir() if p.is_file()}


def results_dir(out):
    """Where a run's results go (``--out``): an OutputDir that will not overwrite the files
    of a bundle, should ``out`` be the input bundle itself."""
    return OutputDir(out, protect=bundle_files(out))


def _program_name(doc, where, root):
    name = doc.get("name")
    if name is None:
        return root.name.removesuffix(".vtab")
    if not isinstance(name, (str, int)) or isinstance(name, bool) or not str(name).isprintable():
        raise BundleError(f"{where}: 'name' = {shown(name)} must be a one-line string")
    return str(name)


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
    where = str(meta)
    doc = load_yaml(read_text(meta, BundleError, "bundle description"), where, BundleError)
    if not isinstance(doc, dict):
        raise BundleError(f"{where}: must hold a mapping")
    fmt = doc.get("format")
    if fmt != BUNDLE_FORMAT:
        raise BundleError(f"{where}: format {shown(fmt)} is not {BUNDLE_FORMAT!r}")
    cdoc = doc.get("config") or {}
    if not isinstance(cdoc, dict):
        raise BundleError(f"{where}: 'config' must be a mapping such as {{name: default}}, found {shown(cdoc)}")
    if config is None:
        if "name" not in cdoc:
            raise BundleError(f"{where}: no config given and bundle names none")
        _need(cdoc, "name", f"{where}: config", str)
        from .config import looks_like_path
        if looks_like_path(cdoc["name"]):   # a bundle reads no file outside its folder
            raise BundleError(f"{where}: config name {shown(cdoc['name'])} is not a bundled "
                              "config's name; give the config on the command line")
        try:
            config = load_config(cdoc["name"])
        except VTAError as e:
            raise BundleError(f"{where}: cannot load its config {shown(cdoc['name'])}: {e}") from None
    else:
        config = load_config(config)
    fp = cdoc.get("fingerprint")
    if fp is not None and str(fp) != config.fingerprint:
        raise BundleError(f"{where}: built for config {shown(cdoc.get('name'))} (fingerprint {shown(fp)}), "
                          f"not for '{config.name}' (fingerprint {config.fingerprint})")
    dram = config.dram_bytes
    try:
        idoc = _need(doc, "insns", where)
        count = _count(idoc, f"{where}: insns")
        insns = decode_insns(_read_bin(root, _need(idoc, "file", f"{where}: insns", str),
                                       count * INSN_BYTES, f"{where}: insns", dram), config)
        uops, uop_base = [], 0x2000
        if doc.get("uops"):
            udoc = doc["uops"]
            ucount = _count(udoc, f"{where}: uops")
            uops = decode_uops(_read_bin(root, _need(udoc, "file", f"{where}: uops", str),
                                         ucount * UOP_BYTES, f"{where}: uops", dram), config)
            uop_base = _need(udoc, "base", f"{where}: uops", int)
    except EncodingError as e:
        raise BundleError(f"{where}: {e}") from None
    segments = []
    for i, sd in enumerate(_list(doc, "segments", where)):
        sw = f"{where}: segment {i}"
        name = _need(sd, "name", sw, str)
        sw = f"{where}: segment {shown(name)}"
        dtype = _need(sd, "dtype", sw, str)
        if dtype not in DTYPES:
            raise BundleError(f"{sw}: dtype {shown(dtype)} is not one of {', '.join(DTYPES)}")
        shape = _shape(sd, sw)
        dt = np.dtype(dtype).newbyteorder("<")
        nbytes = math.prod(shape) * dt.itemsize
        raw = _read_bin(root, _need(sd, "file", sw, str), nbytes, sw, dram)
        data = np.frombuffer(raw, dtype=dt).astype(dtype).reshape(shape)
        segments.append(Segment(name, _need(sd, "base", sw, int), data, sd.get("role", "input")))
    expect = {}
    by_name = {s.name: s for s in segments}
    for i, ed in enumerate(_list(doc, "expect", where)):
        ew = f"{where}: expect {i}"
        sname = _need(ed, "segment", ew, str)
        if sname not in by_name:
            raise BundleError(f"{ew}: unknown segment {shown(sname)}")
        if sname in expect:
            raise BundleError(f"{ew}: a second expected output for segment {shown(sname)}")
        seg = by_name[sname]
        raw = _read_bin(root, _need(ed, "file", ew, str), seg.nbytes, ew, dram)
        expect[sname] = np.frombuffer(raw, dtype=seg.data.dtype.newbyteorder("<")).astype(
            seg.data.dtype).reshape(seg.shape)
    prog = Program(config=config, insns=insns, uops=uops, segments=segments,
                   insn_base=_need(idoc, "base", f"{where}: insns", int), uop_base=uop_base,
                   expect=expect, name=_program_name(doc, where, root))
    try:
        return prog.validate()
    except BundleError as e:
        raise BundleError(f"{where}: {e}") from None
