"""The room's run so far (history.py): its samples thinned evenly, bounded, cut back by a seek; the
requests in flight now, exact, bounded, started afresh by a seek's resume frame."""
from __future__ import annotations

from webapp.classroom.history import LIMIT, RunHistory
from webapp.worker.resume import KEEP_POLLS


def sample(t: float) -> list:
    return [t, "sample", None, None, None, None, 0, 0]


def request(t: float, kind: str, req: int) -> list:
    """A per-request event (viewer = req) on key ``k`` of server 0."""
    return [t, kind, req, req, 0, "k", 0]


def frame(t0: float, n: int, dt: float = 0.05, key: str = "events") -> dict:
    return {"t": t0 + n * dt, key: [sample(round(t0 + i * dt, 6)) for i in range(n)]}


def samples(events: list) -> list:
    return [ev for ev in events if ev[1] == "sample"]


def test_samples_are_kept_at_most_limit_per_side_evenly_spread_over_the_whole_run():
    h = RunHistory(5000)
    assert h.catch_up("r") is None
    for i in range(100):                               # 2,000 samples: 100 s of run at 0.05 s
        h.frame(frame(i, 20))
    out = h.catch_up("r")
    ts = [ev[0] for ev in out["events"]]
    assert LIMIT // 2 <= len(ts) <= LIMIT + 1 and all(ev[1] == "sample" for ev in out["events"])
    assert ts[0] == 0 and ts[-1] == 99.95 and out["t"] == 100.0 and "events_b" not in out
    gaps = {round(b - a, 6) for a, b in zip(ts[:-1], ts[1:-1])}
    assert len(gaps) == 1                              # evenly spread (and the latest sample last)


def test_a_resume_frame_repeats_no_sample_and_a_seek_drops_what_came_after():
    h = RunHistory(5000)
    h.frame(frame(0, 40))                              # 0 .. 1.95 s
    h.state({"action": "seek", "t": 1.0, "status": "playing"})
    assert h.t == 1.0
    h.frame({"t": 1.0, "resume": True, "events": [sample(1.0)]})
    ts = [ev[0] for ev in h.catch_up("r")["events"]]
    assert ts[-1] == 1.0 and ts.count(1.0) == 1
    h.state({"action": "pause", "t": 1.02, "status": "paused"})
    assert h.catch_up("r")["t"] == 1.02


def test_compare_runs_keep_side_b_too_and_clear_forgets_the_run():
    h = RunHistory(5000)
    h.frame({**frame(0, 4), "events_b": frame(0, 3)["events"]})
    out = h.catch_up("r")
    assert len(samples(out["events"])) == 4 and len(samples(out["events_b"])) == 3
    h.clear()
    assert h.catch_up("r") is None


def test_the_catch_up_has_every_request_in_flight_with_its_events_so_far_and_none_that_ended():
    h = RunHistory(5000)
    polls = [request(0.3 + i / 100, "lock_poll", 2) for i in range(KEEP_POLLS + 5)]
    h.frame({"t": 0.5, "events": [request(0.0, "arrive", 1), request(0.1, "arrive", 2), request(0.1, "arrive", 3),
                                  request(0.2, "cache_miss", 2), sample(0.25), request(0.25, "lock_wait", 2), *polls,
                                  request(0.4, "respond", 1), sample(0.5)]})
    h.frame({"t": 0.6, "events": [request(0.55, "respond", 3), request(0.6, "arrive", 4)]})
    out = h.catch_up("r")
    assert out["resume"] is True and out["t"] == 0.6 and out["run_id"] == "r"
    events = out["events"]
    # Requests 2 and 4 are open: every event of theirs (a long wait's polls: the latest few), in time order.
    assert {ev[2] for ev in events if ev[2] is not None} == {2, 4}
    assert [ev[1] for ev in events if ev[2] == 2] == ["arrive", "cache_miss", "lock_wait"] + ["lock_poll"] * KEEP_POLLS
    assert [ev[0] for ev in events] == sorted(ev[0] for ev in events)
    assert [ev[0] for ev in samples(events)] == [0.25, 0.5]
    # A student's page gets the state now only: the latest sample (exact counters), no history.
    now = h.catch_up("r", samples=False)["events"]
    assert [ev[0] for ev in samples(now)] == [0.5] and {ev[2] for ev in now if ev[2] is not None} == {2, 4}


def test_a_seek_starts_what_is_in_flight_afresh_from_its_resume_frame():
    h = RunHistory(5000)
    h.frame({"t": 2.0, "events": [request(1.0, "arrive", 1), request(1.5, "arrive", 2)]})
    h.state({"action": "seek", "t": 0.5, "status": "playing"})
    h.frame({"t": 0.5, "resume": True, "events": [request(0.2, "arrive", 7), sample(0.5)]})
    assert {ev[2] for ev in h.catch_up("r")["events"] if ev[2] is not None} == {7}


def test_requests_in_flight_are_bounded_the_longest_open_forgotten_first():
    h = RunHistory(3)
    h.frame({"t": 1.0, "events": [request(i / 10, "arrive", i) for i in range(10)]})   # their ends never came
    assert {ev[2] for ev in h.catch_up("r")["events"]} == {7, 8, 9}
