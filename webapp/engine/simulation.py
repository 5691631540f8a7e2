"""The Simulation: one deterministic run of a scenario, yielding events in time order.

This is the engine's public face; it only assembles the parts and hands out their output:

    loop.py        the clock, the lanes of pending work, the order of ties
    workload.py    arrivals: which viewer asks for which key, when
    lifecycle.py   a request's way through cache, mitigations and datastore (the simulated Host)
    faults.py      the first fetch failing, the first leader's server dying, a slowdown
    inputs.py      inputs at virtual time: what a user does to the run while it runs
    moments.py     the moments worth seeing, marked as the run goes (kept by the lifecycle)
    sampling.py    the periodic samples
    metrics.py     the summary, a pure function of a RunRecord

The parts point at each other (the host at its mitigations and back, the loop's entries at the
parts that made them), so ``close`` -- run when the Simulation is dropped -- cuts those links and
the whole run is freed at once by reference counting, with no wait for the cycle collector.
"""
import weakref
from typing import Any, Iterator, Mapping, Sequence

from webapp.engine import metrics
from webapp.engine.counters import Counters
from webapp.engine.events import Event
from webapp.engine.faults import Faults
from webapp.engine.inputs import MAX_INPUTS, Inputs, check_input, check_inputs
from webapp.engine.lifecycle import Lifecycle, Request
from webapp.engine.loop import INF, Loop
from webapp.engine.recorder import Recorder
from webapp.engine.sampling import Sampler
from webapp.engine.scenario import Scenario, ScenarioError
from webapp.engine.trace import Trace
from webapp.engine.workload import Workload

MAX_INJECTED = MAX_INPUTS        # injected requests are inputs: the same cap
STEPS_PER_YIELD = 2048           # events() computes at most this many steps between yields


