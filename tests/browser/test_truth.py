"""Every scene tells the truth (issue 10): what the lab draws matches what the run did, at every
moment and at the end. Real runs on the real server where the scene needs the engine; protocol
messages fed straight into the page (as a server would send them) where a moment must be exact.
"""
from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.lab_helpers import (HEAVY_RUN_MS, HEAVY_TEST_S, card, card_note, event, feed,
                                       label_problems, number, open_lab, run_then_pause, run_to_end,
                                       sample, seek_and_pause, shot, stage_texts, started,
                                       wait_finished)

NO_DOTS_LEFT = "window.herdlab.dotsOnStage().length === 0"


FINISHING = ["preset=classroom&strategy.coalesce=none", "preset=classroom&strategy.coalesce=lock",
             "preset=classroom&strategy.coalesce=notify", "preset=classroom&strategy.coalesce=promise",
             "preset=classroom&strategy.coalesce=distributed", "preset=retry-storm", "preset=retry-waves",
             "preset=metastable"]


def ms(value: float) -> str:
    return f"{round(value):,} ms"


@pytest.mark.timeout(HEAVY_TEST_S)
@pytest.mark.parametrize("query", FINISHING, ids=lambda q: q.split("=", 1)[1].replace("&strategy.coalesce=", "-"))
def test_every_run_reaches_its_finished_state_with_its_numbers_and_no_dot_left(page, live_server, query):
    """Every strategy, and the runs that end with failures (crashes, timeouts, retry waves, a
    metastable collapse), reach "Finished" with the engine's own numbers on every card."""
    open_lab(page, live_server, f"?{query}&speed=20")
    summary = run_to_end(page, timeout_ms=HEAVY_RUN_MS)
    # The page says so at once: Run (not Pause), whole-run numbers, nothing "so far".
    expect(page.locator('[data-role="play"]')).to_have_text("▶ Run")
    assert card_note(page, "db_queries") == "whole run"
    assert "so far" not in page.locator('[data-role="cards"]').inner_text()
    failed = summary["errors"] + summary["timeouts"]
    assert summary["requests"] == summary["completed"] + failed
    assert number(card(page, "answered")) == summary["completed"]
    assert number(card(page, "failed")) == failed
    assert card_note(page, "failed") == f"{summary['errors']:,} error{'s' * (summary['errors'] != 1)} · " \
                                        f"{summary['timeouts']:,} timeout{'s' * (summary['timeouts'] != 1)}"
    assert number(card(page, "db_queries")) == summary["db_queries"]
    # Latency for everyone (a failure counts its time to failure) beside the answered, real numbers.
    assert card(page, "p99_everyone") == ms(summary["latency_everyone_ms"]["p99"])
    assert card(page, "p99_answered") == ms(summary["latency_answered_ms"]["p99"])
    text = page.locator('[data-role="summary"]').inner_text()
    assert f"{summary['requests']:,} requests: {summary['completed']:,} answered, {summary['errors']:,} failed with an error, " \
           f"{summary['timeouts']:,} timed out" in text
    assert f"p99 latency {ms(summary['latency_everyone_ms']['p99'])} for everyone" in text
    assert label_problems(page) == []
    # Every request ended, so no dot stays on the stage once the last answers have faded.
    page.wait_for_function(NO_DOTS_LEFT, timeout=5_000)
    assert page.evaluate("window.herdlab.dots") <= summary["requests"]      # the store holds only ended ones
    assert page.js_errors == []


def test_done_reaches_the_page_when_nothing_moves(page, live_server):
    """The root of "Running… for 75 s after the run ended": `done` arrived just after a DOM update
    while nothing animated, and the loop never updated the DOM again."""
    open_lab(page, live_server)
    feed(page, "started", started())
    feed(page, "frame", {"run_id": "synthetic", "t": 0.5, "events": [sample(0.5, arrived=10, completed=10)]})
    page.wait_for_timeout(400)                                  # quiet: nothing moves any more
    page.evaluate("""async ([frame, done]) => {
      const lab = window.herdlab.lab;
      lab.applyRemote("frame", frame);
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));   // drawn, DOM updated
      await new Promise((r) => setTimeout(r, 30));                                      // well within 100 ms
      lab.applyRemote("done", done);
    }""", [{"run_id": "synthetic", "t": 4.0, "events": [sample(4.0, arrived=300, completed=300)]},
           {"run_id": "synthetic", "summary": {"requests": 300, "completed": 300, "errors": 0, "timeouts": 0,
                                               "db_queries": 4, "peak_db_inflight": 2, "coalesced": 0,
                                               "db_down_s": 0.0, "in_flight": 0}}])
    expect(page.locator('[data-role="summary"]')).to_contain_text("Finished.", timeout=1_000)
    expect(page.locator('[data-role="play"]')).to_have_text("▶ Run", timeout=1_000)
    assert card_note(page, "db_queries") == "whole run"


