"""Distributed coalescing: a "being fetched" marker with a lease, plus the local promise.

Facebook's memcache leases and memcached's meta ``N`` flag work this way. Inside one server,
requests for a key share a local promise exactly as in promise.py. The promise's leader then
tries to put a marker for the key in the *shared* cache (add-if-absent with a lease):

- it wins: it queries the datastore, writes the value, deletes the marker, resolves its promise;
- another server holds the marker: it re-reads the cache every ``marker_poll_ms`` until the
  value appears, then resolves its promise with it -- one query for the whole fleet;
- the marker's lease ran out (its holder died mid-fetch): the next poller takes the marker over
  and fetches. Without the lease the key would be blocked forever.

A failed fetch deletes the marker and fails the local promise (a shared error, as in
singleflight); servers still polling find the marker gone and one of them fetches again.
"""
from webapp.engine.events import MARKER_EXPIRED, MARKER_WAIT, PROMISE_WAIT
from webapp.strategies.promise import Promise, PromiseCoalescing


class DistributedCoalescing(PromiseCoalescing):
    name = "distributed"

    def __init__(self, sim):
        super().__init__(sim)
        self.poll_s = sim.scenario.strategy.marker_poll_ms / 1000.0
        self.lease_s = sim.scenario.strategy.lease_ms / 1000.0

    def on_miss(self, t, req, attempt, server):
        sim, key = self.sim, req.key
        table = self.tables[server]
        promise = table.get(key)
        if promise is not None:                  # this server already handles it: wait locally
            promise.waiters.append((req, attempt))
            sim.note(PROMISE_WAIT, t, req, server, attempt, promise.leader.id)
            return
        promise = table[key] = Promise(req, attempt, server)
        self.claim_or_wait(t, key, promise, first=True)

    def claim_or_wait(self, t, key, promise, first):
        sim = self.sim
        won, other = sim.cache.claim("marker:" + key, promise, t, self.lease_s)
        if won:
            if other is not None:                # the previous holder's lease ran out
                sim.note(MARKER_EXPIRED, t, promise.leader, promise.server, promise.attempt,
                         other.server)
            sim.fetch(t, promise.leader, promise.attempt, promise.server, "leader",
                      lambda t, ok: self.fetched(t, key, promise, ok))
            return
        if first:
            sim.note(MARKER_WAIT, t, promise.leader, promise.server, promise.attempt,
                     other.server)
        sim.later(t + self.poll_s, self.poll, key, promise)

    def poll(self, t, key, promise):
        if not self.sim.alive(promise.server):
            return
        if self.sim.cache.fresh(key, t):
            self.resolve(t, key, promise, True, "marker")
        else:
            self.claim_or_wait(t, key, promise, first=False)

    def fetched(self, t, key, promise, ok):
        self.sim.cache.release("marker:" + key, promise)
        self.resolve(t, key, promise, ok, "db")
