"""Resource limits of the assembler: what one source may cost before it is refused.

Every limit is checked before the work it bounds (sizes before reading and tokenizing,
shift widths before shifting, counts as statements are produced), so a crafted file of
a few bytes fails at once with ``file:line:col`` instead of taking gigabytes or hours.
The defaults hold whole networks (a ResNet-18 instruction stream is a few hundred
thousand instructions) with room to spare; ``vta-asm --max-...`` and the ``limits=``
parameter of the library functions raise them. See assembler/README.md, "Limits".
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import AsmError, Loc


@dataclass(frozen=True)
class Limits:
    source_bytes: int = 64 << 20    # one file (the top one or an include)
    line_bytes: int = 1 << 20       # one line (a long values= list may span lines)
    int_bits: int = 64              # magnitude of every literal and intermediate value
    rept: int = 1 << 22             # .rept passes plus the statements they produce
    insns: int = 1 << 20            # instructions in the program
    uops: int = 1 << 20             # micro-ops in the program

    #: (field, command-line flag, what it bounds) for the CLI and messages.
    FLAGS = (("source_bytes", "--max-source-bytes", "bytes per source file"),
             ("line_bytes", "--max-line-bytes", "characters per line"),
             ("int_bits", "--max-int-bits", "bits of any integer value"),
             ("rept", "--max-rept", ".rept passes plus the lines they produce"),
             ("insns", "--max-insns", "instructions"),
             ("uops", "--max-uops", "micro-ops"))

    def __post_init__(self):
        for name, _, _ in self.FLAGS:
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, not {v!r}")

    @staticmethod
    def flag(name):
        return next(f for n, f, _ in Limits.FLAGS if n == name)

    def exceeded(self, name, what):
        """'WHAT, more than the limit of N UNITS (raise it with --max-...)'."""
        unit = next(w for n, _, w in self.FLAGS if n == name)
        return f"{what}, more than the limit of {getattr(self, name):,} {unit} (raise it with {self.flag(name)})"


DEFAULT = Limits()

# A line that starts (after blanks and labels) with a mnemonic: counted on the raw text so
# a file holding millions of them fails before it is tokenized.
_LABELS = r"^[ \t]*(?:[A-Za-z_][A-Za-z0-9_]*[ \t]*:[ \t]*)*"
_INSN_LINE = re.compile(_LABELS + r"(?:LOAD|STORE|GEMM|ALU|FINISH)\b", re.M | re.I)
_UOP_LINE = re.compile(_LABELS + r"UOP\b", re.M | re.I)


def _loc_of(text, filename, pos):
    line = text.count("\n", 0, pos) + 1
    return Loc(filename, line, pos - (text.rfind("\n", 0, pos) + 1) + 1)


def check_text(text, filename, limits, insn_cap=None):
    """Refuse a text that is too large, has a too-long line, or more instruction or
    micro-op lines than the program may hold. Runs at C speed, before tokenizing.

    ``insn_cap`` lowers the instruction limit (to what the config's DRAM holds)."""
    if len(text) > limits.source_bytes:
        raise AsmError(limits.exceeded("source_bytes", f"the source has {len(text):,} characters"),
                       file=filename)
    # Anchored at line starts, so each line is scanned once (linear in the text).
    m = re.search(r"^[^\n]{%d}" % (limits.line_bytes + 1), text, re.M)
    if m:
        loc = _loc_of(text, filename, m.start())
        end = text.find("\n", m.start())
        n = (len(text) if end < 0 else end) - m.start()
        raise AsmError(limits.exceeded("line_bytes", f"line {loc.line} has {n:,} characters"), loc)
    for name, rx, cap in (("insns", _INSN_LINE, insn_cap), ("uops", _UOP_LINE, None)):
        limit = min(getattr(limits, name), cap or getattr(limits, name))
        over = next(itertools.islice(rx.finditer(text), limit, None), None)
        if over:
            raise AsmError(count_message(limits, name, limit, "lines"), _loc_of(text, filename, over.start()))


def count_message(limits, name, limit, unit="statements"):
    """The error for the (limit+1)-th instruction or micro-op; ``unit`` says what was
    counted: "lines" on the raw text, "statements" after .rept and .if, or a note."""
    what = ("instruction" if name == "insns" else "micro-op") + (" lines" if unit == "lines" else "s")
    note = "" if unit in ("lines", "statements") else f" ({unit})"
    if limit < getattr(limits, name):
        return f"more than {limit:,} {what}{note}, more than the DRAM of the config holds"
    return f"more than {limit:,} {what}{note}, the limit (raise it with {limits.flag(name)})"


def read_source(path, limits, loc=None):
    """The text of a source file, its size checked before it is read."""
    path = Path(path)
    where = dict(loc=loc) if loc is not None else dict(file=str(path))
    try:
        size = path.stat().st_size
        if size > limits.source_bytes:
            raise AsmError(limits.exceeded("source_bytes", f"'{path.name}' has {size:,} bytes"), **where)
        return path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise AsmError(f"cannot read '{path}': {getattr(e, 'strerror', None) or e}", **where) from None
