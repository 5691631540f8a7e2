"""A page with nothing to show asks for no animation frames, and wakes for whatever changes.

An idle, paused or finished lab redrew nothing 60 times a second: 7% of a core for as long as the
page stayed open (a laptop on a projector, all lesson long). The lab's loop, the lesson's code
light and the home page's herd now sleep until something changes. These tests count the frames a
page asks for (every call of ``requestAnimationFrame``, wrapped before the page's own scripts
run) while it should be asleep, and check that what wakes it is still drawn: a resize, a run.

Counting windows use Python's clock only: a ``wait_for_function`` polls with animation frames of
its own, which would be counted.
"""
from __future__ import annotations

import time

from tests.browser.lab_helpers import open_lab, run_to_end

COUNT_FRAMES = """
(() => {
  const ask = window.requestAnimationFrame.bind(window);
  window.__frames = 0;
  window.requestAnimationFrame = (fn) => { window.__frames++; return ask(fn); };
})();
"""
QUIET_S = 1.5      # 90 frames at 60 Hz if the loop never slept
SETTLE_S = 10.0    # the last dots fade and travel out for a second or two after a run ends


def frames_asked(page) -> int:
    """Animation frames the page asks for in QUIET_S."""
    before = page.evaluate("window.__frames")
    time.sleep(QUIET_S)
    return page.evaluate("window.__frames") - before


def asleep(page) -> bool:
    """Does the page stop asking for frames (at most 2 in QUIET_S) within SETTLE_S?"""
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        if frames_asked(page) <= 2:
            return True
    return False


def test_a_finished_run_sleeps_and_a_resize_wakes_it_to_the_new_size(page, live_server):
    page.add_init_script(COUNT_FRAMES)
    open_lab(page, live_server, "?speed=20")
    assert asleep(page), "the lab asks for frames before any run"
    summary = run_to_end(page)
    assert summary["requests"] > 0
    assert asleep(page), "a finished run still asks for frames"

    drawn = page.evaluate("window.herdlab.framesRendered")
    page.set_viewport_size({"width": 1000, "height": 800})
    page.wait_for_function(f"window.herdlab.framesRendered > {drawn}", polling=50, timeout=5000)
    width = page.locator('[data-role="canvas-a"]').evaluate("(c) => [c.width, c.clientWidth]")
    assert width[0] == width[1] < 1000, width   # drawn again at the new size (devicePixelRatio 1)
    assert "Finished." in page.locator('[data-role="summary"]').inner_text()
    assert asleep(page), "awake for ever after the resize"


def test_a_control_changed_before_any_run_is_drawn_at_once(page, live_server):
    """Before a run the stage shows the next run's scenario: a slider moved while the lab sleeps
    redraws it (it never did, asleep or not: the change did not touch the store)."""
    page.add_init_script(COUNT_FRAMES)
    open_lab(page, live_server)
    assert asleep(page)
    servers = page.locator('input[data-control="servers.count"]')
    servers.evaluate("(el) => { el.value = 120; el.dispatchEvent(new Event('input', {bubbles: true}));"
                     " el.dispatchEvent(new Event('change', {bubbles: true})); }")
    count = page.evaluate("window.herdlab.config.overrides.servers.count")
    assert count > 1
    page.wait_for_function(f"window.herdlab.stageLabels().some((l) => l.text === 'S{count}')", polling=50,
                           timeout=5000)
    assert asleep(page)


def test_a_paused_run_sleeps_and_resuming_plays_on(page, live_server):
    page.add_init_script(COUNT_FRAMES)
    open_lab(page, live_server)
    page.get_by_role("button", name="Run the experiment").click()
    page.wait_for_function("window.herdlab.t > 0.3", polling=50, timeout=20_000)
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function("window.herdlab.status === 'paused'", polling=50)
    assert asleep(page), "a paused run still asks for frames"
    t = page.evaluate("window.herdlab.t")
    page.get_by_role("button", name="Resume").click()
    page.wait_for_function(f"window.herdlab.t > {t} + 0.2", polling=50, timeout=20_000)
    assert frames_asked(page) > 10, "a playing run is not asleep"   # (60 a second when quiet)


def test_a_lesson_with_its_code_beside_the_lab_sleeps(page, live_server):
    page.add_init_script(COUNT_FRAMES)
    page.goto(f"{live_server.url}/lessons/promises")
    page.locator('#conn-state[data-state="connected"]').wait_for()
    assert page.locator(".code-beside").count() > 0      # its code light is on the page
    assert asleep(page)


def test_the_home_herd_stops_off_screen_and_goes_on_when_seen_again(page, live_server):
    page.add_init_script(COUNT_FRAMES)
    page.goto(live_server.url)          # (1440x900: the herd is above the fold, the page twice as long)
    page.wait_for_function("window.herdlab.t > 0.1", polling=50, timeout=10_000)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function(
        "document.querySelector('.home-herd').getBoundingClientRect().bottom < 0", polling=50)
    assert asleep(page), "the herd off screen still asks for frames"
    t = page.evaluate("window.herdlab.t")
    time.sleep(QUIET_S)
    assert page.evaluate("window.herdlab.t") == t         # and stands still where it was
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function(f"window.herdlab.t > {t}", polling=50, timeout=5000)
