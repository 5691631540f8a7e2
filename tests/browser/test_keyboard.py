"""The lab without a mouse (issue 10, item 11): the stage is a Tab stop whose arrows choose a request
and whose Enter opens its lifecycle; the help dialog is modal, keeps Tab inside and gives focus
back to whatever opened it."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.lab_helpers import open_lab, run_then_pause

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
