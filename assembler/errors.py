"""Assembler errors: every one points at a file, a line and a column.

``str(err)`` is ``file:line:col: message``, the form editors and CI logs understand.
"""
from __future__ import annotations

from typing import NamedTuple

from vta.isa import VTAError


class Loc(NamedTuple):
    """A position in a source file (1-based line and column). A tuple: cheap to make."""
    file: str
    line: int
    col: int

    def __str__(self):
        return f"{self.file}:{self.line}:{self.col}"


class AsmError(VTAError):
    """A problem in assembly source, located at ``file:line:col``."""

    def __init__(self, message, loc=None, *, file=None, line=None, col=None):
        if loc is not None:
            file, line, col = loc.file, loc.line, loc.col
        self.file = file if file is not None else "<string>"
        self.line = line if line is not None else 1
        self.col = col if col is not None else 1
        self.message = message
        super().__init__(f"{self.file}:{self.line}:{self.col}: {message}")

    @property
    def loc(self):
        return Loc(self.file, self.line, self.col)
