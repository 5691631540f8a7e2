"""A class that survives reloads (issue 20, item 11), in headless Chromium.

The instructor's console, reloaded mid-run, resumes the class's run at the class's instant with full
control (pause, seek, play, switches) and the class's lesson step; any page that reloads draws the
requests the run has in flight at that instant (a student's own among them); a student who reloads comes back
to the same room as the same student (their answer, their requests, their tap budget) without
typing the code; a console tab closed without "End class" leaves a room that any console of the
same browser lists and can close, which frees the address's room cap at once. Every wait is on the
pages' own state, never a fixed sleep.
"""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from tests.axe import serious
from tests.browser.classroom_pages import CODE, open_console, open_presenter, watch
from tests.browser.conftest import ARTIFACTS, LiveServer

LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LESSON = "celebrity-goes-live"


@pytest.fixture
def pages(browser):
    """Pages, each in a browser context of its own (its own storage), closed afterwards."""
    contexts = []

    def open_page(viewport: dict, context=None):
        if context is None:
            context = browser.new_context(viewport=viewport)
            contexts.append(context)
        return watch(context.new_page())

    yield open_page
    for ctx in contexts:
        ctx.close()


def join_by_typing(page, url: str, code: str) -> None:
    page.goto(url + "/join")
    assert serious(page) == []                  # the join form
    page.locator("#code").fill(code)
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#room-view")).to_be_visible()


def test_a_reloaded_console_resumes_the_class_run_at_its_instant_with_control_and_step(pages, live_server):
    console, phone = pages(LAPTOP), pages(PHONE)
    code = open_console(console, live_server.url)
    join_by_typing(phone, live_server.url, code)
    console.locator("#lesson").select_option(LESSON)
    step = console.locator("#step option").nth(2).get_attribute("value")
    console.locator("#step").select_option(step)
    console.locator("#show-step").click()
    expect(phone.locator("#lesson")).to_be_visible()
    console.evaluate("window.herdlabRoom.lab.setScenario({duration_s: 60})")   # a class-length run
    console.locator('[data-role="play"]').click()
    console.wait_for_function("window.herdlab.status === 'playing' && window.herdlab.t > 2")
    run_id = console.evaluate("window.herdlab.runId")

    console.reload()
    expect(console.locator("#code")).to_have_text(code)
    # The class's run, at the class's instant (not idle at t = 0), with its charts from the start.
    console.wait_for_function(f"window.herdlab.runId === '{run_id}' && window.herdlab.status === 'playing' "
                              "&& window.herdlab.t > 2")
    assert console.evaluate("window.herdlab.lab.store.a.series.t[0]") < 0.5
    expect(console.locator("#lesson")).to_have_value(LESSON)
    expect(console.locator("#step")).to_have_value(step)
    console.screenshot(path=str(ARTIFACTS / "classroom-console-reloaded.png"))

    # Full control: pause (the class stops at the very instant the console shows), seek, play.
    console.get_by_role("button", name="Pause").click()
    for page in (console, phone):
        page.wait_for_function("window.herdlab.status === 'paused'")
    assert console.evaluate("window.herdlab.t") == phone.evaluate("window.herdlab.t")
    console.evaluate("window.herdlabRoom.lab.control('seek', 1)")
    for page in (console, phone):
        page.wait_for_function("window.herdlab.status === 'paused' && window.herdlab.resumedAt === 1")
    console.get_by_role("button", name="Resume").click()
    phone.wait_for_function("window.herdlab.status === 'playing' && window.herdlab.t > 1")
    # A switch after the reload acts on the class's run (an intervention, as before the reload).
    console.locator('[data-control="strategy.coalesce=promise"]').check()
    phone.wait_for_function("window.herdlab.inputs.some((i) => i.kind === 'set' && i.value === 'promise')")
    # The step picker drives the class again.
    following = console.locator("#step option").nth(3).get_attribute("value")
    console.locator("#step").select_option(following)
    console.locator("#show-step").click()
    phone.wait_for_function(f"document.querySelector('#lesson').dataset.shown === '{LESSON}/{following}'")
    assert serious(console) == []
    console.evaluate("window.herdlabRoom.lab.control('stop')")
    for page in (console, phone):
        assert page.js_errors == []


