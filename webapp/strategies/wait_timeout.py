"""A coalescing wait timeout: a request that has waited too long fetches the value itself.

Coalescing makes every waiter depend on one fetch. If that fetch is slow (a slow datastore, a
leader whose server is struggling), they all wait with it. Many implementations cap the wait:
nginx's ``proxy_cache_lock_timeout`` (5 s by default) passes a waiting request to the origin
when it runs out, and does not cache the answer; aiocache's stampede lock lets its waiters
recompute after its lease. The cap bounds each waiter's wait, but when the fetch is slow because
the datastore is overloaded, every waiter gives up at about the same moment and the herd that
coalescing held back arrives after all, just later, at a datastore already struggling.

Here a request that starts waiting on another's fetch (a promise, a lock, a marker) sets a
timer of ``strategy.wait_timeout_ms``; if it is still waiting when it rings, it sends its own
query (role ``pass``: the answer is not cached) and takes whichever answer comes first.
"""
from webapp.engine.events import WAIT_TIMEOUT
from webapp.engine.ports import Host, Request


class WaitTimeout:
    switch = "strategy.wait_timeout_ms"

    def __init__(self, host: Host) -> None:
        self.host = host
        self.wait_s = host.config("strategy").wait_timeout_ms / 1000.0

    def on_wait(self, t: float, req: Request, attempt: int, server: int) -> None:
        """This attempt starts waiting on another request's fetch."""
        self.host.later(t + self.wait_s, self.give_up, req, attempt, server)

    def give_up(self, t: float, req: Request, attempt: int, server: int) -> None:
        host = self.host
        if req.done or req.attempt != attempt or not host.alive(server):
            return                           # answered meanwhile, or the client moved on
        host.count("wait_timeouts")
        host.note(WAIT_TIMEOUT, t, req, server, attempt)
        host.fetch(t, req, attempt, server, "pass",
                   lambda t, ok: host.settle(t, req, attempt, ok, "db"))
