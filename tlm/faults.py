"""Injected AXI error responses (SLVERR/DECERR): the TLM's fault mode and the RTL testbench's.

A fault is given as ``CHANNEL:TARGET[:RESP][:N]``, e.g. ``r:uop``, ``r:load:decerr``,
``b:store:2``:

- CHANNEL ``r`` (read data) or ``b`` (write response);
- TARGET a requester -- ``fetch`` (instructions), ``load`` (input/weight segments), ``uop``
  (compute's micro-op loads), ``acc`` (compute's acc/bias loads) on R, ``store`` (output
  segments) on B -- or the name of one of the program's DRAM regions (``insns``, ``uops`` or
  a segment name);
- RESP ``slverr`` (default) or ``decerr``;
- N: the N-th AXI burst (default 1) that touches the target's address range gets the error
  response (every beat of it on R; its B on B).

Requesters are told apart by address only (what a memory sees): the program's regions say
who reads them (vta.isa.Program.regions and segment roles). Bursts are the AXI master's:
INCR bursts of at most min(dram.max_burst_beats, 256) beats that never cross a 4 KiB page
(the TLM's Dram.split), so the TLM counts the same bursts as the RTL's testbench.
The run then ends with the error (``AxiFaultError``; the RTL: CTRL's error bit) and one
message, :func:`fault_message`, that both models share.
"""
from __future__ import annotations

from dataclasses import dataclass

from vta.isa.errors import shorten

from .errors import ProgramError

RESP_CODES = {"slverr": 2, "decerr": 3}
RESP_NAMES = {0: "OKAY", 1: "EXOKAY", 2: "SLVERR", 3: "DECERR"}
#: requester -> (channel, what it is called in reports)
REQUESTERS = {
    "fetch": ("r", "fetch (instruction read)"),
    "load": ("r", "load (input/weight read)"),
    "uop": ("r", "compute (micro-op load)"),
    "acc": ("r", "compute (acc/bias load)"),
    "store": ("b", "store (write)"),
}
# which requester reads (R) / writes (B) a segment of each role
_ROLE_READER = {"input": "load", "weight": "load", "bias": "acc", "output": "load"}


class AxiFaultError(ProgramError):
    """The run met an AXI error response (injected); the message names channel, address,
    requester and cycle; ``burst`` = (channel, address, beats)."""
    burst = None


@dataclass(frozen=True)
class FaultSpec:
    channel: str          # "r" or "b"
    target: str           # a requester of REQUESTERS or a region name
    resp: str = "slverr"
    nth: int = 1
    text: str = ""

    @property
    def code(self):
        return RESP_CODES[self.resp]


def parse_fault(text):
    """FaultSpec from ``CHANNEL:TARGET[:RESP][:N]``; ValueError with the reason."""
    raw = str(text).strip()
    parts = [p.strip() for p in raw.split(":")]
    usage = ("expected CHANNEL:TARGET[:slverr|decerr][:N], e.g. r:uop, r:load:decerr, b:store "
             f"(targets: {', '.join(REQUESTERS)} or a region name)")
    if len(parts) < 2 or len(parts) > 4 or not all(parts):
        raise ValueError(f"fault '{shorten(raw)}': {usage}")
    channel, target = parts[0].lower(), parts[1]
    if channel not in ("r", "b"):
        raise ValueError(f"fault '{shorten(raw)}': channel '{shorten(channel)}' is not r or b; "
                         f"{usage}")
    if target.lower() in REQUESTERS:
        target = target.lower()
        want = REQUESTERS[target][0]
        if want != channel:
            raise ValueError(f"fault '{shorten(raw)}': {target} answers on {want.upper()}, not on "
                             f"{channel.upper()}")
    resp, nth = "slverr", 1
    seen = set()
    for p in parts[2:]:
        low = p.lower()
        kind = "resp" if low in RESP_CODES else "n"
        if kind in seen:
            raise ValueError(f"fault '{shorten(raw)}': '{shorten(p)}' given twice; {usage}")
        seen.add(kind)
        if kind == "resp":
            resp = low
            continue
        try:
            nth = int(p)
        except ValueError:
            raise ValueError(f"fault '{shorten(raw)}': '{shorten(p)}' is neither slverr/decerr nor a "
                             f"burst number; {usage}") from None
        if not 1 <= nth <= 1 << 30:
            raise ValueError(f"fault '{shorten(raw)}': burst number {nth} must be >= 1")
    return FaultSpec(channel, target, resp, nth, raw)


