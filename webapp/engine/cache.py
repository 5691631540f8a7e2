"""The cache shared by every app server: values with a TTL, and leased claims.

A value stays in the table after it expires so that stale-while-revalidate can still serve it;
``fresh`` is the question every plain read asks. ``claim`` is add-if-absent with a lease (Redis
``SET NX PX``, memcached ``add`` with a TTL): the primitive behind the lock and the distributed
marker. A lease is what keeps a dead holder from blocking a key forever.
"""
from typing import Any


class Entry:
    """One cached value: when it expires, how long it took to compute (``delta``, which XFetch
    stores with the value), and which write of its key it is (``version``)."""

    __slots__ = ("expires", "delta", "version")

    def __init__(self, expires: float, delta: float, version: int) -> None:
        self.expires = expires
        self.delta = delta
        self.version = version


class Cache:
    def __init__(self) -> None:
        self.values: dict[str, Entry] = {}
        self._claims: dict[str, tuple[Any, int, float]] = {}   # name -> owner, server, until
        self._writes = 0

    def fresh(self, key: str, now: float) -> bool:
        entry = self.values.get(key)
        return entry is not None and now < entry.expires

    def put(self, key: str, now: float, ttl_s: float, delta: float) -> Entry:
        self._writes += 1
        entry = self.values[key] = Entry(now + ttl_s, delta, self._writes)
        return entry

    def claim(self, name: str, owner: Any, server: int, now: float,
              lease_s: float) -> tuple[bool, int | None]:
        """Take ``name`` for ``owner`` (on ``server``) unless someone holds an unexpired lease.

        Returns ``(won, server)``: when lost, the holder's server; when won, the server of the
        previous holder whose lease ran out (None if the name was free).
        """
        held = self._claims.get(name)
        if held is not None and now < held[2]:
            return False, held[1]
        self._claims[name] = (owner, server, now + lease_s)
        return True, None if held is None else held[1]

    def held(self, name: str, now: float) -> bool:
        """Does someone hold ``name`` (with a lease that has not run out)?"""
        held = self._claims.get(name)
        return held is not None and now < held[2]

    def release(self, name: str, owner: Any) -> None:
        """Drop the claim, but only if ``owner`` still holds it (its lease may have passed)."""
        held = self._claims.get(name)
        if held is not None and held[0] is owner:
            del self._claims[name]

    def lose(self) -> int:
        """The cache tier restarted empty: every value and claim is gone. Returns how many
        values were lost."""
        lost = len(self.values)
        self.values.clear()
        self._claims.clear()
        return lost
