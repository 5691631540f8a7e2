"""A trace (engine/trace.py): a run on given arrivals and service times, beside a real one."""
from __future__ import annotations

import json

import pytest

from herd_support import run_events, scenario
from webapp.engine import Simulation
from webapp.engine.trace import Trace


def test_the_arrivals_and_service_times_are_the_traces():
    trace = Trace(arrivals=[(0.0, 7, "a"), (0.01, 3, "b"), (0.5, 7, "a"), (2.0, 900, "c")],
                  service_s=[0.2, 0.1, 0.3])
    scn = scenario(duration_s=0.1, clients={"window_s": 0.1}, cache={"enabled": False},
                   datastore={"connections": 1, "service_dist": "constant",
                              "service_ms": 50.0})
    sim = Simulation(scn, trace=trace)
    events = list(sim.events())
    first = [(ev.t, ev.viewer, ev.key) for ev in events if ev.kind == "arrive"]
    assert first == list(trace.arrivals)          # every arrival, even past duration_s
    started = [ev.service_ms for ev in events if ev.kind == "db_started"]
    assert started == pytest.approx([200.0, 100.0, 300.0, 50.0])   # then the scenario's own
    s = sim.summary()
    assert s["requests"] == s["completed"] == 4 and s["db_queries"] == 4


def _measured(scn) -> Trace:
    """What a driver would record of a run: first arrivals, and service times in start order."""
    _, events = run_events(scn)
    return Trace(arrivals=[(ev.t, ev.viewer, ev.key) for ev in events
                           if ev.kind == "arrive" and ev.attempt == 0],
                 service_s=[ev.service_ms / 1000.0 for ev in events if ev.kind == "db_started"])


@pytest.mark.parametrize("preset, overrides", [
    ("queueing", {"duration_s": 20.0, "clients": {"count": 1500}}),
    ("fleet", {"strategy": {"coalesce": "notify"}, "clients": {"count": 2000}}),
    ("metastable", {"duration_s": 20.0, "faults": {"slow_db_for_s": 0.0},
                    "clients": {"timeout_s": 0.1}}),
    ("expiry-herd", {"duration_s": 12.0, "clients": {"count": 6000},
                     "strategy": {"stale_while_revalidate": True}}),
])
def test_replaying_a_runs_own_trace_gives_the_same_run(preset, overrides):
    # The strongest check that a trace means what it says: fed a simulated run's own arrivals
    # and service times, the simulation makes that run again, event for event.
    scn = scenario(preset=preset, **overrides)
    _, original = run_events(scn)
    _, replayed = run_events(scn, trace=_measured(scn))
    assert [json.dumps(ev.to_dict()) for ev in replayed] == \
        [json.dumps(ev.to_dict()) for ev in original]


@pytest.mark.parametrize("arrivals, service, problem", [
    ([], (), "1 to 10,000,000 arrivals"),
    ([(0.0, 1)], (), "arrival 0 must be a tuple"),
    ([(1.0, 1, "k"), (0.5, 1, "k")], (), "arrival 1: t must be"),
    ([(float("nan"), 1, "k")], (), "arrival 0: t must be"),
    ([(0.0, -1, "k")], (), "viewer must be an integer >= 0"),
    ([(0.0, True, "k")], (), "viewer must be an integer >= 0"),
    ([(0.0, 1, "")], (), "key must be a string"),
    ([(0.0, 1, "k" * 65)], (), "key must be a string"),
    ([(0.0, 1, "k")], (0.1, 0.0), r"service_s\[1\] must be"),
    ([(0.0, 1, "k")], (float("inf"),), r"service_s\[0\] must be"),
])
def test_a_bad_trace_is_refused_at_once_saying_what_is_wrong(arrivals, service, problem):
    with pytest.raises(ValueError, match=problem):
        Trace(arrivals=arrivals, service_s=service)


def test_a_trace_replaces_only_a_hot_key_workload():
    trace = Trace(arrivals=[(0.0, 0, "k")])
    with pytest.raises(ValueError, match="hot_key"):
        Simulation(scenario(preset="classroom"), trace=trace)
    with pytest.raises(TypeError):
        Simulation(scenario(), trace=[(0.0, 0, "k")])


