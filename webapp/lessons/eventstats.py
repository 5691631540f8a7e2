"""What a check may read of a run's per-request events (``events.NAME``), where the summary's
counters cannot say what a lesson's sentence names.

The summary counts queries and hits for the whole run; a lesson says "for each chunk", "each
waiter polls", "refreshes per expiry", "they all get the error, and nobody else does". Each of
those is a number here, computed in one pass over the events of a run that records its requests
(``Experiment.record``: set by the loader for the experiments whose checks read ``events.*``, so
the others stay summary-only and cheap). Pure functions of the events, bounded by the run: a few
counters per key and one set of request ids.

    cache_reads        every read of the cache: each attempt's lookup (hit, miss or stale) plus
                       every later look by a lock's waiter (``polls``)
    polls              looks at the cache by lock waiters after their first: the polls that found
                       nothing (``lock_poll``) and the one that found the value (an answer from
                       source ``lock``); a woken waiter's look counts too (notify)
    lock_waiters       attempts that found the lock taken and waited
    key_queries_min    datastore queries sent for a key, over the keys that got any: the fewest
    key_queries_max    ... and the most (a live chunk is a key: "queries for each chunk")
    first_key_queries  ... and those of the first key queried (the first chunk's herd)
    own_fetch_ms_min   the latency of the requests that sent a datastore query themselves: the
    own_fetch_ms_max   shortest and the longest (0 when none did)
    failed_crowds      requests that were the leader of a promise that failed, or waited on one
    failed_outside     requests that failed and were not in such a crowd (0: "nobody else does")
"""
from __future__ import annotations

from typing import Any, Iterable

from webapp.engine.events import (CACHE_HIT, CACHE_MISS, FETCH_START, LOCK_POLL, LOCK_WAIT,
                                  PROMISE_RESOLVED, PROMISE_WAIT, RESPOND, STALE_SERVED)

EVENT_STATS = ("cache_reads", "polls", "lock_waiters", "key_queries_min", "key_queries_max",
               "first_key_queries", "own_fetch_ms_min", "own_fetch_ms_max", "failed_crowds",
               "failed_outside")
EVENT_KEYS = frozenset(f"events.{name}" for name in EVENT_STATS)
_LOOKUPS = (CACHE_HIT, CACHE_MISS, STALE_SERVED)


def event_stats(events: Iterable[Any]) -> dict[str, float]:
    """``EVENT_STATS`` of one run from its events in time order (system events are ignored)."""
    lookups = polls = waiters = 0
    queries: dict[str, int] = {}
    fetchers: set[int] = set()
    own_ms: list[float] = []
    crowd_of: dict[int, set[int]] = {}      # a promise's leader -> the requests waiting on it
    crowds: set[int] = set()
    failed: set[int] = set()
    for ev in events:
        kind = ev[1]
        if kind in _LOOKUPS:
            lookups += 1
        elif kind == LOCK_POLL:
            polls += 1
        elif kind == LOCK_WAIT:
            waiters += 1
        elif kind == FETCH_START:
            key = ev.key
            queries[key] = queries.get(key, 0) + 1
            fetchers.add(ev.req)
        elif kind == PROMISE_WAIT:
            crowd_of.setdefault(ev.leader, set()).add(ev.req)
        elif kind == PROMISE_RESOLVED:
            crowd = crowd_of.pop(ev.req, set())
            if not ev.ok:
                crowds |= crowd | {ev.req}
        elif kind == RESPOND:
            if ev.source == "lock":
                polls += 1
            if ev.status == "error":
                failed.add(ev.req)
            if ev.req in fetchers:
                own_ms.append(ev.latency_ms)
    counts = list(queries.values()) or [0]
    return {
        "cache_reads": lookups + polls, "polls": polls, "lock_waiters": waiters,
        "key_queries_min": min(counts), "key_queries_max": max(counts),
        "first_key_queries": next(iter(queries.values()), 0),
        "own_fetch_ms_min": min(own_ms, default=0.0), "own_fetch_ms_max": max(own_ms, default=0.0),
        "failed_crowds": len(crowds), "failed_outside": len(failed - crowds),
    }
