"""Honest playback (issue 10, items 4 and 7), end to end against the real server and engine: the
timeline's length is the run's end, known when it starts, and never jumps; a run the server cannot
play at the chosen speed says how fast it really goes; scrubbing freezes the run at that instant
and draws the state there; a Step moves the picture visibly; a run put away while paused says so
and plays on from where it was."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer
from tests.browser.lab_helpers import (HEAVY_RUN_MS, HEAVY_TEST_S, feed, open_lab, playback,
                                       record_playback, run_then_pause, sample, seek_and_pause,
                                       started, wait_finished)

NO_DOTS_LEFT = "window.herdlab.dotsOnStage().length === 0"

# The open requests, cache keys, markers and datastore state the page shows, beside what a page that
# had played every event before t (from a whole run's log) would show: the resume frame's promise.
STATE_AT = """async (t) => {
  const { Side } = await import("/static/js/lab/side.js");
  const store = window.herdlab.lab.store;
  const played = new Side("played");
  played.clear(store.scenario);
  for (const ev of window.__log) if (ev.t <= t) played.apply(ev, 1);
  const picture = (side) => ({
    open: [...side.dots.values()].filter((d) => d.endT === null).map((d) => `${d.req}:${d.state}`).sort(),
    keys: [...side.keys.keys()].map((k) => `${k}:${side.keyState(k, t)}`).sort(),
    markers: [...side.markers.entries()].map(([k, m]) => `${k}:S${m.server + 1}`).sort(),
    db: side.db.state, slow: side.slowAt(t)?.factor ?? null,
  });
  return { shown: picture(store.a), played: picture(played) };
}"""


def controls_sent(page) -> list[dict]:
    """Record every `control` the page sends over its Socket.IO connection (call before goto)."""
    sent: list[dict] = []

    def on_socket(ws):
        def on_frame(payload):
            text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
            if '"control"' in text:
                sent.append(json.loads(text[text.index("["):])[1])
        ws.on("framesent", on_frame)
    page.on("websocket", on_socket)
    return sent


def test_the_timeline_is_the_runs_length_from_the_start_and_never_jumps(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=20")
    record_playback(page)
    page.get_by_role("button", name="Run the experiment").click()
    summary = wait_finished(page)
    seen = [row for row in playback(page) if row[0] in ("playing", "finished")]
    end = seen[-1][3]
    assert end and end > 16                                             # the drain after the 16 s of arrivals
    # Known at the first frame on any ordinary machine; on a very loaded one the server may still be
    # computing the drain: the timeline then shows the 16 s of arrivals (with its "drain" hatch)
    # until the end is known, and from then on never changes.
    known = next(i for i, row in enumerate(seen) if row[3] is not None)
    assert all(row[2] == 16 for row in seen[:known]), seen[:known + 1]
    assert {row[2] for row in seen[known:]} == {end}, seen[known:known + 5]
    assert all(a[1] <= b[1] for a, b in zip(seen, seen[1:]))            # t never goes back
    assert seen[-1][1] == end and seen[-1][0] == "finished"             # the last frame is the run's end
    expect(page.locator('[data-role="t"]')).to_have_text(f"t = {end:.2f} s of {end:.2f} s")
    assert summary["requests"] == summary["completed"] + summary["errors"] + summary["timeouts"]


def test_the_length_an_input_changes_and_the_drain_still_being_computed(page, live_server):
    """Two moments a real run rarely gives on demand, fed as the server sends them."""
    open_lab(page, live_server)
    feed(page, "started", started(end_s=9.1))
    feed(page, "frame", {"run_id": "synthetic", "t": 7.0, "events": [sample(7.0, arrived=10)]})
    expect(page.locator('[data-role="t"]')).to_have_text("t = 7.00 s of 9.10 s")
    # An input changes the run (a classroom tap): the server says the new length.
    feed(page, "state", {"run_id": "synthetic", "status": "playing", "speed": 1, "t": 7.0, "action": "length", "end_s": 10.0})
    expect(page.locator('[data-role="t"]')).to_have_text("t = 7.00 s of 10.00 s")
    assert page.locator('[data-role="scrub"]').get_attribute("max") == "10"
    # A heavy run whose end is still being computed: the arrivals' duration, its last stretch hatched.
    feed(page, "started", started(run_id="heavy", end_s=None))
    feed(page, "frame", {"run_id": "heavy", "t": 1.0, "events": [sample(1.0, arrived=10)]})
    expect(page.locator('[data-role="t"]')).to_have_text("t = 1.00 s of 4.00 s + drain")
    assert "drain-unknown" in page.locator(".lab-scrub").get_attribute("class")


@pytest.mark.timeout(HEAVY_TEST_S)
def test_a_million_viewers_say_how_fast_they_really_play_and_never_jump(page, live_server):
    """drake-live at 20x: the worker cannot compute a million viewers that fast, so the page says
    how fast it really plays, from the server's `speed_achieved`; t never jumps, the run finishes
    with no dot frozen mid-flight."""
    open_lab(page, live_server, "?preset=drake-live&speed=20")
    record_playback(page)
    page.get_by_role("button", name="Run the experiment").click()
    summary = wait_finished(page, timeout_ms=HEAVY_RUN_MS)
    seen = playback(page)
    heavy = [row for row in seen if row[4]]
    assert heavy, seen[:20]
    assert any(row[5].startswith("playing at ") and row[5].endswith("x — this run is heavy") for row in heavy), heavy[:5]
    achieved = [float(row[5].split()[2].rstrip("x")) for row in heavy if row[5]]
    assert max(achieved) < 0.9 * 20
    running = [row for row in seen if row[0] in ("playing", "finished")]
    assert all(a[1] <= b[1] for a, b in zip(running, running[1:]))
    lengths = [row[2] for row in running]
    assert all(a <= b for a, b in zip(lengths, lengths[1:])) and len(set(lengths)) <= 2   # the drain, once known
    assert running[-1][1] == running[-1][3] == lengths[-1]
    assert summary["requests"] == 1_000_000
    expect(page.locator('[data-role="pace"]')).to_be_hidden()
    page.wait_for_function(NO_DOTS_LEFT, timeout=5_000)
    assert page.js_errors == []


def test_scrubbing_freezes_the_run_and_draws_the_state_there(page, live_server):
    """After a run, scrubbing pauses at exactly that instant (it used to restart playback), and
    what the page shows there is what playing up to it showed: the resume frame's state at t, with
    the numbers of t (issue 19: scrubbing to 1.0 showed the sample of 0.95)."""
    sent = controls_sent(page)
    open_lab(page, live_server, "?preset=classroom&speed=20")
    page.get_by_role("button", name="Run the experiment").click()
    wait_finished(page)
    page.evaluate("window.__log = window.herdlab.lab.store.a.log.toArray()")
    end = page.evaluate("window.herdlab.endS")
    for t in (5.0, 2.0, 9.5):                          # mid-crash, the first herd, a recovering datastore
        seek_and_pause(page, t)
        page.wait_for_timeout(400)
        assert page.evaluate("[window.herdlab.status, window.herdlab.t]") == ["paused", t]    # frozen there
        expect(page.locator('[data-role="t"]')).to_have_text(f"t = {t:.2f} s of {end:.2f} s")  # the same run's length
        state = page.evaluate(STATE_AT, t)
        assert state["shown"] == state["played"], t
        assert state["shown"]["open"], t                                               # dots where they were
        # ... and the numbers beside them are those of t itself, not of the last sample before it.
        sample = page.evaluate("window.herdlab.sample")
        assert sample["t"] == t, (sample["t"], t)
        expect(page.locator('[data-card="answered"] .lab-card-value')).to_have_text(f"{sample['completed']:,}")
        assert {"run_id": page.evaluate("window.herdlab.runId"), "action": "seek", "value": t, "pause": True} in sent
    page.get_by_role("button", name="Resume").click()                                  # plays on from there
    page.wait_for_function("window.herdlab.status === 'playing' && window.herdlab.t > 9.6")
    wait_finished(page)
    assert page.js_errors == []


def test_a_step_changes_what_is_drawn(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=0.5")
    run_then_pause(page, "window.herdlab.t > 0.3 && window.herdlab.dotsOnStage().length > 20", settle_ms=800)
    canvas = page.locator('[data-role="canvas-a"]')
    before, t0 = canvas.evaluate("(c) => c.toDataURL()"), page.evaluate("window.herdlab.t")
    page.get_by_role("button", name="Step 0.16 s of virtual time").click()
    page.wait_for_function(f"window.herdlab.t > {t0}", timeout=10_000)
    assert page.evaluate("window.herdlab.t") == pytest.approx(t0 + 0.16, abs=1e-6)
    page.wait_for_timeout(800)
    assert page.evaluate("window.herdlab.status") == "paused"
    assert canvas.evaluate("(c) => c.toDataURL()") != before
    assert page.js_errors == []


@pytest.fixture(scope="module")
def impatient_server():
    """A server that puts a paused run away after 1 s (the default is two minutes)."""
    server = LiveServer(env={"HERDLAB_RUN_IDLE_S": "1"})
    yield server
    server.stop()


def test_a_run_put_away_when_idle_says_so_and_plays_on_from_there(page, impatient_server):
    open_lab(page, impatient_server, "?preset=classroom&speed=1")
    run_then_pause(page, "window.herdlab.t > 1.0")
    t0 = page.evaluate("window.herdlab.t")
    expect(page.locator('[data-role="summary"]')).to_contain_text("gave its place to others", timeout=10_000)
    assert page.evaluate("window.herdlab.status") == "stopped"
    play = page.locator('[data-role="play"]')
    expect(play).to_have_text("▶ Resume")
    play.click()                                        # the server computes it again, from t0
    page.wait_for_function(f"window.herdlab.status === 'playing' && window.herdlab.t > {t0}")
    assert page.evaluate("window.herdlab.t") < t0 + 2
    expect(page.locator('[data-role="summary"]')).not_to_contain_text("gave its place")
    page.get_by_role("button", name="Pause").click()
    assert page.js_errors == []
