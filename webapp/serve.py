"""The ``serve`` subcommand: start Herd Lab with Flask-SocketIO on the configured async mode."""
from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from typing import Any

from webapp import asyncmode


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="start the web app (the default command)")
    parser.add_argument("--host", help="address to listen on (env HERDLAB_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (env HERDLAB_PORT, default 5000)")
    parser.add_argument("--debug", action="store_true", help="Flask debug mode (never in a classroom)")
    parser.set_defaults(func=serve)


# Young-generation threshold for the server process (CPython's default is 700).
GC_GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Keep the cyclic garbage collector from stalling the event loop.

    The web process forwards hundreds of thousands of events a second (unpickled chunks from the
    workers, lists and tuples, each tracked by the collector while it lives); with CPython's
    default thresholds that triggers hundreds of young and several full collections a minute,
    and a full collection walks every live object while every connection waits. Almost none of
    it is garbage (events are freed by reference counting as soon as they are sent), so: freeze
    what the app allocated at start-up (modules, routes, templates) out of the collector's sight
    for good, and collect the young generation after 50,000 net allocations instead of 700.
    Cycles are still collected, in fewer, cheaper passes. The engine, whose simulations once kept
    this process's memory in cycles, no longer runs here: ``tests/reliability/test_memory.py``
    runs the real server (with this tuning) through rounds of large runs and checks that its RSS
    stays where the first round left it, with no forced collection anywhere.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


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
    services = start_real_services()
    tune_gc()
    url_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    print(f"Herd Lab is running ({settings.async_mode}): open http://{url_host}:{settings.port}/", flush=True)
    try:
        socketio.run(
            app,
            host=settings.host,
            port=settings.port,
            debug=settings.debug,
            use_reloader=False,
            log_output=False,   # webapp.accesslog logs each request (the real client's address)
            allow_unsafe_werkzeug=settings.async_mode == "threading",
            **asyncmode.server_options(settings.async_mode),
        )
    finally:
        if services is not None:
            services.stop()
    return 0


def start_real_services() -> Any:
    """The real-systems lab's private Redis and PostgreSQL (README, "Real systems"), started
    with the app when their binaries are installed and ``HERDLAB_REAL_SERVICES`` is not
    ``off``, and stopped on exit (from this, the main thread: their parent-death signal is tied
    to it). Without them everything else works, and ``/real`` says how to install them."""
    if os.environ.get("HERDLAB_REAL_SERVICES", "auto").lower() == "off":
        return None
    from webapp.real.services import ServiceFailed, Services, missing_message

    missing = missing_message()
    if missing:
        print(f"Real-systems lab off: {missing}", flush=True)
        return None
    services = Services()
    try:
        services.start()
    except (ServiceFailed, OSError) as exc:
        print(f"Real-systems lab off: {exc}", flush=True)
        return None
    print(f"Real-systems lab: private Redis and PostgreSQL in {services.root}", flush=True)
    return services
