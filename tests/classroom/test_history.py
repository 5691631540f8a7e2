"""The room's run so far (history.py): thinned evenly, bounded, cut back by a seek."""
from __future__ import annotations

from webapp.classroom.history import LIMIT, SampleHistory


def sample(t: float) -> list:
    return [t, "sample", None, None, None, None, 0, 0]


def frame(t0: float, n: int, dt: float = 0.05, key: str = "events") -> dict:
    return {"t": t0 + n * dt, key: [sample(round(t0 + i * dt, 6)) for i in range(n)]
            + [[t0, "arrive", 1, 1, 0, "k", 0]]}


def test_samples_are_kept_at_most_limit_per_side_evenly_spread_over_the_whole_run():
    h = SampleHistory()
    assert h.catch_up("r") is None
    for i in range(100):                               # 2,000 samples: 100 s of run at 0.05 s
        h.frame(frame(i, 20))
    out = h.catch_up("r")
    ts = [ev[0] for ev in out["events"]]
    assert LIMIT // 2 <= len(ts) <= LIMIT and all(ev[1] == "sample" for ev in out["events"])
    assert ts[0] == 0 and ts[-1] > 95 and out["t"] == 100.0 and "events_b" not in out
    gaps = {round(b - a, 6) for a, b in zip(ts, ts[1:])}
    assert len(gaps) == 1                              # evenly spread


def test_a_resume_frame_repeats_no_sample_and_a_seek_drops_what_came_after():
    h = SampleHistory()
    h.frame(frame(0, 40))                              # 0 .. 1.95 s
    h.state({"action": "seek", "t": 1.0, "status": "playing"})
    assert [ev[0] for ev in h.catch_up("r")["events"]][-1] == 1.0 and h.t == 1.0
    h.frame({"t": 1.0, "resume": True, "events": [sample(1.0)]})
    assert [ev[0] for ev in h.catch_up("r")["events"]].count(1.0) == 1
    h.state({"action": "pause", "t": 1.02, "status": "paused"})
    assert h.catch_up("r")["t"] == 1.02


def test_compare_runs_keep_side_b_too_and_clear_forgets_the_run():
    h = SampleHistory()
    h.frame({**frame(0, 4), "events_b": frame(0, 3)["events"]})
    out = h.catch_up("r")
    assert len(out["events"]) == 4 and len(out["events_b"]) == 3
    h.clear()
    assert h.catch_up("r") is None
