"""One instant, one picture, everywhere, when a run stands still: paused by the button or the
keyboard, stepped, in compare mode and in a lesson, the numbers beside the picture (the sample the
cards, the stage's counts, the code panel and the charts' last point read) are those of the very
instant the page shows, as the engine itself gives them there. (They used to be the last sample,
up to a sampling interval older than the dots and the time on screen.) Getting them costs the
server nothing once they are there, however often the student pauses.

Every wait is on a state with a generous deadline (a busy machine makes a run slower, never wrong)."""
from __future__ import annotations

import os
import time

from webapp.engine import Simulation, parse_scenario

from tests.browser.lab_helpers import card, open_lab

REACH_MS = 60_000
# What the page shows while paused, read at once (side "b": compare mode's other side).
SHOWN = """() => {
  const h = window.herdlab, store = h.lab.store;
  return { status: h.status, t: h.t, sample: h.sample, sampleB: h.sampleB, scenario: store.scenario,
           scenarioB: store.scenarioB, inputs: store.inputs, lastPoint: store.a.series.t.at(-1) };
}"""
EXACT = ("window.herdlab.status === 'paused' && window.herdlab.sample?.t === window.herdlab.t"
         " && (!window.herdlab.compare || window.herdlab.sampleB?.t === window.herdlab.t)")
COUNTS = ("completed", "errors", "timeouts", "inflight_requests", "db_queries", "coalesced",
          "queued", "in_service", "state", "retries", "cache_hits", "waiting", "herds", "made")


def engine_sample(scenario: dict, t: float, inputs: list | tuple = ()) -> dict:
    """The engine's own sample at exactly ``t`` (everything at ``t`` done), as the page names it."""
    sim = Simulation(parse_scenario(scenario), record_requests=False, inputs=list(inputs))
    sim.advance(t)
    return sim.peek().to_dict()


def paused_exactly(page) -> dict:
    """Once the page stands paused with the numbers of its instant: what it shows."""
    page.wait_for_function(EXACT, timeout=20_000)
    return page.evaluate(SHOWN)


def assert_the_engines(shown: dict, sample_key: str = "sample", scenario_key: str = "scenario") -> dict:
    engine = engine_sample(shown[scenario_key], shown["t"], shown["inputs"])
    got = shown[sample_key]
    assert got["t"] == shown["t"]
    assert {k: got[k] for k in COUNTS} == {k: _json(engine[k]) for k in COUNTS}, shown["t"]
    return engine


def _json(value):
    """A value as it reaches the page (tuples become lists, dict keys strings)."""
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return value


