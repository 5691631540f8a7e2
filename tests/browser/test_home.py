"""The first page, as a student's browser sees it."""
from __future__ import annotations


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


def test_home_page_shows_the_idea_above_the_fold(page, live_server):
    page.goto(live_server.url + "/")
    picture = page.locator(".hero-picture svg")
    box = picture.bounding_box()
    assert box and box["height"] > 150 and box["y"] + box["height"] <= 900      # seen without scrolling
    assert "datastore" in picture.locator("title").text_content()
    assert page.js_errors == []
