"""Negative caching: remember a "not found" answer in the cache for a short while.

Players that ask for a live chunk before it exists get "not found" from the datastore, and ask
again a moment later. Nothing is cached for a key that does not exist, so without more every
one of those requests is a miss and a query, and the datastore answers "not found" to a crowd.
With negative caching the first "not found" is written to the cache as an entry of its own,
kept for ``cache.negative_ttl_ms``: the requests that follow read it and get "not found" from
the cache, so the datastore is asked about once per TTL. The price: a chunk published while the
entry is still there stays "not found" for up to that long, so the TTL is kept short. HTTP
caches store 404 answers the same way (nginx's ``proxy_cache_valid 404``), and DNS resolvers
have cached "no such name" since RFC 2308.

The entry is a claim with a lease (``missing:<key>``): added if absent, gone when its lease
runs out; a value written for the key is found first and wins.
"""
from webapp.engine.events import NEGATIVE_HIT
from webapp.engine.ports import Host, Request


class NegativeCache:
    switch = "cache.negative_ttl_ms"

    def __init__(self, host: Host) -> None:
        self.host = host
        self.ttl_s = host.config("cache").negative_ttl_ms / 1000.0

    def on_fetched(self, t: float, key: str, server: int, status: str) -> None:
        """The datastore answered a query for ``key``; remember a "not found"."""
        if status == "not_found":
            self.host.claim("missing:" + key, self, server, t, self.ttl_s)

    def on_absent(self, t: float, req: Request, attempt: int, server: int) -> bool:
        """No value in the cache: a remembered "not found" answers the request at once."""
        host = self.host
        if not host.held("missing:" + req.key, t):
            return False
        host.count("negative_hits")
        host.note(NEGATIVE_HIT, t, req, server, attempt)
        host.settle(t, req, attempt, False, "not_found")
        return True
