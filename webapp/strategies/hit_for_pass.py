"""Hit-for-pass: remember that a key's answers cannot be cached, and stop coalescing on it.

A cache that coalesces (a lock, or Varnish's waiting list) parks the requests for a key behind
one fetch because it expects the answer to serve them all. If the answer is private (may not be
cached or shared), it serves only the one that fetched it: the parked requests go to the origin
one after another, each waiting for the fetch before it. Varnish avoids that queue by caching
the *decision*: after an uncacheable answer it stores a "hit-for-pass" (in newer versions
"hit-for-miss") object for the key, and later requests that find it go straight to the origin,
in parallel, without waiting on anybody. Here the mark lasts ``strategy.hit_for_pass_s``
(Varnish: 120 s by default, its ``uncacheable_ttl``); requests that found the key before the
mark existed wait their turn as before.

The mark is a claim with a lease (``pass:<key>``), kept in the shared cache like a value.
"""
from webapp.engine.events import PASS
from webapp.engine.ports import Host, Request


class HitForPass:
    switch = "strategy.hit_for_pass_s"

    def __init__(self, host: Host) -> None:
        self.host = host
        self.mark_s = host.config("strategy").hit_for_pass_s

    def on_fetched(self, t: float, key: str, server: int, status: str) -> None:
        """The datastore answered a query for ``key``: mark a key whose answer was private."""
        if status == "uncacheable":
            self.host.claim("pass:" + key, self, server, t, self.mark_s)

    def on_absent(self, t: float, req: Request, attempt: int, server: int) -> bool:
        """No value in the cache: if the key is marked, fetch at once, waiting on nobody."""
        host = self.host
        if not host.held("pass:" + req.key, t):
            return False
        host.count("passed")
        host.note(PASS, t, req, server, attempt)
        host.fetch(t, req, attempt, server, "pass",
                   lambda t, ok: host.settle(t, req, attempt, ok, "db"))
        return True
