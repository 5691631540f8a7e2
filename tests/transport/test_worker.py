"""Worker processes: what they compute is exactly the engine's run, bounded, seekable, tappable."""
from __future__ import annotations

import math
import pickle
import time

import pytest

from webapp.engine import PRESETS, Simulation, parse_scenario
from webapp.engine.moments import compact
from webapp.transport import wire
from webapp.transport.source import WorkerSource
from webapp.worker.pool import WorkerPool
from webapp.worker.resume import KEEP_POLLS, ResumeState
from webapp.worker.tracks import STEP, Track

SPEC = {"kind": "stream", "dot_scale": 1, "max_steps": 10**8, "cpu_s": 60, "memory_mb": 1024,
        "window_bytes": 8 << 20, "live": False}


@pytest.fixture(scope="module")
def pool():
    pool = WorkerPool(spares=1)
    yield pool
    pool.close()


def source(pool, scenario, compare=None, **spec) -> WorkerSource:
    return WorkerSource(pool, {**SPEC, "scenarios": [scenario, compare], **spec})


def until(src: WorkerSource, predicate, timeout: float = 60.0, notices: list | None = None) -> None:
    """Poll ``src`` until ``predicate()`` holds, keeping what each poll says in ``notices``.

    A notice is handed out once, by the poll that reads it: a poll whose notices are dropped
    loses it (a test that polled once in its predicate and once here lost an ``inputs`` reply
    that came between the two, and waited for it in vain). The deadline is generous: a worker
    started on a machine at load 17 (a busy core beside the suite) took more than 20 s to answer
    an input."""
    deadline = time.monotonic() + timeout
    while True:
        said = src.poll()
        if notices is not None:
            notices.extend(said)
        if predicate():
            return
        assert time.monotonic() < deadline, "the worker did not get there in time"
        assert src.failed is None, src.failed
        time.sleep(0.002)


def drain(src: WorkerSource, upto: float = math.inf) -> list:
    got: list = []
    until(src, lambda: got.extend(src.take(upto)[0]) or src.done
          or (upto < math.inf and src.frontier >= upto))
    got.extend(src.take(upto)[0])
    return [list(e) for e in got]


def engine_events(scenario, **kwargs) -> list:
    return [list(e) for e in wire.encode(list(Simulation(scenario, **kwargs).events()))]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_stepping_through_virtual_time_gives_exactly_the_engines_events(preset):
    scenario = parse_scenario({"clients": {"count": 400}}, preset=preset)
    track = Track(scenario, record=True, dot_scale=1, max_steps=10**8, inputs=[])
    stepped = []
    while not track.finished:
        stepped.extend(track.step())
    assert [list(e) for e in wire.encode(stepped)] == engine_events(scenario)
    assert track.summary()["requests"] == Simulation(scenario).run().summary()["requests"]


@pytest.mark.parametrize("seed", range(1, 7))
def test_a_small_run_is_complete_and_its_end_known_early(pool, seed):
    """The end comes with ``ready`` when the worker gets the CPU for its first 0.15 s (wall
    time: on a busy machine, with an ``end`` notice a little later); here, before any is taken."""
    scenario = parse_scenario({"seed": seed, "clients": {"count": 60}}, preset="classroom")
    src = source(pool, scenario)
    until(src, lambda: src.end_s is not None)
    expected = engine_events(scenario)
    assert src.end_s == round(expected[-1][0], 6)     # as the wire rounds it
    assert drain(src, src.end_s) == expected           # everything, by the end, nothing after
    until(src, lambda: src.done)
    assert src.summaries[0] == {**Simulation(scenario).run().summary(),
                                "truncated": src.summaries[0]["truncated"]}