def test_leader_dies_scene(page, live_server):
    """Lesson 6: the leader's server dies mid-fetch. The dead server is drawn, the marker's holder is
    shown down with its lease running out, then the key is cached and the marker gone; every
    viewer is answered, no ring or dot is left, and the labels never sit on each other.

    Played through, every look at the stage must be right; the lease's instant is then looked at
    paused (a seek back after the end), so a busy machine that looks less often cannot miss it."""
    query = ("?preset=fleet&strategy.coalesce=distributed&strategy.lease_ms=1000&faults.leader_dies=true"
             "&clients.retries=1&speed=1")
    open_lab(page, live_server, query)
    page.get_by_role("button", name="Run the experiment").click()
    seen_cached = False
    while page.evaluate("window.herdlab.status") != "finished":
        t = page.evaluate("window.herdlab.t")
        texts = stage_texts(page)
        assert label_problems(page) == [], (t, label_problems(page))
        assert not any(x.startswith("promise:") for x in texts), texts   # under the marker, not "promise"
        if t > 1.3:
            assert not any(x.startswith("⚑ marker") for x in texts), (t, texts)   # the value is cached: no marker
            assert "✓ cached" in texts, (t, texts)
            seen_cached = True
        page.wait_for_timeout(60)
    assert seen_cached
    summary = wait_finished(page)
    assert summary["completed"] == summary["requests"] == 20_000 and summary["servers_down"] == 1
    assert number(card(page, "answered")) == 20_000 and number(card(page, "failed")) == 0
    text = page.locator('[data-role="summary"]').inner_text()
    assert "20,000 requests: 20,000 answered, 0 failed with an error, 0 timed out" in text
    page.wait_for_function(NO_DOTS_LEFT, timeout=5_000)
    texts = stage_texts(page)
    assert "S1 died" in texts and "✓ cached" in texts and not any("wait" in x for x in texts), texts
    shot(page, "leader-dies-end")
    # Back to an instant of the lease: S1 is down, the marker still names it, its lease runs out.
    seek_and_pause(page, 0.6)
    texts = stage_texts(page)
    assert any(x in ("S1 died", "S1 down") for x in texts), texts
    assert "⚑ marker: S1 (down)" in texts and any(x.startswith("lease ends in") for x in texts), texts
    assert label_problems(page) == [], label_problems(page)
    shot(page, "leader-dies-lease")
    assert page.js_errors == []


def queue_height(page) -> int:
    """Rows of the canvas painted with the queue's fill (#fbe3d3) in the datastore queue column."""
    return page.evaluate("""() => {
      const c = document.querySelector('[data-role="canvas-a"]');
      const ctx = c.getContext("2d");
      const x0 = Math.round(c.width * 0.6), x1 = Math.round(c.width * 0.74);
      const img = ctx.getImageData(x0, 0, x1 - x0, c.height).data;
      let rows = 0;
      for (let y = 0; y < c.height; y++) {
        for (let x = 0; x < x1 - x0; x++) {
          const i = (y * (x1 - x0) + x) * 4;
          if (Math.abs(img[i] - 251) < 3 && Math.abs(img[i + 1] - 227) < 3 && Math.abs(img[i + 2] - 211) < 3) { rows++; break; }
        }
      }
      return rows / (window.devicePixelRatio || 1);
    }""")


