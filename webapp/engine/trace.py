"""A trace: given arrivals and service times, for running the simulation beside a real run.

The real-systems driver (issue 14) measures a run on a real Redis and PostgreSQL: when each
request arrived, from which viewer, for which key, and how long each query took. Replaying the
same arrivals and service times through the simulation shows where the model and the real
stack part ways -- the model's queueing, coalescing and timeouts against the real ones.

A trace is handed to ``Simulation(scenario, trace=Trace(...))`` in code only. It is not a
scenario key, and nothing reads one from untrusted input; it is still checked, so that a wrong
trace fails at once with a clear message rather than midway through a run.

- ``arrivals``: ``(t, viewer, key)`` in time order (``t`` seconds from the start, ``viewer`` an
  integer >= 0, ``key`` a short string). They replace the scenario's workload: ``clients.count``,
  ``arrival``, ``window_s``, ``rate_per_s``, ``workload.keys`` and ``zipf_s`` are not used, every
  arrival is used whatever ``duration_s``, and ``workload.kind`` must be ``hot_key``. With
  ``workload.warm_start`` every key of the trace is cached at t=0. With ``sample_every`` the
  viewers from ``clients.count`` up are always traced, as injected ones are.
- ``service_s``: the i-th query to get a connection is served in ``service_s[i]`` seconds
  (before any contention or slowdown the scenario adds); past the end of the list, service times
  are drawn from the scenario's distribution as usual.
- ``looks``: for each arrival, each *look* its request takes while it waits on another's
  fetch, as ``(delay, read_ago)`` in seconds (``looks[i][j]``: the j-th look of
  ``arrivals[i]``'s request): a lock waiter's poll (``later`` with its request as the first
  argument) or a notified waiter's wake-up (``watch``) runs ``delay`` after it was due, with
  its cache read's answer in hand, and that read was made ``read_ago`` before (its first
  ``fresh`` sees the cache as it was then: a value written since is not there yet). On a real
  app server a look is not free: its timer or wake-up waits for the process to get to it, then
  its read waits its turn in a round trip; with thousands of waiters in one process that is
  most of their wait. Past the end of a request's list, its last look again; none given: looks
  are instant, as without a trace.
- ``claims``: for each arrival, its read-to-claim delay (seconds): when its first attempt
  misses, the coalescing strategy gets it that long after the read (instead of
  ``cache.lookup_ms``). On a real app server the whole herd's claims (or promise-table checks)
  queue behind each other's round trips: the first is quick, the last is not.
- ``around_s``: for each query, in the order they are sent, the app server's own time around
  it (seconds): getting it out and writing its answer (or having its refusal in hand). The
  query's answer (the cache write, then the strategy's callback) comes that much after the
  datastore finished or refused it; past the end of the list, at once.
- ``planned``: the instant each arrival was *meant* to come (``planned[i]`` for
  ``arrivals[i]``; none given: the arrival itself). A request's latency runs from it, as a real
  run's does: measured from the planned arrival, a late start counts against the system, the
  standard correction for coordinated omission (Gil Tene; wrk2, HdrHistogram).
"""
import math
from dataclasses import dataclass
from typing import Sequence

MAX_ARRIVALS = 10_000_000
MAX_KEY = 64
MAX_LOOKS = 10_000           # per request