def test_compare_mode_computes_both_sides_in_lockstep(pool):
    a = parse_scenario({"clients": {"count": 80}}, preset="classroom")
    b = parse_scenario({"clients": {"count": 80}, "strategy": {"coalesce": "promise"}},
                       preset="classroom")
    src = source(pool, a, b)
    until(src, lambda: src.ready)
    got_a, got_b = [], []
    t = 0.0
    while not src.done:
        src.poll()
        ea, eb = src.take(t)
        assert all(e[0] <= t for e in ea + eb)
        got_a += ea
        got_b += eb
        t += 0.5
    assert [list(e) for e in got_a] == engine_events(a)
    assert [list(e) for e in got_b] == engine_events(b)


def test_sampling_keeps_every_kth_viewer_the_injected_ones_and_every_system_event(pool):
    scenario = parse_scenario({"clients": {"count": 900}, "duration_s": 2.0})
    src = source(pool, scenario, dot_scale=4)
    until(src, lambda: src.ready)
    got = drain(src)
    full = engine_events(scenario)
    assert got == [e for e in full if e[3] is None or e[3] % 4 == 0]


def test_the_window_bounds_how_far_the_worker_computes_ahead(pool):
    scenario = parse_scenario({"clients": {"count": 3000, "arrival": "ramp", "window_s": 30.0},
                               "duration_s": 30.0})
    src = source(pool, scenario, window_bytes=64 << 10)
    until(src, lambda: src.ready)
    time.sleep(0.5)
    src.poll()
    held = sum(len(blob) for _, blob in src._chunks)
    assert held < (64 << 10) + 600_000        # the window plus at most one chunk
    assert src.frontier < 30.0 and not src.done
    got = drain(src)                           # taking lets it go on, to the end
    assert got == engine_events(scenario)


def test_a_seek_re_runs_to_the_instant_and_resumes_with_the_state_there(pool):
    scenario = parse_scenario({"clients": {"count": 300, "window_s": 1.0}, "duration_s": 3.0,
                               "strategy": {"coalesce": "lock", "lock_poll_ms": 5},
                               "datastore": {"service_ms": 400.0}})
    full = engine_events(scenario)
    src = source(pool, scenario)
    until(src, lambda: src.ready)
    src.seek(0.3123)
    until(src, lambda: src._resume is not None)
    bundle = [list(e) for e in src.resume()[0]]
    state = ResumeState()
    state.feed([e for e in full if e[0] <= 0.3123])              # every event at 0.3123 included
    at = Simulation(scenario)
    at.advance(0.3123)
    state.at(list(wire.encode([at.peek()])[0]))                  # and the numbers of 0.3123 itself
    assert bundle == state.events() and bundle[-1][:2] == [0.3123, "sample"]
    assert any(e[1] == "lock_poll" for e in bundle) and bundle == sorted(bundle, key=lambda e: e[0])
    assert drain(src) == [e for e in full if e[0] > 0.3123]


def test_the_state_at_an_instant_keeps_open_requests_their_last_polls_and_the_latest_news():
    ev = lambda t, kind, req, viewer=None, key="k", *more: [t, kind, req, viewer, 0, key, *more]
    events = [ev(0.0, "chunk_published", None, None, "k", 0),
              ev(0.1, "arrive", 1, 1), ev(0.1, "arrive", 2, 2),
              *[ev(0.2 + i / 100, "lock_poll", 2, 2) for i in range(10)],
              ev(0.3, "respond", 1, 1), ev(0.4, "sample", None), ev(0.5, "sample", None),
              ev(0.6, "cache_set", None, None, "k"), ev(0.7, "db_state", None)]
    state = ResumeState()
    state.feed(events)
    kept = state.events()
    assert [e for e in kept if e[2] == 1] == []                       # answered: gone
    polls = [e for e in kept if e[1] == "lock_poll"]
    assert len(polls) == KEEP_POLLS and polls[-1] == events[12]       # only the last ones
    assert [e[0] for e in kept if e[1] == "sample"] == [0.5]           # only the latest
    assert kept == sorted(kept, key=lambda e: events.index(e))         # in the engine's order
    assert {e[1] for e in kept} == {"chunk_published", "arrive", "lock_poll", "sample",
                                    "cache_set", "db_state"}


