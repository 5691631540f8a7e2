"""Text that fits and says what it means (issue 10, items 9 and 10): no stage label leaves its box,
is cut or sits on another, at a laptop's width, a lesson's, a phone's and with reduced motion;
units, plurals and presets in words; no cut menu or control."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.lab_helpers import cut_text, event, feed, label_problems, sample, stage_texts, started

DRAKE = started(run_id="drake", viewers=1_000_000, dot_scale=200, duration_s=4.0, scenario={
    "servers": {"count": 8}, "strategy": {"coalesce": "none"}, "cache": {"enabled": True, "ttl_s": 60},
    "datastore": {"connections": 32}, "clients": {"count": 1_000_000}})
DRAKE_FRAME = {"run_id": "drake", "t": 1.2, "events": [
    event(0.0, "chunk_published", req=None, viewer=None, server=None, key="chunk-0", chunk=0),
    *[event(0.5 + i / 100, kind, req=i * 200, server=i % 8, key="chunk-0", attempt=0)
      for i, kind in enumerate(["arrive", "arrive", "cache_miss", "cache_miss", "arrive"])],
    event(0.9, "db_state", req=None, viewer=None, server=None, key=None, state="overloaded", recover_at=None),
    sample(1.2, queued=9_062, in_service=32, utilisation=1.0, state="overloaded", arrived=600_000,
           completed=400_000, errors=9_082, inflight_requests=190_918, cache_hits=400_000, db_queries=9_127)]}

FLEET = started(run_id="fleet", viewers=20_000, dot_scale=4, duration_s=5.0, scenario={
    "servers": {"count": 32}, "strategy": {"coalesce": "distributed", "lease_ms": 1000},
    "cache": {"enabled": True, "ttl_s": 60}, "datastore": {"connections": 16}, "clients": {"count": 20_000}})
FLEET_FRAME = {"run_id": "fleet", "t": 0.6, "events": [
    event(0.001, "arrive", req=0, viewer=0, server=0, attempt=0),
    event(0.001, "fetch_start", req=0, viewer=0, server=0, attempt=0, role="leader", query=0),
    event(0.026, "server_down", req=None, viewer=None, server=0, key=None),
    *[event(0.01, "marker_wait", req=r, viewer=r * 4, server=r % 32, attempt=0, leader_server=0) for r in range(1, 8)],
    *[event(0.02 + r / 1e4, "promise_wait", req=r, viewer=r * 4, server=r % 32, attempt=0, leader=r % 32)
      for r in range(40, 2_000)],
    sample(0.6, arrived=12_000, inflight_requests=12_000, db_queries=1)]}

DOWN = started(run_id="down", viewers=300, end_s=21.77, scenario={
    "servers": {"count": 1}, "strategy": {"coalesce": "lock"}, "cache": {"enabled": True, "ttl_s": 60},
    "datastore": {"connections": 4}, "clients": {"count": 300}})
DOWN_FRAME = {"run_id": "down", "t": 6.0, "events": [
    event(4.0, "chunk_published", req=None, viewer=None, server=None, key="chunk-1", chunk=1),
    *[event(4.1, "lock_wait", req=r, key="chunk-1", attempt=0) for r in range(60)],
    event(5.0, "db_state", req=None, viewer=None, server=None, key=None, state="down", recover_at=9.2),
    sample(6.0, state="down", arrived=500, completed=260, errors=200, timeouts=0, inflight_requests=40)]}

SCENES = [(DRAKE, DRAKE_FRAME, ["1,000,000 viewers", "each dot = 200 viewers", "9,062 queued", "OVERLOADED"]),
          (FLEET, FLEET_FRAME, ["20,000 viewers", "⚑ marker: S1 (down)", "S1 died"]),
          (DOWN, DOWN_FRAME, ["DOWN", "back in 3.2 s", "60 polling"])]
PLACES = [("/lab", {"width": 1440, "height": 900}, "no-preference"),
          ("/lessons/many-servers", {"width": 1440, "height": 900}, "no-preference"),
          ("/lab", {"width": 390, "height": 844}, "no-preference"),
          ("/lab", {"width": 1440, "height": 900}, "reduce"),
          ("/lab", {"width": 390, "height": 844}, "reduce")]


@pytest.mark.parametrize(("path", "viewport", "motion"), PLACES,
                         ids=[f"{p.strip('/').replace('/', '-')}-{v['width']}-{m}" for p, v, m in PLACES])
def test_stage_text_fits_its_boxes(browser, live_server, path, viewport, motion):
    context = browser.new_context(viewport=viewport, reduced_motion=motion)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(live_server.url + path)
        page.locator('[data-role="controls"] input').first.wait_for()
        page.locator('[data-role="canvas-a"]').scroll_into_view_if_needed()
        for start, frame, expected in SCENES:
            feed(page, "started", start)
            feed(page, "frame", frame)
            page.wait_for_timeout(400)
            texts = stage_texts(page)
            for text in expected:
                if motion == "reduce" and text.endswith("polling"):
                    continue
                if viewport["width"] < 640 and text == "1,000,000 viewers":
                    text = "1M viewers"                               # a phone says it short
                if viewport["width"] < 640 and text.startswith("each dot"):
                    continue                                          # a phone's caption says it
                assert text in texts or any(text.replace(" ", "") in t.replace(" ", "") for t in texts), (text, texts)
            assert label_problems(page) == [], (start["run_id"], label_problems(page))
        assert errors == []
    finally:
        context.close()


def test_units_plurals_and_presets_read_as_words(page, live_server):
    page.goto(live_server.url + "/lab?preset=retry-storm")
    page.locator('[data-control="preset"]').wait_for()
    desc = page.locator(".lab-preset-desc").inner_text()
    assert "=" not in desc and "_" not in desc, desc          # "retries=0, backoff=full_jitter" in words
    assert "retries “0”" in desc and "retry backoff “exp. + jitter”" in desc, desc
    assert cut_text(page, ".lab-preset, .lab-field-head, .lab-choice, .lab-switch, .lab-side-head") == []
    page.locator("details.lab-more summary").click()
    skew = page.locator('output[for$="workload-zipf_s"]').inner_text()
    assert not skew.endswith(" s"), skew                      # an exponent has no unit
    feed(page, "started", started(run_id="one", viewers=1, scenario={"clients": {"count": 1}, "servers": {"count": 1}}))
    expect(page.locator('[data-role="cap-a"]')).to_contain_text("1 viewer · 1 app server · no mitigation")
    assert "1 viewer" in page.evaluate("window.herdlab.stageLabels().map((l) => l.text)")
    assert page.js_errors == []
