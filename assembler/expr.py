"""Expressions in operands: parsing to a small tree and evaluating it.

Grammar (C precedence, lowest first): ``||``, ``&&``, ``|``, ``^``, ``&``, ``== !=``,
``< <= > >=``, ``<< >>``, ``+ -``, ``* / %``, unary ``- ~ !``, then atoms: numbers,
names (config constants such as ``BLOCK_IN``, ``.equ`` constants, segment and micro-op
labels), ``len(name)`` and parenthesized expressions. ``/`` and ``%`` are floor division
and modulo. ``(a, b)`` is a tuple and ``[a, b, ...]`` a list (for operands that take
several values); a string ``"..."`` is a file name or message.

A label evaluates to an :class:`Addr` (a relocatable address); ``addr + n``, ``addr - n``
and ``addr - addr`` are the only arithmetic allowed on it.
"""
from __future__ import annotations

from dataclasses import dataclass

from vta.isa.errors import shorten
from .errors import AsmError, Loc

# ---- tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: int
    loc: Loc


@dataclass(frozen=True)
class Sym:
    name: str
    loc: Loc


@dataclass(frozen=True)
class Str:
    value: str
    loc: Loc


@dataclass(frozen=True)
class Unary:
    op: str
    operand: object
    loc: Loc


@dataclass(frozen=True)
class Binary:
    op: str
    left: object
    right: object
    loc: Loc


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple
    loc: Loc


@dataclass(frozen=True)
class Seq:
    """A tuple ``(a, b)`` (bracket "(") or a list ``[a, b]`` (bracket "[")."""
    bracket: str
    items: tuple
    loc: Loc
    trailing: bool = False   # "(x,)": a one-element tuple, not a parenthesized x


# Binding power of each binary operator (higher binds tighter), C precedence.
_POWER = {op: p for p, ops in enumerate(
    (("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="),
     ("<<", ">>"), ("+", "-"), ("*", "/", "%")), 1) for op in ops}
FUNCTIONS = ("len",)


def parse_value(cur):
    """An operand value: an expression, a tuple, a list or a string."""
    tok = cur.peek()
    if tok.kind == "STRING":
        cur.next()
        return Str(tok.text, tok.loc)
    if tok.kind == "OP" and tok.text == "[":
        return _seq(cur, "[", "]")
    return parse_expr(cur)


_ENDS = (",", "]", ")")


def _plain_number(cur):
    """Fast path for the common ``42,`` / ``-7]`` inside tuples and long data lists."""
    tok = cur.peek()
    if tok.kind == "NUMBER":
        after = cur.peek(1)
        if after.kind == "OP" and after.text in _ENDS:
            cur.next()
            return Num(tok.value, tok.loc)
    elif tok.kind == "OP" and tok.text == "-":
        num, after = cur.peek(1), cur.peek(2)
        if num.kind == "NUMBER" and after.kind == "OP" and after.text in _ENDS:
            cur.next()
            cur.next()
            return Num(-num.value, tok.loc)
    return None


def parse_expr(cur, min_power=1):
    """Precedence climbing: left-associative binary operators of at least ``min_power``."""
    if min_power == 1:
        fast = _plain_number(cur)
        if fast is not None:
            return fast
    left = _unary(cur)
    while True:
        tok = cur.peek()
        power = _POWER.get(tok.text) if tok.kind == "OP" else None
        if power is None or power < min_power:
            return left
        cur.next()
        right = parse_expr(cur, power + 1)
        left = Binary(tok.text, left, right, tok.loc)


def _unary(cur):
    tok = cur.peek()
    if tok.kind == "OP" and tok.text in ("-", "~", "!", "+"):
        cur.next()
        return Unary(tok.text, _unary(cur), tok.loc)
    return _atom(cur)


def _atom(cur):
    tok = cur.peek()
    if tok.kind == "NUMBER":
        cur.next()
        return Num(tok.value, tok.loc)
    if tok.kind == "NAME":
        cur.next()
        if tok.text in FUNCTIONS and cur.peek().is_op("("):
            cur.next()
            args = [] if cur.peek().is_op(")") else [parse_expr(cur)]
            while cur.accept_op(","):
                args.append(parse_expr(cur))
            cur.expect_op(")", f"to close {tok.text}(")
            return Call(tok.text, tuple(args), tok.loc)
        return Sym(tok.text, tok.loc)
    if tok.is_op("("):
        seq = _seq(cur, "(", ")")
        # "(x)" is a parenthesized expression; "(x,)" and "(x, y)" are tuples.
        return seq.items[0] if len(seq.items) == 1 and not seq.trailing else seq
    raise AsmError(f"expected a value (number, name or '('), found {tok.describe()}", tok.loc)


def _seq(cur, open_, close):
    start = cur.expect_op(open_, "")
    items, trailing = [], False
    while not cur.peek().is_op(close):
        items.append(parse_value(cur) if open_ == "[" else _tuple_item(cur))
        trailing = False
        if not cur.accept_op(","):
            break
        trailing = True
    tok = cur.peek()
    if not tok.is_op(close):
        raise AsmError(f"expected ',' or '{close}' in {'list' if open_ == '[' else 'tuple'}, "
                       f"found {tok.describe()}", tok.loc)
    cur.next()
    return Seq(open_, tuple(items), start.loc, trailing or not items)


