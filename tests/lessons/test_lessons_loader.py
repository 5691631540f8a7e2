"""Loading the course: every real lesson loads; each kind of broken lesson is rejected by name."""
from __future__ import annotations

import logging
from typing import Any, Callable

import pytest

from webapp.lessons.loader import load_course, split_steps


# The course in order (issue 18 adds three lessons, orders 12 to 14, before the capstone at 15).
ISSUE_LESSONS = [
    "celebrity-goes-live", "why-the-cache-did-not-help", "queueing", "take-a-lock", "promises",
    "many-servers", "when-a-promise-fails", "expiry-herds", "retry-storms", "metastable-failure",
    "live-video-at-scale", "cold-start", "hot-keys", "when-coalescing-goes-wrong", "capstone",
]


def test_every_lesson_in_the_course_loads():
    course = load_course()
    assert course.problems == ()
    ids = [lesson.id for lesson in course.lessons]
    assert [i for i in ids if i in ISSUE_LESSONS] == ISSUE_LESSONS
    assert ids[-1] == "capstone" and course.lesson("capstone").order == 15
    assert course.lesson("capstone").file == "15-capstone.md"
    assert [lesson.order for lesson in course.lessons] == sorted(l.order for l in course.lessons)
    for lesson in course.lessons:
        assert lesson.prediction is not None, lesson.id
        assert lesson.checkpoints, lesson.id
        assert lesson.checks, lesson.id
        for checkpoint in lesson.checkpoints:
            assert all(choice.why for choice in checkpoint.choices), (lesson.id, checkpoint.id)


def test_glossary_and_references_load():
    course = load_course()
    assert {"thundering-herd", "promise", "lease"} <= {t.id for t in course.glossary}
    assert course.references["drake-story"].confidence == "U"


def test_good_copy_loads(course_dir):
    course = load_course(course_dir)
    assert course.problems == ()
    assert [l.id for l in course.lessons] == ["celebrity-goes-live"]


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """An edit that sets a dotted path (numeric parts index lists) in the front matter."""

    def edit(front: dict) -> None:
        *parents, last = path.split(".")
        node: Any = front
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return edit


def _drop(path: str) -> Callable[[dict], None]:
    def edit(front: dict) -> None:
        *parents, last = path.split(".")
        node: Any = front
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[int(last) if last.isdigit() else last]

    return edit


