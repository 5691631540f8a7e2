"""The lab without a mouse (issue 10, item 11): the stage is a Tab stop whose arrows choose a request
and whose Enter opens its lifecycle; the help dialog is modal, keeps Tab inside and gives focus
back to whatever opened it."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.lab_helpers import open_lab, run_then_pause, wait_finished

FOCUSED_ROLE = "document.activeElement?.dataset.role ?? document.activeElement?.tagName"


def test_enter_on_the_stage_opens_the_chosen_requests_lifecycle(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=0.25")
    run_then_pause(page, "window.herdlab.dotsOnStage().length > 20")
    stage = page.locator('[data-role="canvas-a"]')
    stage.focus()
    page.keyboard.press("ArrowDown")
    said = page.locator('[data-role="stage-live"]')
    expect(said).to_contain_text("Enter opens its lifecycle")
    first = said.inner_text()
    page.keyboard.press("ArrowDown")
    expect(said).not_to_have_text(first)                       # the next request
    req = said.inner_text().split(":")[0].removeprefix("Request ").strip()
    page.keyboard.press("Enter")
    panel = page.get_by_role("dialog", name="Request lifecycle")
    expect(panel).to_be_visible()
    assert page.locator('[data-role="lifecycle-title"]').inner_text().startswith(f"Request {req} ")
    assert page.evaluate(FOCUSED_ROLE) == "lifecycle-close"
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert page.evaluate(FOCUSED_ROLE) == "canvas-a"           # back where the student was
    assert page.js_errors == []


def test_help_dialog_keeps_focus_inside_and_returns_it(page, live_server):
    open_lab(page, live_server)
    opener = page.get_by_role("button", name="Keyboard shortcuts")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    for _ in range(5):                                          # Tab and Shift+Tab never leave it
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('[data-role=help]') !== null")
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.closest('[data-role=help]') !== null")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate(FOCUSED_ROLE) == "help-open"          # not "Skip to content"
    assert page.js_errors == []


def test_a_lessons_help_lists_only_the_keys_that_work_there(page, live_server):
    """Lessons bind no page-wide shortcuts (issue 19 saw Space, arrows, p, n, m listed there)."""
    page.goto(f"{live_server.url}/lessons/promises")
    page.locator('[data-role="controls"] input').first.wait_for()
    page.get_by_role("button", name="Keyboard shortcuts").click()
    keys = page.locator('[data-role="help-list"] dt').all_inner_texts()
    assert keys == ["↑ / ↓", "Enter", "Esc"], keys
    assert page.locator('#lab [aria-keyshortcuts]').count() == 0
    open_lab(page, live_server)                                 # /lab binds them all
    assert "Space" in page.locator('[data-role="help-list"] dt').all_inner_texts()
    assert page.js_errors == []


def test_arrow_keys_move_between_a_checkpoints_choices_without_answering(page, live_server):
    page.goto(f"{live_server.url}/lessons/promises")
    page.locator('[data-role="controls"] input').first.wait_for()
    box = page.locator(".checkpoint").first
    box.locator('input[type="radio"]').first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert box.get_attribute("data-state") == ""                               # nothing recorded
    saved = page.evaluate("JSON.parse(localStorage.getItem('herdlab.lessons.v1') || '{}').promises || {}")
    assert not saved.get("checkpoints"), saved
    expect(box.locator('[data-role="feedback"]')).to_contain_text("Press Enter")
    page.keyboard.press("Enter")                                                # this one, then
    assert box.get_attribute("data-state") in ("right", "wrong")
    chosen = int(page.evaluate("document.activeElement.value"))
    box.locator(f'input[value="{(chosen + 1) % box.locator("input").count()}"]').click()   # a click answers at once
    assert box.get_attribute("data-state") in ("right", "wrong")
    assert page.js_errors == []


def test_quick_speed_presses_after_a_run_land_where_they_were_pressed(page, live_server):
    """Once a run has ended its speed still goes to the server (a seek back replays at it), and the
    server echoes each change. An older echo that came back between two quick presses used to set
    the speed back, and the next press stepped down from there: six presses from 20x meant for 4x
    slow motion once ended at 10x slow motion (a busy machine's keyboard test)."""
    open_lab(page, live_server, "?preset=classroom&speed=20")
    page.keyboard.press(" ")
    wait_finished(page)
    for _ in range(6):
        page.keyboard.press("-")
    page.wait_for_function("window.herdlab.lab.store.speedRequested === null")   # the newest echo is in
    asked = [m["payload"]["value"] for m in page.evaluate("window.herdlab.sent")
             if m["name"] == "control" and m["payload"]["action"] == "speed"]
    assert asked == [10, 4, 2, 1, 0.5, 0.25]
    assert page.evaluate("window.herdlab.speed") == 0.25
    expect(page.locator('[data-role="speed-label"]')).to_have_text("slow motion 4x")
    assert page.evaluate("new URLSearchParams(location.search).get('speed')") == "0.25"
    assert page.js_errors == []
