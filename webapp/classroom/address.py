"""The address students use to reach this server: the join URL on the console, the presenter
screen and in the QR code.

It comes from ``HERDLAB_PUBLIC_URL`` when set (behind a proxy, a hostname, HTTPS), otherwise from
this machine's own address and the configured port. It never comes from a request's ``Host``
header, which any client can set: a forged Host would put an attacker's address on the projector.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import quote

from webapp.classroom.codes import display_code

WILDCARD = ("0.0.0.0", "::", "")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def lan_address() -> str | None:
    """This machine's address on the network that leads outwards (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: routing decides the source address, nothing is sent
            return s.getsockname()[0]
    except OSError:
        return None


def public_base(settings: Any) -> tuple[str, str | None]:
    """The origin students should use, and how it was guessed when no ``HERDLAB_PUBLIC_URL`` says
    (the presenter then says what to set, ``templates/classroom/present.html``):

    - ``None``: it is the configured public URL, or the address this server was told to serve on;
    - ``"proxy"``: behind a trusted proxy (``HERDLAB_TRUSTED_PROXIES``) the address names this
      process, which students do not reach: only ``HERDLAB_PUBLIC_URL`` can say the proxy's;
    - ``"loopback"``: this server listens on this machine only, so the network address shown is
      unreachable until it serves the network (or a proxy's address is set);
    - ``"network"``: it serves every interface and the address is this machine's on the network
      (right for a laptop serving the room, unless students use another name).
    """
    if settings.public_url:
        return settings.public_url.rstrip("/"), None
    host = settings.host
    guessed = host in WILDCARD or host in LOOPBACK
    if guessed:
        host = lan_address() or "127.0.0.1"
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass   # a host name
    base = f"http://{host}:{settings.port}"
    if settings.trusted_proxies:
        return base, "proxy"
    if not guessed:
        return base, None
    return base, "network" if settings.host in WILDCARD else "loopback"


def join_url(base: str, code: str) -> str:
    return f"{base}/join?code={quote(display_code(code))}"
