"""Command line: ``run`` one experiment and list ``presets``.

``register(subparsers)`` plugs both into ``python -m webapp``; ``main(argv)`` is a standalone
entry point with the same two subcommands. Bad input prints one line naming the key and what
is allowed, and exits with status 2.
"""
import argparse
import json
import sys
from typing import Any

from webapp.engine.simulation import Simulation
from webapp.engine.presets import PRESETS
from webapp.engine.scenario import ScenarioError, apply_overrides, parse_scenario

MAX_SCENARIO_BYTES = 1_000_000


def register(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="run one experiment and print its summary")
    run.add_argument("--preset", metavar="NAME", help="start from a preset (see 'presets')")
    run.add_argument("--scenario", metavar="FILE.json", help="nested scenario overrides")
    run.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="sets",
                     help="override one dotted key, e.g. strategy.coalesce=promise (repeatable)")
    run.add_argument("--seed", type=int, help="shorthand for --set seed=N")
    run.add_argument("--json", action="store_true", help="print one JSON summary object")
    run.add_argument("--events", metavar="FILE.jsonl", help="write every event as JSON lines")
    run.set_defaults(func=cmd_run)
    presets = subparsers.add_parser("presets", help="list experiment presets")
    presets.add_argument("--json", action="store_true", help="print the presets as JSON")
    presets.set_defaults(func=cmd_presets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="herd-engine", description=__doc__.splitlines()[0])
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def _load_scenario_file(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise ScenarioError("--scenario", "a readable JSON file",
                            f"cannot be read ({exc.strerror})") from None
    if len(text) > MAX_SCENARIO_BYTES:
        raise ScenarioError("--scenario", f"a JSON file under {MAX_SCENARIO_BYTES} bytes",
                            "is too large")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError("--scenario", "a JSON object", f"is not valid JSON ({exc})") from None


def cmd_run(args: argparse.Namespace) -> int:
    try:
        nested = _load_scenario_file(args.scenario) if args.scenario else {}
        if not isinstance(nested, dict):
            raise ScenarioError("", "a JSON object of scenario sections", "must be an object")
        sets = list(args.sets) + ([f"seed={args.seed}"] if args.seed is not None else [])
        scenario = parse_scenario(apply_overrides(nested, sets), preset=args.preset)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.events:
        sim = Simulation(scenario, record_requests=True)
        try:
            with open(args.events, "w", encoding="utf-8") as fh:
                for ev in sim.events():
                    fh.write(json.dumps(ev.to_dict(), sort_keys=True))
                    fh.write("\n")
        except OSError as exc:
            print(f"error: cannot write {args.events}: {exc.strerror}", file=sys.stderr)
            return 2
    else:
        sim = Simulation(scenario, record_requests=False).run()
    summary = sim.summary()
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(human_summary(summary))
    return 0


def human_summary(s: dict[str, Any]) -> str:
    """A summary as a few lines of text (also used by the real-systems CLI)."""
    fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    ratio = "-" if s["cache_hit_ratio"] is None else f"{s['cache_hit_ratio']:.1%}"

    def latency(name: str) -> str:
        lat = s[f"latency_{name}_ms"]
        return (f"latency ms, {name}: mean {fmt(lat['mean'])}, p50 {fmt(lat['p50'])}, "
                f"p95 {fmt(lat['p95'])}, p99 {fmt(lat['p99'])}, max {fmt(lat['max'])}")

    return "\n".join([
        f"coalesce={s['coalesce']} seed={s['seed']} chunks={s['chunks']}",
        f"requests {s['requests']}: completed {s['completed']}, errors {s['errors']}, "
        f"timeouts {s['timeouts']} (retries {s['retries']})",
        f"datastore: {s['db_queries']} queries, peak {s['peak_db_inflight']} inside, "
        f"down {s['db_down_s']:.1f} s",
        f"cache hit ratio {ratio}, coalesced {s['coalesced']}, stale served {s['stale_served']}",
        latency("everyone"),
        latency("answered"),
        f"virtual time {s['sim_time_s']:.2f} s, {s['events']} events"
        + (" (cut short at its step limit)" if s["truncated"] else ""),
    ])


def cmd_presets(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(PRESETS, sort_keys=True))
        return 0
    width = max(len(name) for name in PRESETS)
    for name, preset in PRESETS.items():
        print(f"{name:<{width}}  {preset['title']}")
        print(f"{'':<{width}}  {preset['description']}")
    return 0
