"""One line per request, on by default (``HERDLAB_ACCESS_LOG``), the same in every async mode.

The servers' own logs (eventlet's, gevent's) name the TCP peer, which behind a proxy is the
proxy; this middleware sits inside ``proxy.TrustedProxies`` and so logs the real client. A
WebSocket is logged when it closes (its line has status 101 and how long it lived).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

log = logging.getLogger("herdlab.access")


class AccessLog:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.monotonic()
        status: list[str] = []

        def record(code: str, headers: Any, *exc: Any) -> Any:
            status.append(code.split(" ", 1)[0])
            return start_response(code, headers, *exc)

        try:
            return self.app(environ, record)
        finally:
            upgraded = environ.get("HTTP_UPGRADE", "").lower() == "websocket"
            code = status[-1] if status else ("101" if upgraded else "-")
            path = environ.get("PATH_INFO", "")
            query = environ.get("QUERY_STRING", "")
            log.info('%s "%s %s%s" %s %.3fs', environ.get("REMOTE_ADDR", "-"),
                     environ.get("REQUEST_METHOD", "-"), path, "?" + query if query else "",
                     code, time.monotonic() - started)
