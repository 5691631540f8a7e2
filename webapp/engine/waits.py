"""Who waits for a query: the one rule both hosts follow (the simulation's and the real one).

A query still queued for a connection is cancelled once nobody waits for its answer any more, so
each host counts, per query, the attempts waiting for it: the attempt that sent it, and the
coalesced waiters that ``Host.join`` it. An attempt the client has already given up on (or one
already answered) waits for nothing. Each host decrements the count its own way when an attempt
gives up, since that is where simulated and real time differ.
"""
from typing import Any


class QueryWaits:
    """``Host.join`` and the count behind it, for a host whose requests carry ``attempt``,
    ``done`` and ``query`` and whose queries carry ``queued`` and ``waiting``."""

    def join(self, query: Any, req: Any, attempt: int) -> None:
        if query.queued:
            self._wait_for(query, req, attempt)

    def _wait_for(self, q: Any, req: Any, attempt: int) -> None:
        """This attempt, if the client still waits for it, waits for ``q``'s answer."""
        if req.attempt == attempt and not req.done:
            req.query = q
            q.waiting += 1
