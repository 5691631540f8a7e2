"""When neither WebSocket nor long-polling reaches the server, the page says so (and keeps
retrying) instead of "connecting…" forever."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_a_server_that_cannot_be_reached_is_named_in_the_connection_badge(browser):
    server = LiveServer({"HERDLAB_REAL_SERVICES": "off"})
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.goto(server.url + "/lab")
        badge = page.locator("#conn-state")
        expect(badge).to_have_attribute("data-state", "connected")
        server.stop()
        expect(badge).to_have_text(re.compile(r"^cannot reach the server — retrying…$"),
                                   timeout=30_000)
        assert badge.get_attribute("data-state") == "disconnected"
        assert page.evaluate("window.herdlab.connected") is False
    finally:
        context.close()
        if server.proc.poll() is None:
            server.stop()
