"""Prove a lesson's claims: run its experiments and evaluate every check on their summaries.

This is what ``python -m webapp lessons check`` and the test suite run, so a lesson that says "one
datastore query per chunk" fails loudly the day the engine stops making it true.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

from webapp.lessons.experiments import run_summary_of
from webapp.lessons.expr import Comparison, Verdict, evaluate
from webapp.lessons.model import Lesson


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
    """Run the lesson's experiments once each, then evaluate all its checks against them.

    A run that raises fails the checks that read it (with the exception) instead of stopping the
    whole check, so one broken engine path shows up as failures beside the lessons that still hold.
    """
    summaries: dict[str, dict[str, Any]] = {}
    crashed: dict[str, str] = {}
    for experiment in lesson.experiments:
        try:
            summaries[experiment.id] = run_summary_of(experiment)
        except Exception as exc:  # noqa: BLE001 - reported per check, never swallowed
            crashed[experiment.id] = f"the run raised {type(exc).__name__}: {exc}"
    for check in lesson.all_checks():
        needs = {check.experiment} | {r.experiment for r in check.expect.refs() if r.experiment}
        broken = sorted(needs & crashed.keys())
        if broken:
            verdict = Verdict(False, math.nan, math.nan, crashed[broken[0]])
        else:
            verdict = evaluate(check.expect, summaries, own=check.experiment)
        yield Outcome(lesson.id, check.experiment, check.claim, check.expect, verdict)