BROKEN = [
    ("missing-title", _drop("title"), "title", "is missing"),
    ("order-not-int", _set("order", "first"), "order", "must be int"),
    ("order-is-bool", _set("order", True), "order", "must be int"),
    ("unknown-field", _set("chioces", 1), "chioces", "is not a known field"),
    ("bad-id", _set("id", "Has Spaces"), "id", "lowercase words"),
    ("unknown-preset", _set("experiments.0.preset", "nope"), "experiments[0].overrides",
     "no preset named"),
    ("bad-override", _set("experiments.0.overrides", {"clients": {"count": -5}}),
     "experiments[0].overrides.clients.count", "out of range"),
    ("unknown-override", _set("experiments.0.overrides", {"clients": {"cuont": 5}}),
     "experiments[0].overrides.clients.cuont", "not a known key"),
    ("bad-control", _set("experiments.0.controls", ["clients.count", "rocket.speed"]),
     "experiments[0].controls[1]", "not a scenario key"),
    ("answer-out-of-range", _set("prediction.answer", 7), "prediction.answer", "from 0 to 3"),
    ("checkpoint-answer-negative", _set("checkpoints.0.answer", -1), "checkpoints[0].answer",
     "from 0 to 2"),
    ("choice-without-why", _drop("checkpoints.1.choices.0.why"), "checkpoints[1].choices[0].why",
     "is missing"),
    ("one-choice", _set("checkpoints.0.choices", [{"text": "a", "why": "b"}]),
     "checkpoints[0].choices", "at least two"),
    ("unparseable-check", _set("checks.0.expect", "errors >"), "checks[0].expect",
     "not a valid check"),
    ("python-in-check", _set("checks.0.expect", "__import__('os').system('x') == 0"),
     "checks[0].expect", "not a valid check"),
    ("unknown-summary-key", _set("checks.0.expect", "explosions > 0"), "checks[0].expect",
     "'explosions', which is not a numeric summary key"),
    ("unknown-experiment-in-check", _set("checks.0.expect", "other:errors > 0"),
     "checks[0].expect", "unknown experiment 'other'"),
    ("check-experiment-unknown", _set("checks.0.experiment", "ghost"), "checks[0].experiment",
     "unknown experiment 'ghost'"),
    ("unknown-reveal", _set("prediction.reveal", ["db_queries", "vibes"]), "prediction.reveal[1]",
     "'vibes'"),
    ("prediction-step-unknown", _set("prediction.step", "nowhere"), "prediction.step",
     "unknown step 'nowhere'"),
    ("references-listed-by-hand", _set("references", ["fb-live-2015"]), "references",
     "is not a known field"),
    ("says-not-in-text", _set("checks.0.says", "words the lesson never says"), "checks[0].says",
     "is not in the lesson's text"),
    ("one-sided-unknown-words", _set("checks.0.one_sided", "roughly"), "checks[0].one_sided",
     "is not one-sided wording"),
    ("one-sided-not-quoted", _set("checks.0.one_sided", "more than"), "checks[0].one_sided",
     "is not in the quoted words"),
    ("one-sided-wrong-way", _set("checks.2.expect", "peak_db_inflight < 10 * 4"),
     "checks[2].one_sided", "'more than' bounds the value from below, but the check bounds it upper"),
    ("one-sided-but-exact", lambda f: f["checks"][0].update(
        says="more than ten times as many queries as its 4 connections", one_sided="more than"),
     "checks[0].one_sided", "but the check bounds it on both sides"),
    ("share-not-stated", _set("checks.4.expect", "errors > 0 in most runs"),
     "checks[4].says", "must say how often"),
    ("share-on-prediction", _set("prediction.check", "db_queries > 0 in most runs"),
     "prediction.check", "must hold on every seed"),
    ("events-in-reveal", _set("prediction.reveal", ["events.cache_reads"]), "prediction.reveal[0]",
     "which only a check may read"),
    ("max-seeds-without-why", _set("experiments.0.max_seeds", 3), "experiments[0].max_seeds_why",
     "go together"),
    ("max-seeds-zero", lambda f: f["experiments"][0].update(max_seeds=0, max_seeds_why="x"),
     "experiments[0].max_seeds", "at least 1"),
    ("window-not-a-pair", _set("experiments.0.windows", {"late": [4]}), "experiments[0].windows.late",
     "must be [from_s, to_s]"),
    ("window-bad-name", _set("experiments.0.windows", {"Late-1": [2, 4]}),
     "experiments[0].windows.Late-1", "lowercase letters"),
    ("window-past-the-arrivals", _set("experiments.0.windows", {"late": [10, 999]}),
     "experiments[0].windows.late", "to_s <= duration_s (16)"),
    ("window-backwards", _set("experiments.0.windows", {"late": [4, 2]}),
     "experiments[0].windows.late", "from_s < to_s"),
    ("window-off-the-sample-grid", _set("experiments.0.windows", {"late": [2.01, 4]}),
     "experiments[0].windows.late", "not a multiple of sample_interval_s"),
    ("too-many-windows", _set("experiments.0.windows", {f"w{i}": [i, i + 1] for i in range(5)}),
     "experiments[0].windows", "at most 4"),
    ("window-of-another-experiment", lambda f: (
        f["experiments"][0].update(windows={"late": [2, 4]}),
        f["checks"][0].update(expect="few:window.late.queued >= 0")),
     "checks[0].expect", "'window.late.queued', which only a check of the experiment that declares"),
    ("window-in-reveal", lambda f: (
        f["experiments"][0].update(windows={"late": [2, 4]}),
        f["prediction"].update(reveal=["window.late.queued"])),
     "prediction.reveal[0]", "a reveal or a goal shows the student's own run"),
    ("window-in-goal", lambda f: (
        f["experiments"][0].update(windows={"late": [2, 4]}),
        f.update(goal={"experiment": "herd", "expect": ["window.late.queued >= 0"], "text": "x"})),
     "goal.expect[0]", "which has no windows"),
    ("moment-unknown", _set("steps.2.moment", "explosion"), "steps[2].moment",
     "'explosion' is not a moment; known: first_miss"),
    ("moment-not-text", _set("steps.2.moment", 3), "steps[2].moment", "must be a moment's name"),
    ("moment-without-experiment", _set("steps.0.moment", "db_down"), "steps[0].moment",
     "names its experiment too"),
    ("moment-detail-in-reveal", _set("prediction.reveal", ["moment.db_down.first_t"]),
     "prediction.reveal[0]", "no moment or event details"),
    ("moment-detail-unknown", _set("checks.0.expect", "moment.explosion.first_t >= 0"),
     "checks[0].expect", "'moment.explosion.first_t', which is not a numeric summary key"),
    ("compare-not-a-mapping", _set("experiments.0.compare", "promise"), "experiments[0].compare",
     "must be a mapping of scenario keys for side B"),
    ("compare-empty", _set("experiments.0.compare", {}), "experiments[0].compare",
     "must change at least one key"),
    ("compare-own-seed", _set("experiments.0.compare", {"seed": 3}), "experiments[0].compare.seed",
     "same seed"),
    ("compare-bad-key", _set("experiments.0.compare", {"strategy": {"coalesce": "teleport"}}),
     "experiments[0].compare.strategy.coalesce", "teleport"),
    ("side-b-of-no-pair", _set("checks.0.experiment", "herd.b"), "checks[0].experiment",
     "unknown experiment 'herd.b'"),
    ("side-b-ref-of-no-pair", _set("checks.0.expect", "requests == herd.b:requests"),
     "checks[0].expect", "unknown experiment 'herd.b'"),
    ("duplicate-step", _set("steps.1.id", "story"), "steps[1].id", "repeats the id 'story'"),
    ("missing-strategy-code", _set("steps.0.code", "teleport"), "steps[0].code",
     "no module webapp/strategies/teleport.py"),
    ("steps-not-list", _set("steps", "story"), "steps", "must be a list"),
    ("duplicate-order", _set("order", 1), "order", "already used by lessons/01-"),
]