def test_a_tap_lands_at_the_live_edge_and_a_replay_puts_it_back_in_the_same_place(pool):
    scenario = parse_scenario({"clients": {"count": 50}, "duration_s": 4.0})
    src = source(pool, scenario, live=True)
    until(src, lambda: src.ready)
    src.set_horizon(1.0)
    until(src, lambda: src.frontier >= 1.0)
    assert src.frontier < 1.0 + 2 * STEP          # live: no further than it was allowed
    src.inject("student-1")
    _, token, req, t, record = notices_until(src, "tapped")
    assert token == "student-1" and req >= 0 and t >= 1.0
    assert t == pytest.approx(round(t / STEP) * STEP)   # at a step boundary
    assert record == {"t": t, "kind": "inject"} and src.inputs == [record]   # an engine input
    src.set_horizon(math.inf)
    first = drain(src)
    mine = [e for e in first if e[2] == req]
    assert mine and mine[0][1] == "arrive" and mine[0][3] == 50   # the first injected viewer
    src.seek(0.0)                               # a new worker: the run had ended
    src.set_horizon(math.inf)
    until(src, lambda: src._resume is not None)
    src.resume()
    replay = drain(src)
    assert [e for e in replay if e[2] == req] == mine


def test_budgets_end_a_run_cleanly_with_a_reason(pool):
    heavy = parse_scenario({"clients": {"count": 50_000}, "duration_s": 2.0})
    src = source(pool, heavy, max_steps=20_000)
    until(src, lambda: src.ready)
    drain(src)
    assert src.summaries[0]["truncated"] is True
    src = source(pool, parse_scenario({"clients": {"count": 500_000}, "duration_s": 2.0}),
                 cpu_s=0.05)
    until(src, lambda: src.failed is not None or src.done, timeout=30)
    assert src.failed and "computing" in src.failed
    everyone_waits = {"clients": {"count": 2_000_000, "window_s": 1.0}, "duration_s": 2.0,
                      "datastore": {"connections": 1, "service_ms": 60_000.0}}
    src = source(pool, parse_scenario(everyone_waits), memory_mb=200)
    until(src, lambda: src.failed is not None, timeout=60)
    assert "memory" in src.failed


def test_a_summary_job_answers_once_and_the_worker_comes_back_for_more(pool):
    scenario = parse_scenario({"clients": {"count": 100}})
    worker = pool.acquire()
    worker.start({"kind": "summary", "scenarios": [scenario], "max_steps": 10**7, "cpu_s": 10})
    deadline = time.monotonic() + 20
    summary = None
    while summary is None:
        assert time.monotonic() < deadline
        for body in worker.channel.receive():
            message = pickle.loads(body)
            if message[0] == "summary":
                summary = message[1]
        time.sleep(0.005)
    assert summary["requests"] == 100
    pool.release(worker)
    deadline = time.monotonic() + 5
    while worker not in pool.idle:
        assert time.monotonic() < deadline, "a small worker should come back to the pool"
        pool.reap()
        time.sleep(0.02)


def notices_until(src: WorkerSource, kind: str) -> tuple:
    """Poll until a notice of ``kind`` comes; return it."""
    notices: list = []
    until(src, lambda: any(n[0] == kind for n in notices), notices=notices)
    return next(n for n in notices if n[0] == kind)


