"""An attempt's server-side work belongs to the server that took it, dead or alive.

Regressions for issue 3's follow-up: the pending cache lookup of an attempt used to read
``req.server``, which is cleared when the attempt ends (server death, timeout) and reassigned by a
retry. A dead server's lookups ran on as if it were alive, and with no retries they reached the
coalescing strategy with server None (``TypeError`` in distributed.py, promise.py, none.py).
"""
from __future__ import annotations

from collections import Counter

import pytest

from herd_support import run_events, scenario

MODES = ["none", "lock", "notify", "promise", "distributed"]


def _ends_once(sim, events):
    ends = Counter(ev.req for ev in events if ev.kind == "respond")
    assert set(ends) == {ev.req for ev in events if ev.kind == "arrive"}
    assert set(ends.values()) == {1}
    s = sim.summary()
    assert s["completed"] + s["errors"] + s["timeouts"] == s["requests"] == len(ends)
    assert s["in_flight"] == 0 and sim.finished
    return s


@pytest.mark.parametrize("coalesce", MODES)
@pytest.mark.parametrize("retries", [0, 1])
def test_a_dead_servers_requests_fail_once_and_it_does_nothing_more(coalesce, retries):
    # Slow lookups, so that the dying server has lookups pending when it dies.
    scn = scenario(preset="fleet", servers={"count": 4}, cache={"lookup_ms": 20.0},
                   clients={"count": 2000, "retries": retries},
                   strategy={"coalesce": coalesce}, faults={"leader_dies": True})
    sim, events = run_events(scn)
    s = _ends_once(sim, events)
    down = next(ev for ev in events if ev.kind == "server_down")
    dead, t_down = down.server, down.t
    # At its death the dead server's attempts get their one answer (or a retry elsewhere) ...
    failed = [ev for ev in events if ev.server == dead and ev.t == t_down
              and ev.kind in ("respond", "retry")]
    assert failed and all(getattr(ev, "status", "error") == "error" for ev in failed)
    assert s["servers_down"] == 1
    # ... and from then on the dead server does nothing, not even a pending lookup. (Queries it
    # had sent run on in the datastore, or leave its queue; their answers go nowhere.)
    after = [ev for ev in events if ev.server == dead and ev.t > t_down
             and not ev.kind.startswith("db_")]
    assert after == []
    gone = {(ev.req, ev.attempt if ev.kind == "respond" else ev.attempt - 1) for ev in failed}
    pending = [ev for ev in events if ev.t > t_down and (ev.req, getattr(ev, "attempt", None))
               in gone and not ev.kind.startswith("db_")]
    assert pending == []                         # no failed attempt's work goes on elsewhere
    lookups_then = [ev for ev in events if ev.kind == "arrive" and ev.server == dead
                    and t_down - 0.020 < ev.t < t_down]
    assert lookups_then                          # the case that used to crash was exercised
    if retries == 0:
        assert s["errors"] == len(failed)
    else:
        assert s["errors"] == 0 and s["retries"] == len(failed)


@pytest.mark.parametrize("coalesce", MODES)
@pytest.mark.parametrize("retries", [0, 2])
def test_an_attempt_that_times_out_before_its_lookup_keeps_its_server(coalesce, retries):
    """The client gives up before the cache answers; the server's work goes on at that server."""
    scn = scenario(duration_s=1.0, servers={"count": 3},
                   clients={"count": 60, "arrival": "ramp", "window_s": 0.5,
                            "timeout_s": 0.0005, "retries": retries},
                   cache={"lookup_ms": 1.0},
                   datastore={"service_ms": 20.0, "service_dist": "constant"},
                   strategy={"coalesce": coalesce})
    sim, events = run_events(scn)
    s = _ends_once(sim, events)
    assert s["timeouts"] == 60 and s["attempts"] == 60 * (retries + 1)
    where = {(ev.req, ev.attempt): ev.server for ev in events if ev.kind == "arrive"}
    later = [ev for ev in events if ev.kind in ("cache_hit", "cache_miss", "fetch_start",
                                                "promise_wait", "lock_wait", "marker_wait")]
    assert later and all(ev.server == where[ev.req, ev.attempt] for ev in later)
