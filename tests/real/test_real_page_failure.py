"""Failures reach the person (issue 21, finding 6): a real run that fails before it starts is
shown on ``/real`` with its reason and what to do, within a second of the server knowing it --
not "Starting…" for minutes.

The server owns its services, as ``make run`` starts them; the test kills both (SIGKILL) and
makes PostgreSQL unable to come back (its binary, a wrapper, exits 1 while a flag file exists),
then starts a run from the page in Chromium: the next run heals Redis, cannot heal PostgreSQL,
and says so."""
from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Iterator

import pytest

from webapp.real.services import Services, find_binaries

from tests.axe import serious
from tests.browser.conftest import ARTIFACTS
from tests.real.test_real_lab import browser  # noqa: F401 -- the session's Chromium
from tests.reliability.conftest import Server

pytestmark = [pytest.mark.real, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2] / ".herdlab" / "page-failure"
WRAPPER = """#!/bin/sh
# postgres, unless the test has broken it on purpose
if [ -e "{flag}" ]; then echo "postgres: broken on purpose by the test" >&2; exit 1; fi
exec "{real}" "$@"
"""
# Marks when the lab's alert first shows a message, and the text "Starting…" disappears.
WATCH = """() => {
  window.shown = null;
  new MutationObserver(() => {
    const alert = document.querySelector('[data-role="error"]');
    if (window.shown === null && alert && !alert.hidden && alert.textContent.trim())
      window.shown = Date.now();
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def broken_bin() -> Iterator[Path]:
    """A PostgreSQL binary directory whose ``postgres`` fails while ``<dir>/broken`` exists."""
    real = Path(find_binaries().pg_bin)
    bin_dir = ROOT / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "broken").unlink(missing_ok=True)
    for name in ("initdb", "postgres"):
        (bin_dir / name).unlink(missing_ok=True)
    (bin_dir / "initdb").symlink_to(real / "initdb")
    (bin_dir / "postgres").write_text(WRAPPER.format(flag=bin_dir / "broken",
                                                     real=real / "postgres"))
    (bin_dir / "postgres").chmod(0o755)
    yield bin_dir
    shutil.rmtree(bin_dir, ignore_errors=True)


def test_services_that_cannot_come_back_are_said_on_the_page_at_once(browser, broken_bin):
    server = Server("eventlet", {"HERDLAB_DATA_DIR": str(ROOT), "HERDLAB_PG_BIN": str(broken_bin)})
    root = Services(ROOT).root
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    told: list[float] = []       # when the error reached the page's socket (wall clock)
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda frame: told.append(time.time())
        if isinstance(frame, str) and '"error"' in frame else None))
    try:
        page.add_init_script(f"({WATCH})()")
        page.goto(server.url + "/real")
        page.locator('[data-role="play"]').wait_for()
        (broken_bin / "broken").touch()
        for pidfile in (root / "pg" / "postmaster.pid", root / "redis.pid"):
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
        clicked = time.time()
        page.locator('[data-role="play"]').click()
        alert = page.locator('[data-role="error"]')
        alert.wait_for(state="visible", timeout=60_000)
        message = alert.inner_text()
        assert message.startswith("The real-systems lab could not start its PostgreSQL, so the "
                                  "run did not start. Try again in a minute")
        assert "/" not in message and "Traceback" not in message
        summary = page.locator('[data-role="summary"]').inner_text()
        assert "Starting" not in summary
        assert page.locator('[data-role="real-status"]').inner_text() == ""
        shown = page.evaluate("window.shown") / 1000.0
        assert told, "the server never sent the error"
        print(f"shown {shown - clicked:.2f} s after Run was pressed, {shown - told[0]:.3f} s "
              "after the error reached the page's socket")
        assert shown - told[0] < 1.0
        assert serious(page) == [] and errors == []
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "real-page-failure.png"), full_page=True)
        raise
    finally:
        context.close()
        (broken_bin / "broken").unlink(missing_ok=True)
        server.stop()
