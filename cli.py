"""What the command-line tools share (vta-tlm, vta-rtl, vta-fpga): choosing the program a
command runs, and running a subcommand with the one error convention (exit 2, one line).

Command-line modules are the top layer (docs/architecture.md): this one may import any part.
"""
from __future__ import annotations

import argparse

import sys

from vta.isa import VTAError

EXIT_BAD_INPUT = 2


def positive_int(text):
    """argparse type: an integer >= 1 (decimal or 0x/0o/0b); the error quotes what was given."""
    try:
        v = int(text, 0)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text[:40]!r}")
    return v


def program_from_args(program, workload, cfg, default_workload=None):
    """The Program named on a command line: an assembly source / bundle path, or a built-in
    workload (``default_workload`` when neither is given; without one, that is an error)."""
    if program and workload:
        raise VTAError("give either PROGRAM or --workload, not both")
    if program:
        from vta.assembler import load_program
        return load_program(program, cfg)
    if not (workload or default_workload):
        raise VTAError("give a PROGRAM (.s or .vtab) or --workload NAME")
    from vta.compiler import build_workload
    return build_workload(workload or default_workload, cfg)


def run_command(prog, parser, argv=None):
    """Parse ``argv`` and run the chosen subcommand (``func``); bad input is one line on
    stderr and exit 2, never a traceback."""
    a = parser.parse_args(argv)
    try:
        return a.func(a)
    except VTAError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:
        print(f"{prog}: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
