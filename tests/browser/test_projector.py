"""A projector at the back of a room (issue 10, item 3; issue 20, item 11): presentation mode and the
presenter screen at 1280x720 and 1920x1080 show the stage, the cards and every chart (the presenter:
beside the class's answers, and both runs in compare mode) without scrolling, cut no text, and
never draw stage text below 16 px; a clicker's Page Down / Page Up on the presenter moves the
class's lesson step, and the console's step picker with it."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from tests.axe import serious
from tests.browser.classroom_pages import open_console, open_presenter, watch
from tests.browser.conftest import ARTIFACTS
from tests.browser.lab_helpers import cut_text, label_problems, open_lab

PROJECTORS = [{"width": 1280, "height": 720}, {"width": 1920, "height": 1080}]
# The presenter's join strip, stage(s), cards and every chart (the class's answers beside them).
EVERYTHING = [".cr-join", "#tally", '#lab [data-role="stage-a"]', '#lab [data-role="stage-b"]', "#lab .lab-cards",
              "#lab .lab-chart"]
BOTTOMS = """(selectors) => selectors.map((s) => [s, Math.max(...[...document.querySelectorAll(s)]
  .filter((el) => el.offsetParent !== null).map((el) => el.getBoundingClientRect().bottom))])"""
CARD_TEXT = ".lab-card-label, .lab-card-value, .lab-card-value > span, .lab-card-note"


def assert_fits_the_screen(page, selectors: list[str], height: int) -> None:
    for selector, bottom in page.evaluate(BOTTOMS, selectors):
        assert bottom <= height, f"{selector} ends at {bottom:.0f} px, below the {height} px screen"


def assert_stage_is_readable(page) -> None:
    sizes = page.evaluate("window.herdlab.stageLabels().map((l) => [l.text, l.px])")
    assert sizes and min(px for _, px in sizes) >= 16, sizes
    assert label_problems(page) == []


@pytest.mark.parametrize("viewport", PROJECTORS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_presentation_mode_fits_a_projector(browser, live_server, viewport):
    context = browser.new_context(viewport=viewport)
    page = watch(context.new_page())
    try:
        open_lab(page, live_server, "?preset=classroom&speed=1")
        page.keyboard.press("p")
        page.get_by_role("button", name="Run the experiment").click()
        page.wait_for_function("window.herdlab.t > 4.5 && window.herdlab.sample?.queued > 20", timeout=20_000)
        page.wait_for_timeout(300)
        assert page.evaluate("window.scrollY") == 0
        assert_fits_the_screen(page, ['[data-role="stage-a"]', ".lab-cards", ".lab-bar", ".lab-charts"], viewport["height"])
        assert cut_text(page, f"{CARD_TEXT}, .lab-legend li, .lab-bar button, .lab-bar output, .lab-preset") == []
        assert_stage_is_readable(page)
        page.screenshot(path=str(ARTIFACTS / f"presentation-{viewport['width']}x{viewport['height']}.png"))
        page.keyboard.press("4")     # no shortcut: nothing happens
        page.get_by_role("button", name="Pause").click()
        for _ in range(8):
            page.keyboard.press("+")
        page.get_by_role("button", name="Resume").click()
        page.wait_for_function("window.herdlab.status === 'finished'", timeout=30_000)
        page.wait_for_timeout(300)
        assert cut_text(page, CARD_TEXT) == []                                      # the whole run's numbers fit too
        assert page.js_errors == []
    finally:
        context.close()


def console_and_presenter(browser, live_server, pages: list, viewport: dict):
    """The console (a laptop) and the presenter window it opens, sized as the projector."""
    console_ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    pages.append(console_ctx)
    console = watch(console_ctx.new_page())
    open_console(console, live_server.url)
    return console, open_presenter(console, viewport)


@pytest.mark.parametrize("viewport", PROJECTORS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_presenter_screen_fits_a_projector_with_the_class_answers(browser, live_server, viewport):
    height = viewport["height"]
    size = f"{viewport['width']}x{height}"
    pages: list = []
    try:
        console, presenter = console_and_presenter(browser, live_server, pages, viewport)
        phone_ctx = browser.new_context(viewport={"width": 390, "height": 844})
        pages.append(phone_ctx)
        phone = watch(phone_ctx.new_page())
        phone.goto(f"{live_server.url}/join?code={console.locator('#code').inner_text()}")
        expect(phone.locator("#room-view")).to_be_visible()
        # Lesson 1's step and question (plain text, as every prediction is): projector, phone and
        # console show them.
        console.locator("#lesson").select_option("celebrity-goes-live")
        steps = console.locator("#step option").evaluate_all("(options) => options.map((o) => o.value)")
        console.locator("#show-step").click()
        expect(presenter.locator("#lesson")).to_be_visible()
        # A clicker on the presenter moves the class to the next step and back; the console's step
        # picker follows (presenter and console stay in step), and so do the students.
        presenter.keyboard.press("PageDown")
        expect(console.locator("#step")).to_have_value(steps[1])
        phone.wait_for_function(f"document.querySelector('#lesson').dataset.shown === 'celebrity-goes-live/{steps[1]}'")
        presenter.keyboard.press("PageDown")
        expect(console.locator("#step")).to_have_value(steps[2])
        presenter.keyboard.press("PageUp")
        expect(console.locator("#step")).to_have_value(steps[1])
        console.locator("#predict").click()
        tally = presenter.locator("#tally")
        question = "What share of them become their own datastore query?"
        expect(tally.locator("h2")).to_contain_text(question)
        expect(phone.locator("#question-text")).to_contain_text(question)
        expect(console.locator("#tally h2")).to_contain_text(question)
        for page in (presenter, phone, console):
            assert "**" not in page.locator("main").inner_text()
        # A follower's lab drives nothing: no Presentation, export, share or compare buttons.
        for role in ("presentation", "export-json", "export-csv", "export-summary", "share", "compare", "play"):
            assert presenter.locator(f'#lab [data-role="{role}"]').is_hidden(), role
        console.evaluate("window.herdlabRoom.lab.control('speed', 4)")
        console.locator('[data-role="play"]').click()
        presenter.wait_for_function("window.herdlab.t > 5 && window.herdlab.sample?.queued > 20", timeout=20_000)
        assert presenter.evaluate("window.scrollY") == 0
        assert_fits_the_screen(presenter, EVERYTHING, height)
        assert cut_text(presenter, f"{CARD_TEXT}, #tally *, .cr-join *, .lab-chart figcaption") == []
        assert_stage_is_readable(presenter)
        assert serious(presenter) == []
        presenter.screenshot(path=str(ARTIFACTS / f"presenter-{size}-midrun.png"))
        expect(tally.locator(".cr-result")).to_contain_text("Datastore queries", timeout=30_000)
        assert_fits_the_screen(presenter, ["#tally .cr-result", "#tally li.right"], height)
        presenter.wait_for_function("window.herdlab.status === 'finished'")
        presenter.wait_for_timeout(300)
        assert_fits_the_screen(presenter, EVERYTHING, height)
        assert cut_text(presenter, f"{CARD_TEXT}, #tally *") == []                   # the whole run's numbers fit too
        assert_stage_is_readable(presenter)
        presenter.screenshot(path=str(ARTIFACTS / f"presenter-{size}-result.png"))
        for page in (console, presenter, phone):
            assert page.js_errors == []
    finally:
        for ctx in pages:
            ctx.close()


def test_presenter_shows_both_sides_of_a_comparison_on_a_720p_projector(browser, live_server):
    """Compare mode puts A and B side by side on the presenter: both stages, the cards and every
    chart on one 1280x720 screen (while no question is up beside them)."""
    pages: list = []
    try:
        console, presenter = console_and_presenter(browser, live_server, pages, PROJECTORS[0])
        console.locator('#lab [data-role="compare"]').click()
        console.evaluate("window.herdlabRoom.lab.control('speed', 2)")
        console.locator('#lab [data-role="play"]').click()
        presenter.wait_for_function("window.herdlab.compare && window.herdlab.t > 4 && window.herdlab.sample?.queued > 20",
                                    timeout=20_000)
        assert presenter.evaluate("window.scrollY") == 0
        assert_fits_the_screen(presenter, EVERYTHING, 720)
        assert presenter.locator('#lab [data-role="stage-b"]').is_visible()
        assert cut_text(presenter, f"{CARD_TEXT}, .cr-join *, .lab-chart figcaption") == []
        assert_stage_is_readable(presenter)
        presenter.screenshot(path=str(ARTIFACTS / "presenter-1280x720-compare.png"))
        console.evaluate("window.herdlabRoom.lab.control('stop')")
        for page in (console, presenter):
            assert page.js_errors == []
    finally:
        for ctx in pages:
            ctx.close()
