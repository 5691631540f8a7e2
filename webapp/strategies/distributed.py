"""Distributed coalescing: a "being fetched" marker with a lease, plus the local promise.

Facebook's memcache leases and memcached's meta ``N`` flag work this way. Inside one server,
requests for a key share a local promise exactly as in promise.py (this class holds one and
only replaces how its leader gets the value). The leader tries to put a marker for the key in
the *shared* cache (add-if-absent with a lease):

- it wins: it queries the datastore, writes the value, deletes the marker, resolves its promise
  (unless the value turned up between its read and its claim: then it just uses it -- the
  re-check ``strategy.recheck`` turns off, as in lock.py);
- another server holds the marker: it re-reads the cache every ``marker_poll_ms`` until the
  value appears, then resolves its promise with it -- one query for the whole fleet;
- the marker's lease ran out (its holder died mid-fetch): the next poller takes the marker over
  and fetches. Without the lease the key would be blocked forever.

A failed fetch deletes the marker and fails the local promise (a shared error, as in
singleflight); servers still polling find the marker gone and one of them fetches again.
"""
from webapp.engine.events import MARKER_EXPIRED, MARKER_WAIT
from webapp.engine.ports import Host, Request
from webapp.strategies.promise import PromiseCoalescing
from webapp.strategies.singleflight import Call


class DistributedCoalescing:
    name = "distributed"
    switch = "strategy.coalesce"

    def __init__(self, host: Host) -> None:
        cfg = host.config("strategy")
        self.host = host
        self.poll_s = cfg.marker_poll_ms / 1000.0
        self.lease_s = cfg.lease_ms / 1000.0
        self.local = PromiseCoalescing(host, lead=self.claim_or_wait)

    def on_miss(self, t: float, req: Request, attempt: int, server: int) -> None:
        self.local.on_miss(t, req, attempt, server)

    def on_server_down(self, t: float, server: int) -> None:
        self.local.on_server_down(t, server)

    def claim_or_wait(self, t: float, key: str, call: Call, first: bool = True) -> None:
        host, leader = self.host, call.leader
        won, other_server = host.claim("marker:" + key, call, leader.server, t, self.lease_s)
        if won:
            if other_server is not None:         # the previous holder's lease ran out
                host.note(MARKER_EXPIRED, t, leader.req, leader.server, leader.attempt,
                          other_server)
            if host.config("strategy").recheck and host.fresh(key, t):
                # Written by the holder that just let go (on a real host, between this
                # server's read and its claim): use it, do not fetch again.
                host.release("marker:" + key, call)
                self.local.resolve(t, key, call, True, "recheck")
                return
            call.query = host.fetch(t, leader.req, leader.attempt, leader.server, "leader",
                                    lambda t, ok: self.fetched(t, key, call, ok))
            for waiter in call.waiters:          # who joined while the marker was held
                host.join(call.query, waiter.req, waiter.attempt)
            return
        if first:
            host.note(MARKER_WAIT, t, leader.req, leader.server, leader.attempt, other_server)
        host.later(t + self.poll_s, self.poll, key, call)

    def poll(self, t: float, key: str, call: Call) -> None:
        if not self.host.alive(call.leader.server):
            return
        if self.host.fresh(key, t):
            self.local.resolve(t, key, call, True, "marker")
        else:
            self.claim_or_wait(t, key, call, first=False)

    def fetched(self, t: float, key: str, call: Call, ok: bool) -> None:
        self.host.release("marker:" + key, call)
        self.local.resolve(t, key, call, ok, "db")
