"""Story mode in lessons (issue 11): steps name their moment, experiments declare a pair, the code
lights up from ``/api/code``; and ``lessons check`` proves each of them on the runs it makes."""
from __future__ import annotations

import json
import re

import pytest

from webapp.engine import Simulation
from webapp.engine.moments import WHATS, compact
from webapp.lessons.checks import check_lessons
from webapp.lessons import codelines
from webapp.lessons.codelines import code_of
from webapp.lessons.experiments import MOMENT_STATS, run_summary_of, scenario_for
from webapp.lessons.expr import ExprError, Ref, parse
from webapp.lessons.loader import load_course
from webapp.lessons.model import Experiment
from webapp.lessons.render import STRATEGIES_DIR
from webapp.strategies.lines import event_lines, modules
from webapp.transport.payloads import _parse_compare

COURSE = load_course()


def _page_data(client, lesson_id: str) -> dict:
    html = client.get(f"/lessons/{lesson_id}").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="lesson-data">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


# ---- L2: a pair's side B is the run the lab's compare mode makes --------------------------------

def test_side_b_is_the_experiment_with_its_compare_overrides_merged_key_by_key():
    a = Experiment("pair", "Pair", "classroom",
                   {"strategy": {"coalesce": "lock", "lock_poll_ms": 100}, "clients": {"count": 50}},
                   (), compare={"strategy": {"coalesce": "promise"}, "duration_s": 8})
    b = a.side_b()
    assert b.id == "pair.b" and b.compare is None and b.preset == a.preset
    assert b.overrides == {"strategy": {"coalesce": "promise", "lock_poll_ms": 100},
                           "clients": {"count": 50}, "duration_s": 8}
    assert a.overrides["strategy"]["coalesce"] == "lock"  # A is left as it was
    # The server's compare mode builds side B from A's full scenario; it is the same scenario.
    assert scenario_for(b) == _parse_compare(scenario_for(a), a.compare)
    assert Experiment("solo", "Solo", "classroom", {}, ()).side_b() is None


def test_checks_read_side_b_and_a_claim_true_only_of_a_fails(course_dir, add_lesson):
    def pair(front: dict) -> None:
        front["experiments"][0]["compare"] = {"strategy": {"coalesce": "promise"}}
        front["checks"] = [
            {"experiment": "herd.b", "expect": "db_queries == chunks", "says": "errors appear"},
            {"experiment": "herd", "expect": "herd.b:errors == 0", "says": "errors appear"},
            {"experiment": "herd", "expect": "errors == 0", "says": "errors appear"},  # false of A
        ]

    add_lesson("a-pair", pair)
    course = load_course(course_dir)
    assert course.problems == ()
    lesson = course.lesson("a-pair")
    assert [e.id for e in lesson.runs()] == [*(e.id for e in lesson.experiments), "herd.b"]
    outcomes = check_lessons([lesson], (1, 2), jobs=1)
    verdicts = {o.check.expect.text: o.ok for o in outcomes if o.check in lesson.checks}
    assert verdicts == {"db_queries == chunks": True, "herd.b:errors == 0": True,
                        "errors == 0": False}


def test_a_side_b_reference_is_part_of_the_grammar_and_nothing_else_is():
    assert parse("pair.b:db_queries == 1").refs() == [Ref("pair.b", "db_queries")]
    with pytest.raises(ExprError):
        parse("pair.c:db_queries == 1")


# ---- L1 and L4: a step's moment, checked on every side of its run -------------------------------

def test_every_step_naming_a_moment_has_a_check_per_side_of_its_run():
    named = [(lesson, step) for lesson in COURSE.lessons for step in lesson.steps if step.moment]
    assert {(lesson.id, step.id, step.moment) for lesson, step in named} >= {
        ("promises", "code", "resolved"), ("promises", "compare", "resolved"),
        ("many-servers", "marker", "resolved"), ("many-servers", "leader-dies", "takeover"),
        ("when-a-promise-fails", "forget", "resolved"),
        ("celebrity-goes-live", "watch", "db_down"), ("retry-storms", "waves", "retry_wave"),
        ("metastable-failure", "littles-law", "db_overloaded")}
    for lesson, step in named:
        assert step.moment in WHATS and step.experiment is not None
        sides = [e.id for e in filter(None, [lesson.experiment(step.experiment),
                                             lesson.experiment(step.experiment).side_b()])]
        checks = [c for c in lesson.moment_checks() if step.id in c.says]
        narrated = sides[1] if step.side == "b" else sides[0]     # the nth of them, on that side
        assert [(c.experiment, c.expect.text) for c in checks] == [
            (side, f"moments.{step.moment} >= {step.nth if side == narrated else 1}") for side in sides]
        assert checks[0] in lesson.all_checks()


def test_a_step_names_which_of_its_moments_and_which_side_of_a_pair_the_page_narrates(
        course_dir, add_lesson):
    """``nth`` and ``side`` (issue 19): lesson 9 narrates the second retry wave, the one that meets
    the recovered datastore; lessons 5 and 6 narrate their pair's side B, whose code they show."""
    steps = {(lesson.id, step.id): step for lesson in COURSE.lessons for step in lesson.steps}
    assert (steps["retry-storms", "waves"].nth, steps["retry-storms", "waves"].side) == (2, "a")
    assert steps["promises", "compare"].side == steps["many-servers", "marker"].side == "b"
    for lesson, step in (("celebrity-goes-live", "predict"), ("promises", "predict"),
                         ("many-servers", "predict"), ("retry-storms", "predict"),
                         ("metastable-failure", "predict")):
        assert steps[lesson, step].moment, (lesson, step)        # the prediction's run is narrated
    bad = {"nth without a moment": (0, {"nth": 2}, "steps[0].nth"),     # (lesson 1's steps)
           "nth of 0": (2, {"nth": 0}, "steps[2].nth"),
           "side c": (2, {"side": "c"}, "steps[2].side"),
           "side b of no pair": (2, {"side": "b"}, "steps[2].side")}
    for name, (i, keys, where) in bad.items():
        add_lesson("bad-story", lambda front: front["steps"][i].update(keys))
        problems = load_course(course_dir).problems
        assert problems and where in str(problems[0]), (name, problems)


