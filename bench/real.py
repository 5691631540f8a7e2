"""Benchmark real herds against the private Redis and PostgreSQL, beside the simulation.

    .venv/bin/python bench/real.py                    # every case at 500, 2,000 and 5,000
    .venv/bin/python bench/real.py --sizes 500        # one size (--quick: 300, to see it runs)
    .venv/bin/python bench/real.py --generators       # the two Redis clients side by side
    .venv/bin/python bench/real.py --web              # an eventlet process recording a run

Every case: identical reads of one cold key, all planned at t=0 (``clients.window_s=0``), 20
pool connections in all, 50 ms queries (``pg_sleep``). Beside each real run, the simulation fed
what the run measured (worker.Measured): the cache reads when Redis made them, the planned
arrivals (both sides measure latency from them), PostgreSQL's own service times, the real
read-to-claim delay as ``cache.lookup_ms`` and the pools' timeout. A row agrees (``ok``) when
the query counts are within 10% (equal for the coalescing cases) and p50 and p99 within 20%.

Columns: queries that reached the datastore (PostgreSQL's count; the model's sent less those
refused or cancelled while waiting), p50 and p99 (ms, every request, from its planned
arrival) real / simulated;
``reads`` how far apart the first attempts' cache reads were (first to last, as Redis timed
them); ``late`` the p99 of how late requests started against the plan; ``stretch`` how much
the run stretched its queries because the machine could not make the planned herd (1 = not);
``held / PG`` a connection's mean time out of its pool per query (psycopg_pool's ``usage_ms``)
against PostgreSQL's own median service time (what the simulation is fed): the difference is
what the app server spends around each query; ``wall`` the run's seconds. Prints Markdown for
bench/README.md.

``--generators``: the same herd (promise, and none) with the app servers' two Redis clients,
``real.redis_client=pooled`` (a pooled connection and a round trip per command) and
``pipelined`` (automatic pipelining, webapp/real/autopipeline.py): how far apart the reads
land and how late the requests start.

``--web``: this process becomes an eventlet process like the web app's, records a 2,000-read
real run as the web app does (``transport.realsource.Recording``, read in a green thread every
20 ms) and runs a 30 Hz loop beside it (a frame loop's stand-in); it prints how late the loop's
ticks were.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

BASE = ["duration_s=1", "clients.arrival=burst", "clients.window_s=0",
        "datastore.connections=20", "datastore.service_ms=50", "datastore.service_dist=constant"]
FLEET = ["servers.count=4", "real.processes=4"]     # four app servers, four processes

# (name, --set items, exact: coalescing makes the query count exact)
CASES = [
    ("none", ["real.pool_timeout_s=60"], False),
    ("lock", ["strategy.coalesce=lock", "strategy.lock_poll_ms=100"], True),
    ("notify", ["strategy.coalesce=notify"], True),
    ("promise", ["strategy.coalesce=promise"], True),
    ("promise, 4 processes", [*FLEET, "strategy.coalesce=promise"], True),
    ("shared marker, 4 processes", [*FLEET, "strategy.coalesce=distributed",
                                    "strategy.marker_poll_ms=20"], True),
    ("none, pool timeout 2 s", ["datastore.pool_timeout_s=2"], False),
]
COUNT_TOLERANCE, LATENCY_TOLERANCE = 0.10, 0.20


def run_case(services, sets: list[str]) -> tuple[dict, dict, float]:
    from webapp.engine.scenario import apply_overrides
    from webapp.real.settings import parse_settings, split_overrides
    from webapp.real.worker import serve

    plain, real = split_overrides(sets)
    kept: dict = {}
    started = time.monotonic()
    serve({"scenario": apply_overrides({}, plain), "beside": True,
           "real": vars(parse_settings(assignments=real))},
          lambda kind, payload: kept.__setitem__(kind, payload), wait_s=120, services=services)
    if "error" in kept:
        raise SystemExit(f"{sets}: {kept['error']['message']}")
    return kept["summary"], kept["summary_b"], time.monotonic() - started


def close(real: float | None, sim: float | None, tolerance: float) -> bool:
    if real is None or sim is None:
        return real == sim
    return abs(real - sim) <= tolerance * max(abs(sim), 1e-9)


def reached(sim: dict) -> int:
    """The simulation's queries that reached the datastore, as PostgreSQL counts the real ones
    (its ``db_queries`` also counts those refused or cancelled while they waited)."""
    return sim["db_queries"] - sim["db_rejected"] - sim["db_cancelled"]


def agrees(r: dict, s: dict, exact: bool) -> bool:
    lat_r, lat_s = r["latency_everyone_ms"], s["latency_everyone_ms"]
    queries = (r["db_queries"] == reached(s) if exact
               else close(r["db_queries"], reached(s), COUNT_TOLERANCE))
    return queries and all(close(lat_r[q], lat_s[q], LATENCY_TOLERANCE) for q in ("p50", "p99"))


def cases(services, sizes: list[int], chosen: list[str]) -> list[str]:
    ms = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
    rows = ["| case | n | queries real / sim | p50 ms real / sim | p99 ms real / sim "
            "| errors real / sim | reads s | late p99 ms | held / PG ms | looks p50 / p99 ms "
            "| stretch | wall s | agrees |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in sizes:
        for name, sets, exact in CASES:
            if chosen and name not in chosen:
                continue
            r, s, wall = run_case(services, BASE + [f"clients.count={n}"] + sets)
            lat_r, lat_s, real = r["latency_everyone_ms"], s["latency_everyone_ms"], r["real"]
            row(rows, name, n, f"{r['db_queries']} / {reached(s)}",
                f"{ms(lat_r['p50'])} / {ms(lat_s['p50'])}",
                f"{ms(lat_r['p99'])} / {ms(lat_s['p99'])}",
                f"{r['errors'] + r['timeouts']} / {s['errors'] + s['timeouts']}",
                f"{real['arrival_spread_s']['lookups'] or 0:.3f}",
                ms(real['arrival_lateness_ms']['p99']),
                f"{ms(s['fed']['service_ms']['p50'])} / {ms(s['fed']['pg_service_ms']['p50'])}",
                f"{ms(s['fed']['look_ms']['p50'])} / {ms(s['fed']['look_ms']['p99'])}",
                f"{real['herd'].get('service_scale', 1):.2f}", f"{wall:.1f}",
                "ok" if agrees(r, s, exact) else "NO")
    return rows


def row(rows: list[str], *cells: object) -> None:
    """Add a Markdown row, and show it (with the load average) as it comes."""
    rows.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    print(rows[-1], f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)


def generators(services, sizes: list[int]) -> list[str]:
    rows = ["| client | case | n | reads spread ms | started late p50 / p99 ms | p50 / p99 ms "
            "| stretch |", "|---|---|---|---|---|---|---|"]
    for n in sizes:
        for coalesce in ("promise", "none"):
            for client in ("pooled", "pipelined"):
                r, _, _ = run_case(services, BASE + [
                    f"clients.count={n}", f"strategy.coalesce={coalesce}",
                    f"real.redis_client={client}"])
                real, lat = r["real"], r["latency_everyone_ms"]
                late = real["arrival_lateness_ms"]
                row(rows, client, coalesce, n,
                    f"{(real['arrival_spread_s']['lookups'] or 0) * 1000:.0f}",
                    f"{late['p50']:.0f} / {late['p99']:.0f}",
                    f"{lat['p50']:.0f} / {lat['p99']:.0f}",
                    f"{real['herd'].get('service_scale', 1):.2f}")
    return rows


def web(coalesce: str) -> None:
    from webapp import asyncmode

    asyncmode.prepare("eventlet")      # as the web app does: patched, its notice silenced
    import eventlet

    from webapp.transport.realsource import Recording

    late: list[float] = []

    def ticker() -> None:
        due = time.monotonic()
        while True:
            due += 1 / 30
            eventlet.sleep(max(0.0, due - time.monotonic()))
            late.append(time.monotonic() - due)

    loop = eventlet.spawn(ticker)
    rec = Recording({"scenario": {"duration_s": 1, "clients": {"count": 2000, "window_s": 0},
                                  "datastore": {"connections": 20, "service_ms": 50,
                                                "service_dist": "constant"},
                                  "strategy": {"coalesce": coalesce}},
                     "real": {"synchronised": True}, "wait_s": 120}, beside=False)
    rec.launch()
    eventlet.spawn(rec.record, eventlet.sleep, lambda: None).wait()
    loop.kill()
    late.sort()
    pick = lambda q: late[min(len(late) - 1, int(q * len(late)))] * 1000  # noqa: E731
    queries = rec.summaries[0]["db_queries"] if rec.summaries else rec.failed
    print(f"{coalesce}: {rec.bytes:,} bytes in {len(rec.chunks[0])} chunks, {queries} queries; "
          f"30 Hz loop late p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, max "
          f"{late[-1] * 1000:.1f} ms over {len(late)} ticks; load average "
          f"{os.getloadavg()[0]:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000,5000", help="requests per case")
    parser.add_argument("--quick", action="store_true", help="300 requests per case")
    parser.add_argument("--cases", default="", help="only these cases (names, separated by ;)")
    parser.add_argument("--generators", action="store_true", help="the two Redis clients")
    parser.add_argument("--web", metavar="COALESCE", nargs="?", const="none",
                        help="measure an eventlet loop while it reads a real run's stream")
    args = parser.parse_args()
    if args.web:
        web(args.web)
        return 0
    from webapp.real.services import Services

    sizes = [300] if args.quick else [int(n) for n in args.sizes.split(",")]
    print(f"load average at start: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with Services() as services:
        rows = (generators(services, sizes) if args.generators else
                cases(services, sizes, [c.strip() for c in args.cases.split(";") if c.strip()]))
    print(f"load average at end: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
