"""Faults injected into a run: the first fetch fails, the first leader's server dies, or the
datastore slows down for a while.

- ``faults.fail_fetch``: the first query sent is served but answers with an error (a shared
  error for everyone waiting on it).
- ``faults.leader_dies``: the server that sends the first fetch for a miss (a coalescing
  leader's, or a ``direct`` one without coalescing) dies halfway through it (half the mean
  service time later): ``Lifecycle.kill_server``, which an input can do too -- unless inputs
  have killed every other server. Its queries still queued are cancelled (their waiters have
  all failed); running ones run on.
- ``faults.slow_db_for_s`` > 0: from ``slow_db_at_s``, for that long, every query that starts
  takes ``slow_factor`` times as long (a bad deploy, a noisy neighbour, a failover): a trigger
  that is gone afterwards. Whether the run recovers when it is gone is the question
  (metastable failures: the ``metastable`` preset). An input can slow it too (``slow_db``).
- ``faults.cache_lost_at_s`` > 0: at that time the whole cache tier is lost and restarts empty
  (``Lifecycle.lose_cache``; an input can do it too, ``lose_cache``).
"""
from webapp.engine.datastore import Query
from webapp.engine.events import DB_SLOW, Event
from webapp.engine.inputs import slowdown_end
from webapp.engine.lifecycle import Lifecycle
from webapp.engine.loop import Loop

MISS_ROLES = ("leader", "direct")     # not a refresh of a value still cached


class Faults:
    def __init__(self, lifecycle: Lifecycle, loop: Loop) -> None:
        f = lifecycle.scenario.faults
        self.lifecycle = lifecycle
        self.loop = loop
        self.fail_fetch = f.fail_fetch
        self.leader_dies = f.leader_dies
        self.half_service_s = lifecycle.scenario.datastore.service_ms / 1000.0 / 2
        self._fetched = False
        self._leader_fetched = False
        self._slowdowns = 0          # each slowdown's end applies only if none came after it
        if f.fail_fetch or f.leader_dies:
            lifecycle.on_fetch = self.on_fetch
        if f.slow_db_for_s:
            loop.later(f.slow_db_at_s, self.slow_db, f.slow_factor, f.slow_db_for_s)
        if f.cache_lost_at_s:
            loop.later(f.cache_lost_at_s, lifecycle.lose_cache)

    def slow_db(self, t: float, factor: float, for_s: float | None) -> None:
        """From now on queries that start take ``factor`` times as long: for ``for_s`` seconds,
        or (None) until the next change. A later change overrides this one and its end."""
        self._slowdowns += 1
        until = slowdown_end(t, factor, for_s)
        self._set_slow(t, factor, until)
        if until is not None:
            self.loop.later(until, self._slow_over, self._slowdowns)

    def _slow_over(self, t: float, slowdown: int) -> None:
        if slowdown == self._slowdowns:
            self._set_slow(t, 1.0, None)

    def _set_slow(self, t: float, factor: float, until: float | None) -> None:
        life = self.lifecycle
        life.db.slow = factor
        life.recorder.system(Event((t, DB_SLOW, None, None, None, None, factor, until)))
        life.moments.slow(t, factor, until)

    def on_fetch(self, t: float, q: Query) -> None:
        """Called for every query, before the datastore sees it."""
        if self.fail_fetch and not self._fetched:
            q.doomed = True
        self._fetched = True
        if self.leader_dies and q.role in MISS_ROLES and not self._leader_fetched:
            self._leader_fetched = True
            self.loop.later(t + self.half_service_s, self.lifecycle.kill_server, q.server)
