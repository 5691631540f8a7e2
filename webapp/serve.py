"""The ``serve`` subcommand: start Herd Lab with Flask-SocketIO on the configured async mode."""
from __future__ import annotations

import argparse
import logging
import sys

from webapp import asyncmode


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="start the web app (the default command)")
    parser.add_argument("--host", help="address to listen on (env HERDLAB_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (env HERDLAB_PORT, default 5000)")
    parser.add_argument("--debug", action="store_true", help="Flask debug mode (never in a classroom)")
    parser.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    from webapp.config import Settings, SettingsError

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    overrides = {"host": args.host, "port": args.port, "debug": args.debug or None}
    try:
        settings = Settings.from_env(overrides={k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    asyncmode.prepare(settings.async_mode)
    from webapp import create_app
    from webapp.extensions import socketio

    app = create_app(settings)
    url_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    print(f"Herd Lab is running ({settings.async_mode}): open http://{url_host}:{settings.port}/", flush=True)
    socketio.run(
        app,
        host=settings.host,
        port=settings.port,
        debug=settings.debug,
        use_reloader=False,
        log_output=settings.debug,
        allow_unsafe_werkzeug=settings.async_mode == "threading",
    )
    return 0
