"""Errors a program can cause while the TLM runs it.

Each is a :class:`vta.isa.VTAError`, so command-line tools print it as a message
(never a traceback) and exit with code 2.
"""
from vta.isa import VTAError


class ProgramError(VTAError):
    """A program that the hardware cannot run as written (bad index, bad range, ...).

    ``stage`` and ``index`` name the unit and the instruction (0-based position in the
    instruction stream); ``text`` is its disassembly.
    """

    def __init__(self, message, *, stage=None, index=None, text=None, cycle=None):
        self.stage, self.index, self.text, self.cycle = stage, index, text, cycle
        self.detail = message
        where = ""
        if stage is not None:
            where += f"{stage}: "
        if index is not None:
            where += f"instruction {index}"
            if text:
                where += f" ({text})"
            where += ": "
        super().__init__(f"{where}{message}")


class DeadlockError(ProgramError):
    """No unit can make progress and FINISH has not completed.

    ``blocked`` is a list of (stage, index, disassembly, what it waits on) tuples.
    """

    def __init__(self, cycle, blocked, queues, has_finish=True):
        self.blocked, self.queues = blocked, queues
        lines = [f"deadlock at cycle {cycle}: FINISH never completed; no unit can proceed"]
        if not has_finish:
            lines[0] += " (the program has no FINISH instruction)"
        for stage, index, text, waiting in blocked:
            what = f"instruction {index} ({text})" if index is not None else "no instruction"
            lines.append(f"  {stage:8s} {what}: {waiting}")
        occupied = [f"{name}={n}" for name, n in queues.items() if n]
        lines.append("  queues: " + (", ".join(occupied) if occupied else "all empty"))
        super().__init__("\n".join(lines), cycle=cycle)


class LeftoverTokensError(ProgramError):
    """FINISH completed but dependence tokens were left in queues (an unbalanced program).

    ``result`` holds the complete :class:`~vta.tlm.top.TlmResult` of the run.
    """

    def __init__(self, leftovers, result):
        self.leftovers, self.result = leftovers, result
        what = ", ".join(f"{n} token{'s' if n != 1 else ''} in {name}" for name, n in leftovers.items())
        super().__init__(f"program finished with dependence tokens left over: {what} "
                         "(every push must be matched by a pop)")


class LimitError(ProgramError):
    """The run reached ``max_cycles`` or ``timeout`` (tlm/watch.py) before it completed."""
