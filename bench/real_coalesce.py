"""Does coalescing fetch once, every time, for real? ``python -m webapp real run``, many times.

    .venv/bin/python bench/real_coalesce.py              # 30 runs each of lock, notify, promise
    .venv/bin/python bench/real_coalesce.py --runs 5     # fewer
    .venv/bin/python bench/real_coalesce.py --set strategy.recheck=false   # the race, shown

Each run is the command line a person would type: one app server, N identical reads of one cold
key in a 50 ms burst (``clients.window_s=0.05``), N drawn from 400 to 2,000 (seeded, so the same
list each time), 50 ms queries. PostgreSQL counts the queries. Before issue 21, lock and notify
fetched twice in 9 of 33 such runs and promise in 1 of 6 (the winner of the lock, or a new
promise call, did not look at the cache again). Prints one line per mode: runs with exactly one
query, the counts seen, how often a claim took over from a holder whose lease had run out (and
in which runs), the longest a claim was held, and the load average around them.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MODES = ("lock", "notify", "promise")


def one(mode: str, count: int, env: dict[str, str], extra: list[str]) -> tuple[int, dict]:
    """PostgreSQL's count of one run, and what its claims did (``real.claims``)."""
    done = subprocess.run(
        [sys.executable, "-m", "webapp", "real", "run", "--json",
         "--set", f"strategy.coalesce={mode}", "--set", f"clients.count={count}",
         "--set", "clients.window_s=0.05", "--set", "duration_s=1",
         "--set", "datastore.service_ms=50", "--set", "datastore.service_dist=constant",
         "--set", "strategy.lock_poll_ms=50",
         *[arg for item in extra for arg in ("--set", item)]],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{mode} x{count}: {done.stderr.strip()}")
    summary = json.loads(done.stdout)
    return summary["db_queries"], summary["real"]["claims"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="sets",
                        help="one more --set for every run (repeatable)")
    parser.add_argument("--modes", default=",".join(MODES), help="coalescing modes to run")
    args = parser.parse_args()
    from webapp.real.services import Services

    draw = random.Random(21).randint
    counts = [draw(400, 2000) for _ in range(args.runs)]
    with Services() as services:
        env = dict(os.environ, HERDLAB_DATA_DIR=str(Path(services.endpoints.pg_socket_dir)
                                                    .parent))
        for mode in args.modes.split(","):
            before = os.getloadavg()[0]
            runs = [one(mode, count, env, args.sets) for count in counts]
            queries = [q for q, _ in runs]
            # A claim taken over from a holder whose lease ran out, and the longest hold.
            took_over = sum(claims["takeovers"] for _, claims in runs)
            longest = max(claims["held_max_ms"] for _, claims in runs)
            print(f"{mode}{' ' + ' '.join(args.sets) if args.sets else ''}: 1 query in {queries.count(1)} of {len(queries)} runs "
                  f"(requests {min(counts)}..{max(counts)}); queries seen "
                  f"{dict(sorted(Counter(queries).items()))}; lease takeovers {took_over} "
                  f"(runs with 2+ queries: "
                  f"{[claims['takeovers'] for q, claims in runs if q > 1]}); longest hold "
                  f"{longest:,.0f} ms; load average "
                  f"{before:.1f} -> {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
