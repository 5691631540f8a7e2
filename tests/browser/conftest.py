"""Browser fixtures: the real server in a subprocess and Debian's Chromium driven by Playwright.

The server runs as a separate process because Playwright hangs inside a process that eventlet has
monkey-patched. Chromium is Debian's package (Playwright's own browser download does not work on our
machines); ``make test`` installs it when it can. Under ``CI`` a missing browser is a failure, never a
skip. A failing test leaves a full-page screenshot in ``test-artifacts/``.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import pytest

from tests import chromium
from tests.chromium import CHROMIUM_ARGS, PageBrowser, chromium_path  # noqa: F401 (scripts import them here)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``python -m webapp`` on a free port; ``url`` is its base address."""

    # Every page of every browser test comes from 127.0.0.1: one "address" opens the whole
    # suite's rooms. (The reliability tests' servers keep the real default: they test the cap.)
    # (Its workers are demoted 2 nice steps at most: tests/conftest.py says why.)
    ENV = {"HERDLAB_ROOMS_PER_ADDRESS": "50"}

    def __init__(self, env: dict[str, str] | None = None, launcher: Sequence[str] = ()) -> None:
        """``launcher`` comes before the command (``prlimit ... --``: an operator's limits; a
        ``preexec_fn`` would make the test process fork, which eventlet, once imported, refuses)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = ARTIFACTS / f"server-{self.port}.log"
        ARTIFACTS.mkdir(exist_ok=True)
        full_env = {**os.environ, "HERDLAB_SECRET_KEY": "browser-tests", "PYTHONUNBUFFERED": "1",
                    **self.ENV, **(env or {})}
        full_env.pop("PYTEST_CURRENT_TEST", None)
        self._log_file = open(self.log, "w")
        self.proc = subprocess.Popen(
            [*launcher, sys.executable, "-m", "webapp", "--host", "127.0.0.1", "--port",
             str(self.port)],
            cwd=ROOT, env=full_env, stdout=self._log_file, stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def _wait_healthy(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early; log: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as res:
                    if json.load(res)["status"] == "ok":
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not become healthy in {timeout_s}s; log: {self.log.read_text()}")

    def stop(self) -> None:
        stop_process(self.proc, self._log_file)


def stop_process(proc: subprocess.Popen, log) -> None:
    """Terminate ``proc`` (killed after 10 s), reap it and close its log file."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@contextmanager
def server_and_browser() -> Iterator[tuple["PageBrowser", LiveServer]]:
    """The real server and Chromium, for scripts outside pytest (bench/render.py, screenshots.py)."""
    path = chromium_path()
    if not path:
        raise SystemExit("Chromium is not installed (apt-get install chromium-headless-shell)")
    server = LiveServer()
    try:
        browser = chromium.acquire(path)
        try:
            yield browser, server
        finally:
            chromium.release()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[PageBrowser]:
    path = chromium_path()
    if not path:
        message = "Chromium is not installed: run `apt-get install chromium-headless-shell` (or `make test`, which does it as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield chromium.acquire(path)
    chromium.release()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def fresh_page(browser, viewport: dict, timeout_ms: int = 15_000):
    """A page in a fresh browser context (clean storage) whose script errors are kept in
    ``page.js_errors``; close it with ``page.context.close()``."""
    context = browser.new_context(viewport=viewport)
    pg = context.new_page()
    pg.set_default_timeout(timeout_ms)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors  # type: ignore[attr-defined]
    return pg


@pytest.fixture
def page(browser, request):
    """A fresh browser context per test (clean storage), 1440x900 like a laptop."""
    pg = fresh_page(browser, {"width": 1440, "height": 900})
    context = pg.context
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
