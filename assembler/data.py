"""Contents of ``.data`` segments and ``.expect`` outputs.

Sources: ``zeros``; ``values=[...]`` (inline, nested lists allowed, filled row-major);
``file="x.npy"`` (numpy) or ``file="x.bin"`` (raw little-endian of the dtype), relative
to the source file; ``random seed=N [min=A] [max=B]``, defined as
``numpy.random.default_rng(N).integers(A, B, size=shape, endpoint=True, dtype=int64)``
cast to the dtype (so another tool can reproduce it). Every value must fit the dtype.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vta.isa import MEM_ACC, MEM_INP, MEM_OUT, MEM_WGT
from vta.isa.program import DTYPES, ROLES

from .errors import AsmError, Loc
from .expr import Seq, Str, evaluate

ROLE_BITS = {"input": MEM_INP, "weight": MEM_WGT, "bias": MEM_ACC, "output": MEM_OUT}
SOURCES = ("zeros", "values", "file", "random")


@dataclass
class DataSpec:
    name: str
    role: str
    data: np.ndarray
    base: int | None
    loc: Loc
    base_loc: Loc | None = None


def default_dtype(cfg, role, loc):
    """Signed integers as wide as the role's elements (int8 inputs, int32 biases, ...)."""
    mem = ROLE_BITS[role]
    bits = {MEM_INP: cfg.inp_bits, MEM_WGT: cfg.wgt_bits, MEM_ACC: cfg.acc_bits,
            MEM_OUT: cfg.out_bits}[mem]
    if bits not in (8, 16, 32):
        raise AsmError(f"{role} elements are {bits} bits in config '{cfg.name}', which no numpy "
                       "dtype holds; give a dtype (e.g. uint8) and pack the values yourself", loc)
    return f"int{bits}"


def _dtype_range(dtype):
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _flatten(node, env, out):
    if isinstance(node, Seq):
        for item in node.items:
            _flatten(item, env, out)
    else:
        v = evaluate(node, env)
        if not isinstance(v, int):
            raise AsmError(f"data values must be numbers, found the address '{v.name}'", node.loc)
        out.append((v, node.loc))


def _shape(node, env):
    items = node.items if isinstance(node, Seq) else (node,)
    shape = []
    for item in items:
        v = evaluate(item, env)
        if not isinstance(v, int) or v < 1:
            raise AsmError(f"shape dimensions must be positive integers, found {v!r}", item.loc)
        shape.append(v)
    if not shape:
        raise AsmError("shape needs at least one dimension", node.loc)
    return tuple(shape)


def _fit(arr, dtype, loc, what):
    lo, hi = _dtype_range(dtype)
    if arr.size and (arr.min() < lo or arr.max() > hi):
        bad = arr.min() if arr.min() < lo else arr.max()
        raise AsmError(f"{what} holds {int(bad)}, which does not fit {dtype} ({lo}..{hi})", loc)
    return arr.astype(dtype)


def _read_file(node, shape, dtype, base_dir, loc):
    path = base_dir / node.value
    if not path.is_file():
        raise AsmError(f"data file '{node.value}' not found ({path})", node.loc)
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise AsmError(f"cannot read '{node.value}' as .npy: {e}", node.loc) from None
        if arr.dtype.kind not in "iub":
            raise AsmError(f"'{node.value}' holds {arr.dtype} values; integers are expected", node.loc)
        arr = arr.astype(np.int64)
        if shape is not None:
            if arr.size != int(np.prod(shape)):
                raise AsmError(f"'{node.value}' has {arr.size} values {list(arr.shape)}, "
                               f"shape {list(shape)} needs {int(np.prod(shape))}", node.loc)
            arr = arr.reshape(shape)
        return _fit(arr, dtype, node.loc, f"'{node.value}'")
    if shape is None:
        raise AsmError(f"raw file '{node.value}' needs shape=(...)", loc)
    raw = path.read_bytes()
    dt = np.dtype(dtype).newbyteorder("<")
    want = int(np.prod(shape)) * dt.itemsize
    if len(raw) != want:
        raise AsmError(f"'{node.value}' has {len(raw)} bytes; {dtype} shape {list(shape)} "
                       f"needs {want}", node.loc)
    return np.frombuffer(raw, dtype=dt).astype(dtype).reshape(shape)


