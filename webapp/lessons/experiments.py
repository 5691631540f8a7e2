"""The lessons' only door into the engine: validate an experiment, list keys, run summaries.

Keeping every engine call here means the loader, ``lessons check`` and the pages agree on what a
lesson's experiment *is* (a preset plus overrides, parsed by the engine's own validation), and a
change in the engine's API touches one file.
"""
from __future__ import annotations

from collections import deque
from functools import lru_cache
from typing import Any, Iterator

from webapp.engine import Simulation, estimate_steps, parse_scenario, run_summary, schema
from webapp.engine.events import SAMPLE, SAMPLE_FIELDS
from webapp.engine.moments import WHATS
from webapp.lessons.eventstats import event_stats
from webapp.lessons.expr import numeric_keys
from webapp.lessons.model import Experiment, Window

# The smallest run that produces every summary key: summary keys do not depend on the scenario,
# except lessons 12-14's, present only when their feature is on (engine/metrics.FEATURES), so the
# probe turns those on; one tiny run tells the loader which names a check may use.
_PROBE = {"clients": {"count": 2}, "duration_s": 1.0,
          "workload": {"kind": "live_video", "segment_s": 1.0, "ask_early_s": 0.5},
          "cache": {"shard_ops_per_s": 100.0, "local_ttl_ms": 10.0, "negative_ttl_ms": 10.0},
          "strategy": {"traffic_shift_s": 1.0, "hit_for_pass_s": 1.0, "wait_timeout_ms": 10.0}}


def scenario_for(experiment: Experiment) -> Any:
    """The engine's Scenario for an experiment; raises the engine's ScenarioError when invalid."""
    return parse_scenario(experiment.overrides, preset=experiment.preset)


@lru_cache(maxsize=1)
def control_keys() -> frozenset[str]:
    """Every scenario key the lab can show as a control."""
    return frozenset(row["key"] for row in schema())


@lru_cache(maxsize=1)
def summary_keys() -> frozenset[str]:
    """Every numeric summary key (dotted), as the engine produces them today."""
    return frozenset(numeric_keys(run_summary(parse_scenario(_PROBE))))


# What a check may read of a window (``window.NAME.FIELD``): the mean of an instantaneous sample
# field over the window's samples, or a per-interval count summed and divided by its length.
WINDOW_MEANS = ("inflight_requests", "queued", "in_service", "utilisation")
WINDOW_RATES = {"ends_per_s": "ends", "answered_per_s": "responses"}
WINDOW = (*WINDOW_MEANS, *WINDOW_RATES)
_AT = {name: 6 + i for i, name in enumerate(SAMPLE_FIELDS)}  # an Event is (t, kind, req, ...)


def window_keys(experiment: Experiment) -> frozenset[str]:
    """The summary keys an experiment's windows add (``window.late.inflight_requests``, ...)."""
    return frozenset(f"window.{w.name}.{field}" for w in experiment.windows for field in WINDOW)


@lru_cache(maxsize=1)
def scenario_keys() -> frozenset[str]:
    """``scenario.KEY`` for every numeric setting: what a check may read of a run's scenario."""
    return frozenset(f"scenario.{key}" for key in numeric_keys(parse_scenario(_PROBE).to_dict()))


# What a check may read of a run's moments besides the summary's counts (``moments.WHAT``):
# ``moment.WHAT.FIELD``, over every moment of that kind the run made. The summary a student's page
# holds has only the counts, so, like windows, these are for checks only. A run without such a
# moment reads 0 for each (its count, ``moments.WHAT``, says there was none).
MOMENT_STATS = ("number_min", "number_max", "number_sum", "first_t", "last_t")
MOMENT_KEYS = frozenset(f"moment.{what}.{stat}" for what in WHATS for stat in MOMENT_STATS)


def _moment_stats(moments: list[Any]) -> dict[str, dict[str, float]]:
    """``{what: {number_min, number_max, number_sum, first_t, last_t}}`` of a run's moments."""
    stats = {}
    for what in WHATS:
        made = [m for m in moments if m.what == what]
        numbers = [m.number for m in made if m.number is not None] or [0]
        times = [m.t for m in made] or [0.0]
        stats[what] = {"number_min": min(numbers), "number_max": max(numbers),
                       "number_sum": sum(numbers), "first_t": min(times), "last_t": max(times)}
    return stats


