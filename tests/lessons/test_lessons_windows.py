"""Windows: a check reads a stretch of a run (``window.NAME.FIELD``) computed from its samples.

The numbers must be the run's own: Little's law (L = λW) ties the window's mean in-flight count
and its rate of ends to the mean latency the engine measured request by request, so a window that
averaged the wrong samples, or divided by the wrong time, would break it.
"""
from __future__ import annotations

import pytest

from webapp.lessons.checks import check_lessons
from webapp.lessons.experiments import WINDOW, run_summary_of, window_keys
from webapp.lessons.loader import load_course
from webapp.lessons.model import Experiment, Window

# One connection at half load for 200 s: long enough that the window's averages settle.
HALF_LOAD = {"clients": {"rate_per_s": 50, "count": 100_000}, "duration_s": 200,
             "sample_interval_s": 0.01}


@pytest.mark.parametrize("seed", [1, 2])
def test_a_window_obeys_littles_law_and_the_runs_own_counts(seed):
    experiment = Experiment("half", "half", "queueing", {**HALF_LOAD, "seed": seed}, (),
                            windows=(Window("all", 10.0, 190.0),))
    summary = run_summary_of(experiment)
    w = summary["window"]["all"]
    assert set(w) == set(WINDOW)
    assert w["ends_per_s"] == pytest.approx(50, rel=0.05)                     # λ: what arrives leaves
    assert w["answered_per_s"] == w["ends_per_s"]                              # no failures here
    assert w["in_service"] == pytest.approx(w["utilisation"])                 # one connection
    assert w["inflight_requests"] == pytest.approx(w["queued"] + w["in_service"], abs=0.01)
    little_w_s = w["inflight_requests"] / w["ends_per_s"]
    assert little_w_s * 1000 == pytest.approx(summary["latency_everyone_ms"]["mean"], rel=0.05)


def test_windows_split_a_run_where_its_samples_say():
    """A window holds exactly one sample per interval: its rates are counts over its length."""
    late, early = Window("late", 40.0, 60.0), Window("early", 2.0, 10.0)
    experiment = Experiment("m", "m", "metastable", {"seed": 1}, (), windows=(early, late))
    summary = run_summary_of(experiment)
    plain = run_summary_of(Experiment("m", "m", "metastable", {"seed": 1}, ()))
    assert {k: v for k, v in summary.items() if k != "window"} == plain       # windows change nothing else
    for window in (early, late):
        stats = summary["window"][window.name]
        assert 0 <= stats["utilisation"] <= 1
        assert stats["answered_per_s"] <= stats["ends_per_s"]
    # Healthy before the slowdown, collapsed long after it (the metastable lesson's claims).
    assert summary["window"]["early"]["inflight_requests"] < 10
    assert summary["window"]["late"]["inflight_requests"] > 300


def test_only_experiments_with_windows_run_through_the_samples():
    course = load_course()
    lesson = course.lesson("metastable-failure")
    with_windows = [e for e in lesson.experiments if e.windows]
    assert [e.id for e in with_windows] == ["slowdown"]
    assert "window.late.inflight_requests" in window_keys(with_windows[0])
    assert window_keys(lesson.experiment("steady")) == frozenset()
    outcomes = check_lessons([lesson], (1,), jobs=1)
    window_checks = [o for o in outcomes if "window." in o.check.expect.text]
    assert len(window_checks) >= 6 and all(o.ok for o in window_checks)
