"""Program / instruction stream -> assembly text that re-assembles to the same bytes.

Every field is printed in decimal under its operand name (syntax.py). Memory types, ALU
operations and flags are words; zero padding is left out. ``format_insn`` (from
vta.isa.text) is the one-line form, also used in the TLM's traces and deadlock reports.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from vta.isa import (INSN_BYTES, MEM_NAMES, UOP_BYTES, MemInsn, Program,
                     encode_insn, encode_uop, load_config)
from vta.isa.text import format_insn, format_uop

from .checks import problems
from .symbols import config_constants

INLINE_LIMIT = 1024   # segments with more values are referenced by file when possible


def hex_insn(insn, cfg):
    """'hi:lo' 64-bit words of an instruction, as Apache VTA's debug dumps show them."""
    w = int.from_bytes(encode_insn(insn, cfg), "little")
    return f"{w >> 64:016x}:{w & ((1 << 64) - 1):016x}"


def hex_uop(uop, cfg):
    return f"{int.from_bytes(encode_uop(uop, cfg), 'little'):08x}"


def _values(arr, indent="    "):
    """A values=[...] list, one row per line of the last dimension."""
    flat = np.asarray(arr).reshape(-1, arr.shape[-1] if arr.ndim else 1)
    rows = [indent + ", ".join(str(int(v)) for v in row) for row in flat]
    return "values=[\n" + ",\n".join(rows) + "\n]"


def _bundle_files(bundle):
    """segment name -> data file and expected-output file, from a bundle's bundle.yaml."""
    if bundle is None:
        return {}, {}
    from vta.isa import VTAError
    from vta.isa.paths import data_file
    from vta.isa.safeload import load_yaml, read_text
    root = Path(bundle)
    meta = root / "bundle.yaml"

    def files(key, name_key):
        # only files the path policy allows: a bundle is read inside its own folder
        out = {}
        for d in doc.get(key) or []:
            try:
                out[d.get(name_key)] = data_file(root, d.get("file"), where=meta)
            except (VTAError, AttributeError, TypeError):
                pass
        return out
    try:
        doc = load_yaml(read_text(meta, VTAError), meta, VTAError) or {}
        return files("segments", "name"), files("expect", "segment")
    except (VTAError, AttributeError, TypeError):
        return {}, {}


def _source(arr, path):
    if arr.size > INLINE_LIMIT and path is not None and path.is_file():
        return f'file="{path.resolve().as_posix()}"'
    return _values(arr)


def _labels(names, out, reserved):
    """Segment name -> a label the assembler accepts (bundles may use any string)."""
    result, used = {}, set(reserved)
    for name in names:
        label = re.sub(r"\W", "_", name)
        if not label or label[0].isdigit():
            label = "seg_" + label
        while label in used:
            label += "_"
        used.add(label)
        result[name] = label
        if label != name:
            out.append(f"; segment '{name}' is written as '{label}' (not an assembler label)")
    return result


def _dram_note(insn, program):
    """'; segment+offset' for a LOAD/STORE whose address falls in a known region."""
    if not isinstance(insn, MemInsn) or insn.memory_type not in MEM_NAMES or program is None:
        return ""
    cfg = program.config
    byte = insn.dram_base * cfg.elem_bytes(insn.memory_type)
    if program.uops and program.uop_base <= byte < program.uop_base + UOP_BYTES * len(program.uops):
        return f"  ; micro-op {(byte - program.uop_base) // UOP_BYTES}"
    for s in program.segments:
        if s.base <= byte < s.end:
            return f"  ; {s.name}+{byte - s.base}" if byte > s.base else f"  ; {s.name}"
    return ""


def disassemble(program_or_insns, config=None, uops=None, *, bundle=None, comments=True):
    """Assembly for a Program or a list of instructions (with ``uops``).

    The text re-assembles (for the same config) to byte-identical instructions and
    micro-ops; for a Program also to the same segments, bases and expected outputs.
    ``bundle`` (a bundle directory) lets large segments refer to its data files.
    """
    program = program_or_insns if isinstance(program_or_insns, Program) else None
    if program is not None:
        cfg = program.config if config is None else load_config(config)
        insns, uops = program.insns, program.uops
    else:
        cfg = load_config("default" if config is None else config)
        insns, uops = list(program_or_insns), list(uops or [])
    out = []
    found = [(i, p) for i, insn in enumerate(insns) for p in problems(insn, cfg)]
    if comments:
        what = f"program '{program.name}'" if program is not None else "an instruction stream"
        out.append(f"; {what}: {len(insns)} instructions, {len(uops)} micro-ops, config '{cfg.name}'")
    if found:
        out.append(".nocheck   ; the stream has instructions the assembler would reject:")
        out += [f";   instruction {i}: {p}" for i, p in found[:20]]
    if program is not None:
        seg_files, exp_files = _bundle_files(bundle)
        out.append(f".insn_base {program.insn_base}")
        out.append(f".uop_base {program.uop_base}")
        names = _labels([s.name for s in program.segments], out, config_constants(cfg))
        for s in program.segments:
            shape = ",".join(map(str, s.shape)) + ("," if len(s.shape) == 1 else "")
            out.append(f"{names[s.name]}: .data {s.role} {s.dtype} shape=({shape}) base={s.base} "
                       + _source(s.data, seg_files.get(s.name)))
        for name, arr in program.expect.items():
            out.append(f".expect {names[name]} " + _source(arr, exp_files.get(name)))
    if uops:
        out.append("")
        for k, u in enumerate(uops):
            out.append(format_uop(u) + (f"   ; {k}" if comments else ""))
    out.append("")
    for k, insn in enumerate(insns):
        out.append(format_insn(insn) + (_dram_note(insn, program) if comments else ""))
    return "\n".join(out) + "\n"


def listing_rows(insns, uops, cfg, insn_base=0, uop_base=0, sources=None, uop_sources=None):
    """(address, hex, text) rows: micro-ops first, then instructions."""
    rows = []
    for k, u in enumerate(uops):
        text = uop_sources[k] if uop_sources else format_uop(u)
        rows.append((uop_base + UOP_BYTES * k, hex_uop(u, cfg), text))
    for k, insn in enumerate(insns):
        text = sources[k] if sources else format_insn(insn)
        rows.append((insn_base + INSN_BYTES * k, hex_insn(insn, cfg), text))
    return rows


def format_listing(rows):
    width = max((len(h) for _, h, _ in rows), default=8)
    return "".join(f"{addr:#010x}  {h:<{width}}  {text}\n" for addr, h, text in rows)
