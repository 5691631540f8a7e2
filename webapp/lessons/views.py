"""The course pages: index (also on ``/``), lesson pages, glossary and references.

The course is loaded and validated once, when the blueprint is registered (start-up), and kept in
``app.extensions``; broken lessons are logged then and listed on the index as unavailable. Views
only render: Markdown goes through ``render`` (sanitised), strategy code is read from disk per
request so the page always shows the module that runs.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from markupsafe import Markup

from webapp.lessons import render
from webapp.lessons.expr import evaluate
from webapp.lessons.loader import load_course
from webapp.lessons.model import Choice, Course, Lesson

bp = Blueprint("lessons", __name__)

COURSE_KEY = "herdlab.course"
MAX_SUMMARY_BYTES = 64_000  # a goal check posts one run summary; nothing legitimate is larger


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
    """What the lesson's script needs: experiments for the lab, answers, reveal keys, the goal."""
    p = lesson.prediction
    return {
        "id": lesson.id,
        "steps": [s.id for s in lesson.steps],
        "experiments": {e.id: {"label": e.label, "preset": e.preset, "overrides": e.overrides,
                               "controls": list(e.controls)} for e in lesson.experiments},
        "prediction": None if p is None else {
            "step": p.step, "experiment": p.experiment, "answer": p.answer,
            "reveal": list(p.reveal), "choices": [c.text for c in p.choices]},
        "checkpoints": {c.id: {"answer": c.answer} for c in lesson.checkpoints},
        "goal": None if lesson.goal is None else {
            "experiment": lesson.goal.experiment, "url": url_for("lessons.goal", lesson_id=lesson.id)},
    }


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
    try:
        body = request.get_json(silent=True)
    except RecursionError:   # nesting too deep to parse is not JSON we take (a 400, not a 500)
        body = None
    summary = body.get("summary") if isinstance(body, dict) else None
    if not isinstance(summary, dict):
        return jsonify(error="send {\"summary\": {...}} with the run's summary"), 400
    results = []
    try:
        for expect in found.goal.expects:
            verdict = evaluate(expect, {found.goal.experiment: summary}, own=found.goal.experiment)
            results.append({"check": expect.text, "ok": verdict.ok, "detail": verdict.detail})
    except ArithmeticError:   # e.g. a 400-digit integer that no float can hold
        return jsonify(error="a number in the summary is out of range"), 400
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
