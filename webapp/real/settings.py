"""What a real run needs beyond the scenario (``real.*`` keys), and the bounds of every real run.

A real run takes the same scenario as the simulation (presets, ``--set``), and these few keys
that only mean something against real services. They are validated like scenario keys: a bad
value raises ``ScenarioError`` naming the key and what is allowed.

How scenario keys map onto the real services (docs in the README, "Real systems"):
- ``datastore.connections`` is the total of the app servers' pools, split evenly (at least one
  connection each): the queries PostgreSQL serves at once, as in the simulation;
- ``datastore.service_ms``/``service_dist`` set each query's real cost (``pg_sleep`` or CPU);
- ``datastore.queue_limit`` is each pool's ``max_waiting`` (beyond it: rejected, "queue_full");
- ``datastore.pool_timeout_s`` is each pool's ``timeout`` (PoolTimeout: rejected,
  "pool_timeout"); unset, ``real.pool_timeout_s`` is;
- ``cache.lookup_ms``, ``datastore.contention`` and the crash model are not simulated: the real
  Redis and PostgreSQL take the time they take (a CPU-bound query does contend). The run lists
  the keys it did not honour.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping

from webapp.engine.scenario import Scenario, ScenarioError

PREFIX = "real."

# Bounds of every real run: it occupies shared services and two cores.
MAX_REQUESTS = 5_000          # first attempts (arrivals) in one run
MAX_DURATION_S = 60.0         # scenario duration_s
DRAIN_S = 30.0                # after duration_s, the run is cut (truncated) past this
MAX_PROCESSES = 8
MAX_SERVERS = 32
MAX_KEYS = 1_000
MAX_POOL_TOTAL = 100          # all pools together; services.RUN_CONNECTIONS at most
MAX_EVENTS = 2_000_000        # a run recording more is cut (1 ms lock polls could flood it)
# Keys a real run cannot honour: the real services take the time they take.
NOT_REAL = ("cache.lookup_ms", "datastore.contention", "datastore.crash")


def _key(default: Any, doc: str, *, lo: float | None = None, hi: float | None = None,
         choices: tuple[str, ...] | None = None) -> Any:
    return field(default=default, metadata={"doc": doc, "min": lo, "max": hi, "choices": choices})


@dataclass(frozen=True)
class RealSettings:
    query: str = _key("sleep", "sleep: each query is pg_sleep(service time); cpu: a CPU-bound "
                      "query calibrated to take the service time on an idle server (so it "
                      "really contends for the cores).", choices=("sleep", "cpu"))
    pool_timeout_s: float = _key(10.0, "How long a fetch waits for a pool connection before "
                                 "PoolTimeout (a rejection), unless datastore.pool_timeout_s "
                                 "sets it.", lo=0.01, hi=60.0)
    statement_timeout_ms: float = _key(0.0, "PostgreSQL cancels a query running longer "
                                       "(statement_timeout; 0 = off): a failed query.",
                                       lo=0.0, hi=60_000.0)
    pool: bool = _key(True, "false: every fetch opens its own connection (no pool), and "
                      "PostgreSQL refuses those beyond max_connections (too many clients).")
    processes: int = _key(0, "Operating-system processes the app servers are spread over "
                          "(0 = one per server, at most 4).", lo=0, hi=MAX_PROCESSES)
    redis_client: str = _key("pipelined", "How an app server talks to Redis: pipelined (the "
                             "commands of concurrent requests share one pipeline, as ioredis's "
                             "auto-pipelining does: a herd's reads land within milliseconds) or "
                             "pooled (a pooled connection and a round trip per command).",
                             choices=("pipelined", "pooled"))
    synchronised: bool = _key(False, "A synchronised herd: every request of the burst looks "
                              "the cache up before any goes on, across all processes (needs "
                              "clients.arrival=burst with window_s=0).")


_FIELDS = {f.name: f for f in fields(RealSettings)}


def split_overrides(assignments: list[str]) -> tuple[list[str], list[str]]:
    """``--set`` strings -> (scenario ones, ``real.*`` ones)."""
    real = [a for a in assignments if a.strip().startswith(PREFIX)]
    return [a for a in assignments if a not in real], real


def parse_settings(data: Mapping[str, Any] | None = None,
                   assignments: list[str] = ()) -> RealSettings:
    """Validate a dict of real keys (no prefix) and ``real.KEY=VALUE`` strings."""
    values: dict[str, Any] = {}
    for name, value in dict(data or {}).items():
        values[name] = _check(str(name), value)
    for item in assignments:
        key, sep, raw = item.strip()[len(PREFIX):].partition("=")
        if not sep:
            raise ScenarioError(PREFIX + key, "real.KEY=VALUE", "has no value")
        values[key.strip()] = _check(key.strip(), _coerce(key.strip(), raw.strip()))
    return RealSettings(**values)


def _allowed(name: str) -> str:
    f = _FIELDS[name]
    meta = f.metadata
    if meta["choices"]:
        return "one of: " + ", ".join(meta["choices"])
    if f.type == "bool":
        return "true or false"
    return f"a number from {meta['min']:g} to {meta['max']:g}"


def _known(name: str) -> None:
    if name not in _FIELDS:
        raise ScenarioError((PREFIX + name)[:80], "one of: " + ", ".join(PREFIX + n
                                                                        for n in _FIELDS),
                            "is not a known key")


def _coerce(name: str, raw: str) -> Any:
    _known(name)
    kind = _FIELDS[name].type
    if kind == "bool":
        if raw.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return raw.lower() in ("true", "1", "yes", "on")
    elif kind in ("int", "float"):
        try:
            return float(raw) if kind == "float" else int(raw)
        except ValueError:
            pass
    else:
        return raw
    raise ScenarioError(PREFIX + name, _allowed(name), f"cannot be {raw[:40]!r}")


def _check(name: str, value: Any) -> Any:
    _known(name)
    f = _FIELDS[name]
    meta = f.metadata
    ok = False
    if f.type == "bool":
        ok = isinstance(value, bool)
    elif f.type == "str":
        ok = isinstance(value, str) and value in meta["choices"]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ok = (math.isfinite(value) and meta["min"] <= value <= meta["max"]
              and (f.type == "float" or value == int(value)))
        value = float(value) if f.type == "float" else int(value) if ok else value
    if not ok:
        raise ScenarioError(PREFIX + name, _allowed(name), f"cannot be {str(value)[:40]!r}")
    return value


def check(scenario: Scenario, settings: RealSettings, beside: bool = False) -> int:
    """Refuse what a real run cannot do within its bounds (and, ``beside`` the simulation,
    what a trace cannot replay); return the number of processes."""
    s = scenario
    if beside and s.workload.kind != "hot_key":
        raise ScenarioError("workload.kind", "hot_key", "must be hot_key beside the "
                            "simulation (it replays the real arrivals of one herd)")
    if s.duration_s > MAX_DURATION_S:
        raise ScenarioError("duration_s", f"at most {MAX_DURATION_S:g} for a real run")
    if s.servers.count > MAX_SERVERS:
        raise ScenarioError("servers.count", f"at most {MAX_SERVERS} for a real run")
    if s.workload.keys > MAX_KEYS:
        raise ScenarioError("workload.keys", f"at most {MAX_KEYS} for a real run")
    herds = (int(s.duration_s / s.workload.segment_s + 0.999999)
             if s.workload.kind == "live_video" else 1)
    if s.clients.count * herds > MAX_REQUESTS:
        raise ScenarioError("clients.count", f"at most {MAX_REQUESTS} requests in a real run "
                            "(count x chunks)")
    processes = settings.processes or min(s.servers.count, 4)
    if processes > s.servers.count:
        raise ScenarioError("real.processes", f"at most servers.count ({s.servers.count})")
    if settings.pool and pool_size(s) * s.servers.count > MAX_POOL_TOTAL:
        raise ScenarioError("datastore.connections", f"at most {MAX_POOL_TOTAL} pool "
                            "connections in all for a real run (servers x connections each)")
    if settings.synchronised and (s.clients.arrival != "burst" or s.clients.window_s != 0
                                  or not s.cache.enabled):
        raise ScenarioError("real.synchronised", "true only with clients.arrival=burst, "
                            "clients.window_s=0 and the cache enabled")
    if s.faults.leader_dies and processes < 2:
        raise ScenarioError("real.processes", "at least 2 with faults.leader_dies (a real "
                            "server death kills its process; another must survive)")
    return processes


def pool_timeout_s(scenario: Scenario, settings: RealSettings) -> float:
    """How long a fetch waits for a pool connection: the scenario's own pool timeout
    (``datastore.pool_timeout_s``, what the simulation models) when it sets one, else
    ``real.pool_timeout_s`` (a real pool always has one). The simulation beside is given it."""
    return scenario.datastore.pool_timeout_s or settings.pool_timeout_s


def deadline_s(scenario: Scenario) -> float:
    """How long a real run may go on from its start: its duration, then ``DRAIN_S`` for the
    requests still open; past it the run is cut."""
    return scenario.duration_s + DRAIN_S


def bounded(settings: RealSettings, scenario: Scenario) -> RealSettings:
    """``settings`` as the run's app servers get them: PostgreSQL's ``statement_timeout`` is at
    most the run's deadline whatever was asked (0, off, becomes the deadline), so no query of
    the run outlives it."""
    cap = round(deadline_s(scenario) * 1000)
    asked = settings.statement_timeout_ms
    return replace(settings, statement_timeout_ms=float(min(asked, cap) if asked else cap))


def pool_size(scenario: Scenario) -> int:
    """Each server's pool: the datastore's connections split evenly, at least one."""
    return max(1, scenario.datastore.connections // scenario.servers.count)


def not_honoured(scenario: Scenario) -> list[str]:
    """The keys set away from their defaults that a real run does not model."""
    default = Scenario()
    return [k for k in NOT_REAL if scenario.get(k) != default.get(k)]