@pytest.mark.parametrize("dot_scale", [1, 3])
def test_an_input_re_runs_from_its_instant_to_exactly_the_run_it_makes_on_both_sides(
        pool, dot_scale):
    a = parse_scenario({"servers": {"count": 4}, "clients": {"count": 300, "retries": 2},
                        "duration_s": 2.0, "datastore": {"service_ms": 400}})
    b = parse_scenario({**a.to_dict(), "strategy": {**a.to_dict()["strategy"],
                                                    "coalesce": "promise"}})
    src = source(pool, a, b, dot_scale=dot_scale)
    until(src, lambda: src.ready)
    t = 0.2
    got_a, got_b = [], []
    until(src, lambda: src.frontier >= t)
    ea, eb = src.take(t)          # the page has everything up to t (those at t too)
    got_a += ea
    got_b += eb
    record = {"t": t, "kind": "kill_server", "server": 0}
    src.add_input(record)
    assert src.applying
    reply = notices_until(src, "inputs")
    assert reply == ("inputs", None) and not src.applying and src.inputs == [record]
    expected = [Simulation(side, inputs=[record]) for side in (a, b)]
    wanted = [[list(e) for e in wire.encode(sim.events()) if e[3] is None or e[3] % dot_scale == 0]
              for sim in expected]
    assert src.moments == [[compact(m) for m in sim.moments] for sim in expected]
    assert src.end_s == round(max(w[-1][0] for w in wanted), 6)
    while not src.done:
        src.poll()
        ea, eb = src.take(math.inf)
        got_a += ea
        got_b += eb
    assert [list(e) for e in got_a] == wanted[0]
    assert [list(e) for e in got_b] == wanted[1]
    assert src.summaries == [{**sim.summary(), "truncated": False} for sim in expected]


def test_a_heavy_runs_end_and_moments_come_when_known_and_again_after_an_input(pool):
    scenario = parse_scenario({"clients": {"count": 50_000, "arrival": "ramp", "window_s": 3.0},
                               "duration_s": 3.0, "servers": {"count": 2}})
    src = source(pool, scenario, window_bytes=64 << 10)   # it cannot record ahead to the end
    until(src, lambda: src.ready)
    assert src.end_s is None and src.moments is None
    end = notices_until(src, "end")
    plain = Simulation(scenario, record_requests=False).run()
    assert end == ("end", src.end_s, [[compact(m) for m in plain.moments]])
    drain(src, 1.0)
    record = {"t": 1.0, "kind": "slow_db", "factor": 4.0}
    src.add_input(record)
    assert notices_until(src, "inputs") == ("inputs", None)
    assert src.end_s is None and src.moments is None      # not known yet: "end" follows
    end = notices_until(src, "end")
    slowed = Simulation(scenario, record_requests=False, inputs=[record]).run()
    assert end[2] == [[compact(m) for m in slowed.moments]] != [[compact(m) for m in plain.moments]]
    assert "slow_start" in [m["what"] for m in end[2][0]]


def test_a_run_whose_worker_finished_takes_an_input_in_a_new_worker(pool):
    scenario = parse_scenario({"servers": {"count": 2}, "clients": {"count": 100},
                               "duration_s": 1.0})
    src = source(pool, scenario)
    until(src, lambda: src.ready)
    got = drain(src, 0.5)
    until(src, lambda: src._worker is None)     # all computed: its worker went back to the pool
    record = {"t": 0.5, "kind": "expire_key"}
    src.add_input(record)
    notices_until(src, "inputs")
    got += drain(src)
    assert got == engine_events(scenario, inputs=[record])


def test_a_run_whose_last_chunk_is_empty_and_after_its_end_is_still_done(pool):
    """Chunk boundaries fall where a worker's time slices end: the last events may come in a
    chunk whose frontier is the run's end exactly, then an empty chunk (frontier: infinity)."""
    scenario = parse_scenario({"clients": {"count": 10}, "duration_s": 1.0})
    src = WorkerSource(pool, {**SPEC, "scenarios": [scenario, None]}, launch=False, end_s=1.0)
    last = [1.0, "sample", None, None, None, None]
    src._handle(("events", 0, 1.0, pickle.dumps(([[0.5, "sample", None, None, None, None], last],
                                                 None))), [])
    src._handle(("events", 0, math.inf, pickle.dumps(([], None))), [])
    src._handle(("done", 0, [{"requests": 10}], False), [])
    assert src.take(1.0) == ([[0.5, "sample", None, None, None, None], last], None)
    assert src.done