def regions(program):
    """[(name, base, end, reader, writer)]: who reads (R) and writes (B) each DRAM region."""
    out = []
    for name, base, end in program.regions():
        if name == "insns":
            who = ("fetch", None)
        elif name == "uops":
            who = ("uop", None)
        else:
            role = program.segment(name).role
            who = (_ROLE_READER[role], "store" if role == "output" else None)
        out.append((name, base, end) + who)
    return out


def requester(regs, channel, addr, beats, bus_bytes):
    """(requester, region name) of a burst, from the first of ``regions(program)`` it
    overlaps; (None, None) outside them all."""
    end = addr + beats * bus_bytes
    for name, base, rend, rd, wr in regs:
        if addr < rend and base < end:
            return (rd if channel == "r" else wr), name
    return None, None


def fault_message(spec_text, channel, resp, addr, beats, bus_bytes, requester, region, cycle):
    """The one report of an error response (TLM fault mode and RTL testbench)."""
    name = RESP_NAMES.get(resp, str(resp)) if isinstance(resp, int) else resp.upper()
    who = REQUESTERS.get(requester, (None, requester or "unknown requester"))[1]
    where = f"region '{region}'" if region else "no program region"
    injected = f" (injected by --inject-fault {shorten(spec_text)})" if spec_text else ""
    return (f"AXI {name} response on {channel.upper()}{injected}: {who}, burst "
            f"[{addr:#x}, {addr + beats * bus_bytes:#x}) ({beats} beat{'s' if beats != 1 else ''}, "
            f"{where}), at cycle {cycle}; the AXI master set its error bit and the run stopped")


class FaultInjector:
    """Chooses the burst that gets the error response; ``hit`` is called per AXI burst."""

    def __init__(self, spec, program):
        if isinstance(spec, str):
            spec = parse_fault(spec)
        self.spec = spec
        regs = regions(program)
        names = [r[0] for r in regs]
        col = 3 if spec.channel == "r" else 4
        if spec.target in REQUESTERS:
            self.ranges = [(r[1], r[2], r[0]) for r in regs if r[col] == spec.target]
            if not self.ranges:
                raise ProgramError(f"--inject-fault {shorten(spec.text)}: the program has no region "
                                   f"that {REQUESTERS[spec.target][1]} accesses")
        elif spec.target in names:
            r = regs[names.index(spec.target)]
            if r[col] is None:
                raise ProgramError(f"--inject-fault {shorten(spec.text)}: region "
                                   f"'{shorten(spec.target)}' is never "
                                   f"{'written (only outputs are)' if col == 4 else 'read'}")
            self.ranges = [(r[1], r[2], r[0])]
        else:
            raise ProgramError(f"--inject-fault {shorten(spec.text)}: no requester or region named "
                               f"'{shorten(spec.target)}' (requesters: {', '.join(REQUESTERS)}; regions: "
                               f"{shorten(', '.join(names))})")
        self.regions = regs
        self.seen = 0
        self.fired = None   # (addr, beats, requester, region) of the faulted burst

    def who(self, channel, addr, beats, bus_bytes):
        return requester(self.regions, channel, addr, beats, bus_bytes)

    def hit(self, channel, addr, beats, bus_bytes):
        """True for the burst that gets the error (each burst is offered once, in order)."""
        if channel != self.spec.channel or self.fired is not None:
            return False
        end = addr + beats * bus_bytes
        if not any(addr < e and b < end for b, e, _ in self.ranges):
            return False
        self.seen += 1
        if self.seen != self.spec.nth:
            return False
        self.fired = (addr, beats) + self.who(channel, addr, beats, bus_bytes)
        return True

    def message(self, cycle, bus_bytes):
        addr, beats, who, region = self.fired
        return fault_message(self.spec.text, self.spec.channel, self.spec.resp, addr, beats,
                             bus_bytes, who, region, cycle)


class TlmFaults:
    """Fault mode of the TLM's Dram: each request's bursts (as Dram.split cuts them) are
    offered to a FaultInjector; the chosen one ends the run with AxiFaultError at the cycle
    its response arrives (R: its first beat; B: its B)."""

    def __init__(self, spec, program, dram):
        self.injector = FaultInjector(spec, program)
        self.dram = dram

    def check(self, channel, addr, bursts):
        """``bursts``: (beats, response cycle) of each burst of a request at ``addr``."""
        bus = self.dram.bus_bytes
        a = addr - addr % bus
        for n, cycle in bursts:
            if self.injector.hit(channel, a, n, bus):
                err = AxiFaultError(self.injector.message(cycle, bus), cycle=cycle)
                err.burst = (channel, a, n)
                self.dram.env.process(self._fail(err, cycle))
                return
            a += n * bus

    def _fail(self, err, cycle):
        env = self.dram.env
        if cycle > env.now:
            yield env.timeout(cycle - env.now)
        raise err
