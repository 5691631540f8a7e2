"""The shared cache on a real Redis: values with PX TTLs, and leased claims (lock and marker).

Keys live under one run's prefix, so runs never see each other's values and the run's keys can
be dropped afterwards.

- A value is a string ``"<expires> <delta> <version>"``: ``expires`` in seconds on the run's
  clock (every process of a run shares it), ``delta`` how long it took to compute (XFetch), and
  a version unique to that write. Its Redis TTL (``PX``) is its freshness plus the window in
  which stale-while-revalidate may still serve it; freshness itself is decided on ``expires``.
- A read and a write say when Redis did them (``TIME``, in the same script): the instant the
  value was there or not, which the request learns only a round trip (and its process's
  scheduling) later. That is when the run records them, and what the simulation beside it is fed.
- A claim is ``SET name token NX PX lease`` with the holder's token, released by a Lua
  compare-and-delete (redis-py's ``Lock`` does the same), so a holder whose lease ran out cannot
  delete its successor's claim. Beside it, ``name:last`` remembers the holder until it releases:
  a claim that finds a ``last`` which never released has taken over from a dead holder.
"""
from __future__ import annotations

from typing import Any, Callable

# KEYS: name, name:last. ARGV: token, lease_ms, memory_ms. -> {1, previous token or "", s, us}
# if won (the previous one is a holder that never released: its lease ran out), {0, holder,
# s, us}; s and us: when Redis decided it.
CLAIM = """
local now = redis.call('TIME')
local held = redis.call('GET', KEYS[1])
if held then return {0, held, now[1], now[2]} end
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
local last = redis.call('GET', KEYS[2]) or ''
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
return {1, last, now[1], now[2]}
"""

# KEYS: name, name:last. ARGV: token. Delete only what this token still holds.
RELEASE = """
local dropped = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]); dropped = 1 end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return dropped
"""

# KEYS: the key. -> {value or nil, seconds, microseconds}: the value and when Redis read it.
GET = """
local value = redis.call('GET', KEYS[1])
local now = redis.call('TIME')
return {value, now[1], now[2]}
"""

# KEYS: the key. ARGV: value, px. -> {seconds, microseconds}: when Redis wrote it.
PUT = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return redis.call('TIME')
"""

LAST_MEMORY_FACTOR = 20       # remember a holder for this many leases (then it is history)


class Entry:
    """A cached value as read (ports.Entry): one object per version, so a mitigation that
    compares entries by identity (stale-while-revalidate) sees the same value as the same."""

    __slots__ = ("expires", "delta", "version")

    def __init__(self, expires: float, delta: float, version: str) -> None:
        self.expires = expires
        self.delta = delta
        self.version = version


class RedisCache:
    """``send(*command)``: how a command goes to Redis and its reply comes back (default: the
    client's own round trip; an app server passes ``AutoPipeline.call``)."""

    def __init__(self, client: Any, prefix: str,
                 send: Callable[..., Any] | None = None) -> None:
        self.r = client
        self.prefix = prefix
        self.send = send or client.execute_command
        self._scripts = {name: client.script_load(body) for name, body in (
            ("claim", CLAIM), ("release", RELEASE), ("get", GET), ("put", PUT))}
        self._seen: dict[str, Entry] = {}     # key -> the last version read here

    def _run(self, script: str, keys: list[str], args: list[Any] = ()) -> Any:
        return self.send("EVALSHA", self._scripts[script], len(keys), *keys, *args)

    def get(self, key: str) -> tuple[Entry | None, float]:
        """The value of ``key`` (None: there is none) and when Redis read it (epoch s)."""
        raw, seconds, micros = self._run("get", [self.prefix + key])
        read = int(seconds) + int(micros) / 1e6
        if raw is None:
            return None, read
        expires, delta, version = raw.decode().split(" ")
        seen = self._seen.get(key)
        if seen is None or seen.version != version:
            seen = self._seen[key] = Entry(float(expires), float(delta), version)
        return seen, read

    def put(self, key: str, expires: float, delta: float, version: str, keep_s: float) -> float:
        """Write a value fresh until ``expires`` (run clock), kept by Redis ``keep_s``; returns
        when Redis wrote it (epoch s)."""
        seconds, micros = self._run("put", [self.prefix + key], [
            f"{expires!r} {delta!r} {version}", max(1, round(keep_s * 1000))])
        return int(seconds) + int(micros) / 1e6

    def claim(self, name: str, token: str, lease_s: float) -> tuple[bool, str | None]:
        """``(True, token of a previous holder that never released or None)`` or
        ``(False, holder's token)``."""
        return self.claim_timed(name, token, lease_s)[:2]

    def claim_timed(self, name: str, token: str, lease_s: float
                    ) -> tuple[bool, str | None, float]:
        """``claim``, and when Redis decided it (epoch s)."""
        lease_ms = max(1, round(lease_s * 1000))
        won, other, seconds, micros = self._run(
            "claim", [self.prefix + name, self.prefix + name + ":last"],
            [token, lease_ms, lease_ms * LAST_MEMORY_FACTOR])
        other = other.decode() if other else None
        return bool(won), other, int(seconds) + int(micros) / 1e6

    def first(self, name: str) -> bool:
        """True for the first caller in the whole run (all processes) to ask about ``name``."""
        return bool(self.send("SET", self.prefix + name, 1, "NX", "PX", 3_600_000))

    def release(self, name: str, token: str) -> bool:
        return bool(self._run("release", [self.prefix + name, self.prefix + name + ":last"],
                              [token]))
