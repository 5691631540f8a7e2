"""Herd Lab: see and understand the thundering-herd problem.

This module holds only the application factory (which refuses to be served by ``flask run``).
Flask is imported inside it so that ``import webapp.engine`` (the simulation), the command line
and the worker processes stay free of the web stack.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from webapp.config import Settings

__version__ = "0.1.0"


def create_app(config: "Mapping[str, Any] | Settings | None" = None):
    """Build the Flask app.

    ``config`` is either ready ``Settings`` (the server reads them first, to pick the async mode before
    anything else is imported) or a mapping of overrides on top of the ``HERDLAB_*`` environment.
    """
    from flask import Flask

    from webapp import asyncmode, classroom, ops, security, transport, views
    from webapp.accesslog import AccessLog
    from webapp.config import Settings
    from webapp.extensions import socketio
    from webapp.lessons import views as lessons_views
    from webapp.proxy import TrustedProxies
    from webapp.real import views as real_views

    refuse_flask_run()
    settings = config if isinstance(config, Settings) else Settings.from_env(overrides=config)
    app = Flask(__name__, static_folder="../static", template_folder="../templates")
    app.config.update(settings.flask_config())
    app.extensions["herdlab.settings"] = settings

    security.init_app(app)
    app.register_blueprint(views.bp)
    ops.init_app(app)
    app.register_blueprint(lessons_views.bp)
    app.register_blueprint(real_views.bp)
    transport.init_app(app)
    classroom.init_app(app)
    socketio.init_app(app, **settings.socketio_options())
    security.guard_socketio(socketio.server)
    asyncmode.bound_websockets(socketio.server.eio, settings.async_mode,
                               settings.max_message_kb << 10)
    # Outermost, around Flask-SocketIO's middleware: the access log sees (and Engine.IO checks
    # origins against) the real client and scheme a trusted proxy forwarded.
    if settings.access_log:
        app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]
    if settings.trusted_proxies:
        app.wsgi_app = TrustedProxies(app.wsgi_app, settings.proxy_networks(),  # type: ignore[method-assign]
                                      settings.proxy_hops)
    classroom.start(app)
    return app


FLASK_RUN_MESSAGE = (
    "Herd Lab cannot be served by 'flask run': Flask's development server has no WebSocket "
    "support for Flask-SocketIO, so every live connection (the lab, the classroom) would fail. "
    "Start it with 'python -m webapp' (or 'make run'); docs/deploy.md sets up a production "
    "server.")


def refuse_flask_run() -> None:
    """``flask --app webapp run`` would serve pages whose WebSockets all fail: say so, and stop."""
    import os

    import click

    context = click.get_current_context(silent=True)
    if os.environ.get("FLASK_RUN_FROM_CLI") == "true" and context is not None \
            and context.command.name == "run":
        raise click.UsageError(FLASK_RUN_MESSAGE)
