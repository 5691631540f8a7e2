"""Classroom scenes that must tell the truth (issue 10, item 10): every student's tap is its own dot on
the projector, a phone describes its requests in the stage's words, and the console and presenter
name the one join address the server gives."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.classroom_pages import open_console, open_presenter, watch


# Every dot the projector draws, at the end of each of its frames: where each request was first
# drawn (`seen`), and its positions in each frame (`frames`: the last 600 frames, ~10 s).
RECORD_DOTS = """() => {
  const dots = window.__dots = { seen: {}, frames: [] };
  window.herdlab.afterFrame(() => {
    const frame = {};
    for (const [x, y, req] of window.herdlab.dotsOnStage(500)) {
      frame[req] = [x, y];
      if (!(req in dots.seen)) dots.seen[req] = [x, y];
    }
    dots.frames.push(frame);
    if (dots.frames.length > 600) dots.frames.shift();
  });
}"""


def test_two_taps_are_two_dots_on_the_projector(browser, live_server):
    contexts = []
    try:
        def context(viewport):
            ctx = browser.new_context(viewport=viewport)
            contexts.append(ctx)
            return ctx
        console = watch(context({"width": 1440, "height": 900}).new_page())
        code = open_console(console, live_server.url)
        presenter = open_presenter(console, {"width": 1280, "height": 720})
        # One join address: the room's join_url, the same on the console and the projector.
        join_url = console.evaluate("window.herdlabRoom.room.join_url")
        assert join_url.startswith("http://") and join_url.endswith(f"/join?code={code}")
        expect(presenter.locator("#join-url")).to_have_text(join_url.removeprefix("http://"))
        expect(console.locator("#join-hint")).to_have_text(join_url.removeprefix("http://"))
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
        presenter.evaluate(RECORD_DOTS)
        reqs = []
        for phone in phones:
            phone.locator("#tap").click()
            phone.wait_for_function("window.herdlab.room.mine.size === 1")
            reqs.append(phone.evaluate("[...window.herdlab.room.mine.keys()][0]"))
        assert reqs[0] != reqs[1]
        # Both requests are drawn on the projector, as the projector's own frames recorded them:
        # on a busy machine the first can be answered and gone before the second is drawn (run
        # 55), so no single look need find both. In every frame that drew both, they were two
        # dots at two places.
        presenter.wait_for_function(f"{reqs}.every((r) => r in window.__dots.seen)")
        together = presenter.evaluate(f"window.__dots.frames.filter((f) => {reqs}.every((r) => r in f))")
        assert all(f[str(reqs[0])] != f[str(reqs[1])] for f in together), together[:3]
        # Each phone describes its own request in the stage's words.
        for phone in phones:
            expect(phone.locator("#mine li").first).to_contain_text(
                re.compile(r"waiting on request \d+'s promise|you lead the fetch|at the datastore|queued|answered in|missed the cache|on its way"))
        for page in (console, presenter, *phones):
            assert page.js_errors == []
    finally:
        for ctx in contexts:
            ctx.close()



def test_the_console_takes_its_room_back_when_the_process_holding_it_died(page, live_server):
    """Several processes: the one holding the room died and another says so ("owner_lost"); the
    console claims the room with its token and carries on under the same code."""
    page.goto(live_server.url + "/classroom")
    expect(page.locator("#code")).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    code = page.locator("#code").inner_text()
    page.evaluate("""() => {
      const socket = window.herdlabRoom.socket, room = window.herdlabRoom.room;
      window.__claims = [];
      const emit = socket.emit.bind(socket);
      socket.emit = (name, payload) => { if (name === "claim") window.__claims.push(payload.code); return emit(name, payload); };
      for (const listener of socket.listeners("room_closed"))
        listener({reason: "owner_lost", code: room.code, message: "The room's server went away; reopening it."});
    }""")
    page.wait_for_function("window.__claims.length === 1")
    expect(page.locator("#message")).to_be_hidden()                 # the server gave the room back
    assert page.locator("#code").inner_text() == code
    assert page.evaluate("JSON.parse(sessionStorage.getItem('herdlab.room')).token")
