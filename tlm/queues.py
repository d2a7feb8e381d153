"""Command queues (fetch -> load/compute/store) and dependence-token queues.

Both are bounded SimPy stores: a put blocks while the queue is full, a get while it
is empty. A token becomes visible to its consumer ``dep_latency`` cycles after it was
pushed (the crossing time of the token FIFO).
"""
from __future__ import annotations

import simpy

#: The four dependence queues: name -> (producer stage, consumer stage).
DEP_QUEUES = {
    "l2g": ("load", "compute"),
    "g2l": ("compute", "load"),
    "g2s": ("compute", "store"),
    "s2g": ("store", "compute"),
}
DEP_LABELS = {"l2g": "load->compute", "g2l": "compute->load",
              "g2s": "compute->store", "s2g": "store->compute"}


class BoundedQueue:
    """A bounded FIFO with occupancy statistics and optional trace counters."""

    def __init__(self, env, name, capacity, tracer=None):
        self.env, self.name, self.capacity, self.tracer = env, name, capacity, tracer
        self.store = simpy.Store(env, capacity=capacity)
        self.puts = 0
        self.max_occupancy = 0

    def __len__(self):
        return len(self.store.items)

    @property
    def full(self):
        return len(self.store.items) >= self.capacity

    def _count(self):
        n = len(self.store.items)
        if n > self.max_occupancy:
            self.max_occupancy = n
        if self.tracer is not None:
            self.tracer.counter(self.name, self.env.now, n)

    def put(self, item):
        """Generator: put ``item``, waiting while the queue is full."""
        yield self.store.put(item)
        self.puts += 1
        self._count()

    def get(self):
        """Generator: take the oldest item, waiting while the queue is empty."""
        item = yield self.store.get()
        self._count()
        return item

    def stats(self):
        return {"capacity": self.capacity, "pushes": self.puts,
                "max_occupancy": self.max_occupancy, "left": len(self)}


class DepQueue(BoundedQueue):
    """A dependence-token queue; tokens carry the cycle they become visible."""

    def __init__(self, env, name, capacity, latency, tracer=None):
        super().__init__(env, name, capacity, tracer)
        self.latency = latency
        self.label = DEP_LABELS[name]

    def push(self):
        yield from self.put(self.env.now + self.latency)

    def pop(self):
        ready = yield from self.get()
        if ready > self.env.now:
            yield self.env.timeout(ready - self.env.now)
