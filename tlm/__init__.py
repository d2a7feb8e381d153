"""vta.tlm: SimPy transaction-level model of VTA (functional and timed).

``run_program(program) -> TlmResult`` runs a :class:`vta.isa.Program`; the units
(fetch, load, compute, store, queues, dram) mirror vta.rtl module for module.
"""
from .errors import DeadlockError, LeftoverTokensError, LimitError, ProgramError
from .top import Mismatch, Tlm, TlmResult, run_program

__all__ = ["run_program", "Tlm", "TlmResult", "Mismatch", "ProgramError", "DeadlockError",
           "LeftoverTokensError", "LimitError"]
