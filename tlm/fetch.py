"""Fetch unit: reads the instruction stream from DRAM and dispatches it.

Instructions are read ``fetch_burst`` at a time (one DRAM request), then decoded and
pushed one per ``fetch_insn_cycles`` into a command queue by opcode (VTA_SPEC.md):
STORE -> store; LOAD of INP or WGT -> load; everything else (LOAD UOP/ACC, GEMM, ALU,
FINISH) -> compute. Fetch blocks while the target queue is full.
"""
from __future__ import annotations

from vta.isa import INSN_BYTES, MEM_INP, MEM_WGT, EncodingError, Load, Store, decode_insn

from .errors import ProgramError
from .unit import Unit


def route(insn):
    """Name of the command queue an instruction goes to."""
    if isinstance(insn, Store):
        return "store"
    if isinstance(insn, Load) and insn.memory_type in (MEM_INP, MEM_WGT):
        return "load"
    return "compute"


class Fetch(Unit):
    name = "fetch"

    def run(self):
        top, cfg, env = self.top, self.cfg, self.env
        burst = max(1, self.timing["fetch_burst"])
        per_insn = self.timing["fetch_insn_cycles"]
        pc, count = 0, top.insn_count
        while pc < count:
            n = min(burst, count - pc)
            t0, s0 = env.now, self.stall_cycles
            self.waiting = f"reading instructions {pc}..{pc + n - 1} from DRAM"
            raw = yield from top.dram.read(self.name, top.insn_base + pc * INSN_BYTES,
                                           n * INSN_BYTES, unit=self)
            self.waiting = None
            for i in range(n):
                index = pc + i
                try:
                    insn = decode_insn(raw[i * INSN_BYTES:(i + 1) * INSN_BYTES].tobytes(), cfg, index)
                except EncodingError as e:
                    raise ProgramError(str(e), stage=self.name, cycle=env.now) from None
                self.current = (index, insn)
                t_insn = env.now
                if per_insn:
                    yield env.timeout(per_insn)
                qname = route(insn)
                q = top.cmd[qname]
                yield from self.blocked_on(f"dispatch to the {qname} command queue: full "
                                           f"({q.capacity}/{q.capacity})", q.put((index, insn)))
                self.instructions += 1
                if self.tracer is not None:
                    self.tracer.slice(self.name, top.disasm(insn), t_insn, env.now - t_insn,
                                      cat="insn", args={"index": index, "queue": qname})
                self.by_opcode[insn.mnemonic] = self.by_opcode.get(insn.mnemonic, 0) + 1
            self.current = None
            pc += n
            self.busy_cycles += (env.now - t0) - (self.stall_cycles - s0)
        self.waiting = None