def test_a_step_naming_a_moment_its_run_does_not_make_fails_the_check(course_dir, add_lesson):
    # Lesson 1's herd has one server and no coalescing: nobody takes a fetch over.
    add_lesson("no-takeover", lambda front: front["steps"][2].update(moment="takeover"))
    lesson = load_course(course_dir).lesson("no-takeover")
    [outcome] = [o for o in check_lessons([lesson], (1,), jobs=1)
                 if o.check in lesson.moment_checks() and "'watch'" in o.check.says]
    assert not outcome.ok and outcome.check.says == "step 'watch' shows the moment 'takeover'"


@pytest.mark.parametrize("preset, overrides", [
    ("classroom", {"strategy": {"coalesce": "promise"}}),
    ("fleet", {"strategy": {"coalesce": "distributed", "lease_ms": 1000},
               "faults": {"leader_dies": True}, "clients": {"retries": 1}}),
])
def test_moment_numbers_are_those_of_the_moments_a_recorded_run_streams(preset, overrides):
    """``moment.WHAT.FIELD`` from a summary-only run equals what the page's recorded run shows."""
    experiment = Experiment("x", "x", preset, {**overrides, "seed": 3}, ())
    stats = run_summary_of(experiment)["moment"]
    recorded = [compact(ev) for ev in Simulation(scenario_for(experiment)).events()
                if ev.kind == "moment"]
    assert recorded
    for what in WHATS:
        made = [m for m in recorded if m["what"] == what]
        numbers = [m.get("number", 0) for m in made if "number" in m] or [0]
        times = [m["t"] for m in made] or [0]
        assert set(stats[what]) == set(MOMENT_STATS)
        assert stats[what]["number_sum"] == sum(numbers)
        assert (stats[what]["number_min"], stats[what]["number_max"]) == (min(numbers), max(numbers))
        assert stats[what]["first_t"] == pytest.approx(min(times), abs=1e-6)
        assert stats[what]["last_t"] == pytest.approx(max(times), abs=1e-6)


# ---- the page's JSON -----------------------------------------------------------------------------

@pytest.mark.parametrize("lesson", COURSE.lessons, ids=[lesson.id for lesson in COURSE.lessons])
def test_page_data_says_each_steps_experiment_moment_and_code(client, lesson):
    data = _page_data(client, lesson.id)
    assert data["steps"] == [s.id for s in lesson.steps]  # unchanged: ids in page order
    assert data["step_info"] == {s.id: {"experiment": s.experiment, "moment": s.moment, "nth": s.nth,
                                        "side": s.side, "code": s.code}
                                 for s in lesson.steps}
    for e in lesson.experiments:
        assert data["experiments"][e.id].get("compare") == e.compare
        assert ("compare" in data["experiments"][e.id]) == (e.compare is not None)
    assert data["code_lines"] == {s.code: event_lines(s.code) for s in lesson.steps if s.code}


def test_lessons_5_and_6_declare_the_pairs_the_story_needs(client):
    five, six = _page_data(client, "promises"), _page_data(client, "many-servers")
    pair = five["experiments"][five["step_info"]["compare"]["experiment"]]
    assert (pair["overrides"], pair["compare"]) == ({"strategy": {"coalesce": "lock"}},
                                                    {"strategy": {"coalesce": "promise"}})
    pair = six["experiments"][six["step_info"]["marker"]["experiment"]]
    assert pair["compare"] == {"strategy": {"coalesce": "distributed"}}


# ---- L3: GET /api/code/<module> -------------------------------------------------------------------

@pytest.mark.parametrize("module", modules())
def test_code_api_serves_every_strategy_module_with_its_event_lines(client, module):
    reply = client.get(f"/api/code/{module}")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body == {"module": module, "source": (STRATEGIES_DIR / f"{module}.py").read_text(),
                    "lines": event_lines(module)}


def test_code_api_lines_point_at_the_calls_that_make_each_event(client):
    body = client.get("/api/code/promise").get_json()
    source = body["source"].splitlines()
    [wait] = body["lines"]["promise_wait"]
    assert "PROMISE_WAIT" in source[wait["line"] - 1]


@pytest.mark.parametrize("name", ["lines", "__init__", "nope", "promise.py", "../config",
                                  "..%2Fconfig", "promise/../lock", "x" * 300, "Promise"])
def test_code_api_refuses_anything_but_a_strategy_module_with_json(client, name):
    reply = client.get(f"/api/code/{name}")
    assert reply.status_code == 404
    assert "is not a strategy module" in reply.get_json()["error"]


def test_code_api_answers_from_its_cache_and_unknown_names_do_not_enter_it():
    assert code_of("promise") is code_of("promise")
    before = codelines._code.cache_info().currsize
    for i in range(50):
        assert code_of(f"no-such-module-{i}") is None
    assert codelines._code.cache_info().currsize == before <= len(modules())