def _tuple_item(cur):
    tok = cur.peek()
    if tok.kind == "STRING" or tok.is_op("["):
        return parse_value(cur)
    return parse_expr(cur)


# ---- values -------------------------------------------------------------------


@dataclass(frozen=True)
class Addr:
    """A relocatable address: label ``name`` of ``kind`` "data" (``value`` = byte address)
    or "uop" (``value`` = micro-op index in the micro-op stream)."""
    name: str
    kind: str
    value: int

    def __add__(self, n):
        return Addr(self.name, self.kind, self.value + n)


class Env:
    """What names mean while evaluating: constants, labels and ``len``.

    ``lookup(name)`` returns an int, an Addr or None (unknown); ``length(name)`` the
    ``len()`` of a label or None; ``unknown(name, loc)`` builds the error for a name
    nobody defines (so the message can list what is defined). ``bits``: every value
    computed must have a magnitude below 2**bits (Limits.int_bits).
    """

    def __init__(self, constants, labels=None, lengths=None, describe_names=None, bits=64):
        self.constants, self.labels = constants, labels or {}
        self.lengths = lengths or {}
        self.describe_names = describe_names
        self.bits = bits

    def unknown(self, name, loc):
        hint = f" ({self.describe_names()})" if self.describe_names else ""
        return AsmError(f"unknown symbol '{shorten(name)}'{hint}", loc)


def evaluate(node, env):
    """Evaluate an expression tree to an int or an Addr."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Sym):
        if node.name in env.constants:
            return env.constants[node.name]
        if node.name in env.labels:
            return env.labels[node.name]
        raise env.unknown(node.name, node.loc)
    if isinstance(node, Unary):
        v = evaluate(node.operand, env)
        _no_addr(v, node.op, node.loc)
        return _fits({"-": -v, "+": v, "~": ~v, "!": int(not v)}[node.op], env.bits, node)
    if isinstance(node, Binary):
        return _binary(node, evaluate(node.left, env), evaluate(node.right, env), env.bits)
    if isinstance(node, Call):
        if len(node.args) != 1 or not isinstance(node.args[0], Sym):
            raise AsmError(f"{node.func}() takes one label name", node.loc)
        name = node.args[0].name
        if name not in env.lengths:
            if name in env.labels or name in env.constants:
                raise AsmError(f"len({name}): '{name}' is not a segment or micro-op label", node.args[0].loc)
            raise env.unknown(name, node.args[0].loc)
        return env.lengths[name]
    if isinstance(node, Seq):
        raise AsmError(f"expected a single value, found a {'tuple' if node.bracket == '(' else 'list'}", node.loc)
    if isinstance(node, Str):
        raise AsmError(f'expected a number, found string "{shorten(node.value)}"', node.loc)
    raise TypeError(node)


def _no_addr(v, op, loc):
    if isinstance(v, Addr):
        raise AsmError(f"cannot apply '{op}' to the address '{v.name}' "
                       "(only address + n, address - n and address - address are allowed)", loc)


def _fits(v, bits, node):
    """``v`` if its magnitude is below 2**bits, else an error at the operator."""
    if isinstance(v, int) and (v if v >= 0 else -v).bit_length() > bits:
        raise AsmError(f"'{node.op}' gives a value wider than {bits} bits (the limit; raise it "
                       "with --max-int-bits)", node.loc)
    return v


def _binary(node, a, b, bits=64):
    op, loc = node.op, node.loc
    if isinstance(a, Addr) or isinstance(b, Addr):
        if op == "+" and not (isinstance(a, Addr) and isinstance(b, Addr)):
            return a + b if isinstance(a, Addr) else b + a
        if op == "-" and isinstance(a, Addr) and not isinstance(b, Addr):
            return a + (-b)
        if op == "-" and isinstance(a, Addr) and isinstance(b, Addr) and a.kind == b.kind:
            return a.value - b.value
        _no_addr(a if isinstance(a, Addr) else b, op, loc)
    if op in ("/", "%") and b == 0:
        raise AsmError(f"division by zero in '{op}'", loc)
    if op in ("<<", ">>") and b < 0:
        raise AsmError(f"negative shift count {b}", loc)
    # Operands are at most ``bits`` wide, so only a left shift can cost more than that:
    # bound it before computing it (1 << 10**11 would take gigabytes).
    if op == "<<" and a and abs(a).bit_length() + b > bits:
        raise AsmError(f"'<<' by {b} gives a value wider than {bits} bits (the limit; raise it "
                       "with --max-int-bits)", loc)
    return _fits({
        "||": lambda: int(bool(a) or bool(b)), "&&": lambda: int(bool(a) and bool(b)),
        "|": lambda: a | b, "^": lambda: a ^ b, "&": lambda: a & b,
        "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
        "<=": lambda: int(a <= b), ">": lambda: int(a > b), ">=": lambda: int(a >= b),
        "<<": lambda: a << b, ">>": lambda: a >> b, "+": lambda: a + b, "-": lambda: a - b,
        "*": lambda: a * b, "/": lambda: a // b, "%": lambda: a % b,
    }[op](), bits, node)