def build_array(stmt, opts, words, shape, dtype, env, what):
    """The ndarray a data or expect directive describes.

    ``opts`` maps operand name -> Operand, ``words`` positional word -> Operand.
    """
    sources = [s for s in SOURCES if s in opts or s in words]
    if len(sources) != 1:
        found = f"found {', '.join(sources)}" if sources else "found none"
        raise AsmError(f"{what} needs exactly one source: zeros, values=[...], file=\"...\" or "
                       f"random seed=N ({found})", stmt.loc)
    src = sources[0]
    for key in ("seed", "min", "max"):
        if key in opts and src != "random":
            raise AsmError(f"'{key}=' only goes with random", opts[key].loc)
    if src == "zeros":
        if shape is None:
            raise AsmError(f"{what} with zeros needs shape=(...)", words["zeros"].loc)
        return np.zeros(shape, dtype)
    if src == "values":
        node = opts["values"].value
        if not (isinstance(node, Seq) and node.bracket == "["):
            raise AsmError("values= expects a list [v, v, ...]", node.loc)
        flat = []
        _flatten(node, env, flat)
        if shape is None:
            shape = (len(flat),)
        n = int(np.prod(shape))
        if len(flat) != n:
            raise AsmError(f"values= has {len(flat)} value{'' if len(flat) == 1 else 's'}; shape {list(shape)} needs {n}", node.loc)
        lo, hi = _dtype_range(dtype)
        for v, loc in flat:
            if not lo <= v <= hi:
                raise AsmError(f"value {v} does not fit {dtype} ({lo}..{hi})", loc)
        return np.array([v for v, _ in flat], dtype=dtype).reshape(shape)
    if src == "file":
        node = opts["file"].value
        if not isinstance(node, Str):
            raise AsmError('file= expects a file name in quotes, e.g. file="inp.npy"', node.loc)
        base_dir = Path(stmt.loc.file).parent if stmt.loc.file != "<string>" else Path.cwd()
        return _read_file(node, shape, dtype, base_dir, stmt.loc)
    # random
    if shape is None:
        raise AsmError(f"{what} with random needs shape=(...)", words["random"].loc)
    if "seed" not in opts:
        raise AsmError("random needs seed=N (the data must be reproducible)", words["random"].loc)
    lo, hi = _dtype_range(dtype)
    seed = _int(opts["seed"], env)
    a = _int(opts["min"], env) if "min" in opts else lo
    b = _int(opts["max"], env) if "max" in opts else hi
    if seed < 0:
        raise AsmError(f"seed must be non-negative, found {seed}", opts["seed"].value.loc)
    for key, v in (("min", a), ("max", b)):
        if not lo <= v <= hi:
            raise AsmError(f"{key}={v} does not fit {dtype} ({lo}..{hi})", opts[key].value.loc)
    if a > b:
        raise AsmError(f"min={a} is greater than max={b}", opts["min"].value.loc)
    rng = np.random.default_rng(seed)
    return rng.integers(a, b, size=shape, endpoint=True, dtype=np.int64).astype(dtype)


def _int(op, env):
    v = evaluate(op.value, env)
    if not isinstance(v, int):
        raise AsmError(f"expected a number, found the address '{v.name}'", op.value.loc)
    return v


