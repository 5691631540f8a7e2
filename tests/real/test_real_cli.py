"""``python -m webapp real run`` and the real-run worker process, end to end."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.engine import run_summary
from webapp.engine.events import RESPOND
from webapp.engine.scenario import parse_scenario
from webapp.real import worker
from webapp.real.worker import RunLock
from webapp.worker.channel import WorkerEnd, frame

pytestmark = pytest.mark.real
REPO = Path(__file__).resolve().parents[2]


def env_for(services) -> dict[str, str]:
    """The CLI and the worker attach to the test session's services."""
    return dict(os.environ, HERDLAB_DATA_DIR=str(Path(services.pg_socket_dir).parent))


def test_cli_prints_the_engines_summary_keys_with_postgres_count(services):
    done = subprocess.run(
        [sys.executable, "-m", "webapp", "real", "run", "--json", "--set", "clients.count=200",
         "--set", "clients.window_s=0", "--set", "strategy.coalesce=promise",
         "--set", "real.synchronised=true", "--set", "duration_s=1"],
        cwd=REPO, env=env_for(services), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(run_summary(parse_scenario({"duration_s": 1}))) <= set(summary)
    assert summary["db_queries"] == 1 and summary["completed"] == 200


@pytest.mark.parametrize("sets, needle", [
    (["real.pool=sometimes"], "real.pool"), (["clients.count=-1"], "clients.count"),
    (["duration_s=100"], "duration_s")])
def test_cli_refuses_bad_input_with_one_line(services, sets, needle):
    argv = [sys.executable, "-m", "webapp", "real", "run"]
    for item in sets:
        argv += ["--set", item]
    done = subprocess.run(argv, cwd=REPO, env=env_for(services), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and needle in done.stderr
    assert done.stderr.count("\n") == 1


def test_worker_process_streams_events_then_the_summary(services):
    request = {"preset": None, "scenario": {"clients": {"count": 30, "window_s": 0.1},
                                            "duration_s": 1}, "real": {}}
    lines = list(worker.stream(request, env=env_for(services)))
    kinds = [kind for kind, _ in lines]
    assert kinds[0] == "started" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"events"}
    events = [ev for kind, (side, batch) in lines[1:-1] for ev in batch]
    assert [ev.t for ev in events] == sorted(ev.t for ev in events)
    assert len([ev for ev in events if ev.kind == RESPOND]) == 30
    end_s, summaries, truncated = lines[-1][1]
    assert summaries[0]["requests"] == 30 == lines[0][1]["requests"] and summaries[1] is None
    assert end_s == round(events[-1].t, 6) and not truncated


def test_worker_sends_only_the_animated_viewers_and_the_simulation_beside(services):
    """dot_scale 3: per-request events of viewers 0, 3, 6, ... only (counters stay whole);
    beside: after the real run, side B replays its arrivals through the simulation."""
    request = {"scenario": {"clients": {"count": 30, "window_s": 0.1}, "duration_s": 1,
                            "strategy": {"coalesce": "promise"}},
               "dot_scale": 3, "beside": True}
    lines = list(worker.stream(request, env=env_for(services)))
    kinds = [kind for kind, _ in lines]
    assert kinds.index("simulating") > max(i for i, (k, p) in enumerate(lines)
                                           if k == "events" and p[0] == 0)
    sides = {0: [], 1: []}
    for kind, payload in lines:
        if kind == "events":
            sides[payload[0]].extend(payload[1])
    for side in sides.values():
        viewers = {ev.viewer for ev in side if ev.viewer is not None}
        assert viewers and all(v % 3 == 0 for v in viewers)
    # The simulation reads the cache when Redis did, for the same viewers.
    looked = lambda side: {ev.viewer: ev.t for ev in side  # noqa: E731
                           if ev.kind in ("cache_hit", "cache_miss") and ev.attempt == 0}
    real_reads, sim_reads = looked(sides[0]), looked(sides[1])
    assert sim_reads.keys() == real_reads.keys()
    lookup_s = lines[-1][1][1][1]["fed"]["lookup_ms"] / 1000
    for viewer, t in real_reads.items():
        assert sim_reads[viewer] == pytest.approx(max(t, lookup_s), abs=2e-6)
    real_arrivals = [(ev.t, ev.viewer) for ev in sides[0] if ev.kind == "arrive"]
    _, (real, simulated), _ = lines[-1][1]
    assert real["mode"] == "real" and "mode" not in simulated
    assert real["requests"] == simulated["requests"] == 30
    assert simulated["completed"] == 30 and simulated["db_queries"] <= real["db_queries"] + 4
    # How soon the waiters had the value: the model's promise releases them at that instant.
    assert real["released_ms"]["count"] == real["coalesced"] > 0
    assert simulated["released_ms"]["count"] == simulated["coalesced"]
    assert simulated["released_ms"]["max"] == 0.0 <= real["released_ms"]["max"]
    assert 0 < real["first_value_ms"] <= real["latency_everyone_ms"]["max"] + 1000 * max(
        t for t, _ in real_arrivals)
    assert real["dispatch_ms"]["count"] == real["real"]["fetches_sent"]


def test_one_real_run_at_a_time_per_datastore(services):
    with RunLock(services) as lock:
        lock.acquire()
        lines = list(worker.stream({"scenario": {"clients": {"count": 5}}},
                                   env=env_for(services)))
    assert lines == [("error", (None, "another real run is using the datastore; try again "
                                "when it ends"))]


def test_worker_refuses_a_bad_request():
    mine, theirs = socket.socketpair()
    with mine, theirs:
        done = subprocess.Popen([sys.executable, "-m", "webapp.real.worker",
                                 str(theirs.fileno())], pass_fds=[theirs.fileno()], cwd=REPO)
        theirs.close()
        mine.sendall(frame(["not", "a job"]))
        assert WorkerEnd(mine).receive(30) == ("error", None,
                                               "bad request: expected ('job', {...})")
        assert done.wait(30) == 2
