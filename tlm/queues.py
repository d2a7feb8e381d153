"""Command queues (fetch -> load/compute/store) and dependence-token queues.

Both are bounded SimPy stores: a put blocks while the queue is full, a get while it
is empty. A token becomes visible to its consumer ``dep_latency`` cycles after it was
pushed (the crossing time of the token FIFO).
"""
from __future__ import annotations

from simpy.events import Event, Timeout

from .unit import advance, next_up

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
    """A bounded FIFO with occupancy statistics and optional trace counters.

    It schedules the events simpy.Store would, at the same moments (so runs are event for
    event the same), with less machinery: a put succeeds at once if there is room, else
    waits; a get succeeds at once if there is an item, else waits. Only the head waiter
    is tried, when a put is made (for puts) or a get is made (for gets), and when a get
    (for puts) or a put (for gets) is processed."""

    def __init__(self, env, name, capacity, tracer=None):
        self.env, self.name, self.capacity, self.tracer = env, name, capacity, tracer
        self.items = []
        self._putters = []   # [(event, item)] waiting for room
        self._getters = []   # [event] waiting for an item
        self.puts = 0
        self.max_occupancy = 0

    def __len__(self):
        return len(self.items)

    @property
    def full(self):
        return len(self.items) >= self.capacity

    def _count(self):
        n = len(self.items)
        if n > self.max_occupancy:
            self.max_occupancy = n
        if self.tracer is not None:
            self.tracer.counter(self.name, self.env._now, n)

    def _serve_put(self, _event=None):
        if self._putters and len(self.items) < self.capacity:
            ev, item = self._putters.pop(0)
            self.items.append(item)
            ev.succeed()

    def _serve_get(self, _event=None):
        if self._getters and self.items:
            self._getters.pop(0).succeed(self.items.pop(0))

    def put_now(self, item):
        """Put ``item`` if put() would without waiting: room, and SimPy would process the
        put next (do what that does). True if put. (A stage's hot path: no generator.)"""
        if self._putters or len(self.items) >= self.capacity or not next_up(self.env):
            return False
        items = self.items
        items.append(item)
        if self._getters:
            self._serve_get()
        self.puts += 1
        if len(items) > self.max_occupancy or self.tracer is not None:   # (_count, inline)
            self._count()
        return True

    def get_now(self):
        """The oldest item if get() would take it without waiting (an item, and SimPy
        would process the get next), else None (items are never None)."""
        if not self.items or self._getters or not next_up(self.env):
            return None
        items = self.items
        item = items.pop(0)
        if self._putters:
            self._serve_put()
        if len(items) > self.max_occupancy or self.tracer is not None:   # (_count, inline)
            self._count()
        return item

    def put(self, item):
        """Generator: put ``item``, waiting while the queue is full."""
        if not self.put_now(item):
            ev = Event(self.env)
            ev.callbacks.append(self._serve_get)
            self._putters.append((ev, item))
            self._serve_put()
            yield ev
            self.puts += 1
            self._count()

    def get(self):
        """Generator: take the oldest item, waiting while the queue is empty."""
        item = self.get_now()
        if item is None:
            ev = Event(self.env)
            ev.callbacks.append(self._serve_put)
            self._getters.append(ev)
            self._serve_get()
            item = yield ev
            self._count()
        return item

    # ---- for a consumer or producer outside SimPy processes (an RTL unit's transactor,
    # cosim/transactors.py): act now or report that it cannot, never wait
    def peek(self):
        """The oldest item, or None if empty."""
        return self.items[0] if self.items else None

    def take(self):
        """Remove and return the oldest item (the queue must not be empty)."""
        item = self.items.pop(0)
        self._count()
        self._serve_put()
        return item

    def offer(self, item):
        """Put ``item`` now if there is room (and nobody waits before it); True if put."""
        if self._putters or len(self.items) >= self.capacity:
            return False
        self.items.append(item)
        self.puts += 1
        self._count()
        self._serve_get()
        return True

    def close(self):
        """Forget the events of processes still waiting (a finished run's, Tlm.close)."""
        self._putters.clear()
        self._getters.clear()

    def stats(self):
        return {"capacity": self.capacity, "pushes": self.puts,
                "max_occupancy": self.max_occupancy, "left": len(self)}


class DepQueue(BoundedQueue):
    """A dependence-token queue; tokens carry the cycle they become visible."""

    def __init__(self, env, name, capacity, latency, tracer=None):
        super().__init__(env, name, capacity, tracer)
        self.latency = latency
        self.label = DEP_LABELS[name]
        # what a blocked stage waits on (deadlock reports), formatted once
        self.pop_waits = f"pop {name} ({self.label}) token: queue empty"
        self.push_waits = f"push {name} ({self.label}) token: queue full ({capacity}/{capacity})"

    def push(self):
        yield from self.put(self.env._now + self.latency)

    def push_now(self):
        """push() if it would not wait (put_now); True if pushed."""
        return self.put_now(self.env._now + self.latency)

    def pop_now(self):
        """pop() if a token is visible and it would not wait (get_now); True if popped."""
        return bool(self.items) and self.items[0] <= self.env._now and self.get_now() is not None

    def pop(self):
        ready = yield from self.get()
        if ready > self.env._now:
            if not advance(self.env, ready - self.env._now):
                yield Timeout(self.env, ready - self.env._now)
