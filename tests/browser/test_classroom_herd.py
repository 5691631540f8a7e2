"""Classroom scenes that must tell the truth (issue 10, item 10): every student's tap is its own dot on
the projector, a phone describes its requests in the stage's words, and the console, presenter and
QR code name one join address when the server gives it."""
from __future__ import annotations

import re

from playwright.sync_api import expect


def watch(page):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.set_default_timeout(15_000)
    return page


def test_two_taps_are_two_dots_on_the_projector(browser, live_server):
    contexts = []
    try:
        def context(viewport):
            ctx = browser.new_context(viewport=viewport)
            contexts.append(ctx)
            return ctx
        console = watch(context({"width": 1440, "height": 900}).new_page())
        console.goto(live_server.url + "/classroom")
        expect(console.locator("#code")).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
        code = console.locator("#code").inner_text()
        with console.expect_popup() as popup:
            console.locator("#present").click()
        presenter = watch(popup.value)
        presenter.set_viewport_size({"width": 1280, "height": 720})
        phones = []
        for _ in range(2):
            phone = watch(context({"width": 390, "height": 844}).new_page())
            phone.goto(f"{live_server.url}/join?code={code}")
            expect(phone.locator("#room-view")).to_be_visible()
            phones.append(phone)
        console.locator("#herd-run").click()               # the herd run: the class's taps are the herd
        for phone in phones:
            expect(phone.locator("#herd-box")).to_be_visible()
        presenter.wait_for_function("window.herdlab.status === 'playing' && window.herdlab.t > 0.2")
        reqs = []
        for phone in phones:
            phone.locator("#tap").click()
            phone.wait_for_function("window.herdlab.room.mine.size === 1")
            reqs.append(phone.evaluate("[...window.herdlab.room.mine.keys()][0]"))
        assert reqs[0] != reqs[1]
        # Both requests are drawn on the projector, each where its own state puts it.
        presenter.wait_for_function(
            f"(() => {{ const on = window.herdlab.dotsOnStage(500).map((d) => d[2]); return {reqs}.every((r) => on.includes(r)); }})()")
        spots = presenter.evaluate(f"window.herdlab.dotsOnStage(500).filter((d) => {reqs}.includes(d[2])).map((d) => [d[0], d[1]])")
        assert len(spots) == 2 and spots[0] != spots[1]
        # Each phone describes its own request in the stage's words.
        for phone in phones:
            expect(phone.locator("#mine li").first).to_contain_text(
                re.compile(r"waiting on request \d+'s promise|you lead the fetch|at the datastore|queued|answered in|missed the cache|on its way"))
        for page in (console, presenter, *phones):
            assert page.js_errors == []
    finally:
        for ctx in contexts:
            ctx.close()


def test_one_join_address_everywhere(page, live_server):
    page.goto(live_server.url + "/classroom")
    expect(page.locator("#code")).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    # The room's join_url (contract item 7), when the server sends it, is the one the console shows.
    page.evaluate("""() => {
      const socket = window.herdlabRoom.socket;
      const room = window.herdlabRoom.room;
      for (const listener of socket.listeners("room")) listener({...room, join_url: "http://10.1.2.3:5000/join"});
    }""")
    expect(page.locator("#join-hint")).to_have_text("http://10.1.2.3:5000/join")
    got = page.evaluate("""async () => {
      const { joinUrl } = await import("/static/js/classroom/room.js");
      return [joinUrl({join_url: "http://10.1.2.3:5000/join"}, "http://192.0.2.2/join"), joinUrl({}, "http://192.0.2.2/join")];
    }""")
    assert got == ["http://10.1.2.3:5000/join", "http://192.0.2.2/join"]
