"""Faults injected into a run: the first fetch fails, the first leader's server dies, or the
datastore slows down for a while.

- ``faults.fail_fetch``: the first query sent is served but answers with an error (a shared
  error for everyone waiting on it).
- ``faults.leader_dies``: the server that sends the first fetch for a miss (a coalescing
  leader's, or a ``direct`` one without coalescing) dies halfway through it (half the mean
  service time later). Its process memory goes (each mitigation's
  ``on_server_down``), every attempt it was handling fails at once (and may retry elsewhere),
  its pending work does nothing more, and a lock or marker it held stays until its lease ends.
  Its queries still queued are cancelled (their waiters have all failed); running ones run on.
- ``faults.slow_db_for_s`` > 0: from ``slow_db_at_s``, for that long, every query that starts
  takes ``slow_factor`` times as long (a bad deploy, a noisy neighbour, a failover): a trigger
  that is gone afterwards. Whether the run recovers when it is gone is the question
  (metastable failures: the ``metastable`` preset).
"""
from webapp.engine.datastore import Query
from webapp.engine.events import DB_SLOW, SERVER_DOWN, Event
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
        if f.leader_dies:
            lifecycle.open = {}          # a dying server must find its attempts
        if f.fail_fetch or f.leader_dies:
            lifecycle.on_fetch = self.on_fetch
        if f.slow_db_for_s:
            end = f.slow_db_at_s + f.slow_db_for_s
            loop.later(f.slow_db_at_s, self.slow_db, f.slow_factor, end)
            loop.later(end, self.slow_db, 1.0, None)

    def slow_db(self, t: float, factor: float, until: float | None) -> None:
        self.lifecycle.db.slow = factor
        self.lifecycle.recorder.system(Event((t, DB_SLOW, None, None, None, None, factor, until)))

    def on_fetch(self, t: float, q: Query) -> None:
        """Called for every query, before the datastore sees it."""
        if self.fail_fetch and not self._fetched:
            q.doomed = True
        self._fetched = True
        if self.leader_dies and q.role in MISS_ROLES and not self._leader_fetched:
            self._leader_fetched = True
            self.loop.later(t + self.half_service_s, self.kill_server, q.server)

    def kill_server(self, t: float, server: int) -> None:
        life = self.lifecycle
        life.servers.kill(server)
        life.recorder.system(Event((t, SERVER_DOWN, None, None, server, None)))
        for hook in life.mitigations.hooks("on_server_down"):
            hook(t, server)
        assert life.open is not None
        for req in [r for r in life.open.values() if r.server == server]:
            life.settle(t, req, req.attempt, False, "server_down")