class Simulation:
    """One run. ``record_requests``: make per-request events (else only system events);
    ``sample_every=k``: only for viewers with ``viewer % k == 0`` and injected ones;
    ``max_steps``: end the run early, cleanly, after that many loop steps
    (``summary()["truncated"]``). Counters, samples and the summary are exact either way.
    ``trace``: replay given arrivals and service times instead of the scenario's workload
    (engine/trace.py; code only, for running beside a real run). ``inputs``: records of what a
    user does at given times (engine/inputs.py; untrusted input, checked here); more can be
    added while the run goes (``add_input``)."""

    def __init__(self, scenario: Scenario, record_requests: bool = True, sample_every: int = 1,
                 max_steps: int | None = None, trace: Trace | None = None,
                 inputs: Sequence[Mapping[str, Any]] | None = ()) -> None:
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
        self._keys = frozenset(trace.keys()) if trace is not None else frozenset()
        checked = check_inputs(scenario, inputs or (), self._keys)
        self.scenario = scenario
        self._recorder = Recorder(record_requests, sample_every)
        self._counters = Counters()
        self._loop = Loop(scenario.sample_interval_s, scenario.duration_s, max_steps)
        self._life = Lifecycle(scenario, self._loop, self._recorder, self._counters,
                               trace.service_s if trace else (),
                               trace.planned if trace else (), trace.looks if trace else (),
                               trace.claims if trace else (), trace.around_s if trace else ())
        sampler = self._sampler = Sampler(self._life)
        self._loop.on_sample = sampler.sample
        self._faults = Faults(self._life, self._loop)
        self._workload = Workload(self._life, self._loop, trace)
        self._inputs = Inputs(self._life, self._loop, self._workload.newest_key,
                              self._faults.slow_db)
        for record in checked:
            self._inputs.add(record)
        weakref.finalize(self, _close, [self._loop, self._life, self._faults, self._workload,
                                        sampler, self._inputs])

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

    @property
    def moments(self) -> list[Event]:
        """The moments so far (``moment`` events, engine/moments.py), in time order; made
        whatever is recorded, so a summary-only run gives the full list."""
        return list(self._life.moments.events)

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """Every input given so far, checked, in the order given (an input's place here is the
        ``seq`` of its ``input`` event): with the same scenario, this list makes the same run."""
        return [dict(record) for record in self._inputs.records]

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
        self._run_to(until_t)
        return self._recorder.take()

    def _run_to(self, until_t: float) -> None:
        loop = self._loop
        loop.run(until_t, None)
        if not loop.finished and until_t > loop.now:
            loop.now = until_t

    def peek(self) -> Event:
        """A ``sample`` event of the run as it stands now (everything up to ``now`` done), made
        without touching the run: what a page that seeks to this instant shows."""
        return self._sampler.peek(self._loop.now)

    def run(self) -> "Simulation":
        """Run to the end, discarding events (use ``events()`` to see them)."""
        while not self._loop.finished:
            self._loop.run(INF, 1 << 20)
            self._recorder.take()
        return self

    def add_input(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Add one input (engine/inputs.py) at ``record["t"] >= now`` to a run not yet over;
        returns it checked. The run is then the one ``Simulation(scenario, inputs=self.inputs)``
        makes. Raises ScenarioError (key ``input...``) for a bad record, a time already past,
        a run that is over, or one input too many."""
        loop = self._loop
        if loop.finished:
            raise ScenarioError("input", "inputs while the run goes on",
                                "is too late: the run " + ("was cut short" if loop.truncated
                                                           else "has ended"))
        if len(self._inputs.records) >= MAX_INPUTS:
            raise ScenarioError("input", f"at most {MAX_INPUTS:,} inputs per run",
                                "is one too many")
        checked = check_input(self.scenario, record, "input", self._keys)
        if checked["t"] < loop.now:
            raise ScenarioError("input.t", f"at least now ({loop.now:g} s): the run has "
                                "computed that far", "is in the past")
        self._inputs.add(checked)
        return dict(checked)

    def inject(self, t: float | None = None) -> int:
        """One more viewer request at ``max(t, now)`` (an ``inject`` input), and the run taken up
        to that time so as to return the new request's id; its events come with the next batch.
        Raises ScenarioError (key ``inject``) when ``add_input`` would refuse it."""
        loop = self._loop
        at = loop.now if t is None else max(float(t), loop.now)
        try:
            self.add_input({"t": at, "kind": "inject"})
        except ScenarioError as exc:
            raise ScenarioError("inject", exc.allowed, exc.problem) from None
        seq = len(self._inputs.records) - 1
        self._run_to(at)
        if seq not in self._inputs.requests:      # the step limit came first
            raise ScenarioError("inject", "a run that has not reached its step limit",
                                "is too late: the run was cut short")
        return self._inputs.requests[seq]

    # ----------------------------------------------------------------- results
    def record(self) -> metrics.RunRecord:
        """The run so far (final once finished), as the summary sees it."""
        life, loop = self._life, self._loop
        return metrics.RunRecord(
            counters=self._counters.as_dict(), answered_s=life.answered, failed_s=life.failed,
            peak_db_inflight=life.db.peak_inflight, db_down_s=life.db.down_so_far(loop.now),
            moments=life.moments.made(), moments_dropped=life.moments.dropped,
            inputs_applied=self._inputs.applied,
            chunks=self._workload.chunks, servers_down=life.servers.alive.count(False),
            sim_time_s=loop.now, steps=loop.steps, finished=loop.finished,
            truncated=loop.truncated,
            seed=self.scenario.seed, coalesce=self.scenario.strategy.coalesce,
            after_s=self.scenario.faults.slow_db_at_s + self.scenario.faults.slow_db_for_s,
            extra=self._extra())

    def _extra(self) -> dict[str, Any]:
        """The summary keys of lessons 12-14's features that this run has on (or had switched
        on): a run without them has exactly the keys it always had."""
        counters = self._counters
        extra: dict[str, Any] = {name: getattr(counters, name)
                                 for name, switch in metrics.FEATURES.items()
                                 if self.scenario.get(switch) or getattr(counters, name)}
        if self._life.shards is not None:
            extra["cache_tier"] = self._life.shards.summary(self._loop.now)
        return extra

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
        for mitigation in mitigations.built.values() if mitigations else ():
            vars(mitigation).clear()
        vars(part).clear()


__all__ = ["MAX_INJECTED", "MAX_INPUTS", "Request", "Simulation"]
