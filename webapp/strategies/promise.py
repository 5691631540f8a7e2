"""Promise coalescing: Go's singleflight, one table per app server.

On a cache miss the first request for a key becomes the *leader*: it puts a Promise for the key
in its server's in-process table and queries the datastore. Requests for the same key that miss
on the same server while that query is in flight attach to the promise instead of querying.

Two rules from singleflight matter:
- the entry is removed as soon as the fetch ends: a promise coalesces, it does not cache (the
  cache does that), so the next miss after an error fetches again;
- the result reaches every waiter, and so does a failure: one error fails the whole group.

The table lives in one process, so N servers still send up to N queries per key. For one query
across the fleet see distributed.py.
"""
from webapp.engine.events import PROMISE_RESOLVED, PROMISE_WAIT
from webapp.strategies.base import Coalescing


class Promise:
    """An in-flight fetch that other requests can wait on."""

    __slots__ = ("leader", "attempt", "server", "waiters")

    def __init__(self, leader, attempt: int, server: int) -> None:
        self.leader = leader
        self.attempt = attempt
        self.server = server
        self.waiters: list = []


class PromiseCoalescing(Coalescing):
    name = "promise"

    def __init__(self, sim):
        super().__init__(sim)
        self.tables: list[dict[str, Promise]] = [{} for _ in range(sim.servers.count)]

    def on_miss(self, t, req, attempt, server):
        sim, key = self.sim, req.key
        table = self.tables[server]
        promise = table.get(key)
        if promise is not None:                  # already being fetched here: wait for it
            promise.waiters.append((req, attempt))
            sim.note(PROMISE_WAIT, t, req, server, attempt, promise.leader.id)
            return
        promise = table[key] = Promise(req, attempt, server)
        sim.fetch(t, req, attempt, server, "leader",
                  lambda t, ok: self.resolve(t, key, promise, ok, "db"))

    def resolve(self, t, key, promise, ok, leader_source):
        """The fetch ended: forget the promise, then answer the leader and every waiter."""
        sim = self.sim
        del self.tables[promise.server][key]
        sim.note(PROMISE_RESOLVED, t, promise.leader, promise.server, len(promise.waiters), ok)
        sim.settle(t, promise.leader, promise.attempt, ok, leader_source)
        for req, attempt in promise.waiters:
            sim.settle(t, req, attempt, ok, "promise")

    def on_server_down(self, t, server):
        self.tables[server].clear()      # the process and its promises are gone
