"""Honest playback (issue 10, items 4 and 7): the timeline's length is the run's end, known when it
starts, and never jumps; a run the server cannot play at the chosen speed says how fast it really
goes; scrubbing freezes the run at that instant; a Step moves the picture visibly."""
from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser.lab_helpers import feed, open_lab, run_then_pause, sample, started

SCRUB = '[data-role="scrub"]'


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


def frame(t: float, **extra) -> dict:
    return {"run_id": "synthetic", "t": t, "events": [sample(t, arrived=10)], **extra}


def test_timeline_length_is_the_runs_end_known_at_start(page, live_server):
    open_lab(page, live_server)
    feed(page, "started", started(end_s=9.1))
    for t in (0.5, 4.5, 7.0):                  # well past the arrivals' 4 s: the drain, same length
        feed(page, "frame", frame(t))
        expect(page.locator('[data-role="t"]')).to_have_text(f"t = {t:.2f} s of 9.10 s")
        assert page.locator(SCRUB).get_attribute("max") == "9.1"
    assert "drain-unknown" not in page.locator(".lab-scrub").get_attribute("class")
    # An input changes the run (a classroom tap): the server says the new length.
    feed(page, "state", {"run_id": "synthetic", "status": "playing", "speed": 1, "t": 7.0, "action": "length", "end_s": 10.0})
    expect(page.locator('[data-role="t"]')).to_have_text("t = 7.00 s of 10.00 s")
    # A server that does not know the end yet: the arrivals' duration, its last stretch hatched.
    feed(page, "started", started(run_id="heavy", end_s=None))
    feed(page, "frame", {**frame(1.0), "run_id": "heavy"})
    expect(page.locator('[data-role="t"]')).to_have_text("t = 1.00 s of 4.00 s + drain")
    assert "drain-unknown" in page.locator(".lab-scrub").get_attribute("class")


def test_a_heavy_run_says_how_fast_it_really_plays(page, live_server):
    open_lab(page, live_server)
    pace = page.locator('[data-role="pace"]')
    feed(page, "started", started(end_s=6.0))
    feed(page, "frame", frame(0.4, speed_achieved=0.3))
    expect(pace).to_have_text("playing at 0.3x — this run is heavy")
    expect(page.locator('[data-role="summary"]')).to_contain_text("playing at 0.3x, this run is heavy")
    feed(page, "frame", frame(1.4, speed_achieved=1.0))
    expect(pace).to_be_hidden()
    # A server that does not measure it: the page does, from the frames' t against its own clock.
    feed(page, "started", started(run_id="old"))
    page.evaluate("""async () => {
      for (let i = 1; i <= 14; i++) {
        window.herdlab.lab.applyRemote("frame", {run_id: "old", t: i * 0.02, events: []});
        await new Promise((r) => setTimeout(r, 100));
      }
    }""")
    expect(pace).to_have_text("playing at 0.2x — this run is heavy")


def test_scrubbing_freezes_and_a_step_is_a_visible_step(page, live_server):
    sent = controls_sent(page)
    open_lab(page, live_server)
    feed(page, "started", started(end_s=9.1))
    feed(page, "frame", frame(2.0))
    expect(page.locator('[data-role="t"]')).to_have_text("t = 2.00 s of 9.10 s")   # the bar knows the run
    page.locator(SCRUB).evaluate("(el) => { el.value = 3; el.dispatchEvent(new Event('input')); el.dispatchEvent(new Event('change')); }")
    feed(page, "state", {"run_id": "synthetic", "status": "paused", "speed": 1, "t": 3.0, "action": "seek"})
    step = page.locator('[data-role="step"]')
    expect(step).to_have_text("Step 0.09 s ▸")                                       # a hundredth of the run
    step.click()
    page.wait_for_timeout(300)
    assert {"run_id": "synthetic", "action": "seek", "value": 3, "pause": True} in sent
    assert {"run_id": "synthetic", "action": "step", "value": 0.09} in sent
    # A server that takes no step size: as many of its 1/30 s steps as make the same stretch.
    sent.clear()
    feed(page, "started", started(run_id="old", duration_s=16.0))
    feed(page, "state", {"run_id": "old", "status": "paused", "speed": 1, "t": 1.0, "action": "pause"})
    expect(step).to_have_text("Step 0.16 s ▸")
    step.click()
    page.wait_for_timeout(300)
    assert [c for c in sent if c["action"] == "step"] == [{"run_id": "old", "action": "step"}] * 5


def test_a_step_changes_what_is_drawn(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=0.5")
    run_then_pause(page, "window.herdlab.t > 0.3 && window.herdlab.dotsOnStage().length > 20", settle_ms=800)
    canvas = page.locator('[data-role="canvas-a"]')
    before, t0 = canvas.evaluate("(c) => c.toDataURL()"), page.evaluate("window.herdlab.t")
    page.get_by_role("button", name="Step 0.16 s of virtual time").click()
    page.wait_for_function(f"window.herdlab.t >= {t0} + 0.15", timeout=10_000)
    page.wait_for_timeout(800)
    assert page.evaluate("window.herdlab.status") == "paused"
    assert canvas.evaluate("(c) => c.toDataURL()") != before
    assert page.js_errors == []


def test_a_run_put_away_when_idle_says_so(page, live_server):
    open_lab(page, live_server)
    feed(page, "started", started(end_s=9.1))
    feed(page, "frame", frame(2.0))
    feed(page, "state", {"run_id": "synthetic", "status": "stopped", "speed": 1, "t": 2.0, "action": "idle",
                         "message": "This run was paused for 10 minutes and has been put away."})
    expect(page.locator('[data-role="summary"]')).to_contain_text("has been put away")
    expect(page.locator('[data-role="play"]')).to_have_text("▶ Run")
