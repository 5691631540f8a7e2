"""What an operator asks a running process: is it alive, is it ready, and what is it doing.

- ``/healthz``: liveness. The process answers HTTP; nothing else is checked (a restart would
  not fix Redis being down, so liveness must not depend on it).
- ``/readyz``: readiness. 200 when this process can serve a class: the message queue (Redis,
  when one is configured) answers a ping. It also reports the worker pool (warm and starting
  workers, runs in progress against the limit); 503 with the reason otherwise.
- ``/metrics``: Prometheus text format (``prometheus-client``): runs in progress, refusals by
  reason, rooms and their students, sockets, the worker pool, frame lateness, and the
  process's own CPU, memory and file descriptors. Each process serves its own numbers (scrape
  every process on its own port; docs/deploy.md), and the nginx site keeps both paths off the
  public address.

The numbers are read at scrape time from the objects that hold them (run slots, rooms, the
Engine.IO server); the only things counted here as they happen are refusals and frame lateness,
through ``refused`` and ``frame_sent``, which the transport and classroom call.
"""
from __future__ import annotations

from typing import Any, Iterator

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               PlatformCollector, ProcessCollector, generate_latest)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

import webapp
from webapp.extensions import socketio
from webapp.transport import outbox
from webapp.transport.slots import RUNS_KEY

bp = Blueprint("ops", __name__)

REGISTRY_KEY = "herdlab.metrics"
PING_TIMEOUT_S = 1.0
# Counted as they happen, for the whole process (every app a test builds shares them).
REFUSALS = Counter("herdlab_refusals", "Requests and events refused, by reason", ["reason"],
                   registry=None)
FRAME_LATENESS = Histogram("herdlab_frame_lateness_seconds",
                           "How late a live frame went out after its intended wall-clock time",
                           buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
                           registry=None)
PROCESS = ProcessCollector(registry=None)
PLATFORM = PlatformCollector(registry=None)


def refused(reason: str) -> None:
    """Count one refusal (a short, fixed reason: ``server_full``, ``rooms_per_address``, ...)."""
    REFUSALS.labels(reason).inc()


def frame_sent(late_ms: float | None) -> None:
    """A live frame went out ``late_ms`` after its time (None: not a paced frame)."""
    if late_ms is not None:
        FRAME_LATENESS.observe(late_ms / 1000.0)


def init_app(app: Any) -> None:
    registry = CollectorRegistry()
    for collector in (REFUSALS, FRAME_LATENESS, PROCESS, PLATFORM, AppCollector(app)):
        registry.register(collector)
    app.extensions[REGISTRY_KEY] = registry
    app.register_blueprint(bp)


class AppCollector(Collector):
    """The app's state, read when Prometheus scrapes (nothing is kept between scrapes)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Iterator[Any]:
        slots = self.app.extensions[RUNS_KEY]
        pool = slots.pool
        rooms = _rooms(self.app)
        yield _gauge("herdlab_runs_in_progress", "Runs holding a slot (playing, paused or "
                     "being computed), lab, rooms and /api/run together", len(slots.reserved))
        yield _gauge("herdlab_runs_limit", "HERDLAB_MAX_RUNS_PER_SERVER", slots.max_runs)
        yield _gauge("herdlab_runs_kept", "Ended runs kept for replay", slots.kept())
        yield _gauge("herdlab_rooms", "Classroom rooms owned by this process", len(rooms))
        yield _gauge("herdlab_room_members", "Students connected to this process's rooms",
                     sum(room.connected_members() for room in rooms))
        yield _gauge("herdlab_sockets", "Engine.IO connections open on this process",
                     len(socketio.server.eio.sockets))
        yield _gauge("herdlab_workers_idle", "Worker processes waiting for a run (warm or "
                     "starting)", len(pool.idle))
        yield _counter("herdlab_workers_started", "Worker processes started", pool.started)
        yield _counter("herdlab_workers_reused", "Workers taken back after a run", pool.reused)
        yield _counter("herdlab_frames_dropped", "Room frames not sent to a member that did not "
                       "read (outbox)", outbox.Stats.dropped_frames)
        yield _counter("herdlab_slow_readers_disconnected", "Connections closed for not reading "
                       "(outbox)", outbox.Stats.disconnected)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _rooms(app: Any) -> list[Any]:
    router = app.extensions.get("herdlab.classroom")
    return list(router.classroom.registry.rooms.values()) if router is not None else []


@bp.get("/healthz")
def healthz():
    """Liveness plus the two facts an operator asks first: which version, which async mode."""
    settings = current_app.extensions["herdlab.settings"]
    return jsonify(status="ok", version=webapp.__version__, async_mode=settings.async_mode)


@bp.get("/readyz")
def readyz():
    settings = current_app.extensions["herdlab.settings"]
    slots = current_app.extensions[RUNS_KEY]
    redis = _ping(settings.message_queue)
    workers = {"idle": len(slots.pool.idle), "spares": slots.pool.spares,
               "runs": len(slots.reserved), "max_runs": slots.max_runs}
    ready = redis != "down"
    body = {"status": "ready" if ready else "not_ready", "redis": redis, "workers": workers}
    if not ready:
        body["reason"] = "The message queue (HERDLAB_MESSAGE_QUEUE) does not answer: rooms " \
                         "cannot be shared with the other processes."
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(current_app.extensions[REGISTRY_KEY]),
                    mimetype=CONTENT_TYPE_LATEST)


def _ping(url: str) -> str:
    """"ok" or "down" (a Redis message queue answers a PING within a second), "not used", or
    "not checked" (another kind of queue)."""
    if not url.startswith("redis"):
        return "not checked" if url else "not used"
    import redis

    client = redis.Redis.from_url(url, socket_timeout=PING_TIMEOUT_S,
                                  socket_connect_timeout=PING_TIMEOUT_S)
    try:
        client.ping()
        return "ok"
    except (redis.RedisError, OSError):
        return "down"
    finally:
        client.close()
