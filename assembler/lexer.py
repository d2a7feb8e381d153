"""Source text -> tokens, each with its file:line:col.

Tokens: NAME (identifiers and mnemonics), DIRECTIVE (``.data``), NUMBER (decimal,
``0x``, ``0b``, ``0o``, with ``_`` separators), STRING (``"..."``), OP (punctuation
and operators), NEWLINE and EOF. Comments run from ``;`` or ``#`` to the end of the
line. Inside ``(...)`` and ``[...]`` newlines are not tokens, so a long value list
may span lines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import AsmError, Loc

# Longest operators first so "<<" wins over "<".
OPERATORS = ("<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
             "=", ",", "(", ")", "[", "]", ":", "+", "-", "*", "/", "%", "&", "|", "^", "~",
             "!", "<", ">")
OPEN, CLOSE = {"(": ")", "[": "]"}, {")": "(", "]": "["}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIRECTIVE = re.compile(r"\.[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9][0-9_]*")
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_]")
_SPACE = re.compile(r"[ \t\r\f\v]+")


@dataclass(frozen=True)
class Token:
    kind: str       # NAME, DIRECTIVE, NUMBER, STRING, OP, NEWLINE, EOF
    text: str       # source text (for STRING: the decoded value)
    loc: Loc
    value: int | None = None   # NUMBER: its value

    def is_op(self, *ops):
        return self.kind == "OP" and self.text in ops

    def describe(self):
        """How the token reads in an error message."""
        if self.kind == "NEWLINE":
            return "end of line"
        if self.kind == "EOF":
            return "end of file"
        if self.kind == "STRING":
            return f'string "{self.text}"'
        return f"'{self.text}'"


def tokenize(text, filename="<string>"):
    """Split ``text`` into tokens; raises AsmError at the first character it cannot read."""
    tokens, stack = [], []   # stack: open brackets (char, loc)
    lines = text.split("\n")
    for lineno, line in enumerate(lines, 1):
        pos = 0
        while pos < len(line):
            m = _SPACE.match(line, pos)
            if m:
                pos = m.end()
                continue
            ch = line[pos]
            loc = Loc(filename, lineno, pos + 1)
            if ch in ";#":
                break
            if ch == '"':
                value, pos = _string(line, pos, loc)
                tokens.append(Token("STRING", value, loc))
                continue
            m = _NUMBER.match(line, pos)
            if m:
                end = m.end()
                if end < len(line) and _NUMBER_TAIL.match(line, end):
                    bad = re.compile(r"[A-Za-z0-9_]*").match(line, pos).group()
                    raise AsmError(f"malformed number '{bad}' (expected decimal, 0x.., 0b.. or 0o..)", loc)
                digits = m.group().replace("_", "")
                try:
                    value = int(digits, 0) if digits[:2].lower() in ("0x", "0b", "0o") else int(digits, 10)
                except ValueError:
                    raise AsmError(f"malformed number '{m.group()}'", loc) from None
                tokens.append(Token("NUMBER", m.group(), loc, value))
                pos = end
                continue
            m = _NAME.match(line, pos) or _DIRECTIVE.match(line, pos)
            if m:
                kind = "DIRECTIVE" if ch == "." else "NAME"
                tokens.append(Token(kind, m.group(), loc))
                pos = m.end()
                continue
            for op in OPERATORS:
                if line.startswith(op, pos):
                    break
            else:
                raise AsmError(f"unexpected character {ch!r}", loc)
            if op in OPEN:
                stack.append((op, loc))
            elif op in CLOSE:
                if not stack or stack[-1][0] != CLOSE[op]:
                    raise AsmError(f"unmatched '{op}'", loc)
                stack.pop()
            tokens.append(Token("OP", op, loc))
            pos += len(op)
        if not stack:
            tokens.append(Token("NEWLINE", "\n", Loc(filename, lineno, len(line) + 1)))
    if stack:
        ch, loc = stack[-1]
        raise AsmError(f"'{ch}' is never closed (expected '{OPEN[ch]}')", loc)
    last = len(lines)
    tokens.append(Token("EOF", "", Loc(filename, last, len(lines[-1]) + 1 if lines else 1)))
    return tokens


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def _string(line, pos, loc):
    out, i = [], pos + 1
    while i < len(line):
        c = line[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\" and i + 1 < len(line):
            if line[i + 1] not in _ESCAPES:
                raise AsmError(f"unknown escape '\\{line[i + 1]}' in string",
                               Loc(loc.file, loc.line, i + 1))
            out.append(_ESCAPES[line[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    raise AsmError("string is never closed (expected '\"' before the end of the line)", loc)


class Cursor:
    """A read position in a token list, with ``expect`` that names what was wanted."""

    def __init__(self, tokens):
        self.tokens, self.i = tokens, 0

    def peek(self, k=0):
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def next(self):
        tok = self.peek()
        if tok.kind != "EOF":
            self.i += 1
        return tok

    def at_end_of_line(self):
        return self.peek().kind in ("NEWLINE", "EOF")

    def accept_op(self, *ops):
        if self.peek().is_op(*ops):
            return self.next()
        return None

    def expect_op(self, op, what):
        tok = self.peek()
        if not tok.is_op(op):
            raise AsmError(f"expected '{op}' {what}, found {tok.describe()}", tok.loc)
        return self.next()

    def expect_kind(self, kind, what):
        tok = self.peek()
        if tok.kind != kind:
            raise AsmError(f"expected {what}, found {tok.describe()}", tok.loc)
        return self.next()