@pytest.mark.parametrize("name, edit, field, message", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_lesson_is_rejected_by_file_and_field_and_the_rest_load(
        course_dir, add_lesson, caplog, name, edit, field, message):
    add_lesson(name, edit)
    with caplog.at_level(logging.ERROR):
        course = load_course(course_dir)
    assert [l.id for l in course.lessons] == ["celebrity-goes-live"]
    [problem] = course.problems
    assert problem.file == f"lessons/{name}.md"
    assert problem.field == field
    assert message in problem.message
    assert f"lessons/{name}.md: {field}" in caplog.text


def test_the_sources_are_the_references_the_text_cites(course_dir, add_lesson):
    course = load_course(course_dir)
    assert course.lessons[0].references == ("drake-story", "fb-live-2015")  # in order of citation
    add_lesson("cites-nothing-known",
               body=lambda text: text + "\nSee [a paper](/references#no-such-paper).\n")
    [problem] = load_course(course_dir).problems
    assert (problem.field, problem.message) == (
        "body", "cites /references#no-such-paper, which is not an id in lessons/references.md")


def test_a_one_sided_check_names_the_words_that_make_it_one_sided(course_dir):
    check = load_course(course_dir).lessons[0].checks[2]
    assert (check.expect.bounds, check.one_sided) == ("lower", "more than")
    assert "more than" in check.says


def test_steps_must_match_the_body_headings(course_dir, add_lesson):
    add_lesson("extra-heading", body=lambda text: text + "\n## An extra section\n\nMore.\n")
    [problem] = load_course(course_dir).problems
    steps = len(load_course().lesson("celebrity-goes-live").steps)
    assert (problem.field, problem.message) == (
        "steps", f"lists {steps} steps but the body has {steps + 1} '## ' headings; each step is "
        "one heading")


@pytest.mark.parametrize("text, message", [
    ("no front matter at all\n", "must start with a '---' line"),
    ("---\ntitle: [unclosed\n---\nbody\n", "is not valid YAML"),
    ("---\n- a list\n---\nbody\n", "must be a mapping"),
])
def test_unreadable_front_matter_is_reported(course_dir, text, message):
    (course_dir / "02-broken.md").write_text(text)
    course = load_course(course_dir)
    [problem] = course.problems
    assert problem.file == "lessons/02-broken.md" and message in problem.message
    assert len(course.lessons) == 1


def test_headings_inside_code_fences_do_not_start_steps():
    intro, steps = split_steps("Intro\n\n## One\n\n```\n## not a step\n```\n\n## Two\ntext")
    assert intro == "Intro"
    assert [title for title, _ in steps] == ["One", "Two"]
    assert "## not a step" in steps[0][1]


def test_predictions_are_plain_text_because_the_classroom_shows_them_as_such():
    """A room's students see a lesson's question and choices as text, so no Markdown links there."""
    for lesson in load_course().lessons:
        p = lesson.prediction
        for text in (p.question, *(c.text for c in p.choices)):
            assert "](" not in text, (lesson.id, text)
