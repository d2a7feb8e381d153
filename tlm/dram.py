"""DRAM: a numpy byte array behind one AXI port, with a timing model.

Reads (fetch, load, compute's uop/acc loads) are granted one request at a time by an
arbiter (a SimPy resource of capacity 1: requests are served in arrival order, which
is round-robin while every requester has at most one request outstanding). Writes
(store) use the separate AW/W/B channels and do not wait for reads.

A request is one contiguous run of bytes. It is widened to whole bus beats (a micro-op
load may start mid-beat); in hardware it is split into AXI INCR bursts (<= 256 beats,
within a 4 KiB page) issued back to back, so a read costs ``axi_req_cycles`` (grant to
first AR) + ``latency`` + one cycle per ``bytes_per_cycle`` bytes (at most one beat per
cycle), and the read port is held for all of it. See tlm/README.md for the cost table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy

from .errors import ProgramError

REQUESTERS = ("fetch", "load", "compute", "store")


@dataclass
class PortStats:
    """Traffic of one requester on the DRAM port."""
    read_requests: int = 0
    write_requests: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    busy_cycles: int = 0    # cycles the port was transferring for this requester
    wait_cycles: int = 0    # cycles spent waiting for the arbiter

    def as_dict(self):
        return dict(self.__dict__)


class Dram:
    """Byte-addressed DRAM of ``cfg.dram_bytes`` bytes, allocated on first use."""

    def __init__(self, env, cfg, tracer=None):
        self.env, self.cfg, self.tracer = env, cfg, tracer
        self.size = cfg.dram_bytes
        self.latency = cfg.dram_latency
        self.bus_bytes = cfg.bus_bytes
        # A beat cannot move more than the bus width per cycle.
        self.bytes_per_cycle = min(float(cfg.dram_bytes_per_cycle), float(cfg.bus_bytes))
        self._mem = None
        self.read_port = simpy.Resource(env, capacity=1)
        self.write_port = simpy.Resource(env, capacity=1)
        self.stats = {name: PortStats() for name in REQUESTERS}
        self.req_cycles = cfg.timing["axi_req_cycles"]
        self.write_log = []  # (start, end, tag) of every timed write, in order
        self.watch = None    # tlm.watch.Watch: warnings about the regions accessed
        self.faults = None   # tlm.faults.TlmFaults: injected error responses (fault mode)

    # ---- storage ---------------------------------------------------------------
    @property
    def mem(self):
        if self._mem is None:
            # np.zeros maps pages lazily, so an untouched 64 MiB DRAM costs nothing.
            self._mem = np.zeros(self.size, dtype=np.uint8)
        return self._mem

    def check(self, addr, nbytes, what):
        """Raise ProgramError unless [addr, addr+nbytes) lies inside the DRAM."""
        if addr < 0 or addr + nbytes > self.size:
            raise ProgramError(f"{what} accesses DRAM bytes [{addr:#x}, {addr + nbytes:#x}), "
                               f"outside the {self.size >> 20} MiB DRAM [0, {self.size:#x})")

    def poke(self, addr, data):
        """Write bytes without timing (host side: loading the program image)."""
        data = np.frombuffer(bytes(data), dtype=np.uint8) if isinstance(data, (bytes, bytearray)) \
            else np.asarray(data, dtype=np.uint8).ravel()
        self.check(addr, data.size, "host write")
        self.mem[addr:addr + data.size] = data

    def peek(self, addr, nbytes):
        """Read bytes without timing (host side: reading results back)."""
        self.check(addr, nbytes, "host read")
        return self.mem[addr:addr + nbytes].copy()

    # ---- timing ----------------------------------------------------------------
    def transfer_cycles(self, addr, nbytes):
        """Cycles the read port is held for one request of ``nbytes`` at ``addr``:
        grant-to-AR overhead + latency + the beats (its AXI bursts are issued back to
        back, so the latency is paid once per request)."""
        if nbytes <= 0:
            return 0
        return self.req_cycles + self.latency + self.data_cycles(self.beats(addr, nbytes))

    def beats(self, addr, nbytes):
        bus = self.bus_bytes
        return -(-(addr + nbytes) // bus) - addr // bus if nbytes > 0 else 0

    # ---- timed accesses (SimPy generators) --------------------------------------
    def data_start(self, grant):
        """Cycle the first beat of a read granted at ``grant`` arrives."""
        return grant + self.req_cycles + self.latency

    def data_cycles(self, beats):
        """Cycles ``beats`` beats take on the bus."""
        return math.ceil(beats * self.bus_bytes / self.bytes_per_cycle)

    def read(self, who, addr, nbytes, unit=None, hold=None, on_grant=None):
        """Timed read; ``yield from`` it to get a copy of the bytes.

        ``hold(grant_cycle, cycles)`` may lengthen the transfer when the reader accepts
        beats slower than they come (back-pressure keeps the port held); ``on_grant``
        is called with the grant cycle (fetch uses it to time each instruction's arrival).
        """
        self.check(addr, nbytes, f"{who} read")
        if self.watch is not None and unit is not None:
            self.watch.dram_access(unit, addr, nbytes, write=False)
        st = self.stats[who]
        t0 = self.env.now
        with self.read_port.request() as req:
            yield req
            waited = self.env.now - t0
            cyc = self.transfer_cycles(addr, nbytes)
            if hold is not None and nbytes > 0:
                cyc = max(cyc, hold(self.env.now, cyc))
            if on_grant is not None:
                on_grant(self.env.now)
            if cyc:
                yield self.env.timeout(cyc)
            if self.faults is not None:
                self.faults.check("r", addr, nbytes, self.env.now)
        st.read_requests += 1
        st.bytes_read += nbytes
        st.busy_cycles += cyc
        st.wait_cycles += waited
        if unit is not None:
            unit.stall_cycles += waited
        if self.tracer is not None:
            self.tracer.slice("dram read", f"{who} {nbytes} B @{addr:#x}", t0 + waited, cyc, cat="dram")
        return self.mem[addr:addr + nbytes].copy()

    def write(self, who, addr, data, unit=None, tag=None):
        """Timed write of a uint8 array: W beats on the write channel (held), data
        committed when the last beat is sent. The B response latency is the caller's."""
        nbytes = int(data.size)
        self.check(addr, nbytes, f"{who} write")
        if self.watch is not None and unit is not None:
            self.watch.dram_access(unit, addr, nbytes, write=True)
        st = self.stats[who]
        t0 = self.env.now
        with self.write_port.request() as req:
            yield req
            waited = self.env.now - t0
            # Write bursts: same splitting, but the request latency is paid once at the
            # end (B response), by the store unit, not per burst on the W channel.
            beats_cyc = math.ceil(self.beats(addr, nbytes) * self.bus_bytes / self.bytes_per_cycle)
            if beats_cyc:
                yield self.env.timeout(beats_cyc)
            self.mem[addr:addr + nbytes] = data
            self.write_log.append((addr, addr + nbytes, tag))
            if self.faults is not None:   # its B response comes dram.latency later
                self.faults.check("b", addr, nbytes, self.env.now + self.latency)
        st.write_requests += 1
        st.bytes_written += nbytes
        st.busy_cycles += beats_cyc
        st.wait_cycles += waited
        if unit is not None:
            unit.stall_cycles += waited
        if self.tracer is not None:
            self.tracer.slice("dram write", f"{who} {nbytes} B @{addr:#x}", t0 + waited, beats_cyc,
                              cat="dram")

    def last_writer(self, addr):
        """Tag (the instruction index, for stores) of the last timed write covering a byte."""
        for start, end, tag in reversed(self.write_log):
            if start <= addr < end:
                return tag
        return None

    def totals(self):
        return {
            "bytes_read": sum(s.bytes_read for s in self.stats.values()),
            "bytes_written": sum(s.bytes_written for s in self.stats.values()),
            "read_requests": sum(s.read_requests for s in self.stats.values()),
            "write_requests": sum(s.write_requests for s in self.stats.values()),
            "read_busy_cycles": sum(s.busy_cycles for n, s in self.stats.items() if n != "store"),
            "write_busy_cycles": self.stats["store"].busy_cycles,
        }
