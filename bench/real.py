"""Benchmark real herds against the private Redis and PostgreSQL, beside the simulation.

    .venv/bin/python bench/real.py            # 2,000 identical reads per case (about a minute)
    .venv/bin/python bench/real.py --quick    # 300 reads per case, to see that it runs

For each case: the queries PostgreSQL counted, latency p50/p99, errors, and how spread out the
"instant" herd really was (the cache lookups of the first attempts: first to last), next to the
simulation's numbers for the same arrivals (the engine's own arrivals; the simulation knows no
pool timeout, so its errors there stay 0). Prints a Markdown table for bench/README.md.

"sync" cases use ``real.synchronised``: every request looks the cache up before any goes on
(every one misses); "natural" ones let each request go on as soon as its lookup answers.
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


def main() -> int:
    from webapp.engine.scenario import apply_overrides, parse_scenario
    from webapp.real.fleet import RealRun
    from webapp.real.services import Services
    from webapp.real.settings import parse_settings, split_overrides
    from webapp.real.worker import RunLock

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 reads per case")
    args = parser.parse_args()
    count = 300 if args.quick else 2000
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {count} reads per case",
          file=sys.stderr)
    ms = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
    rows = ["| case | queries real / sim | p50 ms real / sim | p99 ms real / sim "
            "| errors real / sim | lookups spread s | arrival lateness p99 ms | wall s |",
            "|---|---|---|---|---|---|---|---|"]
    with Services() as services, RunLock(services.endpoints) as lock:
        lock.acquire(wait_s=120)
        for name, sets in CASES:
            plain, real = split_overrides(BASE + [f"clients.count={count}"] + sets)
            scenario = parse_scenario(apply_overrides({}, plain))
            started = time.monotonic()
            run = RealRun(scenario, parse_settings(assignments=real),
                          services.endpoints).run()
            r, s = run.summary(), run.plan.simulated
            lat_r, lat_s = r["latency_ms"], s["latency_ms"]
            rows.append(
                f"| {name} | {r['db_queries']} / {s['db_queries']} "
                f"| {ms(lat_r['p50'])} / {ms(lat_s['p50'])} "
                f"| {ms(lat_r['p99'])} / {ms(lat_s['p99'])} "
                f"| {r['errors']} / {s['errors']} "
                f"| {r['real']['arrival_spread_s']['lookups']:.3f} "
                f"| {ms(r['real']['arrival_lateness_ms']['p99'])} "
                f"| {time.monotonic() - started:.1f} |")
            print(rows[-1], file=sys.stderr)
    print(f"load average at end: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