# What a check may read of a run's bursts of datastore queries (``bursts.FIELD``), from its samples:
# a burst is a stretch of sample intervals that send queries, with gaps shorter than BURST_GAP_S;
# an expiry's refreshes, or a chunk's herd, make one. Cheap: no per-request events are needed.
BURST_GAP_S = 1.0
BURST_STATS = ("count", "queries_min", "queries_mean", "queries_max")
BURST_KEYS = frozenset(f"bursts.{stat}" for stat in BURST_STATS)
_QUERIES = 6 + SAMPLE_FIELDS.index("db_queries")  # a sample's running count of queries sent


def _bursts(samples: list[Any]) -> dict[str, float]:
    """``BURST_STATS`` of a run's samples (in time order, one per sample interval)."""
    sizes: list[int] = []
    before = 0
    last_t = None
    for sample in samples:
        sent = sample[_QUERIES] - before
        before = sample[_QUERIES]
        if not sent:
            continue
        if last_t is None or sample.t - last_t >= BURST_GAP_S:
            sizes.append(0)
        sizes[-1] += sent
        last_t = sample.t
    return {"count": len(sizes), "queries_min": min(sizes, default=0),
            "queries_mean": sum(sizes) / len(sizes) if sizes else 0.0,
            "queries_max": max(sizes, default=0)}


def run_summary_of(experiment: Experiment) -> dict[str, Any]:
    """Run one experiment for ``lessons check``: its summary, and what only checks read.

    The engine's summary, plus ``scenario`` (its settings: a sentence that states one is backed
    by a check of ``scenario.KEY``), ``bursts`` (``BURST_STATS`` of its bursts of queries),
    ``moment`` (``MOMENT_STATS`` of each kind of moment it made),
    ``window`` when the experiment declares windows (read off the run's samples, the same numbers
    the lab's charts draw) and ``events`` (``eventstats``) when it records its requests; the
    others run without per-request events, which is most of the cost of a run.
    """
    scenario = scenario_for(experiment)
    simulation = Simulation(scenario, record_requests=experiment.record)
    interval = scenario.sample_interval_s
    # A sample covers the interval that ends at its time; it is placed by its grid number, so
    # float drift (40.00000000000001) cannot move it across a window's edge, and the run's extra
    # final sample, if it shares a grid number with the one before, is not counted twice.
    inside: dict[str, list[Any]] = {w.name: [] for w in experiment.windows}
    grid: list[Any] = []  # one sample per interval, in time order
    last = None

    def samples() -> Iterator[Any]:
        nonlocal last
        for event in simulation.events():
            if event.kind == SAMPLE and (k := round(event.t / interval)) != last:
                last = k
                grid.append(event)
                for w in experiment.windows:
                    if round(w.from_s / interval) < k <= round(w.to_s / interval):
                        inside[w.name].append(event)
            yield event

    stats = None
    if experiment.record:
        stats = event_stats(samples())
    else:
        deque(samples(), maxlen=0)  # run it to the end, keeping nothing but the windows' samples
    summary = simulation.summary()
    summary["scenario"] = scenario.to_dict()
    summary["bursts"] = _bursts(grid)
    summary["moment"] = _moment_stats(simulation.moments)
    if experiment.windows:
        summary["window"] = {w.name: _window_stats(w, inside[w.name]) for w in experiment.windows}
    if stats is not None:
        summary["events"] = stats
    return summary


def _window_stats(window: Window, samples: list[Any]) -> dict[str, float]:
    """Means and rates over one window's samples (the loader keeps every window inside the
    arrivals and on the sample grid, so it holds one sample per interval)."""
    stats = {name: sum(s[_AT[name]] for s in samples) / len(samples) for name in WINDOW_MEANS}
    for name, field in WINDOW_RATES.items():
        stats[name] = sum(s[_AT[field]] for s in samples) / (window.to_s - window.from_s)
    return stats


def run_cost(experiment: Experiment) -> float:
    """The engine's estimate of the run's work (loop steps).

    Only used to start the most costly runs first when ``lessons check`` spreads them over
    processes; a run that cannot be built costs nothing (it fails at once, with its reason).
    """
    try:
        return float(estimate_steps(scenario_for(experiment)))
    except ValueError:
        return 0.0
