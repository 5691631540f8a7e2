"""``python -m webapp real run``: one real experiment against the private Redis and PostgreSQL.

    python -m webapp real run [--preset NAME] [--set KEY=VALUE ...] [--json] [--events F]

Takes the same scenario as ``python -m webapp run`` (``real.*`` keys set what only a real run
has, see webapp/real/settings.py), starts the private services if they are not running, and
prints the same summary keys, with ``db_queries`` as PostgreSQL counted them and ``real``: what
only a real run knows. Bad input: one line naming the key, exit status 2; services missing:
the install command, status 3; another real run holding the datastore: status 1.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict
import json
import sys
from typing import Any

from webapp.engine.cli import human_summary
from webapp.engine.scenario import ScenarioError, apply_overrides
from webapp.real.settings import parse_settings, split_overrides

WAIT_S = 120.0


def register(subparsers: Any) -> None:
    real = subparsers.add_parser("real", help="experiments against a real Redis and PostgreSQL")
    commands = real.add_subparsers(dest="real_command", metavar="COMMAND", required=True)
    run = commands.add_parser("run", help="run one real experiment and print its summary")
    run.add_argument("--preset", metavar="NAME", help="start from a preset (see 'presets')")
    run.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="sets",
                     help="override one dotted key, e.g. strategy.coalesce=promise or "
                          "real.pool_timeout_s=2 (repeatable)")
    run.add_argument("--json", action="store_true", help="print one JSON summary object")
    run.add_argument("--events", metavar="FILE.jsonl", help="write every event as JSON lines")
    run.add_argument("--wait", type=float, default=WAIT_S, metavar="S",
                     help=f"wait this long for another real run to end (default {WAIT_S:g})")
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from webapp.real import worker   # services and clients load only for this command

    try:
        scenario_sets, real_sets = split_overrides(args.sets)
        request = {"preset": args.preset, "scenario": apply_overrides({}, scenario_sets),
                   "real": asdict(parse_settings(assignments=real_sets))}
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        events = open(args.events, "w", encoding="utf-8") if args.events else None
    except OSError as exc:
        print(f"error: cannot write {args.events}: {exc.strerror}", file=sys.stderr)
        return 2
    kept: dict[str, Any] = {}

    def say(kind: str, payload: Any) -> None:
        if kind == "event":
            if events:
                events.write(json.dumps(payload.to_dict(), sort_keys=True) + "\n")
        elif kind == "notice":
            print(f"note: {payload}", file=sys.stderr, flush=True)
        else:
            kept[kind] = payload

    try:
        status = worker.serve(request, say, args.wait)
    finally:
        if events:
            events.close()
    if "error" in kept:
        message = kept["error"]["message"]
        print(f"error: {message}", file=sys.stderr)
        return 3 if "install with" in message else status
    summary = kept["summary"]
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(human_summary(summary))
        print(_real_line(summary["real"]))
    return status


def _real_line(real: dict[str, Any]) -> str:
    late = real["arrival_lateness_ms"]
    fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    spread = real["arrival_spread_s"]
    return (f"real: {real['processes']} process(es), pool {real['pool_per_server']} per server, "
            f"query {real['query']}, {real['fetches_sent']} fetches sent; arrival lateness ms "
            f"p50 {fmt(late['p50'])}, p99 {fmt(late['p99'])}, max {fmt(late['max'])}; lookups "
            f"spread over {fmt(spread['lookups'])} s (planned {fmt(spread['planned'])} s); "
            f"wall {real['wall_s']:.2f} s"
            + (f"; not modelled: {', '.join(real['not_honoured'])}"
               if real["not_honoured"] else ""))
