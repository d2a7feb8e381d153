"""vta.assembler: VTA assembly text <-> Program (syntax in assembler/README.md).

``assemble_text`` / ``assemble_file`` / ``load_program`` build Programs, ``disassemble``
and ``format_insn`` turn them back into text; ``vta-asm`` is the command line.
"""
from .assemble import assemble_file, assemble_text, load_program
from .disasm import disassemble, format_insn, format_uop
from .errors import AsmError
from .limits import Limits

__all__ = ["AsmError", "Limits", "assemble_file", "assemble_text", "disassemble", "format_insn",
           "format_uop", "load_program"]
