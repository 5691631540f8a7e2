"""``python -m webapp``: serve the app (default), or run the other subcommands.

    python -m webapp [--host H] [--port P] [--debug]      start the server
    python -m webapp run ...                               run one experiment (engine)
    python -m webapp presets                               list experiment presets
    python -m webapp real run ...                          run one experiment for real

The engine's subcommands import no Flask, so they start fast.
"""
from __future__ import annotations

import argparse
import sys

from webapp import serve
from webapp.engine import cli as engine_cli
from webapp.lessons import cli as lessons_cli
from webapp.real import cli as real_cli

SUBCOMMAND_MODULES = (serve, engine_cli, lessons_cli, real_cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m webapp", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "serve")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
