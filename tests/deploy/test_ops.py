"""Operations: readiness, Prometheus metrics, the access log, forwarded headers believed only
from configured proxies, a clear stop under ``flask run``, and Redis down at start."""
from __future__ import annotations

import logging
import re
import subprocess
import sys

import pytest

from tests.browser.conftest import ROOT, LiveServer, free_port
from tests.reliability.clients import SioClient
from tests.transport.conftest import SMALL, LabClient
from webapp import FLASK_RUN_MESSAGE, ops

CLIENT = "198.51.100.7"   # a documentation address: the browser behind the proxy


@pytest.fixture
def app_config():
    """The app behind a proxy at 10.0.0.0/8 (the forwarded-header tests send from there)."""
    return {"testing": True, "async_mode": "threading", "secret_key": "t",
            "trusted_proxies": "10.0.0.0/8"}


def metric(client, name: str, labels: str = "") -> float:
    text = client.get("/metrics").get_data(as_text=True)
    found = re.search(rf"^{re.escape(name + labels)} ([0-9.e+-]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_readyz_is_ready_without_a_message_queue_and_reports_the_worker_pool(client):
    res = client.get("/readyz")
    assert res.status_code == 200
    assert res.json["status"] == "ready" and res.json["redis"] == "not used"
    assert set(res.json["workers"]) == {"idle", "spares", "runs", "max_runs"}


def test_a_redis_that_does_not_answer_is_down():
    assert ops._ping(f"redis://127.0.0.1:{free_port()}/0") == "down"


def test_metrics_are_prometheus_text_with_the_app_numbers(client):
    res = client.get("/metrics")
    assert res.status_code == 200 and res.mimetype == "text/plain"
    text = res.get_data(as_text=True)
    for name in ("herdlab_runs_in_progress", "herdlab_runs_limit 40.0", "herdlab_rooms",
                 "herdlab_room_members", "herdlab_sockets", "herdlab_workers_idle",
                 "herdlab_workers_started_total", "herdlab_frame_lateness_seconds_bucket",
                 "process_resident_memory_bytes"):
        assert name in text, name


def test_refusals_are_counted_by_reason(client):
    label = '_total{reason="api_payload"}'
    before = metric(client, "herdlab_refusals", label)
    assert client.post("/api/run", data="{").status_code == 400
    assert metric(client, "herdlab_refusals", label) == before + 1


def test_a_live_run_counts_its_frames_lateness_and_its_slot(app, client, sio_client):
    lab = LabClient(sio_client("/lab"))
    frames_before = metric(client, "herdlab_frame_lateness_seconds_count")
    run_id = lab.start(SMALL)
    assert metric(client, "herdlab_runs_in_progress") == 1
    lab.wait_for("done", run_id, timeout=30)
    assert metric(client, "herdlab_frame_lateness_seconds_count") > frames_before


def access_line(client, caplog, peer: str, **headers: str) -> str:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="herdlab.access"):
        client.get("/healthz", headers=headers, environ_base={"REMOTE_ADDR": peer})
    return caplog.records[-1].getMessage()


def test_forwarded_headers_are_believed_from_a_trusted_proxy_only(client, caplog):
    forwarded = {"X-Forwarded-For": f"203.0.113.9, {CLIENT}", "X-Forwarded-Proto": "https"}
    assert access_line(client, caplog, "10.1.2.3", **forwarded).startswith(f'{CLIENT} "GET /healthz"')
    assert access_line(client, caplog, "192.0.2.50", **forwarded).startswith('192.0.2.50 "GET')


def test_without_trusted_proxies_no_forwarded_header_is_believed(caplog):
    from webapp import create_app

    app = create_app({"testing": True, "async_mode": "threading", "secret_key": "t"})
    try:
        line = access_line(app.test_client(), caplog, "10.1.2.3", **{"X-Forwarded-For": CLIENT})
        assert line.startswith('10.1.2.3 "GET /healthz" 200')
    finally:
        app.extensions["herdlab.runs"].close()


def test_flask_run_stops_with_a_clear_message():
    res = subprocess.run([sys.executable, "-m", "flask", "--app", "webapp", "run", "--port",
                          str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert FLASK_RUN_MESSAGE.split(":")[0] in res.stderr and "python -m webapp" in res.stderr
    assert "Traceback" not in res.stderr


def test_redis_down_at_start_is_not_ready_and_rooms_answer_store_down():
    """Liveness stays ok (a restart would not bring Redis back); readiness says why; creating a
    room is refused with ``store_down``, without a traceback in the log."""
    server = LiveServer({"HERDLAB_MESSAGE_QUEUE": f"redis://127.0.0.1:{free_port()}/0",
                         "HERDLAB_REAL_SERVICES": "off"})
    try:
        from tests.reliability.conftest import request

        status, body = request(server.url + "/readyz")
        assert status == 503 and body["redis"] == "down" and "HERDLAB_MESSAGE_QUEUE" in body["reason"]
        assert request(server.url + "/healthz")[0] == 200
        instructor = SioClient(server.url, "/room")
        try:
            instructor.emit("create", {})
            refusal = instructor.wait("room_error", timeout=20)
            assert refusal["reason"] == "store_down", refusal
        finally:
            instructor.close()
        # (a failure would have been logged before its refusal was sent)
        assert "Traceback" not in server.log.read_text()
    finally:
        server.stop()
