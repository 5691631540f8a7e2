"""Benchmark the engine on the drake-live preset, against a SimPy model and the engine before.

    .venv/bin/python bench/engine.py              # 10k, 100k, 1M; SimPy at 10k and 100k
    .venv/bin/python bench/engine.py --simpy-1m   # also SimPy at 1M (slow, memory hungry)
    .venv/bin/python bench/engine.py --quick      # 10k and 100k only

Every case runs in its own subprocess so its peak memory (ru_maxrss) is its own. Three models:

- ``engine``: this tree;
- ``before``: the engine as it was before issue 13 (commit ``BEFORE``), checked out from git into
  a temporary directory by this bench, so before and after are measured in the same run;
- ``simpy``: a straightforward SimPy model of the same scenario.

"events" is each model's own count of processed events: engine loop steps, or SimPy events
scheduled; the time ratios on the same scenario are the fair comparison and are printed. Ratios
and the best of ``--repeat`` runs use CPU time (``time.process_time``): on a quiet machine it
equals wall time for this single-threaded work, and on a shared one it is far less noisy.
Mode ``events/100`` records per-request events for one viewer in 100 (``sample_every=100``),
what the lab asks for when it animates a sample of a big run.
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
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEFORE = "bc1a9a4"           # main before issue 13's engine work
MODES = {"summary": {"record_requests": False}, "events": {"record_requests": True},
         "events/100": {"record_requests": True, "sample_every": 100}}


def run_engine(viewers: int, coalesce: str, mode: str) -> dict:
    from webapp.engine import Simulation, parse_scenario

    scn = parse_scenario({"clients": {"count": viewers}, "strategy": {"coalesce": coalesce}},
                         preset="drake-live")
    start, cpu = time.perf_counter(), time.process_time()
    sim = Simulation(scn, **MODES[mode])
    records = 0
    for _ in sim.events():
        records += 1
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    s = sim.summary()
    return {"wall_s": wall, "cpu_s": cpu, "events": s["events"], "records": records,
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

    start, cpu = time.perf_counter(), time.process_time()
    env.process(source())
    env.process(monitor())
    env.run()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"wall_s": wall, "cpu_s": cpu, "events": next(env._eid), "records": 0,
            "db_queries": state["queries"], "errors": state["errors"],
            "db_down_s": None}


def case_main(argv: list[str]) -> None:
    model, viewers, coalesce, mode, tree = argv[0], int(argv[1]), argv[2], argv[3], argv[4]
    sys.path.insert(0, tree)                 # this tree, or the one checked out from BEFORE
    result = run_simpy(viewers, coalesce) if model == "simpy" else \
        run_engine(viewers, coalesce, mode)
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def checkout_before(into: str) -> str:
    """The engine at BEFORE, from this repository's git history, under ``into``."""
    archive = subprocess.run(["git", "-C", ROOT, "archive", BEFORE, "webapp"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def run_case(model: str, viewers: int, coalesce: str, mode: str, repeat: int,
             tree: str) -> dict:
    """Best of ``repeat`` fresh processes (by CPU time): the machine is shared, the minimum is
    the signal."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--case", model, str(viewers),
                              coalesce, mode, tree], capture_output=True, text=True,
                             check=True)
        runs.append(json.loads(out.stdout))
    return min(runs, key=lambda r: r["cpu_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 1M cases")
    parser.add_argument("--simpy-1m", action="store_true", help="also run SimPy at 1M")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    parser.add_argument("--case", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        case_main(args.case)
        return
    with tempfile.TemporaryDirectory(prefix="herdlab-before-") as before_tree:
        checkout_before(before_tree)
        table(args, before_tree)


def table(args: argparse.Namespace, before_tree: str) -> None:
    sizes = [10_000, 100_000] + ([] if args.quick else [1_000_000])
    header = (f"{'viewers':>9} {'coalesce':>8} {'mode':>10} {'model':>6} {'wall s':>7} "
              f"{'cpu s':>7} {'events':>9} {'events/s':>9} {'peak MiB':>8} {'queries':>7} "
              f"{'errors':>6} {'x SimPy':>7} {'x before':>8}")
    print(header)
    print("-" * len(header))
    for viewers in sizes:
        for coalesce in ("none", "promise"):
            modes = ["summary", "events"] if viewers <= 100_000 else ["summary", "events/100"]
            rows = []
            for mode in modes:
                after = run_case("engine", viewers, coalesce, mode, args.repeat, ROOT)
                before = None
                if mode != "events/100":
                    before = run_case("before", viewers, coalesce, mode, args.repeat,
                                      before_tree)
                rows.append(("engine", mode, after, before))
                if before:
                    rows.append(("before", mode, before, None))
            simpy = None
            if viewers < 1_000_000 or args.simpy_1m:
                simpy = run_case("simpy", viewers, coalesce, "summary", args.repeat, ROOT)
                rows.append(("simpy", "summary", simpy, None))
            for model, mode, r, before in rows:
                x_simpy = f"{simpy['cpu_s'] / r['cpu_s']:.1f}x" \
                    if simpy and mode == "summary" and model != "simpy" else ""
                x_before = f"{before['cpu_s'] / r['cpu_s']:.2f}x" if before else ""
                print(f"{viewers:>9} {coalesce:>8} {mode:>10} {model:>6} {r['wall_s']:>7.2f} "
                      f"{r['cpu_s']:>7.2f} {r['events']:>9} {r['events'] / r['cpu_s']:>9.0f} "
                      f"{r['peak_mib']:>8.0f} {r['db_queries']:>7} {r['errors']:>6} "
                      f"{x_simpy:>7} {x_before:>8}", flush=True)


if __name__ == "__main__":
    main()
