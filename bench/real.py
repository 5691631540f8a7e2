"""Benchmark real herds against the private Redis and PostgreSQL, beside the simulation.

    .venv/bin/python bench/real.py            # 2,000 identical reads per case (about a minute)
    .venv/bin/python bench/real.py --quick    # 300 reads per case, to see that it runs
    .venv/bin/python bench/real.py --web      # an eventlet process recording a 2,000-read run

For each case: the queries PostgreSQL counted, latency p50/p99 (every request), errors, how
spread out the "instant" herd really was (the first attempts' cache lookups, first to last) and
how late its requests started; next to it the simulation fed that run's own arrival times and
measured query times (``engine.trace``, as the /real page's "beside the simulation"). The
simulation knows no pool timeout and no connection refusal, so its errors there stay 0. Prints a
Markdown table for bench/README.md.

"sync" cases use ``real.synchronised``: every request looks the cache up before any goes on
(every one misses); "natural" ones let each request go on as soon as its lookup answers.

``--web``: this process becomes an eventlet process like the web app's, records a 2,000-read
real run as the web app does (``transport.realsource.Recording``, read in a green thread every
20 ms) and runs a 30 Hz loop beside it (a frame loop's stand-in); it prints how late the loop's
ticks were. The test suite asserts the same of the real pacer (tests/real/test_real_lab.py).
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
SYNC = "real.synchronised=true"
FLEET = "servers.count=4"          # four app servers, so four processes

# (name, --set items); clients.count is set per run
CASES = [
    ("none, sync", [SYNC]),
    ("none, sync, pool timeout 2 s", [SYNC, "real.pool_timeout_s=2"]),
    ("none, natural", []),
    ("promise, natural", ["strategy.coalesce=promise"]),
    ("4 processes: none, sync", [FLEET, SYNC]),
    ("4 processes: promise, sync", [FLEET, SYNC, "strategy.coalesce=promise"]),
    ("4 processes: distributed, sync", [FLEET, SYNC, "strategy.coalesce=distributed"]),
    ("no pool, sync", [SYNC, "real.pool=false", "datastore.service_ms=500"]),
]


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
    parser.add_argument("--quick", action="store_true", help="300 reads per case")
    parser.add_argument("--web", metavar="COALESCE", nargs="?", const="none",
                        help="measure an eventlet loop while it reads a real run's stream")
    args = parser.parse_args()
    if args.web:
        web(args.web)
        return 0
    from webapp.engine.scenario import apply_overrides
    from webapp.real.services import Services
    from webapp.real.settings import parse_settings, split_overrides
    from webapp.real.worker import serve

    count = 300 if args.quick else 2000
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {count} reads per case",
          file=sys.stderr)
    ms = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
    rows = ["| case | queries real / sim | p50 ms real / sim | p99 ms real / sim "
            "| errors real / sim | lookups spread s | started late p99 ms "
            "| queries sent late p99 ms | wall s |", "|---|---|---|---|---|---|---|---|---|"]
    with Services() as services:
        for name, sets in CASES:
            plain, real = split_overrides(BASE + [f"clients.count={count}"] + sets)
            kept: dict = {}
            started = time.monotonic()
            serve({"scenario": apply_overrides({}, plain), "beside": True,
                   "real": vars(parse_settings(assignments=real))},
                  lambda kind, payload: kept.__setitem__(kind, payload), wait_s=120,
                  services=services)
            if "error" in kept:
                raise SystemExit(f"{name}: {kept['error']['message']}")
            r, s = kept["summary"], kept["summary_b"]
            lat_r, lat_s = r["latency_everyone_ms"], s["latency_everyone_ms"]
            rows.append(
                f"| {name} | {r['db_queries']} / {s['db_queries']} "
                f"| {ms(lat_r['p50'])} / {ms(lat_s['p50'])} "
                f"| {ms(lat_r['p99'])} / {ms(lat_s['p99'])} "
                f"| {r['errors'] + r['timeouts']} / {s['errors'] + s['timeouts']} "
                f"| {r['real']['arrival_spread_s']['lookups']:.3f} "
                f"| {ms(r['real']['arrival_lateness_ms']['p99'])} "
                f"| {ms(r['dispatch_ms']['p99'])} "
                f"| {time.monotonic() - started:.1f} |")
            print(rows[-1], file=sys.stderr)
    print(f"load average at end: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