def test_warm_start_caches_every_key_of_the_trace():
    trace = Trace(arrivals=[(0.5, 0, "x"), (0.6, 1, "y"), (0.7, 2, "x")])
    sim, events = run_events(scenario(workload={"warm_start": True}), trace=trace)
    assert {ev.key for ev in events if ev.kind == "cache_set"} == {"x", "y"}
    assert sim.summary()["cache_hits"] == 3


def test_latency_runs_from_the_planned_arrival_when_the_trace_gives_one():
    """A request that came 0.3 s after it was planned (a late start of a real run) counts that
    0.3 s in its latency; the run itself is the same as without ``planned``."""
    arrivals = [(0.0, 0, "k"), (0.4, 1, "k"), (0.5, 2, "k")]
    scn = scenario(cache={"enabled": False},
                   datastore={"service_dist": "constant", "service_ms": 50.0})
    plain, plain_events = run_events(scn, trace=Trace(arrivals=arrivals))
    late, late_events = run_events(scn, trace=Trace(arrivals=arrivals,
                                                    planned=[0.0, 0.1, 0.5]))
    answered = {ev.viewer: ev.latency_ms for ev in late_events if ev.kind == "respond"}
    assert answered == pytest.approx({0: 50.0, 1: 350.0, 2: 50.0})
    assert [ev.t for ev in late_events] == [ev.t for ev in plain_events]
    assert late.summary()["latency_everyone_ms"]["max"] == pytest.approx(350.0)
    assert plain.summary()["latency_everyone_ms"]["max"] == pytest.approx(50.0)


@pytest.mark.parametrize("planned, problem", [
    ([0.0], "one instant per arrival"), ([0.0, -1.0], r"planned\[1\] must be"),
    ([0.0, float("nan")], r"planned\[1\] must be")])
def test_bad_planned_arrivals_are_refused(planned, problem):
    with pytest.raises(ValueError, match=problem):
        Trace(arrivals=[(0.0, 0, "k"), (0.1, 1, "k")], planned=planned)


def _lock(service_ms: float = 300.0) -> object:
    """Three identical reads of a cold key, a lock polled every 100 ms, queries of
    ``service_ms``."""
    return scenario(cache={"lookup_ms": 0.0},
                    datastore={"service_dist": "constant", "service_ms": service_ms},
                    strategy={"coalesce": "lock", "lock_poll_ms": 100.0})


LOCK_ARRIVALS = [(0.0, 0, "k"), (0.0, 1, "k"), (0.0, 2, "k")]


def _answers(events) -> dict[int, float]:
    return {ev.viewer: round(ev.t, 6) for ev in events if ev.kind == "respond"}


def test_a_waiters_looks_come_as_late_as_the_trace_says():
    """Each look (a poll) runs its delay after it was due: request 1 looks at 0.1 + 0.06, then
    at 0.16 + 0.1 + 0.06 (past its list, its last delay again), and finds the value written at
    0.3; request 2 at 0.1, then 0.2 + 0.2. The leader is not delayed."""
    looks = [(), [(0.06, 0.0)], [(0.0, 0.0), (0.2, 0.0)]]
    _, events = run_events(_lock(), trace=Trace(arrivals=LOCK_ARRIVALS, looks=looks))
    polls = {v: [round(ev.t, 6) for ev in events if ev.kind == "lock_poll" and ev.viewer == v]
             for v in (1, 2)}
    assert polls == {1: [0.16], 2: [0.1]}
    assert _answers(events) == {0: 0.3, 1: 0.32, 2: 0.4}
    _, plain = run_events(_lock(), trace=Trace(arrivals=LOCK_ARRIVALS))
    assert _answers(plain) == {0: 0.3, 1: 0.3, 2: 0.3}     # looks instant: at the write


