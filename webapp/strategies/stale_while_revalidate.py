"""Stale-while-revalidate: answer with the expired value at once, refresh it in the background.

RFC 5861, nginx ``proxy_cache_use_stale updating``, Varnish grace, Cloudflare's "1 of 1,000 goes
to the origin, 999 are served UPDATING". When a value has expired but is less than
``stale_ttl_s`` past expiry, the request gets the stale value with no wait, and if nobody is
refreshing the key yet, it starts the one background refresh (the flag lives with the value in
the shared cache, so one refresh serves the fleet). It cannot help a key that was never cached:
the newest live chunk or a cold cache still need coalescing.
"""
from webapp.engine.events import STALE_SERVED


def serve_stale(sim, t, req, attempt, server, entry) -> None:
    sim.stats.stale_served += 1
    sim.note(STALE_SERVED, t, req, server, attempt)
    sim.settle(t, req, attempt, True, "stale")
    if entry.refreshing:
        return
    entry.refreshing = True

    def refreshed(t, ok):
        # Success writes a new entry; after a failure let the next stale read try again.
        if not ok:
            entry.refreshing = False

    sim.fetch(t, req, attempt, server, "refresh", refreshed)
