"""The ``/real`` page in Chromium, against a real server and the session's real services: a run
beside the simulation ends with both stages captioned for what they are and a verdict that quotes
PostgreSQL's own count; the page keeps the app's Content Security Policy (no bypass here)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.browser.conftest import ARTIFACTS, LiveServer, browser  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.real, pytest.mark.browser]
WATCH = """() => { window.cspViolations = [];
  document.addEventListener("securitypolicyviolation",
    (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`)); }"""


@pytest.fixture(scope="module")
def real_server(services) -> Iterator[LiveServer]:
    server = LiveServer({"HERDLAB_DATA_DIR": str(Path(services.pg_socket_dir).parent)})
    yield server
    server.stop()


def test_a_real_run_beside_the_simulation_ends_with_the_verdict(browser, real_server):
    context = browser.new_context(bypass_csp=False, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.add_init_script(f"({WATCH})()")
        page.goto(real_server.url + "/real")
        page.get_by_label("A promise per app server").check()
        assert page.locator('[data-role="compare"]').is_hidden()
        page.locator('[data-role="play"]').click()
        status = page.locator('[data-role="real-status"]')
        status.filter(has_text="PostgreSQL").wait_for(timeout=30_000)
        verdict = page.locator('[data-role="verdict"]')
        verdict.wait_for(state="visible", timeout=60_000)
        table = verdict.locator("tbody").inner_text()
        assert "(PostgreSQL's count)" in table and "Requests answered\t500\t500" in table
        says = verdict.locator("li").all_inner_texts()
        assert len(says) == 3 and "queries" in says[0] and "released together" in says[1]
        assert says[2].startswith("The tail: p99")
        cap_a = page.locator('[data-role="cap-a"]').inner_text()
        cap_b = page.locator('[data-role="cap-b"]').inner_text()
        assert cap_a.startswith("A — Real: PostgreSQL + Redis, 4 app-server processes")
        assert cap_b.startswith("B — the simulation of the same arrivals")
        summary = page.locator('[data-role="summary"]').inner_text()
        assert summary.startswith("Finished. A: 500 requests: 500 answered")
        assert page.evaluate("window.cspViolations") == [] and errors == []
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "real-page.png"), full_page=True)
        raise
    finally:
        context.close()