def test_a_looks_read_sees_the_cache_as_it_was_when_it_was_made():
    """The value is written (and the lock let go) at 0.25 s. Request 1's third look has its
    answer at 0.3 s, but Redis read it 60 ms before, at 0.24: it misses the value, takes the
    free lock and finds the value on its re-check; request 2's looks are instant: it finds the
    value at 0.3 as a poller."""
    looks = [(), [(0.0, 0.0), (0.0, 0.0), (0.0, 0.06)], []]
    _, events = run_events(_lock(250.0), trace=Trace(arrivals=LOCK_ARRIVALS, looks=looks))
    assert _answers(events) == {0: 0.25, 1: 0.3, 2: 0.3}
    sources = {ev.viewer: ev.source for ev in events if ev.kind == "respond"}
    assert sources == {0: "db", 1: "recheck", 2: "lock"}


def test_a_notified_waiter_wakes_as_late_as_the_trace_says():
    """The holder wakes both waiters at 0.3 s; each look comes as late as its trace says."""
    looks = [(), [(0.25, 0.0)], [(0.05, 0.0)]]
    scn = scenario(cache={"lookup_ms": 0.0},
                   datastore={"service_dist": "constant", "service_ms": 300.0},
                   strategy={"coalesce": "notify"})
    _, events = run_events(scn, trace=Trace(arrivals=LOCK_ARRIVALS, looks=looks))
    assert _answers(events) == {0: 0.3, 1: 0.55, 2: 0.35}


def test_each_requests_claim_delay_decides_who_leads():
    """Request 0 reads first but takes 50 ms to its claim; request 2 claims at once: it leads."""
    _, events = run_events(_lock(), trace=Trace(arrivals=LOCK_ARRIVALS,
                                                claims=[0.05, 0.02, 0.0]))
    leader = [ev.viewer for ev in events if ev.kind == "fetch_start"]
    assert leader == [2]
    assert [round(ev.t, 6) for ev in events if ev.kind == "lock_wait"] == [0.02, 0.05]


def test_the_app_servers_time_around_a_query_delays_its_answer():
    """The query ends at 0.3 s; its value is written and its leader answered 40 ms later."""
    _, events = run_events(_lock(), trace=Trace(arrivals=LOCK_ARRIVALS, around_s=[0.04]))
    assert [round(ev.t, 6) for ev in events if ev.kind == "db_finished"] == [0.3]
    assert [round(ev.t, 6) for ev in events if ev.kind == "cache_set"] == [0.34]
    assert _answers(events)[0] == 0.34


@pytest.mark.parametrize("fields, problem", [
    ({"looks": [[]]}, "one list per arrival"),
    ({"looks": [[0.1], []]}, r"looks\[0\] must be"),
    ({"looks": [[(0.1, -1.0)], []]}, r"looks\[0\] must be"),
    ({"claims": [0.1]}, "one delay per arrival"),
    ({"claims": [0.1, float("inf")]}, r"claims\[1\] must be"),
    ({"around_s": [-0.1]}, r"around_s\[0\] must be")])
def test_bad_looks_claims_and_around_are_refused(fields, problem):
    with pytest.raises(ValueError, match=problem):
        Trace(arrivals=[(0.0, 0, "k"), (0.1, 1, "k")], **fields)


def test_a_refusal_is_in_hand_as_late_as_the_trace_says():
    """One connection, a 0.1 s pool timeout: the second query is refused at 0.1 s, and its
    request hears of it 50 ms later, as the real app server did."""
    scn = scenario(cache={"enabled": False},
                   datastore={"connections": 1, "service_dist": "constant", "service_ms": 300.0,
                              "pool_timeout_s": 0.1})
    _, events = run_events(scn, trace=Trace(arrivals=[(0.0, 0, "k"), (0.0, 1, "k")],
                                            around_s=[0.0, 0.05]))
    assert [round(ev.t, 6) for ev in events if ev.kind == "db_rejected"] == [0.1]
    ends = {ev.viewer: (round(ev.t, 6), ev.status) for ev in events if ev.kind == "respond"}
    assert ends == {0: (0.3, "ok"), 1: (0.15, "error")}
