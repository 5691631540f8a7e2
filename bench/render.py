"""Render bench: frames per second of the /lab page animating 5,000 requests at once.

Starts the real server, opens /lab in headless Chromium with the browser tests' flags (software
rendering: --disable-gpu), runs a 5,000-viewer herd that piles up at the datastore (no crash, no
timeouts, so every request stays on stage), and reads the page's own counters
(window.herdlab.framesRendered / framesDropped / dots) over a measuring window.

    .venv/bin/python bench/render.py [--seconds 5]

Target (issue 4): at least 50 fps with 5,000 moving requests under software rendering.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMIUM_ARGS, chromium_path, server_and_browser  # noqa: E402

# 5,000 viewers in a 1 s burst on one server with the cache off: every request flies to the
# datastore (4 connections, 200 ms), which drains 20 a second, so ~5,000 requests stay on stage
# (flying, queued, in service) and the page redraws every one of them each frame.
QUERY = ("?preset=classroom&clients.count=5000&clients.timeout_s=0&datastore.crash=false"
         "&datastore.contention=0&cache.enabled=false&workload.segment_s=16")
CASES = [("laptop 1440x900", {"width": 1440, "height": 900}, False),
         ("projector 1280x720, presentation", {"width": 1280, "height": 720}, True)]
COUNTERS = "({frames: herdlab.framesRendered, dropped: herdlab.framesDropped, dots: herdlab.dots, t: herdlab.t})"


def measure(browser, url: str, viewport: dict, presentation: bool, seconds: float) -> dict:
    page = browser.new_page(viewport=viewport)
    try:
        page.goto(url + "/lab" + QUERY)
        page.locator('#conn-state[data-state="connected"]').wait_for()
        page.locator('[data-control="preset"]').wait_for()
        if presentation:
            page.keyboard.press("p")
        page.get_by_role("button", name="Run the experiment").click()
        page.wait_for_function("window.herdlab.dots >= 4500", timeout=30_000)
        start, t0 = page.evaluate(COUNTERS), time.perf_counter()
        dots = []
        while time.perf_counter() - t0 < seconds:
            page.wait_for_timeout(250)
            dots.append(page.evaluate("herdlab.dots"))
        end, t1 = page.evaluate(COUNTERS), time.perf_counter()
        wall = t1 - t0
        return {"fps": (end["frames"] - start["frames"]) / wall,
                "dropped": end["dropped"] - start["dropped"],
                "dots_min": min(dots), "dots_mean": sum(dots) / len(dots), "wall": wall,
                "virtual": end["t"] - start["t"]}
    finally:
        page.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring window per case")
    args = parser.parse_args(argv)
    with server_and_browser() as (browser, server):
        print(f"{'case':36} {'fps':>6} {'dropped':>8} {'dots min':>9} {'dots mean':>10} {'window':>8}")
        for name, viewport, presentation in CASES:
            r = measure(browser, server.url, viewport, presentation, args.seconds)
            print(f"{name:36} {r['fps']:6.1f} {r['dropped']:8d} {r['dots_min']:9d} "
                  f"{r['dots_mean']:10.0f} {r['wall']:7.1f}s")
    print(f"chromium: {chromium_path()}; flags: {' '.join(CHROMIUM_ARGS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
