"""The cache shared by every app server: values with a TTL, and leased claims.

A value stays in the table after it expires so that stale-while-revalidate can still serve it;
``fresh`` is the question every plain read asks. ``claim`` is add-if-absent with a lease (Redis
``SET NX PX``, memcached ``add`` with a TTL): the primitive behind the lock and the distributed
marker. A lease is what keeps a dead holder from blocking a key forever.
"""
from typing import Any


class Entry:
    """One cached value: when it expires, and how long it took to compute (``delta``, which
    XFetch stores with the value)."""

    __slots__ = ("expires", "delta")

    def __init__(self, expires: float, delta: float) -> None:
        self.expires = expires
        self.delta = delta


class Cache:
    def __init__(self) -> None:
        self.values: dict[str, Entry] = {}
        self._claims: dict[str, tuple[Any, float]] = {}

    def fresh(self, key: str, now: float) -> bool:
        entry = self.values.get(key)
        return entry is not None and now < entry.expires

    def put(self, key: str, now: float, ttl_s: float, delta: float) -> Entry:
        entry = self.values[key] = Entry(now + ttl_s, delta)
        return entry

    def claim(self, name: str, owner: Any, now: float, lease_s: float) -> tuple[bool, Any]:
        """Take ``name`` for ``owner`` unless someone holds an unexpired lease on it.

        Returns ``(won, other)``: when lost, ``other`` is the holder; when won, ``other`` is the
        previous holder whose lease ran out (None if the name was free).
        """
        held = self._claims.get(name)
        if held is not None and now < held[1]:
            return False, held[0]
        self._claims[name] = (owner, now + lease_s)
        return True, None if held is None else held[0]

    def release(self, name: str, owner: Any) -> None:
        """Drop the claim, but only if ``owner`` still holds it (its lease may have passed)."""
        held = self._claims.get(name)
        if held is not None and held[0] is owner:
            del self._claims[name]
