"""Source text -> tokens, each with its file:line:col.

Tokens: NAME (identifiers and mnemonics), DIRECTIVE (``.data``), NUMBER (decimal,
``0x``, ``0b``, ``0o``, with ``_`` separators), STRING (``"..."``), OP (punctuation
and operators), NEWLINE and EOF. Comments run from ``;`` or ``#`` to the end of the
line. Inside ``(...)`` and ``[...]`` newlines are not tokens, so a long value list
may span lines.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from vta.isa.errors import shorten
from .errors import AsmError, Loc

# Longest operators first so "<<" wins over "<".
OPERATORS = ("<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
             "=", ",", "(", ")", "[", "]", ":", "+", "-", "*", "/", "%", "&", "|", "^", "~",
             "!", "<", ">")
OPEN, CLOSE = {"(": ")", "[": "]"}, {")": "(", "]": "["}

_NUMBER_RE = r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9][0-9_]*"
# One pattern for every token start; the group that matched tells the kind.
_TOKEN = re.compile("|".join([
    r"(?P<space>[ \t\r\f\v]+)",
    r"(?P<comment>[;#])",
    r'(?P<string>")',
    rf"(?P<number>(?:{_NUMBER_RE})[A-Za-z0-9_]*)",
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)",
    r"(?P<directive>\.[A-Za-z_][A-Za-z0-9_]*)",
    "(?P<op>" + "|".join(re.escape(op) for op in OPERATORS) + ")",
]))
_NUMBER = re.compile(rf"(?:{_NUMBER_RE})\Z")


class Token(NamedTuple):
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
            return f'string "{shorten(self.text)}"'
        return f"'{shorten(self.text)}'"


# Bits per digit of each base, to bound a literal's size before converting it.
_DIGIT_BITS = {"0x": 4, "0o": 3, "0b": 1}


def _number(text, loc, max_bits=64):
    if not _NUMBER.match(text):
        raise AsmError(f"malformed number '{shorten(text)}' (expected decimal, 0x.., 0b.. or 0o..)", loc)
    digits = text.replace("_", "")
    prefix = digits[:2].lower()
    body = (digits[2:] if prefix in _DIGIT_BITS else digits).lstrip("0")
    # Decimal digits carry log2(10) < 3.33 bits; converting a huge literal is quadratic.
    if len(body) * _DIGIT_BITS.get(prefix, 3.33) > max_bits + 4:
        raise AsmError(f"number '{shorten(text)}' is wider than {max_bits} bits (the limit; "
                       "raise it with --max-int-bits)", loc)
    try:
        value = int(digits, 0) if prefix in _DIGIT_BITS else int(digits, 10)
    except ValueError:
        raise AsmError(f"malformed number '{shorten(text)}'", loc) from None
    if value.bit_length() > max_bits:
        raise AsmError(f"number '{shorten(text)}' is wider than {max_bits} bits (the limit; "
                       "raise it with --max-int-bits)", loc)
    return value


def tokenize(text, filename="<string>", max_bits=64):
    """Split ``text`` into tokens; raises AsmError at the first character it cannot read.
    Literals wider than ``max_bits`` are errors."""
    tokens, stack = [], []   # stack: open brackets (char, loc)
    append = tokens.append
    lines = text.split("\n")
    for lineno, line in enumerate(lines, 1):
        pos, n = 0, len(line)
        while pos < n:
            m = _TOKEN.match(line, pos)
            if m is None:
                raise AsmError(f"unexpected character {shorten(repr(line[pos]))}", Loc(filename, lineno, pos + 1))
            kind, tok = m.lastgroup, m.group()
            if kind == "space":
                pos = m.end()
                continue
            if kind == "comment":
                break
            loc = Loc(filename, lineno, pos + 1)
            if kind == "string":
                value, pos = _string(line, pos, loc)
                append(Token("STRING", value, loc))
                continue
            pos = m.end()
            if kind == "number":
                append(Token("NUMBER", tok, loc, _number(tok, loc, max_bits)))
            elif kind == "name":
                append(Token("NAME", tok, loc))
            elif kind == "directive":
                append(Token("DIRECTIVE", tok, loc))
            else:
                if tok in OPEN:
                    stack.append((tok, loc))
                elif tok in CLOSE:
                    if not stack or stack[-1][0] != CLOSE[tok]:
                        raise AsmError(f"unmatched '{tok}'", loc)
                    stack.pop()
                append(Token("OP", tok, loc))
        if not stack:
            append(Token("NEWLINE", "\n", Loc(filename, lineno, n + 1)))
    if stack:
        ch, loc = stack[-1]
        raise AsmError(f"'{ch}' is never closed (expected '{OPEN[ch]}')", loc)
    last = len(lines)
    append(Token("EOF", "", Loc(filename, last, len(lines[-1]) + 1 if lines else 1)))
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
        self.tokens, self.i, self.last = tokens, 0, len(tokens) - 1   # tokens end with EOF

    def peek(self, k=0):
        j = self.i + k
        return self.tokens[j if j < self.last else self.last]

    def next(self):
        j = self.i
        if j < self.last:
            self.i = j + 1
            return self.tokens[j]
        return self.tokens[self.last]

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
