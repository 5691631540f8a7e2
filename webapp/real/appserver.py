"""One app-server process of a real run: ``python -m webapp.real.appserver FD_IN FD_OUT``.

Started by the fleet (fleet.py), never by hand. It patches the standard library for gevent
before anything opens a socket (so redis-py's sockets and psycopg_pool's worker threads become
cooperative; psycopg 3 then picks its poll-based wait by itself), then:

1. reads its plan from FD_IN (a pickled dict: scenario, settings, its servers and arrivals),
2. opens one pool per server and a Redis client, and says ``ready``,
3. on ``go`` (the run's start on the shared monotonic clock) starts every arrival in its own
   greenlet on time, and streams what happens to FD_OUT every ``FLUSH_S``: a batch of events
   with its cumulative counters and gauges, stamped with the time up to which it is complete,
4. once nothing is left to do, sends ``done`` and exits.

A failure (a bug, a service gone) is sent as ``error`` with its traceback; the process exits 1.
Messages are pickled (both ends are this program, in the same checkout).
"""
from gevent import monkey

monkey.patch_all()

import bisect  # noqa: E402 -- after patching, on purpose
import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from multiprocessing.connection import Connection  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402
from psycopg_pool import ConnectionPool  # noqa: E402

from webapp.engine.scenario import parse_scenario  # noqa: E402
from webapp.real.autopipeline import AutoPipeline  # noqa: E402
from webapp.real.host import RealHost  # noqa: E402
from webapp.real.rediscache import RedisCache  # noqa: E402
from webapp.real.settings import parse_settings  # noqa: E402

FLUSH_S = 0.02
REDIS_CONNECTIONS = 64        # per process; requests beyond wait for one (BlockingConnectionPool)
OPEN_TIMEOUT_S = 30.0
SYNC_POLL_S = 0.002
CALIBRATION_KEY = "calibration"
POOL_STATS = ("requests_num", "requests_queued", "requests_wait_ms", "requests_errors",
              "usage_ms")


class Outbox:
    """Events waiting to be sent, kept in time order: an event measured by Redis or PostgreSQL
    is emitted after others stamped later (host.py, "Measured where it happens"), and a clock
    reading taken before a blocking call can be older than one taken meanwhile. A batch holds
    the events up to the host's ``complete_until``; nothing older can come after it (an event
    that would is stamped at that time instead)."""

    def __init__(self, out: Connection) -> None:
        self.out = out
        self.events: list[tuple] = []
        self.sent_until = 0.0

    def emit(self, event: tuple) -> None:
        events = self.events
        if event[0] < self.sent_until:
            event = type(event)((self.sent_until,) + tuple(event[1:]))
        if events and event[0] < events[-1][0]:
            bisect.insort_right(events, event, key=_time)
        else:
            events.append(event)

    def flush(self, host: RealHost, final: bool = False) -> None:
        """Send the events complete by now (all of them if ``final``), with the counters and
        gauges now."""
        now = host.now()
        until = max(now if final else host.complete_until(), self.sent_until)
        cut = bisect.bisect_right(self.events, until, key=_time)
        events, self.events = self.events[:cut], self.events[cut:]
        self.sent_until = until
        gauges = {"queued": host.waiting, "in_service": sum(host.busy.values()),
                  "made": dict(host.made)}
        self.out.send(("batch", events, dict(host.counters), gauges, until, max(now, until)))


def _time(event: tuple) -> float:
    return event[0]


def main(fd_in: int, fd_out: int) -> int:
    inbox = Connection(fd_in, writable=False)
    out = Connection(fd_out, readable=False)
    try:
        return run(inbox.recv(), inbox, out)
    except BaseException:   # noqa: BLE001 -- reported to the fleet, which fails the run
        out.send(("error", traceback.format_exc()))
        return 1