def split_operands(stmt, operands, allowed_names, allowed_words):
    """Named operands and bare words of a directive, each checked against what it accepts."""
    opts, words = {}, {}
    for op in operands:
        if op.name is not None:
            key = op.name.lower()
            if key not in allowed_names:
                raise AsmError(f"{stmt.name} has no option '{op.name}' (expected one of "
                               f"{', '.join(allowed_names)})", op.loc)
            if key in opts:
                raise AsmError(f"'{op.name}=' given twice", op.loc)
            opts[key] = op
        else:
            w = op.word
            if w is None or w.lower() not in allowed_words:
                shown = f"'{w}'" if w else "a value"
                raise AsmError(f"unexpected {shown} in {stmt.name} (expected one of "
                               f"{', '.join(allowed_words)} or name=value)", op.loc)
            if w.lower() in words:
                raise AsmError(f"'{w}' given twice", op.loc)
            words[w.lower()] = op
    return opts, words


def parse_data(stmt, cfg, env):
    """``NAME: .data ROLE [DTYPE] [shape=(...)] SOURCE [base=ADDR]`` -> DataSpec."""
    if len(stmt.labels) != 1:
        if not stmt.labels:
            raise AsmError(".data needs a label naming the segment, e.g. 'inp: .data input ...'", stmt.loc)
        raise AsmError(f"a segment has one name; found labels {', '.join(n for n, _ in stmt.labels)}",
                       stmt.labels[1][1])
    name = stmt.labels[0][0]
    opts, words = split_operands(stmt, stmt.operands, ("shape", "values", "file", "seed", "min", "max", "base"),
                                 (*ROLES, *DTYPES, "zeros", "random"))
    roles = [w for w in words if w in ROLES]
    if len(roles) != 1:
        raise AsmError(f".data needs one role: {', '.join(ROLES)} (it fixes the element size "
                       "used for alignment)", stmt.loc)
    role = roles[0]
    dtypes = [w for w in words if w in DTYPES]
    if len(dtypes) > 1:
        raise AsmError(f"two dtypes given: {', '.join(dtypes)}", words[dtypes[1]].loc)
    dtype = dtypes[0] if dtypes else default_dtype(cfg, role, stmt.loc)
    shape = _shape(opts["shape"].value, env) if "shape" in opts else None
    if shape is not None:
        # Checked before building the array: a typo in a shape must not allocate terabytes.
        nbytes = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
        if nbytes > cfg.dram_bytes:
            raise AsmError(f"segment '{name}' would be {nbytes} bytes, more than the "
                           f"{cfg.dram_bytes >> 20} MiB DRAM of config '{cfg.name}'",
                           opts["shape"].value.loc)
    data = build_array(stmt, opts, words, shape, dtype, env, f"segment '{name}'")
    if data.size == 0:   # a 0-byte segment has no address to load from or store to
        raise AsmError(f"segment '{name}' is empty (0 elements); a segment needs at least one",
                       stmt.loc)
    elem = cfg.elem_bytes(ROLES[role])
    if data.nbytes % elem:
        raise AsmError(f"segment '{name}' is {data.nbytes} bytes, not a whole number of {role} "
                       f"elements ({elem} bytes each in config '{cfg.name}')", stmt.loc)
    base = base_loc = None
    if "base" in opts:
        base = _int(opts["base"], env)
        base_loc = opts["base"].value.loc
    return DataSpec(name, role, data, base, stmt.loc, base_loc)


def parse_expect(stmt, segments, env):
    """``.expect SEGMENT SOURCE`` -> (segment name, ndarray with the segment's dtype/shape).

    ``segments`` maps segment name -> its data array."""
    ops = stmt.operands
    if not ops or ops[0].word is None or ops[0].word.lower() in SOURCES:
        raise AsmError(".expect needs the name of a segment first, e.g. "
                       "'.expect out values=[...]'", ops[0].loc if ops else stmt.loc)
    name = ops[0].word
    if name not in segments:
        raise AsmError(f"unknown segment '{name}' (segments: {', '.join(segments) or 'none'})", ops[0].loc)
    seg = segments[name]
    opts, words = split_operands(stmt, ops[1:], ("values", "file"), ("zeros",))
    return name, build_array(stmt, opts, words, seg.shape, seg.dtype.name, env,
                             f"expected output of '{name}'")