def test_pausing_and_stepping_show_the_numbers_of_the_instant_on_the_page(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=2")
    page.get_by_role("button", name="Run the experiment").click()
    for i, at in enumerate((0.9, 2.35, 4.6, 8.3)):
        page.wait_for_function(f"window.herdlab.status === 'playing' && window.herdlab.t > {at}", timeout=REACH_MS)
        if i % 2:   # by the keyboard (the stage's page-wide Space) or by the button
            page.evaluate("document.activeElement?.blur()")
            page.keyboard.press("Space")
        else:
            page.get_by_role("button", name="Pause").click()
        shown = paused_exactly(page)
        engine = assert_the_engines(shown)
        page.wait_for_timeout(150)   # (the cards follow the store at most 10 times a second)
        assert card(page, "answered") == f"{engine['completed']:,}"
        assert card(page, "db_queries") == f"{engine['db_queries']:,}"
        page.wait_for_function(f"window.herdlab.lab.store.a.series.t.at(-1) === {shown['t']}")   # the charts reach it
        # A step moves the picture on: its frame brings the numbers of where it lands.
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(f"window.herdlab.t > {shown['t']}")
        stepped = paused_exactly(page)
        assert_the_engines(stepped)
        page.get_by_role("button", name="Resume").click()
    assert page.js_errors == []


def test_the_paused_instants_point_gives_way_to_the_next_sample_in_the_charts(page, live_server):
    """A paused instant's sample covers part of a sampling interval: once the run plays on, the
    grid's sample there takes its place, so the charts' rates are never of a sliver of time."""
    open_lab(page, live_server, "?preset=classroom&speed=2")
    page.get_by_role("button", name="Run the experiment").click()
    page.wait_for_function("window.herdlab.t > 1.23", timeout=REACH_MS)
    page.get_by_role("button", name="Pause").click()
    shown = paused_exactly(page)
    page.get_by_role("button", name="Resume").click()
    page.wait_for_function(f"window.herdlab.t > {shown['t'] + 1}", timeout=REACH_MS)
    times = page.evaluate("window.herdlab.lab.store.a.series.t")
    every = parse_scenario(shown["scenario"]).sample_interval_s
    grid = [round(k * every, 6) for k in range(1, len(times) + 1)]
    assert times == grid[:len(times)]
    assert shown["t"] not in times


def test_both_sides_of_a_pair_show_the_paused_instant(page, live_server):
    open_lab(page, live_server, "?preset=classroom&speed=2")
    page.get_by_role("button", name="Compare A/B").click()
    page.get_by_role("button", name="Run the experiment").click()
    for at in (1.1, 3.7):
        page.wait_for_function(f"window.herdlab.status === 'playing' && window.herdlab.t > {at}", timeout=REACH_MS)
        page.get_by_role("button", name="Pause").click()
        shown = paused_exactly(page)
        a = assert_the_engines(shown)
        b = assert_the_engines(shown, "sampleB", "scenarioB")
        page.wait_for_timeout(150)
        assert card(page, "answered") == f"A {a['completed']:,}\nB {b['completed']:,}"
        page.get_by_role("button", name="Resume").click()
    assert page.js_errors == []


def test_a_lessons_lab_paused_by_the_student_shows_its_instant(page, live_server):
    page.goto(f"{live_server.url}/lessons/celebrity-goes-live?speed=2")
    page.locator('#conn-state[data-state="connected"]').wait_for()
    page.locator('[data-role="controls"] input').first.wait_for()
    page.evaluate("window.herdlabLesson.lab.setStory(false)")   # the student's own pause, not a hold
    page.evaluate("window.herdlabLesson.lab.start()")
    page.wait_for_function("window.herdlab.status === 'playing' && window.herdlab.t > 2.1", timeout=REACH_MS)
    page.get_by_role("button", name="Pause").click()
    engine = assert_the_engines(paused_exactly(page))
    page.wait_for_timeout(150)
    assert card(page, "answered") == f"{engine['completed']:,}"
    assert page.js_errors == []


def test_pausing_again_and_again_queues_no_work_and_a_paused_run_stays_idle(page, live_server):
    """Pauses and resumes sent at once ask for one instant at a time; once the page shows its paused
    instant exactly, the run's workers use no CPU (under 5% of a core; the web process's own share
    is tests/reliability's)."""
    open_lab(page, live_server, "?preset=expiry-herd&speed=1")
    page.get_by_role("button", name="Run the experiment").click()
    page.wait_for_function("window.herdlab.status === 'playing' && window.herdlab.t > 1", timeout=REACH_MS)
    page.evaluate("""() => { const lab = window.herdlab.lab;
      for (let i = 0; i < 12; i++) lab.control(i % 2 ? "resume" : "pause");
      lab.control("pause"); }""")
    paused_exactly(page)
    page.wait_for_timeout(500)   # (a worker told to stop says so and goes idle)
    used = workers_cpu_s(live_server.proc.pid)
    started = time.monotonic()
    page.wait_for_timeout(4_000)
    used = workers_cpu_s(live_server.proc.pid) - used
    assert used < 0.05 * (time.monotonic() - started), used
    assert page.evaluate("window.herdlab.status") == "paused"
    assert page.js_errors == []


def workers_cpu_s(pid: int) -> float:
    """CPU time (user + system) of a process's living children (the server's workers)."""
    ticks = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            for child in f.read().split():
                try:
                    with open(f"/proc/{child}/stat") as g:
                        fields = g.read().rsplit(")", 1)[1].split()
                    ticks += int(fields[11]) + int(fields[12])
                except OSError:
                    pass
    return ticks / os.sysconf("SC_CLK_TCK")
