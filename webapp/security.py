"""What every response and connection gets, whatever the page: headers, and limits at the edges.

Headers (issue 9): a strict Content-Security-Policy (the pages load scripts and styles from this
server only; the one inline script, the import map, carries a per-response nonce), no MIME
sniffing, and no framing (the presenter and the lab are not meant to be embedded).

Limits on what clients send, below Flask: request bodies (``MAX_CONTENT_LENGTH``, answered with a
JSON 413), Engine.IO messages (``max_http_buffer_size``), WebSocket messages and their fragments
(``asyncmode.bound_websockets``), and Socket.IO binary attachments, which the protocol does not
use: a client that sends one is disconnected before anything is buffered for it. Incoming
messages per connection are budgeted (``Gate``) and outgoing queues bounded (``outbox``).
"""
from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Flask, g, jsonify
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.ops import refused
from webapp.transport import outbox
from webapp.transport.bucket import TokenBucket

log = logging.getLogger(__name__)

BINARY_PACKETS = ("5", "6")   # Socket.IO BINARY_EVENT and BINARY_ACK


def csp_nonce() -> str:
    """This response's nonce for the import map (templates call it; one per response)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def policy(nonce: str) -> str:
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _headers(response: Any) -> Any:
    response.headers["Content-Security-Policy"] = policy(csp_nonce())
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _too_large(exc: RequestEntityTooLarge) -> Any:
    from flask import current_app

    refused("request_too_large")
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return jsonify(error=f"The request body is too large (at most {limit // 1024} KB).",
                   field=""), 413


def init_app(app: Flask) -> None:
    app.after_request(_headers)
    app.add_template_global(csp_nonce)
    app.register_error_handler(RequestEntityTooLarge, _too_large)


class Gate:
    """Per-connection budget of incoming messages (a token bucket), checked before any parsing.

    An honest page sends a few messages a second (a lab acknowledges up to 60 frames a second);
    a flood (20,000 ``answer`` messages at once) costs a few microseconds per dropped message, and
    the reader yields to other connections every ``YIELD_EVERY`` messages instead of holding the
    event loop for the whole flood. A connection that keeps flooding is disconnected.
    """

    RATE = 200.0            # messages per second, sustained
    BURST = 400.0
    YIELD_EVERY = 16
    DISCONNECT_AFTER = 2_000   # dropped messages

    __slots__ = ("bucket", "count", "dropped")

    def __init__(self, now: float) -> None:
        self.bucket = TokenBucket(self.RATE, self.BURST, now)
        self.count = 0
        self.dropped = 0

    def admit(self, now: float) -> bool:
        self.count += 1
        if self.bucket.take(now):
            return True
        self.dropped += 1
        return False


def guard_socketio(server: Any) -> None:
    """Gate incoming messages, refuse binary packets, bound outgoing queues (after init_app)."""
    import time

    eio = server.eio
    # python-socketio's own handler, as it registered it with Engine.IO (``eio.on``); the gate
    # takes its place through the same public registration.
    handle = eio.handlers["message"]

    def gated(eio_sid: str, data: Any) -> None:
        sock = eio.sockets.get(eio_sid)
        if sock is None:
            return
        now = time.monotonic()
        gate = getattr(sock, "herdlab_gate", None)
        if gate is None:
            gate = sock.herdlab_gate = Gate(now)
        if not isinstance(data, str) or data[:1] in BINARY_PACKETS:
            # Refused before python-socketio sees it, so it never waits for attachments.
            log.info("disconnecting %s: binary data, which this protocol never sends", eio_sid)
            refused("binary_message")
            eio.disconnect(eio_sid)
            return
        admitted = gate.admit(now)
        if gate.count % Gate.YIELD_EVERY == 0:
            server.sleep(0)
        if admitted:
            handle(eio_sid, data)
            return
        refused("message_budget")
        if gate.dropped >= Gate.DISCONNECT_AFTER:
            log.warning("disconnecting %s: %d messages over its budget", eio_sid, gate.dropped)
            eio.disconnect(eio_sid)

    eio.on("message", gated)
    outbox.guard(server)
