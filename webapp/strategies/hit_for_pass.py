"""Hit-for-pass: remember that a key's answers cannot be cached, and stop coalescing on it.

A cache that coalesces (a lock, or Varnish's waiting list) parks the requests for a key behind
one fetch because it expects the answer to serve them all. If the answer is private (may not be
cached or shared), it serves only the one that fetched it: the parked requests go to the origin
one after another, each waiting for the fetch before it. Varnish avoids that queue by caching
the *decision*: after an uncacheable answer it stores a "hit-for-pass" (in newer versions
"hit-for-miss") object for the key, and later requests that find it go straight to the origin,
in parallel, without waiting on anybody. Here the mark lasts ``strategy.hit_for_pass_s`` (a fix
Varnish's developers suggest uses 2 minutes); requests that joined the line before the mark
existed wait their turn as before (Varnish releases them too).

The mark is kept in the shared cache (answer_mark.py): ``pass:<key>``.
"""
from webapp.engine.events import PASS
from webapp.engine.ports import Host, Request
from webapp.strategies.answer_mark import AnswerMark


class HitForPass(AnswerMark):
    switch = "strategy.hit_for_pass_s"
    status = "uncacheable"
    prefix = "pass:"

    def __init__(self, host: Host) -> None:
        super().__init__(host, host.config("strategy").hit_for_pass_s)

    def act(self, t: float, req: Request, attempt: int, server: int) -> None:
        """The key is marked: fetch at once, waiting on nobody (and cache nothing)."""
        host = self.host
        host.count("passed")
        host.note(PASS, t, req, server, attempt)
        host.fetch(t, req, attempt, server, "pass",
                   lambda t, ok: host.settle(t, req, attempt, ok, "db"))
