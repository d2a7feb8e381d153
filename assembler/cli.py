"""``vta-asm``: assemble a .s file into a bundle, or disassemble a bundle / raw insns.bin.

    vta-asm prog.s [-c CONFIG] [-o OUT.vtab] [--listing]
    vta-asm --disassemble FILE [-c CONFIG] [--uops UOPS.bin] [--listing] [-o OUT.s]

Errors print as one ``file:line:col: message`` line and exit with status 2. Resource
limits (``--max-source-bytes``, ``--max-line-bytes``, ``--max-int-bits``, ``--max-rept``,
``--max-insns``, ``--max-uops``) are in assembler/README.md, "Limits".
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vta.isa import VTAError, decode_insns, decode_uops, load_config, read_bundle, write_bundle
from vta.cli import positive_int

from .assemble import assemble_source
from .diagnostics import format_error
from .disasm import disassemble, format_listing, listing_rows
from .limits import DEFAULT, Limits, read_source

EXIT_ERROR = 2


def _parser():
    p = argparse.ArgumentParser(
        prog="vta-asm", description="VTA assembler and disassembler (syntax: assembler/README.md).")
    p.add_argument("file", help="assembly source (.s), or with --disassemble a bundle "
                   "directory (.vtab) or a raw insns.bin")
    p.add_argument("-c", "--config", default=None,
                   help="config name (default, tiny, ...) or YAML / vta_config.json path "
                        "(default: 'default'; for a bundle: the config it names)")
    p.add_argument("-o", "--output", help="bundle directory to write (default: SOURCE.vtab "
                   "next to the source); with --disassemble: the text file to write (default: stdout)")
    p.add_argument("-d", "--disassemble", action="store_true", help="disassemble FILE")
    p.add_argument("--uops", help="raw uops.bin to disassemble with a raw insns.bin")
    p.add_argument("--listing", action="store_true",
                   help="print address, hex words and source line for every micro-op and instruction")
    lim = p.add_argument_group("limits", "what one source may cost (assembler/README.md, Limits)")
    for name, flag, what in Limits.FLAGS:
        lim.add_argument(flag, dest=f"limit_{name}", type=positive_int, metavar="N",
                         default=getattr(DEFAULT, name), help=f"{what} (default: %(default)s)")
    return p


def _fail(message):
    print(message, file=sys.stderr)
    return EXIT_ERROR


def _read_raw(path, what):
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise VTAError(f"{path}: cannot read {what}: {e.strerror}") from None


def _assemble(args):
    src = Path(args.file)
    if src.is_dir():
        raise VTAError(f"{src}: is a directory; to disassemble a bundle use --disassemble")
    limits = Limits(**{name: getattr(args, f"limit_{name}") for name, _, _ in Limits.FLAGS})
    text = read_source(src, limits)
    asm = assemble_source(text, args.config or "default", str(src), limits)
    out = Path(args.output) if args.output else src.with_suffix(".vtab")
    prog = asm.program
    if args.listing:
        def where(s):   # line number, with the file name for included files
            return f"{s.loc.line:4d}" if s.loc.file == str(src) else f"{s.loc.file}:{s.loc.line}"
        rows = listing_rows(prog.insns, prog.uops, prog.config, prog.insn_base, prog.uop_base,
                            [f"{where(s)}  {s.text}" for s in asm.insn_stmts],
                            [f"{where(s)}  {s.text}" for s in asm.uop_stmts])
        sys.stdout.write(format_listing(rows))
    try:
        write_bundle(prog, out)
    except OSError as e:
        raise VTAError(f"{out}: cannot write the bundle: {e.strerror}") from None
    print(f"{out}: {len(prog.insns)} instructions, {len(prog.uops)} micro-ops, "
          f"{len(prog.segments)} segments, {len(prog.expect)} expected outputs "
          f"(config '{prog.config.name}')", file=sys.stderr)
    return 0


def _emit(text, output):
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text)
    except OSError as e:
        raise VTAError(f"{output}: cannot write: {e.strerror}") from None


def _disassemble(args):
    path = Path(args.file)
    if path.is_dir():
        if args.uops:
            raise VTAError("--uops goes with a raw insns.bin; a bundle has its own micro-ops")
        prog = read_bundle(path, args.config)
        if args.listing:
            _emit(format_listing(listing_rows(prog.insns, prog.uops, prog.config,
                                              prog.insn_base, prog.uop_base)), args.output)
        else:
            _emit(disassemble(prog, bundle=path), args.output)
        return 0
    cfg = load_config(args.config or "default")
    raw = _read_raw(path, "instructions")
    try:
        insns = decode_insns(raw, cfg)
    except VTAError as e:
        raise VTAError(f"{path}: {e}") from None
    uops = []
    if args.uops:
        raw_uops = _read_raw(args.uops, "micro-ops")  # names its own path
        try:
            uops = decode_uops(raw_uops, cfg)
        except VTAError as e:
            raise VTAError(f"{args.uops}: {e}") from None
    if args.listing:
        _emit(format_listing(listing_rows(insns, uops, cfg)), args.output)
    else:
        _emit(disassemble(insns, cfg, uops), args.output)
    return 0


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.uops and not args.disassemble:
        parser.error("--uops only goes with --disassemble")
    try:
        return _disassemble(args) if args.disassemble else _assemble(args)
    except VTAError as e:
        return _fail(format_error(e))
    except Exception as e:   # never a traceback for the user; say it is our bug
        return _fail(f"vta-asm: internal error ({type(e).__name__}: {e}); please report it")


if __name__ == "__main__":
    sys.exit(main())
