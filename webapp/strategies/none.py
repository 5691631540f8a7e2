"""No coalescing: every request that misses the cache queries the datastore itself.

This is the thundering herd. A cold or just-expired key hit by N concurrent requests sends N
identical queries, all racing to write the same value back. Each is a ``direct`` fetch: there
is no leader, since nobody waits on anybody.
"""
from webapp.engine.ports import Host, Request


class NoCoalescing:
    name = "none"
    switch = "strategy.coalesce"

    def __init__(self, host: Host) -> None:
        self.host = host

    def on_miss(self, t: float, req: Request, attempt: int, server: int) -> None:
        host = self.host
        host.fetch(t, req, attempt, server, "direct",
                   lambda t, ok: host.settle(t, req, attempt, ok, "db"))
