"""Promise coalescing: Go's singleflight, one group per app server.

On a cache miss the first request for a key becomes the *leader*: it starts a call for the key
in its server's in-process group (singleflight.py) and queries the datastore. Requests for the
same key that miss on the same server while that query is in flight wait on the call instead of
querying.

Three rules from singleflight matter:
- the call is forgotten as soon as the fetch ends: a promise coalesces, it does not cache (the
  cache does that), so the next miss after an error fetches again;
- the result reaches every waiter, and so does a failure: one error fails the whole group;
- the call goes on for the waiters when its leader's client gives up: every waiter *joins* the
  leader's query, and the host cancels a query still queued only once all of them have given up.

A new call reads the cache once more before it queries: a request whose read missed just before
another call's value landed reaches the group after that call was forgotten, and would start a
second one (Go's singleflight beside a look-aside cache has this gap; Instagram closes it by
keeping the promise in the cache itself). ``strategy.recheck=false`` leaves the read out.

The groups live in each server's process, so N servers still send up to N queries per key. For
one query across the fleet see distributed.py, which reuses this class and changes only how a
leader gets the value.
"""
from typing import Callable

from webapp.engine.events import PROMISE_RESOLVED, PROMISE_WAIT
from webapp.engine.ports import Host, Request
from webapp.strategies.singleflight import Call, Group


class Caller:
    """One attempt waiting on (or leading) a call."""

    __slots__ = ("req", "attempt", "server")

    def __init__(self, req: Request, attempt: int, server: int) -> None:
        self.req = req
        self.attempt = attempt
        self.server = server


class PromiseCoalescing:
    name = "promise"
    switch = "strategy.coalesce"

    def __init__(self, host: Host, lead: Callable[[float, str, Call], None] | None = None) -> None:
        """``lead(t, key, call)`` is how a new call's leader gets the value (default: query the
        datastore); it must end with ``resolve``."""
        self.host = host
        self.groups = [Group() for _ in range(host.config("servers").count)]
        self.lead = lead or self.fetch

    def on_miss(self, t: float, req: Request, attempt: int, server: int) -> None:
        key = req.key
        caller = Caller(req, attempt, server)
        call = self.groups[server].do(key, caller, lambda call: self.lead(t, key, call))
        if call is not None:                     # already being fetched here: wait for it
            self.host.note(PROMISE_WAIT, t, req, server, attempt, call.leader.req.id)
            if call.query is not None:
                self.host.join(call.query, req, attempt)

    def fetch(self, t: float, key: str, call: Call) -> None:
        host, leader = self.host, call.leader
        if host.config("strategy").recheck and host.fresh(key, t):
            # The value landed between this request's read and now (the call that fetched it
            # is already forgotten): use it, and answer whoever joined meanwhile.
            self.resolve(t, key, call, True, "recheck")
            return
        call.query = host.fetch(t, leader.req, leader.attempt, leader.server, "leader",
                                lambda t, ok: self.resolve(t, key, call, ok, "db"))
        for waiter in call.waiters:     # joined while it read (a real host's round trip)
            host.join(call.query, waiter.req, waiter.attempt)

    def resolve(self, t: float, key: str, call: Call, ok: bool, leader_source: str) -> None:
        """The leader has its outcome: forget the call, then answer the leader and every
        waiter with it (``leader_source``: "db", its own query; "marker", it waited for
        another server's, so it too was coalesced; "recheck", it found the value in the
        cache on its re-check, waiting for nobody)."""
        host, leader = self.host, call.leader
        self.groups[leader.server].done(key)
        host.note(PROMISE_RESOLVED, t, leader.req, leader.server, call.dups, ok)
        host.settle(t, leader.req, leader.attempt, ok, leader_source,
                    coalesced=leader_source == "marker")
        for waiter in call.waiters:
            host.settle(t, waiter.req, waiter.attempt, ok, "promise", coalesced=True)

    def on_server_down(self, t: float, server: int) -> None:
        self.groups[server].forget_all()     # the process and its promises are gone
