"""Assembly text -> Program: the passes that turn statements into instructions.

1. parse (lexer + parser: includes, conditionals, constants);
2. collect instructions, micro-ops (with their labels), data segments and directives;
3. lay out DRAM (symbols.Layout) and build the label table;
4. evaluate operands, resolve DRAM addresses, range-check every field against the
   config's layout, build the instruction objects and run the static checks;
5. attach expected outputs and validate the Program.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vta.isa import (INSN_BYTES, MEM_NAMES, MEM_UOP, Alu, Finish, Gemm, Load, Program, Segment,
                     Store, Uop, VTAError, load_config, read_bundle)

from .checks import problems
from .data import parse_data, parse_expect
from .errors import AsmError
from .expr import Addr, Env, Seq, evaluate
from .limits import DEFAULT, read_source
from .parser import parse_text
from .symbols import Layout, config_constants
from .syntax import DEFAULTS, FORMAT, GROUPS, REQUIRED, SCALAR_ALIASES, WORDS, spelling

CLASSES = {"LOAD": Load, "STORE": Store, "GEMM": Gemm, "ALU": Alu, "FINISH": Finish}
BOOL_FIELDS = ("pop_prev", "pop_next", "push_prev", "push_next", "reset", "use_imm")


@dataclass
class Assembly:
    """A Program plus where each instruction and micro-op came from (for listings)."""
    program: Program
    insn_stmts: list = field(default_factory=list)
    uop_stmts: list = field(default_factory=list)


def assemble_text(text, config, filename="<string>", *, limits=None):
    """Assemble source text for ``config`` (a Config, a bundled name or a path) -> Program.

    ``limits`` (a vta.assembler.Limits) bounds sizes, integer widths, .rept expansion and
    instruction counts; default ``Limits()`` (assembler/README.md, "Limits")."""
    return assemble_source(text, config, filename, limits).program


def assemble_file(path, config, *, limits=None):
    """Assemble the file at ``path`` -> Program (named after the file)."""
    path = Path(path)
    text = read_source(path, limits or DEFAULT)
    return assemble_source(text, config, str(path), limits).program


def load_program(path, config=None, *, limits=None):
    """A ``.s`` file (assembled) or a ``.vtab`` bundle directory (read) -> Program.

    ``config`` defaults to "default" for sources and to the bundle's own config for bundles;
    ``limits`` applies to sources (see :func:`assemble_text`).
    """
    p = Path(path)
    if p.is_dir():
        if not (p / "bundle.yaml").is_file():
            raise VTAError(f"{p}: a directory but not a bundle (no bundle.yaml)")
        return read_bundle(p, config)
    if p.suffix in (".s", ".asm", ".S"):
        if not p.is_file():
            raise VTAError(f"{p}: no such file")
        return assemble_file(p, "default" if config is None else config, limits=limits)
    raise VTAError(f"{p}: expected an assembly source (.s) or a bundle directory (.vtab)")


def assemble_source(text, config, filename="<string>", limits=None):
    cfg = load_config(config)
    return _Assembler(cfg, filename, limits or DEFAULT).run(text)


class _Assembler:
    def __init__(self, cfg, filename, limits=DEFAULT):
        self.cfg, self.filename, self.limits = cfg, filename, limits
        self.constants = config_constants(cfg)
        self.nocheck = False

    def run(self, text):
        # No more instructions than the DRAM holds (the layout checks the exact fit later).
        stmts = parse_text(text, self.filename, self.constants, self.limits,
                           self.cfg.dram_bytes // INSN_BYTES)
        insns, uops, datas, expects, asserts = [], [], [], [], []
        bases, defined = {}, {}
        block = None   # labels of the micro-op block being extended
        uop_labels = {}
        for st in stmts:
            for name, loc in st.labels:
                if name in defined:
                    raise AsmError(f"duplicate label '{name}' (first defined at {defined[name]})", loc)
                if name in self.constants:
                    raise AsmError(f"label '{name}' clashes with a constant of that name", loc)
                defined[name] = loc
            if st.kind == "uop":
                if st.labels:
                    block = [n for n, _ in st.labels]
                    for n in block:
                        uop_labels[n] = [len(uops), 0]
                if block:
                    for n in block:
                        uop_labels[n][1] += 1
                uops.append(st)
                continue
            block = None
            if st.kind == "insn":
                if st.labels:
                    raise AsmError(f"label '{st.labels[0][0]}' names an instruction; labels name "
                                   "micro-op blocks (UOP lines) and data segments (.data)", st.labels[0][1])
                insns.append(st)
            elif st.name == ".data":
                datas.append(st)
            elif st.labels:
                raise AsmError(f"a label cannot name {st.name}", st.labels[0][1])
            elif st.name == ".expect":
                expects.append(st)
            elif st.name == ".assert":
                asserts.append(st)
            elif st.name == ".nocheck":
                if st.operands:
                    raise AsmError(".nocheck takes no operands", st.operands[0].loc)
                self.nocheck = True
            elif st.name in (".insn_base", ".uop_base"):
                bases[st.name] = self._base(st, bases)

        bits = self.limits.int_bits
        const_env = Env(self.constants, describe_names=lambda: "data directives may use only "
                        "numbers, config constants and .equ constants", bits=bits)
        specs = [parse_data(st, self.cfg, self._bound(const_env, st)) for st in datas]
        layout = Layout(self.cfg, len(insns), len(uops), *(bases[k][0] if k in bases else None
                                                          for k in (".insn_base", ".uop_base")))
        self._check_bases(layout, bases)
        for s in sorted(specs, key=lambda s: s.base is None):   # fixed bases first
            s.base = layout.place(s.name, s.role, s.data.nbytes, s.base, s.loc, s.base_loc)
        layout.uop_labels = {n: tuple(v) for n, v in uop_labels.items()}
        self.layout = layout
        self.env = Env(self.constants, layout.labels(), layout.lengths(), layout.describe, bits)

        uop_objs = [self._uop(st) for st in uops]
        insn_objs = [self._insn(st) for st in insns]
        for st in asserts:
            self._assert(st)
        seg_data = {s.name: s.data for s in specs}
        expect = {}
        for st in expects:
            name, arr = parse_expect(st, seg_data, self._bound(self.env, st))
            if name in expect:
                raise AsmError(f"expected output of '{name}' given twice", st.loc)
            expect[name] = arr
        segments = [Segment(s.name, s.base, s.data, s.role) for s in specs]   # source order
        prog = Program(config=self.cfg, insns=insn_objs, uops=uop_objs, segments=segments,
                       insn_base=layout.insn_base, uop_base=layout.uop_base, expect=expect,
                       name=Path(self.filename).stem if self.filename != "<string>" else "program")
        try:
            prog.validate()
        except VTAError as e:
            raise AsmError(str(e), file=self.filename) from None
        return Assembly(prog, insns, uops)

    @staticmethod
    def _bound(env, st):
        """``env`` plus the .rept counters in effect where ``st`` was written."""
        if not st.bindings:
            return env
        return Env({**env.constants, **st.bindings}, env.labels, env.lengths, env.describe_names,
                   env.bits)

    # ---- directives ---------------------------------------------------------------
    def _base(self, st, bases):
        if st.name in bases:
            raise AsmError(f"{st.name} given twice", st.loc)
        if len(st.operands) != 1 or st.operands[0].name is not None:
            raise AsmError(f"{st.name} expects one address, e.g. {st.name} 0x1000", st.loc)
        node = st.operands[0].value
        v = evaluate(node, Env(self.constants, bits=self.limits.int_bits))
        if not isinstance(v, int) or v < 0:
            raise AsmError(f"{st.name} must be a non-negative byte address", node.loc)
        return v, node.loc

    def _check_bases(self, layout, bases):
        from vta.isa import UOP_BYTES
        for key, align in ((".insn_base", INSN_BYTES), (".uop_base", UOP_BYTES)):
            if key in bases:
                value, loc = bases[key]
                if value % align:
                    raise AsmError(f"{key} {value:#x} is not a multiple of {align} bytes", loc)
        if len(layout.regions) == 2:
            (n1, b1, e1), (n2, b2, e2) = layout.regions
            if b1 < e2 and b2 < e1:
                value, loc = bases.get(".uop_base") or bases.get(".insn_base") or (None, None)
                raise AsmError(f"{n1} [{b1:#x}, {e1:#x}) and {n2} [{b2:#x}, {e2:#x}) overlap",
                               loc, file=self.filename)

    def _assert(self, st):
        ops = st.operands
        if not ops or ops[0].name is not None or len(ops) > 2 or (
                len(ops) == 2 and not isinstance(getattr(ops[1].value, "value", None), str)):
            raise AsmError('.assert expects a condition and an optional message: '
                           '.assert BLOCK_IN == 16 "needs a 16-wide core"', st.loc)
        v = evaluate(ops[0].value, self._bound(self.env, st))
        if isinstance(v, Addr):
            raise AsmError("expected a condition, found an address", ops[0].value.loc)
        if not v:
            msg = ops[1].value.value if len(ops) == 2 else "assertion failed"
            raise AsmError(f"{msg} (.assert {st.text.split(None, 1)[1] if ' ' in st.text else ''} "
                           f"is false for config '{self.cfg.name}')", st.loc)

    # ---- fields -------------------------------------------------------------------
    def _fields(self, st):
        """{field: (node or int, loc)} from the operands of an instruction or UOP."""
        fmt = FORMAT[st.name]
        known = {f.name for f in getattr(self.cfg.layout, fmt)} - {"opcode"}
        words, groups, aliases = WORDS[st.name], GROUPS[fmt], SCALAR_ALIASES[fmt]
        out = {}

        def put(name, value, loc):
            if name in out:
                raise AsmError(f"field '{name}' given twice (first at column {out[name][1].col})", loc)
            out[name] = (value, loc)

        for op in st.operands:
            if op.name is None:
                w = op.word
                if w is None:
                    raise AsmError(f"expected a word or name=value in {st.name}, found a bare value "
                                   f"(did you mean {next(iter(aliases), 'field')}=...?)", op.loc)
                if w.lower() not in words:
                    hint = f" (expected one of: {', '.join(words)})" if words else ""
                    raise AsmError(f"unknown word '{w}' in {st.name}{hint}", op.loc)
                fname, value = words[w.lower()]
                put(fname, value, op.loc)
                continue
            key = op.name.lower()
            if key in groups:
                names = groups[key]
                node = op.value
                if not (isinstance(node, Seq) and node.bracket == "(") or len(node.items) != len(names):
                    raise AsmError(f"'{key}=' expects a tuple of {len(names)} values "
                                   f"({', '.join(names)})", node.loc)
                for fname, item in zip(names, node.items):
                    put(fname, item, item.loc)
            elif key in aliases or key in known:
                put(aliases.get(key, key), op.value, op.value.loc)
            else:
                expected = sorted(set(aliases) | set(groups)) + sorted(known - set(aliases.values())
                                                                    - {f for g in groups.values() for f in g})
                raise AsmError(f"{st.name} has no field '{op.name}' (expected one of: "
                               f"{', '.join(expected)})", op.loc)
        for name in REQUIRED[st.name]:
            if name not in out:
                raise AsmError(f"{st.name} is missing {spelling(st.name, name)}", st.loc)
        return out

    def _value(self, st, fname, node, loc):
        """Evaluate one field; labels are only allowed where they mean something."""
        v = node if isinstance(node, int) else evaluate(node, self._bound(self.env, st))
        if isinstance(v, Addr):
            if v.kind == "uop" and fname in ("uop_bgn", "uop_end"):
                return v.value
            raise AsmError(f"the address '{v.name}' cannot be used in {fname} "
                           f"({'dram= of a LOAD/STORE' if v.kind == 'data' else 'dram= or uop=(...)'})",
                           loc)
        return v

    def _range(self, fmt, values, locs, mnemonic):
        for f in getattr(self.cfg.layout, fmt):
            if f.name in values and not f.min <= values[f.name] <= f.max:
                raise AsmError(f"field '{f.name}' = {values[f.name]} does not fit its {f.width} "
                               f"bits ({f.min}..{f.max}) in {mnemonic}", locs[f.name])

    def _uop(self, st):
        given = self._fields(st)
        values = {n: self._value(st, n, node, loc) for n, (node, loc) in given.items()}
        self._range("uop", values, {n: loc for n, (_, loc) in given.items()}, "UOP")
        return Uop(**values)

    def _insn(self, st):
        given = self._fields(st)
        locs = {n: loc for n, (_, loc) in given.items()}
        values = dict(DEFAULTS.get(st.name, {}))
        dram = None
        for n, (node, loc) in given.items():
            if n == "dram_base":
                v = node if isinstance(node, int) else evaluate(node, self._bound(self.env, st))
                if isinstance(v, Addr):
                    dram = v
                    continue
                values[n] = v
            else:
                values[n] = self._value(st, n, node, loc)
        if st.name in ("LOAD", "STORE"):
            values.setdefault("x_stride", values["x_size"])
            if dram is not None:
                values["dram_base"] = self.layout.dram_elements(dram, values["memory_type"], locs["dram_base"])
        if st.name == "ALU" and "imm" in values and "use_imm" not in values:
            values["use_imm"] = 1
        self._range(FORMAT[st.name], values, locs, st.name)
        for flag in BOOL_FIELDS:
            if flag in values:
                values[flag] = bool(values[flag])
        insn = CLASSES[st.name](**values)
        if not self.nocheck:
            found = problems(insn, self.cfg)
            if found:
                raise AsmError(f"{st.name}: {found[0]} (write .nocheck to allow)", st.loc)
            if dram is not None:
                self._check_dram(st, insn, dram, locs["dram_base"])
        return insn

    def _check_dram(self, st, insn, addr, loc):
        """A label-relative access must stay inside the segment (or micro-ops) it names."""
        mt = insn.memory_type
        if mt == MEM_UOP:
            n = insn.x_size
        elif insn.y_size and insn.x_size:
            n = (insn.y_size - 1) * insn.x_stride + insn.x_size
        else:
            return
        if n:
            verb = "writes" if st.name == "STORE" else "reads"
            self.layout.check_extent(f"{st.name} {MEM_NAMES[mt]} {verb}", addr, insn.dram_base, n, mt, loc)
