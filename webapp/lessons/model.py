"""What a lesson is once its file has been validated: frozen records the pages and checks read.

Everything here is plain data (no Flask, no engine), so the loader, the pages, the JSON the browser
gets and ``lessons check`` all agree on one shape. Ids are stable strings because the classroom
addresses "lesson X, step Y" and the lesson's prediction by them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webapp.lessons.expr import Comparison


@dataclass(frozen=True)
class Experiment:
    """One run the lesson embeds: a preset, overrides on top, and the controls the student sees."""

    id: str
    label: str
    preset: str
    overrides: dict[str, Any]
    controls: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    """A section of the narrative (one ``## `` heading of the body), addressable as ``#step-id``."""

    id: str
    title: str
    markdown: str
    experiment: str | None = None   # a button loads this experiment into the lab
    code: str | None = None         # a strategy module shown beside the text


@dataclass(frozen=True)
class Choice:
    text: str
    why: str = ""  # for a checkpoint: why this answer is wrong (or, for the right one, why right)


@dataclass(frozen=True)
class Prediction:
    """Asked before the run; the run's summary keys in ``reveal`` are shown beside the answer."""

    step: str
    experiment: str
    question: str
    choices: tuple[Choice, ...]
    answer: int
    reveal: tuple[str, ...]
    explain: str
    check: Comparison  # the right answer is itself a claim, so lessons check proves it


@dataclass(frozen=True)
class Checkpoint:
    id: str
    step: str
    question: str
    choices: tuple[Choice, ...]
    answer: int


@dataclass(frozen=True)
class Check:
    """A quantitative claim of the lesson's text, proved on the experiment's summary."""

    experiment: str
    expect: Comparison
    claim: str


@dataclass(frozen=True)
class Goal:
    """A task the student must meet with their own settings (the capstone), checked on their run."""

    experiment: str
    expects: tuple[Comparison, ...]
    text: str


@dataclass(frozen=True)
class Lesson:
    id: str
    file: str
    order: int
    title: str
    summary: str
    intro: str  # the Markdown before the first step
    experiments: tuple[Experiment, ...]
    steps: tuple[Step, ...]
    prediction: Prediction | None
    checkpoints: tuple[Checkpoint, ...]
    checks: tuple[Check, ...]
    references: tuple[str, ...]
    goal: Goal | None = None

    def experiment(self, experiment_id: str) -> Experiment:
        return next(e for e in self.experiments if e.id == experiment_id)

    def all_checks(self) -> list[Check]:
        """The declared checks plus the prediction's right answer, in the order they are run."""
        checks = list(self.checks)
        if self.prediction:
            claim = "prediction: " + self.prediction.choices[self.prediction.answer].text
            checks.append(Check(self.prediction.experiment, self.prediction.check, claim))
        return checks


@dataclass(frozen=True)
class Reference:
    id: str
    title: str
    source: str
    url: str
    confidence: str  # the label from the research notes: V, V2, S, U, MINE
    note: str = ""


@dataclass(frozen=True)
class Term:
    id: str
    term: str
    definition: str


@dataclass(frozen=True)
class Problem:
    """Why one file could not be served: the file, the field, and what is wrong with it."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Course:
    lessons: tuple[Lesson, ...]
    problems: tuple[Problem, ...] = ()
    references: dict[str, Reference] = field(default_factory=dict)
    glossary: tuple[Term, ...] = ()

    def lesson(self, lesson_id: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.id == lesson_id), None)

    def neighbours(self, lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
        """The previous and next lessons in course order, for the page's navigation."""
        index = self.lessons.index(lesson)
        before = self.lessons[index - 1] if index > 0 else None
        after = self.lessons[index + 1] if index + 1 < len(self.lessons) else None
        return before, after