def run(plan: dict[str, Any], inbox: Connection, out: Connection) -> int:
    scenario = parse_scenario(plan["scenario"])
    settings = parse_settings(plan["settings"])
    endpoints = plan["endpoints"]
    index, processes = plan["index"], plan["processes"]
    client = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
        endpoints.redis_url(), max_connections=REDIS_CONNECTIONS, timeout=OPEN_TIMEOUT_S))
    cache = RedisCache(client, plan["prefix"], AutoPipeline(client).call
                       if settings.redis_client == "pipelined" else None)
    options = {"application_name": f"herdlab-{index}"}
    if settings.statement_timeout_ms:
        options["options"] = f"-c statement_timeout={round(settings.statement_timeout_ms)}"
    conninfo = endpoints.pg_conninfo(**options)
    pools = {}
    if settings.pool:
        for server in plan["servers"]:
            pools[server] = ConnectionPool(
                conninfo, min_size=plan["pool_size"], max_size=plan["pool_size"], open=False,
                kwargs={"autocommit": True}, max_waiting=scenario.datastore.queue_limit,
                name=f"server-{server}")
            pools[server].open(wait=True, timeout=OPEN_TIMEOUT_S)
    outbox = Outbox(out)
    host: RealHost

    def die() -> None:
        """faults.leader_dies: this process dies for real, mid-fetch (what was recorded up to
        now is sent first, as an observer would have seen it)."""
        outbox.flush(host, final=True)
        os.kill(os.getpid(), signal.SIGKILL)

    host = RealHost(scenario, settings, plan["servers"], cache, pools, plan["pool_size"],
                    lambda: psycopg.connect(conninfo, autocommit=True), 0.0, index, processes,
                    outbox.emit, die, plan["cpu_rows_per_s"])
    client.ping()
    out.send(("ready", {"pid": os.getpid()}))
    kind, herd = inbox.recv()
    assert kind == "calibrate"
    out.send(("calibrated", take_in_s(cache, herd)))
    kind, start, scale, stretched = inbox.recv()
    assert kind == "go"
    host.start = start
    host.scale_service(scale, parse_scenario(stretched))
    host.warm(plan["warm_keys"])
    if index == 0:
        host.slow_down()

    def synchronise(flag: Any) -> None:
        """Every process has looked the cache up for the whole burst: then misses go on."""
        arrived = client.incr(plan["prefix"] + "sync")
        while arrived < processes:
            gevent.sleep(SYNC_POLL_S)
            arrived = int(client.get(plan["prefix"] + "sync"))
        flag.set()

    host.track(gevent.spawn(host.guard, schedule, host, plan["arrivals"], plan["publishes"]))
    host.expect(len(plan["arrivals"]), synchronise if settings.synchronised else None)

    def flusher() -> None:
        while True:
            gevent.sleep(FLUSH_S)
            outbox.flush(host)

    flushing = gevent.spawn(flusher)
    host.idle.wait()
    flushing.kill()
    if host.failure is not None:
        raise host.failure
    outbox.flush(host, final=True)
    out.send(("done", dict(host.counters), pool_stats(pools.values()), host.measured()))
    host.wakeups.close()
    for pool in pools.values():
        pool.close()
    return 0


def schedule(host: RealHost, arrivals: list[tuple], publishes: list[tuple]) -> None:
    """Start each arrival in its own greenlet at its time (and announce live chunks, in the
    producer process, just before the arrivals of the same instant)."""
    plan = sorted([(t, 0, key, chunk) for t, key, chunk in publishes]
                  + [(t, 1, rid, viewer, server, key) for t, rid, viewer, server, key in arrivals])
    for item in plan:
        delay = item[0] - host.now()
        if delay > 0:
            gevent.sleep(delay)
        if item[1] == 0:
            host.guard(host.publish, item[2], item[3])
        else:
            gevent.spawn(host.guard, host.arrive_new, *item[2:], item[0])


def take_in_s(cache: RedisCache, herd: int) -> float:
    """How long this process takes to take in its herd of ``herd`` requests: that many
    greenlets started at once, each reading a key through the run's own client, from the
    first start to the last greenlet holding its answer (measured now, not assumed: the
    machine is shared). Redis reads them within milliseconds; the app server then works
    through the answers one greenlet at a time."""
    if herd < 2:
        return 0.0
    begun = time.monotonic()
    reads = [gevent.spawn(lambda: (cache.get(CALIBRATION_KEY), time.monotonic())[1])
             for _ in range(herd)]
    gevent.joinall(reads, raise_error=True)
    return max(read.value for read in reads) - begun


def pool_stats(pools: Any) -> dict[str, int]:
    """The pools' own counts and waits (psycopg_pool ``get_stats``), summed: requests for a
    connection, how many had to queue, their wait in ms as the pool timed it, errors
    (timeouts, a full queue), and how long connections were lent out in all (ms)."""
    total = dict.fromkeys(POOL_STATS, 0)
    for pool in pools:
        stats = pool.get_stats()
        for name in POOL_STATS:
            total[name] += stats.get(name, 0)
    return total


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
