"""Headers and the join URL (issue 9, finding 12): a strict CSP, no sniffing, no framing, and a
join URL that no client's ``Host`` header can change. (That the pages really run under the policy
in Chromium is the browser tests' ``tests/browser/test_csp.py``.)"""
from __future__ import annotations

import re

import pytest

from tests.reliability.clients import SioClient
from tests.reliability.conftest import Server

PUBLIC = "https://herd.example.edu/lab-a"
SERVER_ENV = {"HERDLAB_PUBLIC_URL": PUBLIC}
PAGES = ["/", "/lab", "/lessons", "/glossary", "/references", "/classroom",
         "/classroom/present", "/join", "/join?code=K7MQ-4XZP"]


def pages(server: Server) -> list[str]:
    status, html = server.get("/lessons")
    lessons = sorted(set(re.findall(r'href="(/lessons/[a-z0-9-]+)"', html)))
    assert status == 200 and lessons
    return PAGES + lessons[:3]


def get_raw(server: Server, path: str, headers: dict[str, str] | None = None):
    import urllib.request

    req = urllib.request.Request(server.url + path, headers=headers or {})
    with urllib.request.urlopen(req, timeout=5) as res:
        return res.headers, res.read().decode()


def test_every_page_has_a_strict_policy_and_no_inline_code_or_style(server):
    for path in pages(server):
        headers, html = get_raw(server, path)
        csp = headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
        assert "default-src 'self'" in csp and "style-src 'self'" in csp, csp
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert ("src=" in tag or 'type="application/json"' in tag
                    or f'nonce="{nonce}"' in tag), (path, tag)
        assert not re.search(r"<style\b|\sstyle=", html), path
    assert get_raw(server, "/")[0]["Content-Security-Policy"] != \
        get_raw(server, "/")[0]["Content-Security-Policy"]   # a fresh nonce per response


def test_the_join_url_comes_from_the_configured_address_never_the_host_header(server):
    forged = {"Host": "evil.example:666"}
    _, present = get_raw(server, "/classroom/present", forged)
    _, qr = get_raw(server, "/classroom/qr.svg?code=K7MQ-4XZP", forged)
    assert "evil.example" not in present and "evil.example" not in qr
    assert PUBLIC in present
    teacher = SioClient(server.url, "/room")
    try:
        teacher.emit("create", {})
        room = teacher.wait("room")
        assert room["join_url"] == f"{PUBLIC}/join?code={room['display_code']}"
        _, qr = get_raw(server, f"/classroom/qr.svg?code={room['code']}", forged)
        assert "<svg" in qr
        teacher.emit("close", {})
    finally:
        teacher.close()


def test_without_a_public_url_the_join_url_is_this_machines_address():
    server = Server("eventlet")
    try:
        _, present = get_raw(server, "/classroom/present", {"Host": "evil.example"})
        assert "evil.example" not in present
        assert re.search(r'id="join-url">[0-9.]+:\d+/join<', present)
    finally:
        server.stop()