@dataclass(frozen=True)
class Trace:
    arrivals: Sequence[tuple[float, int, str]]
    service_s: Sequence[float] = ()
    planned: Sequence[float] = ()
    looks: Sequence[Sequence[tuple[float, float]]] = ()
    claims: Sequence[float] = ()
    around_s: Sequence[float] = ()

    def __post_init__(self) -> None:
        if not 0 < len(self.arrivals) <= MAX_ARRIVALS:
            raise ValueError(f"a trace needs 1 to {MAX_ARRIVALS:,} arrivals, "
                             f"not {len(self.arrivals):,}")
        last = 0.0
        for i, arrival in enumerate(self.arrivals):
            if not (isinstance(arrival, tuple) and len(arrival) == 3):
                raise ValueError(f"arrival {i} must be a tuple (t, viewer, key)")
            t, viewer, key = arrival
            if not (isinstance(t, (int, float)) and not isinstance(t, bool)
                    and math.isfinite(t) and t >= last):
                raise ValueError(f"arrival {i}: t must be a finite number of seconds, at least "
                                 f"0 and the previous arrival's ({last:g}), not {t!r}")
            if not (isinstance(viewer, int) and not isinstance(viewer, bool) and viewer >= 0):
                raise ValueError(f"arrival {i}: viewer must be an integer >= 0, not {viewer!r}")
            if not (isinstance(key, str) and 0 < len(key) <= MAX_KEY):
                raise ValueError(f"arrival {i}: key must be a string of 1 to {MAX_KEY} "
                                 "characters")
            last = float(t)
        if self.planned and len(self.planned) != len(self.arrivals):
            raise ValueError(f"planned needs one instant per arrival ({len(self.arrivals):,}), "
                             f"not {len(self.planned):,}")
        for i, t in enumerate(self.planned):
            if not (isinstance(t, (int, float)) and not isinstance(t, bool)
                    and math.isfinite(t) and t >= 0):
                raise ValueError(f"planned[{i}] must be a finite number of seconds >= 0, "
                                 f"not {t!r}")
        if self.looks and len(self.looks) != len(self.arrivals):
            raise ValueError(f"looks needs one list per arrival ({len(self.arrivals):,}), "
                             f"not {len(self.looks):,}")
        for i, looks in enumerate(self.looks):
            if len(looks) > MAX_LOOKS or not all(
                    isinstance(look, tuple) and len(look) == 2 and all(
                        isinstance(d, (int, float)) and not isinstance(d, bool)
                        and math.isfinite(d) and d >= 0 for d in look) for look in looks):
                raise ValueError(f"looks[{i}] must be at most {MAX_LOOKS:,} pairs (delay, "
                                 "read_ago) of finite numbers of seconds >= 0")
        if self.claims and len(self.claims) != len(self.arrivals):
            raise ValueError(f"claims needs one delay per arrival ({len(self.arrivals):,}), "
                             f"not {len(self.claims):,}")
        if len(self.around_s) > MAX_ARRIVALS * 11:
            raise ValueError("more around_s than a trace's queries can use")
        for name, values in (("claims", self.claims), ("around_s", self.around_s)):
            for i, d in enumerate(values):
                if not (isinstance(d, (int, float)) and not isinstance(d, bool)
                        and math.isfinite(d) and d >= 0):
                    raise ValueError(f"{name}[{i}] must be a finite number of seconds >= 0, "
                                     f"not {d!r}")
        if len(self.service_s) > MAX_ARRIVALS * 11:      # each arrival: 1 + up to 10 retries
            raise ValueError("more service times than a trace's queries can use")
        for i, s in enumerate(self.service_s):
            if not (isinstance(s, (int, float)) and not isinstance(s, bool)
                    and math.isfinite(s) and s > 0):
                raise ValueError(f"service_s[{i}] must be a finite number of seconds > 0, "
                                 f"not {s!r}")

    def keys(self) -> list[str]:
        """The distinct keys, in order of first arrival."""
        return list(dict.fromkeys(key for _, _, key in self.arrivals))


class LookDelays:
    """A trace's ``looks`` as the simulated host uses them: ``next(rid)`` is the next look of
    request ``rid`` (a trace's requests are numbered in its order), ``(delay, read_ago)``."""

    def __init__(self, looks: Sequence[Sequence[tuple[float, float]]]) -> None:
        self._looks = looks
        self._taken: dict[int, int] = {}

    def next(self, rid: int) -> tuple[float, float]:
        looks = self._looks[rid] if rid < len(self._looks) else ()
        if not looks:
            return 0.0, 0.0
        j = self._taken.get(rid, 0)
        self._taken[rid] = j + 1
        return looks[min(j, len(looks) - 1)]
