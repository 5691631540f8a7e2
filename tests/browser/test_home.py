"""The first page, as a student's browser sees it."""
from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser import home_herd


def test_home_page_shows_connected(page, live_server):
    page.goto(live_server.url + "/")
    page.locator('#conn-state[data-state="connected"]').wait_for()
    assert page.locator("#conn-state").inner_text() == "connected"
    assert page.evaluate("window.herdlab.connected") is True
    assert page.js_errors == []


def test_health_endpoint_reports_eventlet(page, live_server):
    res = page.request.get(live_server.url + "/healthz")
    assert res.json()["async_mode"] == "eventlet"


def test_pages_without_a_live_connection_show_no_connection_badge(page, live_server):
    for path in ("/lessons", "/glossary", "/references"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        assert page.locator("#conn-state").is_hidden(), path


def test_home_page_plays_a_live_herd_above_the_fold(page, live_server):
    """Problem and fix, side by side, moving within a second of opening the page, seen without
    scrolling, its caption's numbers from the recorded run's own moments; it links to lesson 1."""
    page.goto(live_server.url + "/")
    herd = page.locator(".home-herd")
    page.wait_for_function("window.herdlab.t > 0.2 && window.herdlab.dots > 0", timeout=5000)
    box = herd.bounding_box()
    assert box and box["height"] > 300 and box["y"] + box["height"] <= 900      # seen without scrolling
    assert page.evaluate("window.herdlab.compare") is True
    rec = json.loads(home_herd.PATH.read_text())
    down = next(m for m in rec["started"]["moments"] if m["what"] == "db_down")
    resolved = next(m for m in rec["started"]["moments_b"] if m["what"] == "resolved")
    say = page.locator('[data-role="home-say"]').inner_text()
    assert f"failing {down['number']} queries" in say and f"one query answers {resolved['number'] + 1} viewers" in say, say
    expect(page.locator('[data-role="cap-a"]')).to_have_text("A — no mitigation")
    expect(page.locator('[data-role="cap-b"]')).to_have_text("B — promise coalescing")
    page.get_by_role("link", name="Start lesson 1: a celebrity goes live →").click()
    page.wait_for_url("**/lessons/celebrity-goes-live")
    assert page.js_errors == []


def test_home_herd_is_the_engine_run_it_claims_to_be():
    """The stored recording is exactly what the engine makes now (else: python -m tests.browser.home_herd)."""
    assert home_herd.PATH.read_text() == home_herd.text()


def test_home_herd_under_reduced_motion_shows_the_end_at_once_and_stays(browser, live_server):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, reduced_motion="reduce")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        page.wait_for_function("window.herdlab.runId === 'home-1' && window.herdlab.t === 2.2", timeout=5000)
        page.wait_for_timeout(3500)                       # longer than the rest between two rounds
        assert page.evaluate("[window.herdlab.runId, window.herdlab.t, window.herdlab.drawMode]") == ["home-1", 2.2, "bars"]
    finally:
        context.close()


def test_home_herd_says_nothing_to_screen_readers_while_it_loops(page, live_server):
    """Issue 19: its live region re-announced "Running at real time, t=…" every 2 s for ever. The
    caption under the picture says what it shows; the lab's live summary stays quiet."""
    page.goto(live_server.url + "/")
    page.wait_for_function("window.herdlab.t > 1.0", timeout=20_000)
    page.wait_for_timeout(2500)
    assert page.locator('#home-lab [data-role="summary-live"]').inner_text() == ""
    assert page.js_errors == []
