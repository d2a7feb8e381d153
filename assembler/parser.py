"""Tokens -> statements, with ``.include``, ``.if``/``.elif``/``.else``/``.endif`` and
``.equ`` handled here (they shape the statement list; they emit nothing).

``.rept COUNT [VAR]`` ... ``.endr`` repeats its body (VAR counts 0..COUNT-1).
A line is ``[label:]... [statement]``; a statement is a mnemonic or a directive followed
by operands. An operand is ``name=value`` or a positional value (a bare word such as
``pop_next`` or ``inp`` is a positional name). Operands may be separated by commas.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from vta.isa.errors import shorten
from .errors import AsmError, Loc
from .expr import Env, Sym, evaluate, parse_expr, parse_value
from .lexer import Cursor, Token, tokenize
from .limits import DEFAULT, check_text, count_message, read_source
from .syntax import DIRECTIVES, MNEMONICS

MAX_INCLUDE_DEPTH = 32


@dataclass
class Operand:
    name: str | None   # "sram" for sram=0; None for a positional value
    value: object      # expression tree (see expr.py)
    loc: Loc           # where the operand starts

    @property
    def word(self):
        """The bare name of a positional operand (``pop_next``), else None."""
        return self.value.name if self.name is None and isinstance(self.value, Sym) else None


@dataclass
class Stmt:
    kind: str          # "insn", "uop" or "directive"
    name: str          # mnemonic (upper case) or directive (".data")
    operands: list
    loc: Loc
    labels: list = field(default_factory=list)   # [(name, Loc)]
    text: str = ""     # the source line, for listings
    bindings: dict = field(default_factory=dict)   # .rept counters in effect: name -> value


@dataclass
class _Frame:
    """One open .if: is any branch taken yet, is the current branch active, else seen."""
    loc: Loc
    parent_active: bool
    taken: bool
    active: bool
    seen_else: bool = False


def parse_file(path, constants, limits=DEFAULT, insn_cap=None):
    """Parse a file (see :func:`parse_text`)."""
    return parse_text(read_source(path, limits), str(path), constants, limits, insn_cap)


def parse_text(text, filename, constants, limits=DEFAULT, insn_cap=None):
    """Statements of ``text``. ``constants`` (name -> int) holds the config constants;
    ``.equ`` adds to it. Included files are read relative to the including file.
    ``limits`` bounds the work (vta.assembler.limits); ``insn_cap`` lowers the
    instruction limit to what the DRAM holds."""
    return _Parser(constants, limits, insn_cap).run(text, filename, [])


class _Parser:
    def __init__(self, constants, limits=DEFAULT, insn_cap=None):
        self.constants = constants
        self.config_names = set(constants)
        self.limits, self.insn_cap = limits, insn_cap
        self.caps = {"insn": min(limits.insns, insn_cap or limits.insns), "uop": limits.uops}
        self.counts = {"insn": 0, "uop": 0}
        self.stmts = []
        self.pending = []   # labels waiting for the statement they name
        self.rept_vars = {}  # .rept counters of the bodies being expanded
        self.rept_heads = []  # locations of the .rept directives being expanded
        self.expanded = 0     # .rept passes and statements they produced (limits.rept)

    def const_env(self):
        return Env(self.constants, describe_names=lambda: ".if, .equ and shapes may use only "
                   "numbers, config constants and .equ constants", bits=self.limits.int_bits)

    def run(self, text, filename, chain):
        check_text(text, filename, self.limits, self.insn_cap)
        self._block(Cursor(tokenize(text, filename, self.limits.int_bits)), text.split("\n"),
                    filename, chain)
        if not chain and self.pending:
            name, loc = self.pending[0]
            raise AsmError(f"label '{name}' names nothing (expected a UOP line or a .data "
                           "directive after it)", loc)
        return self.stmts

    def _block(self, cur, lines, filename, chain):
        """Statements up to EOF (a file, or one pass over a .rept body)."""
        frames = []
        while cur.peek().kind != "EOF":
            if cur.peek().kind == "NEWLINE":
                cur.next()
                continue
            self._line(cur, lines, frames, filename, chain)
        if frames:
            raise AsmError(".if is never closed (expected .endif before the end of the "
                           f"{'.rept body' if cur.peek().text == 'endr' else 'file'})", frames[-1].loc)

    def _line(self, cur, lines, frames, filename, chain):
        active = not frames or frames[-1].active
        labels = []
        while cur.peek().kind == "NAME" and cur.peek(1).is_op(":"):
            tok = cur.next()
            cur.next()
            labels.append((tok.text, tok.loc))
        if cur.at_end_of_line():
            if active:
                self.pending += labels
            return
        head = cur.next()
        if not active and not (head.kind == "DIRECTIVE" and head.text.lower() in (
                ".if", ".elif", ".else", ".endif")):
            self._skip(cur)   # inactive branch: only needs to lex
            return
        if head.kind == "DIRECTIVE":
            name = head.text.lower()
            if name not in DIRECTIVES:
                raise AsmError(f"unknown directive '{shorten(head.text)}'{_suggest(name, DIRECTIVES)} "
                               f"(expected one of {', '.join(sorted(DIRECTIVES))})", head.loc)
            kind = "directive"
        elif head.kind == "NAME":
            name = head.text.upper()
            if name not in MNEMONICS:
                raise AsmError(f"unknown mnemonic '{shorten(head.text)}'{_suggest(name, MNEMONICS)} "
                               f"(expected one of {', '.join(MNEMONICS)})", head.loc)
            kind = "uop" if name == "UOP" else "insn"
        else:
            raise AsmError(f"expected a mnemonic, a directive or a label, found {head.describe()}", head.loc)

        if name in (".if", ".elif", ".else", ".endif"):
            if labels:
                raise AsmError(f"a label cannot name {name}", labels[0][1])
            self._conditional(name, head, cur, frames)
            return
        operands = self._operands(cur)
        if name in (".rept", ".endr"):
            if labels:
                raise AsmError(f"a label cannot name {name}", labels[0][1])
            if name == ".endr":
                raise AsmError(".endr without a matching .rept", head.loc)
            self._rept(head, operands, cur, lines, filename, chain)
            return
        if name == ".include":
            if labels:
                raise AsmError("a label cannot name .include", labels[0][1])
            self._include(head, operands, chain)
            return
        if name == ".equ":
            if labels:
                raise AsmError("a label cannot name .equ", labels[0][1])
            self._equ(head, operands)
            return
        stmt = Stmt(kind, name, operands, head.loc, self.pending + labels,
                    lines[head.loc.line - 1].strip(), dict(self.rept_vars))
        self.pending = []
        if self.rept_heads:
            self._count_expansion()
        if kind in self.counts:   # counted as produced: .rept bodies multiply them
            self.counts[kind] += 1
            if self.counts[kind] > self.caps[kind]:
                name = "insns" if kind == "insn" else "uops"
                raise AsmError(count_message(self.limits, name, self.caps[kind]), head.loc)
        self.stmts.append(stmt)

    # ---- operands ------------------------------------------------------------
    def _operands(self, cur):
        ops = []
        while not cur.at_end_of_line():
            tok = cur.peek()
            if tok.kind == "NAME" and cur.peek(1).is_op("="):
                cur.next()
                cur.next()
                if cur.at_end_of_line():
                    raise AsmError(f"expected a value after '{tok.text}=', found "
                                   f"{cur.peek().describe()}", cur.peek().loc)
                ops.append(Operand(tok.text, parse_value(cur), tok.loc))
            else:
                ops.append(Operand(None, parse_value(cur), tok.loc))
            cur.accept_op(",")
        cur.next()
        return ops

    @staticmethod
    def _skip(cur):
        while not cur.at_end_of_line():
            cur.next()
        cur.next()
        return []

    # ---- directives handled while parsing -------------------------------------------
    def _conditional(self, name, head, cur, frames):
        cond = None
        if name in (".if", ".elif"):
            if cur.at_end_of_line():
                raise AsmError(f"{name} needs a condition", cur.peek().loc)
            cond_node = parse_expr(cur)
        if not cur.at_end_of_line():
            raise AsmError(f"expected end of line after {name}, found {cur.peek().describe()}", cur.peek().loc)
        cur.next()
        if name == ".if":
            parent = not frames or frames[-1].active
            cond = parent and bool(_const(evaluate(cond_node, self.const_env()), cond_node))
            frames.append(_Frame(head.loc, parent, cond, cond))
            return
        if not frames:
            raise AsmError(f"{name} without a matching .if", head.loc)
        top = frames[-1]
        if name == ".endif":
            frames.pop()
            return
        if top.seen_else:
            raise AsmError(f"{name} after .else (expected .endif)", head.loc)
        if name == ".else":
            top.seen_else = True
            top.active = top.parent_active and not top.taken
        else:
            take = (top.parent_active and not top.taken
                    and bool(_const(evaluate(cond_node, self.const_env()), cond_node)))
            top.active = take
        top.taken = top.taken or top.active

    def _rept(self, head, operands, cur, lines, filename, chain):
        """``.rept COUNT [VAR]`` ... ``.endr``: the body COUNT times, VAR = 0, 1, ..."""
        if not operands or operands[0].name is not None or len(operands) > 2 or (
                len(operands) == 2 and operands[1].word is None):
            raise AsmError(".rept expects a count and an optional counter name: .rept 16 i", head.loc)
        count = _const(evaluate(operands[0].value, self.const_env()), operands[0].value)
        if count < 0:
            raise AsmError(f".rept count must not be negative, found {count}", operands[0].value.loc)
        if self.expanded + count > self.limits.rept:   # refused before any pass runs
            raise AsmError(self._rept_message(), self.rept_heads[0] if self.rept_heads else head.loc)
        var = operands[1].word if len(operands) == 2 else None
        if var is not None and var in self.constants:
            raise AsmError(f"'{var}' is already a constant; pick another counter name", operands[1].loc)
        body, depth, line_start = [], 1, True
        while True:
            tok = cur.next()
            if tok.kind == "EOF":
                raise AsmError(".rept is never closed (expected .endr)", head.loc)
            if line_start and tok.kind == "DIRECTIVE" and tok.text.lower() in (".rept", ".endr"):
                depth += 1 if tok.text.lower() == ".rept" else -1
                if depth == 0:
                    if not cur.at_end_of_line():
                        raise AsmError("expected end of line after .endr", cur.peek().loc)
                    cur.next()
                    break
            body.append(tok)
            line_start = tok.kind == "NEWLINE"
        end = Token("EOF", "endr", tok.loc)
        self._check_rept_output(head, count, body)
        self.rept_heads.append(head.loc)
        if all(t.kind == "NEWLINE" for t in body):   # an empty body: count its passes only
            self.expanded += count
            count = 0
        for i in range(count):
            self._count_expansion()
            if var is not None:
                self.constants[var] = self.rept_vars[var] = i
            self._block(Cursor(body + [end]), lines, filename, chain)
        self.rept_heads.pop()
        if var is not None:
            self.constants.pop(var, None)
            self.rept_vars.pop(var, None)

    def _check_rept_output(self, head, count, body):
        """Refuse a .rept whose passes would certainly exceed a limit, before the first
        pass: nested .rept counts multiply (``.rept 2000`` of ``.rept 2000`` of FINISH is
        4M instructions from four lines)."""
        insns, uops, produced = self._body_weight(body)
        for kind, n in (("insn", insns), ("uop", uops)):
            if n and self.counts[kind] + count * n > self.caps[kind]:
                name = "insns" if kind == "insn" else "uops"
                raise AsmError(count_message(self.limits, name, self.caps[kind],
                                             f"this .rept makes {count * n:,}"), head.loc)
        if self.expanded + count * (1 + produced) > self.limits.rept:
            raise AsmError(self._rept_message(), self.rept_heads[0] if self.rept_heads else head.loc)

    def _body_weight(self, body):
        """A lower bound of (instructions, micro-ops, passes + statements) one pass of a
        .rept body produces: lines inside .if and .rept counts that are not constants yet
        count as nothing."""
        insns = uops = produced = 0
        mult, in_if, i, n = [1], 0, 0, len(body)
        while i < n:
            while i < n and body[i].kind == "NEWLINE":
                i += 1
            j = i
            while j + 1 < n and body[j].kind == "NAME" and body[j + 1].is_op(":"):
                j += 2   # labels
            end = j
            while end < n and body[end].kind != "NEWLINE":
                end += 1
            if j < n:
                head, m = body[j], mult[-1] if not in_if else 0
                word = head.text.lower()
                if head.kind == "DIRECTIVE" and word in (".if", ".endif"):
                    in_if += 1 if word == ".if" else -1 if in_if else 0
                elif head.kind == "DIRECTIVE" and word == ".rept":
                    try:
                        c = evaluate(parse_expr(Cursor(body[j + 1:end] + [Token("EOF", "", head.loc)])),
                                     self.const_env())
                        c = c if isinstance(c, int) and c > 0 else 0
                    except AsmError:
                        c = 0
                    produced += m * c
                    mult.append(m * c)
                elif head.kind == "DIRECTIVE" and word == ".endr":
                    if len(mult) > 1:
                        mult.pop()
                elif head.kind == "NAME" and head.text.upper() in MNEMONICS:
                    produced += m
                    if head.text.upper() == "UOP":
                        uops += m
                    else:
                        insns += m
            i = end + 1
        return insns, uops, produced

    def _count_expansion(self):
        self.expanded += 1
        if self.expanded > self.limits.rept:
            raise AsmError(self._rept_message(), self.rept_heads[0])

    def _rept_message(self):
        return (f".rept expands to more than {self.limits.rept} passes and lines, the limit "
                f"(raise it with {self.limits.flag('rept')})")

    def _equ(self, head, operands):
        if len(operands) != 1 or operands[0].name is None:
            raise AsmError(".equ expects NAME=value", head.loc)
        op = operands[0]
        if op.name in self.config_names:
            raise AsmError(f"'{op.name}' is a config constant and cannot be redefined", op.loc)
        if op.name in self.constants:
            raise AsmError(f"constant '{op.name}' is already defined", op.loc)
        self.constants[op.name] = _const(evaluate(op.value, self.const_env()), op.value)

    def _include(self, head, operands, chain):
        if len(operands) != 1 or not hasattr(operands[0].value, "value") or not isinstance(
                operands[0].value.value, str):
            raise AsmError('.include expects a file name in quotes, e.g. .include "common.s"', head.loc)
        node = operands[0].value
        here = Path(head.loc.file).parent if head.loc.file != "<string>" else Path.cwd()
        path = (here / node.value)
        if not path.is_file():
            why = "a directory, not a file" if path.is_dir() else "no such file"
            raise AsmError(f"cannot include '{shorten(node.value)}': {why} "
                           f"({shorten(str(path.resolve()))})", node.loc)
        key = str(path.resolve())
        if key in chain:
            raise AsmError(f"'{node.value}' includes itself (include chain: "
                           f"{' -> '.join(Path(c).name for c in chain + [key])})", node.loc)
        if len(chain) >= MAX_INCLUDE_DEPTH:
            raise AsmError(f"includes nested deeper than {MAX_INCLUDE_DEPTH}", node.loc)
        text = read_source(path, self.limits, node.loc)
        top_key = str(Path(head.loc.file).resolve()) if head.loc.file != "<string>" else "<string>"
        self.run(text, str(path), (chain or [top_key]) + [key])


def _const(v, node):
    from .expr import Addr
    if isinstance(v, Addr):
        raise AsmError(f"expected a constant, found the address '{v.name}'", node.loc)
    return v


def _suggest(name, choices):
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
