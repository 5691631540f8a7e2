"""``events.*``: the numbers a sentence names that the summary's counters cannot say."""
from __future__ import annotations

from webapp.engine import Simulation, parse_scenario
from webapp.engine.events import (CACHE_HIT, CACHE_MISS, CACHE_SET, FETCH_START, LOCK_POLL,
                                  LOCK_WAIT, PROMISE_RESOLVED, PROMISE_WAIT, RESPOND, Event)
from webapp.lessons.eventstats import EVENT_STATS, event_stats


def ev(t, kind, req, key, *fields):
    return Event((t, kind, req, req, 0, key, *fields))


def test_each_stat_on_a_hand_made_run():
    events = [
        ev(0.0, CACHE_MISS, 1, "a", 0), ev(0.0, FETCH_START, 1, "a", 0, "leader", 1),
        ev(0.1, CACHE_MISS, 2, "a", 0), ev(0.1, LOCK_WAIT, 2, "a", 0),
        ev(0.2, CACHE_MISS, 3, "a", 0), ev(0.2, FETCH_START, 3, "a", 0, "direct", 2),
        ev(0.3, CACHE_SET, 1, "a", "leader", 10.0), ev(0.3, RESPOND, 1, "a", 0, "ok", 300.0, "db"),
        ev(0.4, LOCK_POLL, 2, "a", 0),
        ev(0.5, RESPOND, 2, "a", 0, "ok", 400.0, "lock"),
        ev(0.5, RESPOND, 3, "a", 0, "ok", 300.0, "db"),
        ev(1.0, CACHE_HIT, 4, "a", 0), ev(1.0, RESPOND, 4, "a", 0, "ok", 1.0, "cache"),
        ev(2.0, CACHE_MISS, 5, "b", 0), ev(2.0, FETCH_START, 5, "b", 0, "leader", 3),
        ev(2.1, PROMISE_WAIT, 6, "b", 0, 5), ev(2.1, PROMISE_WAIT, 7, "b", 0, 5),
        ev(2.5, PROMISE_RESOLVED, 5, "b", 2, False),
        ev(2.5, RESPOND, 5, "b", 0, "error", 500.0, None),
        ev(2.5, RESPOND, 6, "b", 0, "error", 400.0, None),
        ev(2.5, RESPOND, 7, "b", 0, "error", 400.0, None),
        ev(3.0, RESPOND, 8, "b", 0, "error", 1.0, None),       # failed outside any crowd
    ]
    stats = event_stats(events)
    assert set(stats) == set(EVENT_STATS)
    assert stats == {
        "cache_reads": 5 + 2, "polls": 2, "lock_waiters": 1,
        "key_queries_min": 1, "key_queries_max": 2, "first_key_queries": 2,
        "own_fetch_ms_min": 300.0, "own_fetch_ms_max": 500.0,
        "failed_crowds": 3, "failed_outside": 1,
    }


def test_a_run_with_no_query_reads_zero():
    stats = event_stats([ev(0.0, CACHE_HIT, 1, "a", 0)])
    assert stats["key_queries_max"] == stats["first_key_queries"] == stats["own_fetch_ms_max"] == 0


def test_on_an_engine_run_the_stats_agree_with_the_summary():
    scenario = parse_scenario({"strategy": {"coalesce": "lock"}, "seed": 3}, preset="classroom")
    simulation = Simulation(scenario)
    stats = event_stats(simulation.events())
    summary = simulation.summary()
    assert stats["cache_reads"] == (summary["cache_hits"] + summary["cache_misses"]
                                    + stats["polls"])
    assert stats["key_queries_min"] == stats["key_queries_max"] == 1   # one query per chunk
    assert stats["lock_waiters"] > 0 and stats["polls"] >= stats["lock_waiters"]


def test_bursts_group_the_queries_of_each_herd_from_the_samples():
    from webapp.lessons.experiments import run_summary_of
    from webapp.lessons.model import Experiment
    summary = run_summary_of(Experiment("x", "x", "classroom", {"seed": 5}, ()))
    bursts = summary["bursts"]
    assert bursts["count"] == summary["chunks"]          # one herd per chunk, 4 s apart
    assert bursts["queries_mean"] * bursts["count"] == summary["db_queries"]
    assert bursts["queries_min"] <= bursts["queries_mean"] <= bursts["queries_max"]