def test_the_queue_pile_scales_with_the_count(page, live_server):
    """9,062 queued must not look like 40: the pile's height is logarithmic, its number written on it."""
    open_lab(page, live_server)
    feed(page, "started", started(viewers=1_000_000, dot_scale=200))
    heights = {}
    for queued in (40, 9_062):
        feed(page, "frame", {"run_id": "synthetic", "t": 1.0, "events": [sample(1.0, queued=queued, in_service=4, utilisation=1.0, state="overloaded")]})
        page.wait_for_timeout(250)
        heights[queued] = queue_height(page)
        assert f"{queued:,} queued" in stage_texts(page)
    assert heights[40] > 10
    assert heights[9_062] > 1.8 * heights[40], heights


def test_latency_is_reported_for_everyone_beside_the_answered(page, live_server):
    open_lab(page, live_server)
    feed(page, "started", started())
    # Live: the cumulative p99 so far (contract), never the worst interval's.
    feed(page, "frame", {"run_id": "synthetic", "t": 2.0, "events": [
        sample(2.0, completed=200, errors=40, timeouts=5, inflight_requests=55, lat_p50_ms=3.0, lat_p99_ms=900.0,
               lat_p99_answered_ms=120.0, p50_ms=2.0, p99_ms=850.0, p99_answered_ms=110.0)]})
    expect(page.locator('[data-card="p99_everyone"] .lab-card-value')).to_have_text("850 ms")
    assert card(page, "p99_answered") == "110 ms"
    assert card(page, "answered") == "200" and card_note(page, "answered") == "of 300 so far"
    assert card(page, "failed") == "45" and card_note(page, "failed") == "40 errors · 5 timeouts"
    summary = {"requests": 300, "completed": 250, "errors": 45, "timeouts": 5, "db_queries": 120, "peak_db_inflight": 90,
               "coalesced": 0, "db_down_s": 1.5, "in_flight": 0,
               "latency_everyone_ms": {"mean": 900.0, "p50": 2.0, "p95": 3000.0, "p99": 4205.0, "max": 5000.0},
               "latency_answered_ms": {"mean": 40.0, "p50": 2.0, "p95": 100.0, "p99": 125.0, "max": 300.0}}
    feed(page, "done", {"run_id": "synthetic", "summary": summary})
    expect(page.locator('[data-card="p99_everyone"] .lab-card-value')).to_have_text("4,205 ms")
    assert card(page, "p99_answered") == "125 ms"
    assert page.locator('[data-card="p99_everyone"] .lab-card-label').inner_text() == "p99, everyone"
    assert page.locator('[data-card="p99_answered"] .lab-card-label').inner_text() == "p99, answered"
    text = page.locator('[data-role="summary"]').inner_text()
    assert ("300 requests: 250 answered, 45 failed with an error, 5 timed out; 120 datastore queries; "
            "p99 latency 4,205 ms for everyone, 125 ms for the answered") in text


def test_numbers_in_the_request_panel_read_plainly(page, live_server):
    """No "role leader" under no mitigation, no "service_ms 2319.993571": units and words."""
    open_lab(page, live_server, "?preset=classroom&speed=0.25")
    run_then_pause(page, "window.herdlab.dotsOnStage(400).some((d) => ['queued', 'service', 'fetched'].includes(d[3]))")
    req = page.evaluate("window.herdlab.dotsOnStage(400).find((d) => ['queued', 'service', 'fetched'].includes(d[3]))[2]")
    assert page.evaluate(f"window.herdlab.lab.showRequest({req})")
    panel = page.locator('[data-role="lifecycle-list"]')
    text = panel.inner_text()
    assert "fetch start" in text and "fetches for itself only" in text and "leader" not in text, text
    assert "service_ms" not in text and "latency_ms" not in text
    if "service " in text:
        assert " ms" in text.split("service ", 1)[1].split("\n")[0]
    assert not any(len(part.split(".")[-1]) > 3 for part in text.replace(",", " ").split() if part.replace(".", "").isdigit())
    assert page.js_errors == []


