"""Negative caching: remember a "not found" answer in the cache for a short while.

Players that ask for a live chunk before it exists get "not found" from the datastore, and ask
again a moment later. Nothing is cached for a key that does not exist, so without more every
one of those requests is a miss and a query, and the datastore answers "not found" to a crowd.
With negative caching the first "not found" is written to the cache as an entry of its own,
kept for ``cache.negative_ttl_ms``: the requests that follow read it and get "not found" from
the cache, so the datastore is asked about once per TTL. The price: a chunk published while the
entry is still there stays "not found" for up to that long, so the TTL is kept short. HTTP
caches store 404 answers the same way (nginx's ``proxy_cache_valid 404``).

The entry is a mark in the shared cache (answer_mark.py): ``missing:<key>``.
"""
from webapp.engine.events import NEGATIVE_HIT
from webapp.engine.ports import Host, Request
from webapp.strategies.answer_mark import AnswerMark


class NegativeCache(AnswerMark):
    switch = "cache.negative_ttl_ms"
    status = "not_found"
    prefix = "missing:"

    def __init__(self, host: Host) -> None:
        super().__init__(host, host.config("cache").negative_ttl_ms / 1000.0)

    def act(self, t: float, req: Request, attempt: int, server: int) -> None:
        """A remembered "not found" answers the request at once, without a query."""
        host = self.host
        host.count("negative_hits")
        host.note(NEGATIVE_HIT, t, req, server, attempt)
        host.settle(t, req, attempt, False, "not_found")