def test_a_reloaded_student_rejoins_without_the_code_as_the_same_student(pages, live_server):
    console, phone = pages(LAPTOP), pages(PHONE)
    code = open_console(console, live_server.url)
    join_by_typing(phone, live_server.url, code)
    console.evaluate("""window.herdlabRoom.socket.emit("predict", {question: "How many datastore queries?",
                        choices: ["1", "about 30", "300"]})""")
    phone.get_by_role("button", name="about 30", exact=True).click()
    expect(phone.get_by_role("button", name="about 30", exact=True)).to_have_attribute("aria-pressed", "true")
    console.locator("#herd-run").click()
    expect(phone.locator("#herd-box")).to_be_visible()
    phone.wait_for_function("window.herdlab.status === 'playing'")
    phone.locator("#tap").click()
    phone.wait_for_function("window.herdlab.room.mine.size === 1")
    req = phone.evaluate("[...window.herdlab.room.mine.keys()][0]")
    member_id = phone.evaluate("window.herdlab.room.joined.member_id")
    expect(phone.locator("#taps-left")).to_have_text("39 of 40 taps left in this run")

    phone.reload()
    expect(phone.locator("#room-view")).to_be_visible()                    # no code typed
    assert phone.evaluate("window.herdlab.room.joined.member_id") == member_id
    expect(phone.get_by_role("button", name="about 30", exact=True)).to_have_attribute("aria-pressed", "true")
    phone.wait_for_function(f"window.herdlab.room.mine.has({req})")        # my request is still mine
    expect(phone.locator("#taps-left")).to_have_text("39 of 40 taps left in this run")
    expect(phone.locator("h1:visible")).to_have_text(f"Room {code}")
    expect(console.locator("#members")).to_have_text("1")                  # one student, not two
    expect(console.locator("#tally")).to_contain_text("1 answer ")
    phone.locator("#tap").click()                                          # the same budget goes on
    expect(phone.locator("#taps-left")).to_have_text("38 of 40 taps left in this run")
    assert serious(phone) == []
    phone.screenshot(path=str(ARTIFACTS / "classroom-phone-reloaded.png"))
    console.evaluate("window.herdlabRoom.lab.control('stop')")
    for page in (console, phone):
        assert page.js_errors == []


# What a page's stage holds of the run (side A): the requests in flight, each with its state, and the
# exact counters of the latest sample.
IN_FLIGHT = """() => { const store = window.herdlab.lab.store;
  return {open: Object.fromEntries([...store.a.dots.values()].filter((d) => d.endT === null).map((d) => [d.req, d.state])),
          t: store.t, sample: [store.a.sample?.t, store.a.sample?.inflight_requests, store.a.sample?.arrived]}; }"""


