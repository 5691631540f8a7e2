"""A local cache: each app server keeps the values it reads in its own memory, for a short TTL.

The shared cache has limits of its own (``cache.shard_ops_per_s``): one hot key sends every
read to one shard. A server that has just read the key keeps it for ``cache.local_ttl_ms`` and
answers the next readers from its own memory, without asking the shared cache at all, so the
shard sees about one read per server per TTL however many viewers ask. The price is staleness:
a local copy may be up to that TTL older than the shared one, which is why the TTL is short.
Facebook's memcache clients and Redis's client-side caching keep such copies for hot keys.
"""
from webapp.engine.events import LOCAL_HIT
from webapp.engine.ports import Entry, Host, Request


class LocalCache:
    switch = "cache.local_ttl_ms"

    def __init__(self, host: Host) -> None:
        self.host = host
        self.ttl_s = host.config("cache").local_ttl_ms / 1000.0
        # Each server's own memory: key -> until when its copy may be served.
        self.memory: list[dict[str, float]] = [{} for _ in range(host.config("servers").count)]

    def on_arrive(self, t: float, req: Request, attempt: int, server: int) -> bool:
        """Before asking the shared cache: answer from this server's copy if it is recent."""
        until = self.memory[server].get(req.key)
        if until is None or t >= until:
            return False
        self.host.count("local_hits")
        self.host.note(LOCAL_HIT, t, req, server, attempt)
        self.host.settle(t, req, attempt, True, "local")
        return True

    def on_fresh(self, t: float, req: Request, attempt: int, server: int, entry: Entry) -> bool:
        """A value read from the shared cache: keep a copy here (and let the read answer)."""
        self.memory[server][req.key] = t + self.ttl_s
        return False

    def on_server_down(self, t: float, server: int) -> None:
        self.memory[server].clear()          # the process and its memory are gone
