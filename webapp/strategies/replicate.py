"""Key replication: a hot key is copied to several shards and its reads are spread over them.

With the cache tier's throughput limited per shard (``cache.shard_ops_per_s``), one hot key is
as fast as its one shard. Copying every key to ``cache.replicas`` shards (its own and the next
ones) divides a hot key's reads between them: each read goes to one copy at random, so each copy
gets about 1/R of the reads. Every write goes to all R copies, so writes cost R times as much,
and in practice only the keys known to be hot are copied. Facebook replicates keys within a
memcache pool when one server cannot take their request rate; splitting a hot key into R keys
with a random suffix is the same idea done by the application.
"""
from webapp.engine.ports import Host


class Replicate:
    switch = "cache.replicas"

    def __init__(self, host: Host) -> None:
        self.replicas = host.config("cache").replicas
        self.rng = host.rng("replicas")

    def copies(self, key: str) -> int:
        """How many copies a write of ``key`` goes to."""
        return self.replicas

    def read_copy(self, key: str) -> int:
        """Which copy of ``key`` a read goes to."""
        return self.rng.randrange(self.replicas)
