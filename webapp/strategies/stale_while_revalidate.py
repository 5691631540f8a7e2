"""Stale-while-revalidate: answer with the expired value at once, refresh it in the background.

RFC 5861, nginx ``proxy_cache_use_stale updating``, Varnish grace, Cloudflare's "1 of 1,000 goes
to the origin, 999 are served UPDATING". When a value has expired but is less than
``stale_ttl_s`` past expiry, the request gets the stale value with no wait, and if nobody is
refreshing it yet, it starts the one background refresh. The "being refreshed" mark belongs to
that value in the shared cache, so one refresh serves the fleet, and a new value (from the
refresh or any other fetch) starts unmarked. It cannot help a key that was never cached: the
newest live chunk or a cold cache still need coalescing.
"""
from webapp.engine.events import STALE_SERVED
from webapp.engine.ports import Entry, Host, Request


class StaleWhileRevalidate:
    switch = "strategy.stale_while_revalidate"

    def __init__(self, host: Host) -> None:
        self.host = host
        self.stale_s = host.config("strategy").stale_ttl_s
        self.refreshing: dict[str, Entry] = {}     # key -> the value being refreshed

    def on_expired(self, t: float, req: Request, attempt: int, server: int,
                   entry: Entry) -> bool:
        if t >= entry.expires + self.stale_s:
            return False                          # too old even to serve stale: a miss
        host, key = self.host, req.key
        host.count("stale_served")
        host.note(STALE_SERVED, t, req, server, attempt)
        host.settle(t, req, attempt, True, "stale")
        if self.refreshing.get(key) is entry:
            return True                           # someone is refreshing this value already
        self.refreshing[key] = entry

        def refreshed(t: float, ok: bool) -> None:
            # Success wrote a new value; after a failure let the next stale read try again.
            if not ok and self.refreshing.get(key) is entry:
                del self.refreshing[key]

        host.fetch(t, req, attempt, server, "refresh", refreshed)
        return True
