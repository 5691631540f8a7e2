"""The course pages: index (also on ``/``), lesson pages, glossary and references.

The course is loaded and validated once, when the blueprint is registered (start-up), and kept in
``app.extensions``; broken lessons are logged then and listed on the index as unavailable. Views
only render: Markdown goes through ``render`` (sanitised), strategy code is read from disk per
request so the page always shows the module that runs.
"""
from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from markupsafe import Markup

from webapp.lessons import render
from webapp.lessons.codelines import code_of, strategy_names
from webapp.lessons.expr import evaluate
from webapp.lessons.loader import load_course
from webapp.lessons.model import Choice, Course, Experiment, Lesson

bp = Blueprint("lessons", __name__)

COURSE_KEY = "herdlab.course"
MAX_SUMMARY_BYTES = 64_000  # a goal check posts one run summary; nothing legitimate is larger
MAX_SUMMARY_DEPTH = 4       # a summary nests one level ({"latency_answered_ms": {"p99": ...}}); allow a little more
MAX_NUMBER = 1e15           # larger than any count or duration a run can report


class BadSummary(ValueError):
    """The posted body is not ``{"summary": {...}}`` with a run summary's plain values."""


def _summary_from(body: bytes) -> dict[str, Any]:
    """Parse and vet a posted goal body; raise BadSummary with a sentence for the student.

    Parsed here rather than with ``request.get_json`` so that deep nesting (RecursionError), NaN
    and numbers too large for a float become a 400 with a reason, never a 500.
    """
    def refuse_constant(name: str) -> None:
        raise BadSummary(f"{name} is not a number a run reports")

    try:
        data = json.loads(body, parse_constant=refuse_constant)
    except RecursionError:
        raise BadSummary("the summary is nested too deeply") from None
    except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
        raise BadSummary(f"the body is not JSON: {exc}") from None
    summary = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(summary, dict):
        raise BadSummary('send {"summary": {...}} with the run\'s summary')
    _vet(summary, 1)
    return summary


def _vet(node: dict[str, Any], depth: int) -> None:
    """Only what a run summary holds: objects of text, flags, finite numbers and nulls."""
    if depth > MAX_SUMMARY_DEPTH:
        raise BadSummary("the summary is nested too deeply")
    for key, value in node.items():
        if isinstance(value, dict):
            _vet(value, depth + 1)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if abs(value) > MAX_NUMBER or not math.isfinite(value):  # ints compare exactly first
                raise BadSummary(f"{key!r} is not a number a run can report")
        elif not isinstance(value, (str, bool)) and value is not None:
            raise BadSummary(f"{key!r} holds a list; a summary has none")


@bp.record_once
def _load(state: Any) -> None:
    state.app.extensions[COURSE_KEY] = load_course()


def course() -> Course:
    return current_app.extensions[COURSE_KEY]


@bp.app_template_global("lessons_course")
def lessons_course() -> Course:
    """The course for templates outside this blueprint (the home page lists it too)."""
    return course()


def _choices(choices: tuple[Choice, ...]) -> list[dict[str, str]]:
    return [{"html": render.inline(c.text), "why": render.markdown(c.why) if c.why else ""}
            for c in choices]


def _client_data(lesson: Lesson) -> dict[str, Any]:
    """What the lesson's script needs: experiments for the lab, answers, reveal keys, the goal.

    ``steps`` lists the step ids in page order; ``step_info`` says, for each, the experiment its
    button loads, the moment of that run it is about (the ``nth`` of them, on ``side`` a or b)
    and the strategy shown beside it;
    ``code_lines`` maps each shown strategy's events to its lines (``codelines.code_of``).
    The shape is the contract with the page (/work/coord/CONTRACTS.md, lessons L1-L3).
    """
    p = lesson.prediction
    return {
        "id": lesson.id,
        "steps": [s.id for s in lesson.steps],
        "step_info": {s.id: {"experiment": s.experiment, "moment": s.moment, "nth": s.nth,
                             "side": s.side, "code": s.code}
                      for s in lesson.steps},
        "experiments": {e.id: _experiment_data(e) for e in lesson.experiments},
        "code_lines": {s.code: found["lines"] for s in lesson.steps
                       if s.code and (found := code_of(s.code))},
        "prediction": None if p is None else {
            "step": p.step, "experiment": p.experiment, "answer": p.answer,
            "reveal": list(p.reveal), "choices": [c.text for c in p.choices]},
        "checkpoints": {c.id: {"answer": c.answer} for c in lesson.checkpoints},
        "goal": None if lesson.goal is None else {
            "experiment": lesson.goal.experiment, "url": url_for("lessons.goal", lesson_id=lesson.id)},
    }


def _experiment_data(e: Experiment) -> dict[str, Any]:
    """An experiment for the lab; ``compare`` (side B's overrides, as ``start.compare``) if a pair."""
    data = {"label": e.label, "preset": e.preset, "overrides": e.overrides,
            "controls": list(e.controls)}
    if e.compare is not None:
        data["compare"] = e.compare
    return data


@bp.get("/api/code/<path:module>")  # path: a name with "/" gets the JSON 404 too
def code(module: str):
    """A strategy module's source and its event lines, for the page that lights the code up."""
    found = code_of(module)
    if found is None:
        return jsonify(error=f"{module[:64]!r} is not a strategy module; known: "
                       + ", ".join(sorted(strategy_names()))), 404
    return jsonify(found)


@bp.get("/lessons")
def index():
    return render_template("lessons/index.html", course=course())


@bp.get("/lessons/<lesson_id>")
def lesson(lesson_id: str):
    found = course().lesson(lesson_id)
    if found is None:
        abort(404)
    before, after = course().neighbours(found)
    code = {s.code: render.strategy_code(s.code) for s in found.steps if s.code}
    goal_steps = [s.id for s in found.steps if found.goal and s.experiment == found.goal.experiment]
    return render_template(
        "lessons/lesson.html", lesson=found, before=before, after=after, code=code,
        goal_step=goal_steps[-1] if goal_steps else None,
        md=lambda text: Markup(render.markdown(text)), inline=lambda text: Markup(render.inline(text)),
        choices=_choices, client=_client_data(found),
        references=[course().references[r] for r in found.references])


@bp.post("/lessons/<lesson_id>/goal")
def goal(lesson_id: str):
    """Check a student's own run against the lesson's goal (the capstone): one verdict per line."""
    found = course().lesson(lesson_id)
    if found is None or found.goal is None:
        abort(404)
    if (request.content_length or 0) > MAX_SUMMARY_BYTES:
        abort(413)
    body = request.stream.read(MAX_SUMMARY_BYTES + 1)  # bounded even without a Content-Length
    if len(body) > MAX_SUMMARY_BYTES:
        abort(413)
    try:
        summary = _summary_from(body)
    except BadSummary as exc:
        return jsonify(error=str(exc)), 400
    results = []
    for expect in found.goal.expects:
        verdict = evaluate(expect, {found.goal.experiment: summary}, own=found.goal.experiment)
        results.append({"check": expect.text, "ok": verdict.ok, "detail": verdict.detail})
    return jsonify(ok=all(r["ok"] for r in results), results=results)


@bp.get("/glossary")
def glossary():
    return render_template("lessons/glossary.html", terms=course().glossary,
                           md=lambda text: Markup(render.markdown(text)))


@bp.get("/references")
def references():
    cited: dict[str, list[Lesson]] = {}
    for item in course().lessons:
        for ref in item.references:
            cited.setdefault(ref, []).append(item)
    return render_template("lessons/references.html", references=course().references.values(),
                           cited=cited)
