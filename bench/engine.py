"""Benchmark the engine on the drake-live preset, and a straightforward SimPy model of it.

    .venv/bin/python bench/engine.py              # 10k, 100k, 1M; SimPy at 10k and 100k
    .venv/bin/python bench/engine.py --simpy-1m   # also SimPy at 1M (slow, memory hungry)
    .venv/bin/python bench/engine.py --quick      # 10k and 100k only

Every case runs in its own subprocess so its peak memory (ru_maxrss) is its own. "events" is
each model's own count of processed events: engine loop steps, or SimPy events scheduled; the
wall-time ratio on the same scenario is the fairer comparison and is printed too.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def run_engine(viewers: int, coalesce: str, record: bool) -> dict:
    from webapp.engine import Simulation, parse_scenario

    scn = parse_scenario({"clients": {"count": viewers}, "strategy": {"coalesce": coalesce}},
                         preset="drake-live")
    start = time.perf_counter()
    sim = Simulation(scn, record_requests=record)
    records = 0
    for _ in sim.events():
        records += 1
    wall = time.perf_counter() - start
    s = sim.summary()
    return {"wall_s": wall, "events": s["events"], "records": records,
            "db_queries": s["db_queries"], "errors": s["errors"], "db_down_s": s["db_down_s"]}


def run_simpy(viewers: int, coalesce: str) -> dict:
    """The same drake-live scenario as a straightforward SimPy model: one process per viewer,
    a Resource for the datastore's connections, a simpy.Event per promise, and a monitor
    process that crashes the datastore after sustained overload by interrupting its queries.
    Client timeouts (10 s) never fire in this scenario and are left out, which only helps SimPy.
    """
    import simpy

    from webapp.engine import parse_scenario

    s = parse_scenario({"clients": {"count": viewers}}, preset="drake-live")
    d, c = s.datastore, s.clients
    rng = random.Random(f"{s.seed}/simpy")
    env = simpy.Environment()
    db = simpy.Resource(env, capacity=d.connections)
    cache: set[str] = set()
    promises: list[dict[str, simpy.Event]] = [{} for _ in range(s.servers.count)]
    held: set = set()
    state = {"down_until": -1.0, "errors": 0, "queries": 0, "over_since": None}
    mean = d.service_ms / 1000.0
    mu = math.log(mean) - d.lognormal_sigma ** 2 / 2
    key = "chunk-0"

    def query(server):
        state["queries"] += 1
        if env.now < state["down_until"]:
            return False
        try:
            with db.request() as req:
                yield req
                service = rng.lognormvariate(mu, d.lognormal_sigma)
                load = (len(db.queue) + db.count) / d.connections
                if load > 1:
                    service *= 1 + d.contention * (min(load, 11.0) - 1)
                yield env.timeout(service)
        except simpy.Interrupt:
            return False
        cache.add(key)
        return True

    def fetch(server):
        proc = env.process(query(server))
        held.add(proc)
        ok = yield proc
        held.discard(proc)
        return ok

    def viewer(i):
        server = i % s.servers.count
        yield env.timeout(s.cache.lookup_ms / 1000.0)
        if key in cache:
            return
        if coalesce == "promise":
            waiting = promises[server].get(key)
            if waiting is not None:
                ok = yield waiting
            else:
                event = promises[server][key] = env.event()
                ok = yield env.process(fetch(server))
                del promises[server][key]
                event.succeed(ok)
        else:
            ok = yield env.process(fetch(server))
        if not ok:
            state["errors"] += 1

    def source():
        times = sorted(rng.random() * c.window_s for _ in range(c.count))
        last = 0.0
        for i, t in enumerate(times):
            yield env.timeout(t - last)
            last = t
            env.process(viewer(i))

    def monitor():
        while env.now < s.duration_s or held:
            yield env.timeout(s.sample_interval_s)
            if len(db.queue) >= d.overload_queue and env.now >= state["down_until"]:
                if state["over_since"] is None:
                    state["over_since"] = env.now
                elif env.now - state["over_since"] >= d.crash_after_s:
                    state["down_until"] = env.now + d.recovery_s
                    state["over_since"] = None
                    for proc in list(held):
                        if proc.is_alive:
                            proc.interrupt("crash")
            else:
                state["over_since"] = None

    start = time.perf_counter()
    env.process(source())
    env.process(monitor())
    env.run()
    wall = time.perf_counter() - start
    return {"wall_s": wall, "events": next(env._eid), "records": 0,
            "db_queries": state["queries"], "errors": state["errors"],
            "db_down_s": None}


def case_main(argv: list[str]) -> None:
    model, viewers, coalesce, record = argv[0], int(argv[1]), argv[2], argv[3] == "events"
    result = run_engine(viewers, coalesce, record) if model == "engine" else \
        run_simpy(viewers, coalesce)
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_case(model: str, viewers: int, coalesce: str, mode: str, repeat: int) -> dict:
    """Best of ``repeat`` fresh processes: the machine is shared, the minimum is the signal."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--case", model, str(viewers),
                              coalesce, mode], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout))
    return min(runs, key=lambda r: r["wall_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 1M cases")
    parser.add_argument("--simpy-1m", action="store_true", help="also run SimPy at 1M")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    parser.add_argument("--case", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        case_main(args.case)
        return
    sizes = [10_000, 100_000] + ([] if args.quick else [1_000_000])
    rows = []
    header = (f"{'viewers':>9} {'coalesce':>8} {'mode':>8} {'model':>6} {'wall s':>8} "
              f"{'events':>10} {'events/s':>10} {'peak MiB':>9} {'queries':>8} "
              f"{'errors':>7} {'x SimPy':>8} {'SimPy-ev/s':>11}")
    print(header)
    print("-" * len(header))
    for viewers in sizes:
        for coalesce in ("none", "promise"):
            modes = ["summary", "events"] if viewers <= 100_000 else ["summary"]
            engine = {mode: run_case("engine", viewers, coalesce, mode, args.repeat)
                      for mode in modes}
            simpy_row = None
            if viewers < 1_000_000 or args.simpy_1m:
                simpy_row = run_case("simpy", viewers, coalesce, "summary", args.repeat)
            for mode, r in engine.items():
                speed = normalised = ""
                if simpy_row and mode == "summary":
                    speed = f"{simpy_row['wall_s'] / r['wall_s']:.1f}x"
                    normalised = f"{simpy_row['events'] / r['wall_s']:.0f}"
                rows.append(("engine", viewers, coalesce, mode, r, speed, normalised))
            if simpy_row:
                rows.append(("simpy", viewers, coalesce, "summary", simpy_row, "",
                             f"{simpy_row['events'] / simpy_row['wall_s']:.0f}"))
            for model, v, co, mode, r, speed, normalised in \
                    rows[-(len(engine) + bool(simpy_row)):]:
                print(f"{v:>9} {co:>8} {mode:>8} {model:>6} {r['wall_s']:>8.2f} "
                      f"{r['events']:>10} {r['events'] / r['wall_s']:>10.0f} "
                      f"{r['peak_mib']:>9.0f} {r['db_queries']:>8} {r['errors']:>7} "
                      f"{speed:>8} {normalised:>11}", flush=True)

if __name__ == "__main__":
    main()
