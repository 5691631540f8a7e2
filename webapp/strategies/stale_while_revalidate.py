"""Stale-while-revalidate: answer with the expired value at once, refresh it in the background.

RFC 5861, nginx ``proxy_cache_use_stale updating``, Varnish grace, Cloudflare's "1 of 1,000 goes
to the origin, 999 are served UPDATING". When a value has expired but is less than
``stale_ttl_s`` past expiry, the request gets the stale value with no wait, and if nobody is
refreshing it yet, it starts the one background refresh. "Being refreshed" is a claim in the
shared cache on that very value (its version), held for as long as it may be served stale: one
refresh serves the whole fleet, a new value (from the refresh or any other fetch) starts
unclaimed, and a failed refresh lets go so that the next stale read tries again. It cannot help
a key that was never cached: the newest live chunk or a cold cache still need coalescing.
"""
from webapp.engine.events import STALE_SERVED
from webapp.engine.ports import Entry, Host, Request


class StaleWhileRevalidate:
    switch = "strategy.stale_while_revalidate"

    def __init__(self, host: Host) -> None:
        self.host = host
        self.stale_s = host.config("strategy").stale_ttl_s

    def on_expired(self, t: float, req: Request, attempt: int, server: int,
                   entry: Entry) -> bool:
        if t >= entry.expires + self.stale_s:
            return False                          # too old even to serve stale: a miss
        host = self.host
        host.count("stale_served")
        host.note(STALE_SERVED, t, req, server, attempt)
        host.settle(t, req, attempt, True, "stale")
        mark, me = f"refresh:{req.key}@{entry.version}", (req.id, attempt)
        until = entry.expires + self.stale_s         # after that, this value is of no use
        won, _ = host.claim(mark, me, server, t, until - t + self.stale_s)   # outlives it
        if not won:
            return True                           # someone is refreshing this value already

        def refreshed(t: float, ok: bool) -> None:
            # Success wrote a new value; after a failure let the next stale read try again.
            if not ok:
                host.release(mark, me)

        host.fetch(t, req, attempt, server, "refresh", refreshed)
        return True
