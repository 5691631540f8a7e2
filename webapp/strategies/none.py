"""No coalescing: every request that misses the cache queries the datastore itself.

This is the thundering herd. A cold or just-expired key hit by N concurrent requests sends N
identical queries, all racing to write the same value back.
"""
from webapp.strategies.base import Coalescing


class NoCoalescing(Coalescing):
    name = "none"

    def on_miss(self, t, req, attempt, server):
        sim = self.sim
        sim.fetch(t, req, attempt, server, "leader",
                  lambda t, ok: sim.settle(t, req, attempt, ok, "db"))
