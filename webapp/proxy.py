"""Believe a reverse proxy's forwarded headers, and only a configured proxy's.

Behind nginx (docs/deploy.md) every connection comes from the proxy: without its headers every
student would have the proxy's address (one address for the per-address limits) and every page
the proxy's scheme (``http``), so a page served over HTTPS would have its WebSocket refused as
coming from a foreign origin. Werkzeug's ``ProxyFix`` reads ``X-Forwarded-For`` and
``X-Forwarded-Proto``, but for every request: anyone who reaches the app directly could then
claim any address. So it is applied only to requests whose peer is one of
``HERDLAB_TRUSTED_PROXIES``; with none configured (the default) nothing is believed.

``X-Forwarded-Host`` is never read: the proxy passes the browser's own ``Host`` (nginx
``proxy_set_header Host $http_host``), which keeps a non-default port.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Callable, Iterable

from werkzeug.middleware.proxy_fix import ProxyFix

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """WSGI middleware: ``ProxyFix(x_for=hops, x_proto=hops)`` for requests from ``networks``."""

    def __init__(self, app: Callable[..., Any], networks: Iterable[Network], hops: int) -> None:
        self.app = app
        self.networks = tuple(networks)
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)

    def trusted(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.trusted(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)