def test_queries_saved_uses_the_baseline_the_student_just_ran(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=20")
    baseline = run_to_end(page)
    assert card(page, "saved") == "0" and card_note(page, "saved") == "this run has no mitigation"
    page.locator('[data-control="strategy.coalesce=promise"]').check()
    mitigated = run_to_end(page)
    page.wait_for_function("window.herdlab.baseline !== null")
    assert page.evaluate("window.herdlab.baseline") == {"queries": baseline["db_queries"], "from": "seen", "inputs": 0}
    assert number(card(page, "saved")) == baseline["db_queries"] - mitigated["db_queries"]
    assert card_note(page, "saved") == f"{baseline['db_queries']:,} without mitigation → {mitigated['db_queries']:,}"


def test_queries_saved_compares_with_the_same_run_and_the_same_interventions(page, live_server):
    """Issue 19: "without mitigation" is the same scenario with the same inputs (a killed server,
    an expired key, a slower datastore), not the scenario alone; the switch of a mitigation is the
    only input it leaves out."""
    inputs = [{"t": 0.6, "kind": "kill_server", "server": 1}, {"t": 4.3, "kind": "expire_key"},
              {"t": 8.1, "kind": "slow_db", "factor": 3, "for_s": 1},
              {"t": 12.1, "kind": "set", "key": "strategy.stale_while_revalidate", "value": True}]
    open_lab(page, live_server, f"?preset=classroom&servers.count=3&strategy.coalesce=promise&speed=20&inputs={json.dumps(inputs)}")
    mitigated = run_to_end(page)
    page.wait_for_function("window.herdlab.baseline !== null")
    world = inputs[:3]
    plain = {**page.evaluate("window.herdlab.scenario"), "strategy": {**page.evaluate("window.herdlab.scenario.strategy"),
                                                                     "coalesce": "none", "stale_while_revalidate": False}}
    request = urllib.request.Request(f"{live_server.url}/api/run", data=json.dumps({"scenario": plain, "inputs": world}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as res:
        same = json.load(res)
    with urllib.request.urlopen(urllib.request.Request(f"{live_server.url}/api/run", data=json.dumps({"scenario": plain}).encode(),
                                                       headers={"Content-Type": "application/json"}), timeout=60) as res:
        alone = json.load(res)
    assert same["db_queries"] != alone["db_queries"]          # the interventions matter here
    assert page.evaluate("window.herdlab.baseline") == {"queries": same["db_queries"], "from": "computed", "inputs": 3}
    assert number(card(page, "saved")) == same["db_queries"] - mitigated["db_queries"]
    assert card_note(page, "saved") == f"{same['db_queries']:,} without mitigation, same 3 interventions → {mitigated['db_queries']:,}"
    assert page.js_errors == []


def test_retries_and_server_death_are_named(page, live_server):
    """A dead server's in-flight requests error and retry: the summary counts the retries."""
    open_lab(page, live_server)
    feed(page, "started", started(scenario={"servers": {"count": 2}, "strategy": {"coalesce": "promise"},
                                            "cache": {"enabled": True, "ttl_s": 60}, "datastore": {"connections": 4},
                                            "clients": {"count": 300}}))
    feed(page, "frame", {"run_id": "synthetic", "t": 0.2, "events": [
        event(0.01, "arrive", req=0, attempt=0), event(0.011, "cache_miss", req=0, attempt=0),
        event(0.011, "fetch_start", req=0, attempt=0, role="leader", query=0),
        event(0.1, "server_down", req=None, viewer=None, server=0, key=None),
        event(0.1, "retry", req=0, attempt=1, delay_ms=0.0, reason="error"),
        event(0.1, "arrive", req=0, server=1, attempt=1),
        sample(0.2, arrived=2, retries=1, inflight_requests=1)]})
    expect(page.locator('[data-role="summary"]')).to_contain_text("1 retry")
    texts = stage_texts(page)
    assert "S1" in texts and "down" in texts, texts
    # The dead server's query lands later: it belongs to no one on the stage (the request moved on).
    feed(page, "frame", {"run_id": "synthetic", "t": 0.3, "events": [event(0.25, "db_finished", req=0, query=0)]})
    assert page.evaluate("window.herdlab.lab.store.a.dots.get(0).state") == "travel"


def test_the_metastable_collapse_is_drawn_as_it_happened(page, live_server):
    """The slowdown (trigger) on the datastore and the charts, the queue that stays full after it,
    the queries cancelled because their clients gave up, requests in flight on the chart; then the
    fix: the load-shedding limit, the queries it refused, the retries the budget refused."""
    open_lab(page, live_server, "?preset=metastable&speed=1")
    page.get_by_role("button", name="Run the experiment").click()
    page.wait_for_function("window.herdlab.status === 'playing'")
    seek_and_pause(page, 11.5)          # straight there: only the resume frame can say the datastore is slow
    texts = stage_texts(page)
    assert "slowed ×4 · 1.5 s left" in texts, (texts, page.evaluate("[window.herdlab.t, window.herdlab.lab.store.a.slowWindows, window.herdlab.stageLabels()]"))
    expect(page.locator('[data-legend="slow"]')).to_be_visible()
    assert page.evaluate("window.herdlab.lab.store.a.slowWindows") == [{"from": 10, "until": 13, "factor": 4}]
    seek_and_pause(page, 40)
    sample = page.evaluate("window.herdlab.sample")
    texts = stage_texts(page)
    assert "OVERLOADED" in texts and not any(x.startswith("slowed") for x in texts), texts
    assert sample["db_cancelled"] > 1000 and f"{sample['db_cancelled']:,} cancelled" in texts
    assert page.evaluate("window.herdlab.lab.store.a.series.inflight.at(-1)") == sample["inflight_requests"] > 300
    expect(page.locator(".lab-chart").first).to_contain_text("requests in flight")
    assert page.locator('[data-role="cap-a"]').inner_text().endswith("no mitigation · each dot = 2 viewers")
    assert label_problems(page) == []
    shot(page, "metastable-collapsed")

    # The fix, named from the schema's "off" values: load shedding and a retry budget.
    open_lab(page, live_server, "?preset=metastable&datastore.queue_limit=40&clients.retry_budget=0.1&speed=1")
    page.get_by_role("button", name="Run the experiment").click()
    expect(page.locator('[data-role="cap-a"]')).to_contain_text("a retry budget of 10%, load shedding past 40 queued")
    page.wait_for_function("window.herdlab.status === 'playing'")
    seek_and_pause(page, 14)
    sample = page.evaluate("window.herdlab.sample")
    texts = stage_texts(page)
    assert "limit 40" in texts and sample["queued"] <= 40, texts
    assert sample["db_rejected"] > 0 and f"{sample['db_rejected']:,} refused" in texts
    assert sample["retries_denied"] > 0 and f"{sample['retries_denied']:,} retries refused by the budget" in texts
    assert label_problems(page) == []
    assert page.js_errors == []


def test_a_lock_that_notifies_puts_its_waiters_to_sleep(page, live_server):
    """coalesce: notify: the waiters sleep until the holder wakes them (outlined squares that never
    blink), not the lock's polling; one query per chunk."""
    open_lab(page, live_server, "?preset=classroom&strategy.coalesce=notify&speed=0.1")
    expect(page.locator('[data-legend="notify"]')).to_be_visible()
    expect(page.locator('[data-legend="lock"]')).to_be_hidden()
    run_then_pause(page, "window.herdlab.dotsOnStage(400).filter((d) => d[3] === 'sleep').length > 20", settle_ms=300)
    states = {d[3] for d in page.evaluate("window.herdlab.dotsOnStage(400)")}
    assert "sleep" in states and "poll" not in states, states
    asleep = page.evaluate("window.herdlab.dotsOnStage(400).filter((d) => d[3] === 'sleep').length")
    assert any(x.endswith(" asleep until woken") and int(x.split()[0].replace(",", "")) >= asleep for x in stage_texts(page))
    sleeper = page.evaluate("window.herdlab.dotsOnStage(400).find((d) => d[3] === 'sleep')[2]")
    assert page.evaluate(f"window.herdlab.lab.showRequest({sleeper})")
    expect(page.locator('[data-role="lifecycle-list"]')).to_contain_text("asleep until the lock's holder wakes it")
    page.keyboard.press("Escape")
    page.evaluate("window.herdlab.lab.control('speed', 20)")
    page.get_by_role("button", name="Resume").click()
    summary = wait_finished(page)
    assert summary["db_queries"] == 4 and summary["completed"] == summary["requests"]
    assert page.js_errors == []
