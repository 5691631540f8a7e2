"""Prove a lesson's claims: run its experiments and evaluate every check on their summaries.

This is what ``python -m webapp lessons check`` and the test suite run, so a lesson that says "one
datastore query per chunk" fails loudly the day the engine stops making it true.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from webapp.lessons.experiments import run_lesson
from webapp.lessons.expr import Comparison, Verdict, evaluate
from webapp.lessons.model import Course, Lesson


@dataclass(frozen=True)
class Outcome:
    lesson: str
    experiment: str
    claim: str
    check: Comparison
    verdict: Verdict

    def line(self) -> str:
        mark = "ok  " if self.verdict.ok else "FAIL"
        return (f"{mark} {self.lesson} [{self.experiment}] {self.check.text}  "
                f"({self.verdict.detail}) — {self.claim}")


def check_lesson(lesson: Lesson) -> Iterator[Outcome]:
    """Run the lesson's experiments once each, then evaluate all its checks against them."""
    summaries = run_lesson(lesson)
    for check in lesson.all_checks():
        verdict = evaluate(check.expect, summaries, own=check.experiment)
        yield Outcome(lesson.id, check.experiment, check.claim, check.expect, verdict)


def check_course(course: Course) -> Iterator[Outcome]:
    for lesson in course.lessons:
        yield from check_lesson(lesson)
