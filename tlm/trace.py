"""Chrome trace-event JSON (opens in Perfetto / chrome://tracing).

One track (thread) per stage with each instruction as a slice named by its
disassembly, stall slices nested inside, one track per DRAM channel, and a counter
track per queue (occupancy). Timestamps are microseconds at the config's clock; each
slice's args carry its cycle numbers.
"""
from __future__ import annotations

import json

from vta.isa import VTAError

TRACKS = ("fetch", "load", "compute", "store", "dram read", "dram write")


class Tracer:
    def __init__(self, clock_mhz):
        self.us_per_cycle = 1.0 / clock_mhz
        self.events = []
        self.tids = {name: i + 1 for i, name in enumerate(TRACKS)}

    def slice(self, track, name, start, dur, cat="insn", args=None):
        a = {"cycle": int(start), "cycles": int(dur)}
        if args:
            a.update(args)
        self.events.append({"ph": "X", "pid": 1, "tid": self.tids[track], "name": name,
                            "cat": cat, "ts": start * self.us_per_cycle,
                            "dur": dur * self.us_per_cycle, "args": a})

    def counter(self, name, t, value):
        self.events.append({"ph": "C", "pid": 1, "name": f"queue {name}",
                            "ts": t * self.us_per_cycle, "args": {"entries": int(value)}})

    def document(self, title, meta=None):
        head = [{"ph": "M", "pid": 1, "name": "process_name", "args": {"name": title}}]
        for name, tid in self.tids.items():
            head.append({"ph": "M", "pid": 1, "tid": tid, "name": "thread_name", "args": {"name": name}})
            head.append({"ph": "M", "pid": 1, "tid": tid, "name": "thread_sort_index",
                         "args": {"sort_index": tid}})
        return {"traceEvents": head + self.events, "displayTimeUnit": "ns",
                "otherData": dict(meta or {})}

    def write(self, path, title, meta=None):
        try:
            with open(path, "w") as f:
                json.dump(self.document(title, meta), f)
        except OSError as e:
            raise VTAError(f"{path}: cannot write trace: {e.strerror}") from None
