"""The Simulation: one deterministic run of a scenario, yielding events in time order.

This is the engine's public face; it only assembles the parts and hands out their output:

    loop.py        the clock, the lanes of pending work, the order of ties
    workload.py    arrivals: which viewer asks for which key, when
    lifecycle.py   a request's way through cache, mitigations and datastore (the simulated Host)
    faults.py      the first fetch failing, the first leader's server dying
    sampling.py    the periodic samples
    metrics.py     the summary, a pure function of a RunRecord

The parts point at each other (the host at its mitigations and back, the loop's entries at the
parts that made them), so ``close`` -- run when the Simulation is dropped -- cuts those links and
the whole run is freed at once by reference counting, with no wait for the cycle collector.
"""
import math
import weakref
from typing import Any, Iterator

from webapp.engine import metrics
from webapp.engine.counters import Counters
from webapp.engine.events import Event
from webapp.engine.faults import Faults
from webapp.engine.lifecycle import Lifecycle, Request
from webapp.engine.loop import INF, Loop
from webapp.engine.recorder import Recorder
from webapp.engine.sampling import Sampler
from webapp.engine.scenario import Scenario, ScenarioError
from webapp.engine.trace import Trace
from webapp.engine.workload import Workload

MAX_INJECTED = 10_000
STEPS_PER_YIELD = 2048           # events() computes at most this many steps between yields


class Simulation:
    """One run. ``record_requests``: make per-request events (else only system events);
    ``sample_every=k``: only for viewers with ``viewer % k == 0`` and injected ones;
    ``max_steps``: end the run early, cleanly, after that many loop steps
    (``summary()["truncated"]``). Counters, samples and the summary are exact either way.
    ``trace``: replay given arrivals and service times instead of the scenario's workload
    (engine/trace.py; code only, for running beside a real run)."""

    def __init__(self, scenario: Scenario, record_requests: bool = True, sample_every: int = 1,
                 max_steps: int | None = None, trace: Trace | None = None) -> None:
        if not isinstance(scenario, Scenario):
            raise TypeError("Simulation needs a Scenario; use parse_scenario() first")
        if trace is not None and not isinstance(trace, Trace):
            raise TypeError("trace must be a webapp.engine.trace.Trace")
        if trace is not None and scenario.workload.kind != "hot_key":
            raise ValueError("a trace replaces a hot_key workload; workload.kind is "
                             f"{scenario.workload.kind!r}")
        if not _whole(sample_every):
            raise ValueError(f"sample_every must be a whole number >= 1, not {sample_every!r}")
        if max_steps is not None and not _whole(max_steps):
            raise ValueError(f"max_steps must be a whole number >= 1, not {max_steps!r}")
        self.scenario = scenario
        self._recorder = Recorder(record_requests, sample_every)
        self._counters = Counters()
        self._loop = Loop(scenario.sample_interval_s, scenario.duration_s, max_steps)
        self._life = Lifecycle(scenario, self._loop, self._recorder, self._counters,
                               trace.service_s if trace else ())
        sampler = Sampler(self._life)
        self._loop.on_sample = sampler.sample
        self._faults = Faults(self._life, self._loop)
        self._workload = Workload(self._life, self._loop, trace)
        self._injected = 0
        weakref.finalize(self, _close, [self._loop, self._life, self._faults, self._workload,
                                        sampler])

    # ----------------------------------------------------------------- state
    @property
    def finished(self) -> bool:
        return self._loop.finished

    @property
    def now(self) -> float:
        return self._loop.now

    @property
    def steps(self) -> int:
        return self._loop.steps

    @property
    def truncated(self) -> bool:
        """The run reached ``max_steps`` with work left, and ended there."""
        return self._loop.truncated

    # ----------------------------------------------------------------- running
    def events(self) -> Iterator[Event]:
        """All events in time order, computed in small steps between yields."""
        while True:
            self._loop.run(INF, STEPS_PER_YIELD)
            batch = self._recorder.take()
            if batch:
                yield from batch
            if self._loop.finished:
                return

    def advance(self, until_t: float) -> list[Event]:
        """Process everything with ``t <= until_t`` and return its events."""
        loop = self._loop
        loop.run(until_t, None)
        if not loop.finished and until_t > loop.now:
            loop.now = until_t
        return self._recorder.take()

    def run(self) -> "Simulation":
        """Run to the end, discarding events (use ``events()`` to see them)."""
        while not self._loop.finished:
            self._loop.run(INF, 1 << 20)
            self._recorder.take()
        return self

    def inject(self, t: float | None = None) -> int:
        """Add one extra viewer request at ``max(t, now)``; returns its request id."""
        if self._injected >= MAX_INJECTED:
            raise ScenarioError("inject", f"at most {MAX_INJECTED} injected requests per run",
                                "has reached its limit")
        if self._loop.truncated:
            raise ScenarioError("inject", "a run that has not reached its step limit",
                                "is too late: the run was cut short")
        loop = self._loop
        t = loop.now if t is None else max(float(t), loop.now)
        if not math.isfinite(t):
            raise ScenarioError("inject", "a finite time in seconds", "needs a finite time")
        viewer = self.scenario.clients.count + self._injected
        self._injected += 1
        req = self._life.new_request(t, viewer, "")
        loop.later(t, self._workload.arrive_injected, req)
        loop.finished = False
        return req.id

    # ----------------------------------------------------------------- results
    def record(self) -> metrics.RunRecord:
        """The run so far (final once finished), as the summary sees it."""
        life, loop = self._life, self._loop
        return metrics.RunRecord(
            counters=self._counters.as_dict(), answered_s=life.answered, failed_s=life.failed,
            peak_db_inflight=life.db.peak_inflight, db_down_s=life.db.down_so_far(loop.now),
            chunks=self._workload.chunks, servers_down=life.servers.alive.count(False),
            sim_time_s=loop.now, steps=loop.steps, finished=loop.finished,
            truncated=loop.truncated,
            seed=self.scenario.seed, coalesce=self.scenario.strategy.coalesce,
            after_s=self.scenario.faults.slow_db_at_s + self.scenario.faults.slow_db_for_s)

    def summary(self) -> dict[str, Any]:
        return metrics.summary(self.record())


def _whole(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 1


def _close(parts: list[Any]) -> None:
    """Cut every link between the run's parts (see the module docstring)."""
    parts[0].close()                             # the loop: its pending work
    parts[1].close()                             # the lifecycle: requests <-> their queries
    for part in parts:
        mitigations = getattr(part, "mitigations", None)
        for mitigation in mitigations.all if mitigations else ():
            vars(mitigation).clear()
        vars(part).clear()


__all__ = ["MAX_INJECTED", "Request", "Simulation"]