def test_a_reloaded_page_draws_the_requests_in_flight_at_the_class_instant(pages, live_server):
    """A reload mid-run used to show no request until new ones arrived. Now the room hands over what is
    in flight with its catch-up: a reloaded student, presenter and console each draw exactly the
    requests the class's run has open, in the same states, with the same counters, as a page that
    never reloaded; a student's own tapped request shows its live state, not just its number."""
    console, phone = pages(LAPTOP), pages(PHONE)
    code = open_console(console, live_server.url)
    presenter = open_presenter(console, LAPTOP)
    join_by_typing(phone, live_server.url, code)
    # The herd run (a datastore that takes 1.5 s a query), slowed down: the class's taps stay in flight.
    console.evaluate("window.herdlabRoom.lab.control('speed', 0.25)")
    console.locator("#herd-run").click()
    expect(phone.locator("#herd-box")).to_be_visible()
    phone.wait_for_function("window.herdlab.status === 'playing'")
    for taps in range(1, 4):
        phone.locator("#tap").click()
        phone.wait_for_function(f"window.herdlab.room.mine.size === {taps}")
    mine = phone.evaluate("[...window.herdlab.room.mine.keys()]")
    # Pause while all three are in flight, on every page.
    console.wait_for_function(f"{mine}.every((req) => window.herdlab.lab.store.a.dots.get(req)?.endT === null) "
                              "&& window.herdlab.sample?.inflight_requests >= 3")
    console.get_by_role("button", name="Pause").click()
    for page in (console, presenter, phone):
        page.wait_for_function("window.herdlab.status === 'paused'")
    # ... and the console has the paused instant's own numbers (the peek frame after a pause),
    # as a reloaded page gets them with its catch-up.
    console.wait_for_function("window.herdlab.lab.store.a.sample?.t === window.herdlab.lab.store.t")
    truth = console.evaluate(IN_FLIGHT)
    assert {str(req) for req in mine} <= set(truth["open"]), truth
    # Every request is animated here (one dot per request): the stage holds as many as the counters count.
    assert console.evaluate("window.herdlab.lab.store.dotScale") == 1 and len(truth["open"]) == truth["sample"][1]
    words = {req: console.evaluate(f"window.herdlab.lab.describeRequest({req})") for req in mine}

    for page in (phone, presenter, console):
        page.reload()
        page.wait_for_function("window.herdlab.status === 'paused' && window.herdlab.resumedAt !== null")
        assert page.evaluate(IN_FLIGHT) == truth                              # the same requests, states, counters
        # The stage draws them (where they are, not where they started).
        page.wait_for_function(f"{mine}.every((req) => window.herdlab.dotsOnStage(500).some((d) => d[2] === req))")
    phone.wait_for_function("window.herdlab.room.mine.size === 3")
    for req in mine:                                                          # my requests: their live state
        expect(phone.locator("#mine")).to_contain_text(f"#{req}: {words[req]}")
    expect(phone.locator("#mine")).not_to_contain_text("sent before you rejoined")
    phone.screenshot(path=str(ARTIFACTS / "classroom-phone-reloaded-in-flight.png"))

    console.evaluate("window.herdlabRoom.lab.control('speed', 20)")            # (no need to watch it slowly)
    console.get_by_role("button", name="Resume").click()                      # the class plays on, and so do they
    phone.wait_for_function(f"{mine}.every((req) => window.herdlab.lab.store.a.dots.get(req)?.endT !== null "
                            "|| !window.herdlab.lab.store.a.dots.has(req))", timeout=60_000)
    console.evaluate("window.herdlabRoom.lab.control('stop')")
    for page in (console, presenter, phone):
        assert page.js_errors == []


@pytest.fixture(scope="module")
def capped_server():
    """A server that lets one address hold two rooms (every page here comes from 127.0.0.1)."""
    server = LiveServer({"HERDLAB_ROOMS_PER_ADDRESS": "2"})
    yield server
    server.stop()


def test_a_forgotten_room_is_listed_closed_and_frees_the_cap_at_once(browser, capped_server):
    context = browser.new_context(viewport=LAPTOP)
    try:
        forgotten = []                          # two console tabs closed without "End class"
        tab = watch(context.new_page())
        forgotten.append(open_console(tab, capped_server.url))
        tab.close()
        tab = watch(context.new_page())         # a browser with a room open asks before opening another
        tab.goto(capped_server.url + "/classroom")
        expect(tab.locator("#my-rooms li")).to_have_count(1)
        tab.get_by_role("button", name="Open a new room").click()
        expect(tab.locator("#code")).to_have_text(CODE)
        forgotten.append(tab.locator("#code").inner_text())
        tab.close()
        tab = watch(context.new_page())
        tab.goto(capped_server.url + "/classroom")
        rooms = tab.locator("#my-rooms li")
        expect(rooms).to_have_count(2)          # this browser's rooms, found by their tokens
        for code in forgotten:
            expect(rooms.filter(has_text=code)).to_have_count(1)
        expect(tab.locator("#no-room")).to_be_visible()
        expect(tab.locator("#end")).to_be_disabled()
        tab.get_by_role("button", name="Open a new room").click()
        expect(tab.locator("#message")).to_contain_text("as many rooms open as it may")
        assert serious(tab) == []
        tab.screenshot(path=str(ARTIFACTS / "classroom-console-my-rooms.png"))

        tab.get_by_role("button", name=f"Close {forgotten[0]} for everyone").click()
        expect(rooms).to_have_count(1)
        tab.get_by_role("button", name="Open a new room").click()     # the cap is free at once
        expect(tab.locator("#code")).to_have_text(CODE)
        fresh = tab.locator("#code").inner_text()
        assert fresh not in forgotten

        tab.get_by_role("button", name=f"Resume {forgotten[1]}").click()
        expect(tab.locator("#code")).to_have_text(forgotten[1])        # this tab drives it now
        expect(rooms).to_have_count(1)
        expect(rooms).to_contain_text(fresh)                           # and lists the one it left
        assert tab.js_errors == []
    finally:
        context.close()
