"""The production path of docs/deploy.md, for real: Chromium and Socket.IO clients through
Debian's nginx with TLS on a non-default port, three processes behind it sharing rooms through
Redis, with the shipped site and settings (``production.Site``)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from websocket import WebSocketBadStatusException

from tests.browser.lab_helpers import FINISHED
from tests.deploy.production import SUBNET

pytestmark = [pytest.mark.browser, pytest.mark.redis]
SHORT_RUN = {"scenario": {"clients": {"count": 200}, "duration_s": 3.0}, "speed": 1.0}


def test_the_site_serves_the_app_over_https_and_keeps_operations_private(site):
    status, _, body = site.get("/")
    assert status == 200 and b"Herd Lab" in body and b"Welcome to nginx" not in body
    status, headers, _ = site.get("/classroom", tls=False)
    assert status == 301 and headers["Location"].startswith("https://127.0.0.1")
    assert site.get("/healthz")[0] == 200
    assert site.get("/metrics")[0] == 404 and site.get("/readyz")[0] == 404
    for server in site.servers:   # each process answers them on its own port
        with __import__("urllib.request").request.urlopen(server.url + "/readyz") as res:
            assert b'"redis":"ok"' in res.read().replace(b" ", b"")


def test_the_app_sees_the_real_client_and_a_subnet_spreads_over_every_process(site):
    """X-Forwarded-For is believed from nginx: each process logs the client's own address, and
    the hash on the whole address sends a /24 to all three processes (ip_hash would not)."""
    seen = {site.process_of(f"{SUBNET}{n}") for n in range(1, 31)}
    assert seen == set(range(len(site.servers)))


def test_websockets_from_the_public_https_origin_are_accepted_and_foreign_ones_refused(site):
    client = site.socket("/room", f"{SUBNET}200")
    client.emit("create", {})
    room = client.wait("room")
    assert room["join_url"].startswith(site.url + "/join?code=")   # the public URL, not a backend
    client.emit("close", {})
    client.close()
    with pytest.raises(WebSocketBadStatusException) as refused:
        site.socket("/room", f"{SUBNET}201", origin="https://evil.example")
    assert refused.value.status_code == 400


def test_per_address_limits_count_each_real_client(site):
    """The shipped HERDLAB_ROOMS_PER_ADDRESS (20) holds per client address: the 21st room from
    one address is refused, while another address of the same subnet still gets one."""
    limit = 20
    mine = [site.socket("/room", f"{SUBNET}210") for _ in range(limit + 1)]
    try:
        for client in mine[:limit]:
            client.emit("create", {})
            client.wait("room")
        mine[limit].emit("create", {})
        assert mine[limit].wait("room_error")["reason"] == "rooms_per_address"
        other = site.socket("/room", f"{SUBNET}211")
        mine.append(other)
        other.emit("create", {})
        assert other.wait("room")["code"]
    finally:
        for client in mine:
            client.emit("close", {})
            client.close()


def run_a_lab(browser, url: str) -> str:
    """Open the lab at ``url``, run an experiment to its end; the transport the page used. At 20x:
    the same frames, 30 a second, through the proxy, in 1 s instead of 16 (the page's drawing was
    most of this test's CPU)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, ignore_https_errors=True)
    try:
        page = context.new_page()
        page.goto(url + "?speed=20")
        page.locator('#conn-state[data-state="connected"]').wait_for(timeout=30_000)
        transport = page.evaluate("window.herdlab.transport")
        page.get_by_role("button", name="Run the experiment").click()
        page.wait_for_function(FINISHED, timeout=60_000)
        return transport
    finally:
        context.close()


def test_a_lab_experiment_runs_in_chromium_through_the_proxy(site, browser):
    assert run_a_lab(browser, site.url + "/lab") == "websocket"


def test_without_the_websocket_upgrade_the_page_falls_back_to_polling(site, browser):
    """A proxy that drops the upgrade (the test's extra server): the client tries long-polling,
    which the hash keeps on one process, and the lab still runs."""
    assert run_a_lab(browser, f"https://127.0.0.1:{site.no_upgrade}/lab") == "polling"


def test_an_instructor_on_one_process_drives_a_student_on_another(site, browser):
    """The student is Chromium (from 127.0.0.1); the instructor a client from an address of the
    subnet that nginx sends to another process: the room lives there, the student's process
    relays through Redis, and the student's page plays the instructor's run."""
    student_process = site.process_of("127.0.0.1")
    source = next(f"{SUBNET}{n}" for n in range(50, 120)
                  if site.process_of(f"{SUBNET}{n}") != student_process)
    instructor = site.socket("/room", source)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, ignore_https_errors=True)
    try:
        instructor.emit("create", {})
        code = instructor.wait("room")["code"]
        page = context.new_page()
        page.goto(f"{site.url}/join?code={code}")
        expect(page.locator("#room-view")).to_be_visible()
        expect(page.locator("#follow-state")).to_have_text("Following the instructor")
        instructor.emit("start", SHORT_RUN)
        page.wait_for_function("window.herdlab.runId && window.herdlab.eventsReceived > 0",
                               timeout=30_000)
        instructor.wait("done", timeout=60)
    finally:
        instructor.emit("close", {})
        instructor.close()
        context.close()
