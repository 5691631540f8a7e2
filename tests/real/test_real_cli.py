"""``python -m webapp real run`` and the real-run worker process, end to end."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.engine import run_summary
from webapp.engine.events import RESPOND
from webapp.engine.scenario import parse_scenario
from webapp.real import worker
from webapp.real.worker import RunLock

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
    assert kinds[0] == "started" and kinds[-1] == "summary"
    assert set(kinds[1:-1]) == {"events"}
    events = [ev for kind, batch in lines if kind == "events" for ev in batch]
    assert [ev.t for ev in events] == sorted(ev.t for ev in events)
    assert len([ev for ev in events if ev.kind == RESPOND]) == 30
    assert lines[-1][1]["requests"] == 30 and lines[0][1]["requests"] == 30


def test_one_real_run_at_a_time_per_datastore(services):
    with RunLock(services) as lock:
        lock.acquire()
        lines = list(worker.stream({"scenario": {"clients": {"count": 5}}},
                                   env=env_for(services)))
    assert lines == [("error", {"key": None, "message": "another real run is using the "
                                "datastore; try again when it ends"})]


def test_worker_refuses_a_bad_request():
    done = subprocess.run([sys.executable, "-m", "webapp.real.worker"], input="[1, 2",
                          cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    kind, payload = json.loads(done.stdout)
    assert kind == "error" and payload["message"].startswith("bad request")
