"""The event record and the vocabulary (documented for readers in docs/events.md).

An Event is a plain tuple ``(t, kind, req, viewer, server, key, *fields)`` where ``fields`` follow
``FIELDS[kind]``. A tuple subclass is the cheapest immutable record Python offers: a run makes
millions of them, and a frozen dataclass per event would cost several times as much.
"""
from typing import Any

ARRIVE = "arrive"
CACHE_HIT = "cache_hit"
CACHE_MISS = "cache_miss"
STALE_SERVED = "stale_served"
PROMISE_WAIT = "promise_wait"
LOCK_WAIT = "lock_wait"
LOCK_POLL = "lock_poll"
MARKER_WAIT = "marker_wait"
MARKER_EXPIRED = "marker_expired"
FETCH_START = "fetch_start"
DB_QUEUED = "db_queued"
DB_STARTED = "db_started"
DB_FINISHED = "db_finished"
DB_REJECTED = "db_rejected"
DB_FAILED = "db_failed"
DB_CANCELLED = "db_cancelled"
CACHE_SET = "cache_set"
PROMISE_RESOLVED = "promise_resolved"
TIMEOUT = "timeout"
RETRY = "retry"
RETRY_DENIED = "retry_denied"
RESPOND = "respond"
SERVER_DOWN = "server_down"
DB_STATE = "db_state"
DB_SLOW = "db_slow"
CHUNK_PUBLISHED = "chunk_published"
MOMENT = "moment"
# Lessons 12-14: made only in runs that turn their features on.
LOCAL_HIT = "local_hit"
NEGATIVE_HIT = "negative_hit"
NOT_FOUND = "not_found"
PASS = "pass"
WAIT_TIMEOUT = "wait_timeout"
CACHE_LOST = "cache_lost"
INPUT = "input"
SAMPLE = "sample"

SAMPLE_FIELDS = (
    "queued", "in_service", "utilisation", "state",
    "arrived", "completed", "errors", "timeouts", "retries", "db_queries", "db_rejected",
    "db_failed", "coalesced", "cache_hits", "cache_misses", "stale_served", "inflight_requests",
    "responses", "rps", "lat_p50_ms", "lat_p99_ms", "lat_p99_answered_ms", "ends",
    "p50_ms", "p99_ms", "p99_answered_ms", "db_cancelled", "retries_denied",
    "waiting", "herds", "made",
)

FIELDS: dict[str, tuple[str, ...]] = {
    ARRIVE: ("attempt",),
    CACHE_HIT: ("attempt",),
    CACHE_MISS: ("attempt",),
    STALE_SERVED: ("attempt",),
    PROMISE_WAIT: ("attempt", "leader"),
    LOCK_WAIT: ("attempt",),
    LOCK_POLL: ("attempt",),
    MARKER_WAIT: ("attempt", "leader_server"),
    MARKER_EXPIRED: ("attempt", "previous_server"),
    FETCH_START: ("attempt", "role", "query"),
    DB_QUEUED: ("query", "queued"),
    DB_STARTED: ("query", "service_ms"),
    DB_FINISHED: ("query",),
    DB_REJECTED: ("query", "reason"),
    DB_FAILED: ("query",),
    DB_CANCELLED: ("query",),
    CACHE_SET: ("role", "ttl_s"),
    PROMISE_RESOLVED: ("waiters", "ok"),
    TIMEOUT: ("attempt",),
    RETRY: ("attempt", "delay_ms", "reason"),
    RETRY_DENIED: ("attempt", "reason"),
    RESPOND: ("attempt", "status", "latency_ms", "source"),
    SERVER_DOWN: (),
    LOCAL_HIT: ("attempt",),
    NEGATIVE_HIT: ("attempt",),
    NOT_FOUND: ("query",),
    PASS: ("attempt",),
    WAIT_TIMEOUT: ("attempt",),
    CACHE_LOST: ("values",),
    DB_STATE: ("state", "recover_at"),
    DB_SLOW: ("factor", "until"),
    CHUNK_PUBLISHED: ("chunk",),
    # A moment worth seeing (engine/moments.py): ``what`` names it, the rest is what a caption
    # needs; fields that do not apply are None. ``at``: the instant it shows, when that is
    # before the moment was known (a herd's peak, a retry wave).
    MOMENT: ("what", "number", "until", "next", "from_server", "factor", "ok", "at"),
    # An input applied at its time (engine/inputs.py): ``input`` is its kind, ``seq`` its place
    # in the run's list of inputs; ``applied`` False with ``reason`` when it could not act.
    INPUT: ("input", "seq", "applied", "reason", "name", "value", "until"),
    SAMPLE: SAMPLE_FIELDS,
}
# (A field cannot be named like a tuple method, ``count`` or ``index``: ``ev.count`` is that.)

# Made whatever is recorded per request (``viewer`` is always None): a summary-only run makes
# exactly these, the same as a recorded run.
SYSTEM = frozenset((SAMPLE, DB_STATE, DB_SLOW, CHUNK_PUBLISHED, SERVER_DOWN, MOMENT, INPUT,
                    CACHE_LOST))

COMMON = ("t", "kind", "req", "viewer", "server", "key")
_INDEX = {kind: {name: 6 + i for i, name in enumerate(names)} for kind, names in FIELDS.items()}


class Event(tuple):
    """``Event((t, kind, req, viewer, server, key, *fields))``; attributes by name."""

    __slots__ = ()

    @property
    def t(self) -> float:
        return self[0]

    @property
    def kind(self) -> str:
        return self[1]

    @property
    def req(self) -> int | None:
        return self[2]

    @property
    def viewer(self) -> int | None:
        return self[3]

    @property
    def server(self) -> int | None:
        return self[4]

    @property
    def key(self) -> str | None:
        return self[5]

    def __getattr__(self, name: str) -> Any:
        try:
            return self[_INDEX[self[1]][name]]
        except KeyError:
            raise AttributeError(f"{self[1]} event has no field {name!r}") from None

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON-able dict; floats rounded to microseconds so logs compare byte for byte."""
        out = dict(zip(COMMON, self[:6]))
        out.update(zip(FIELDS[self[1]], self[6:]))
        for name, value in out.items():
            if type(value) is float:
                out[name] = round(value, 6)
        return out

    def __repr__(self) -> str:
        return f"Event({self.to_dict()})"
