"""What a lesson is once its file has been validated: frozen records the pages and checks read.

Everything here is plain data (no Flask, no engine), so the loader, the pages, the JSON the browser
gets and ``lessons check`` all agree on one shape. Ids are stable strings because the classroom
addresses "lesson X, step Y" and the lesson's prediction by them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from webapp.lessons.expr import Comparison, parse


@dataclass(frozen=True)
class Window:
    """A stretch of an experiment's virtual time, ``from_s < t <= to_s``, that checks may read.

    The summary describes a whole run; a claim such as "once collapsed, about 430 requests are in
    flight" is about a stretch of it. A check reads ``window.NAME.FIELD`` (``experiments.WINDOW``
    lists the fields), computed from the engine's samples in the stretch.
    """

    name: str
    from_s: float
    to_s: float


@dataclass(frozen=True)
class Experiment:
    """One run the lesson embeds: a preset, overrides on top, and the controls the student sees."""

    id: str
    label: str
    preset: str
    overrides: dict[str, Any]
    controls: tuple[str, ...]
    max_seeds: int | None = None  # check on at most this many of the seeds asked for (costly runs)
    max_seeds_why: str = ""       # required with max_seeds: why fewer seeds still prove the claims
    windows: tuple[Window, ...] = ()  # stretches of the run its checks read (window.NAME.FIELD)
    compare: dict[str, Any] | None = None  # side B: overrides on top of this experiment (side A)
    record: bool = False  # a check reads events.* (lessons/eventstats.py): run it with its events

    def side_b(self) -> "Experiment | None":
        """Side B of the declared pair as an experiment of its own, ``ID.b``, or None.

        The lab's compare mode runs B as A's scenario with ``compare`` on top, on A's seed;
        deep-merging the two override mappings on the same preset is that scenario, so
        ``lessons check`` proves claims about B on exactly the run the page shows.
        """
        if self.compare is None:
            return None
        merged = {key: ({**self.overrides[key], **value}
                        if isinstance(value, dict) and isinstance(self.overrides.get(key), dict)
                        else value) for key, value in self.compare.items()}
        return replace(self, id=self.id + SIDE_B, overrides={**self.overrides, **merged},
                       compare=None)


SIDE_B = ".b"  # ``lock-vs-promise.b`` names side B of the pair experiment ``lock-vs-promise``


@dataclass(frozen=True)
class Step:
    """A section of the narrative (one ``## `` heading of the body), addressable as ``#step-id``."""

    id: str
    title: str
    markdown: str
    experiment: str | None = None   # a button loads this experiment into the lab
    code: str | None = None         # a strategy module shown beside the text
    moment: str | None = None       # the moment (engine/moments.py WHATS) of its experiment's run
                                    # the step is about; lessons check proves the run makes it
    nth: int = 1                    # which of them (1: the first; the page narrates that one)
    side: str = "a"                 # the side of a pair narrated, whose code the page follows


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
    one_sided: str | None = None  # see Check.one_sided; the right answer's words


@dataclass(frozen=True)
class Checkpoint:
    id: str
    step: str
    question: str
    choices: tuple[Choice, ...]
    answer: int


@dataclass(frozen=True)
class Check:
    """A claim of the lesson's text, proved on the experiment's summary on every seed checked.

    ``says`` is the claim in the lesson's own words, copied verbatim from its text (the loader
    finds it there), so a reader of the check sees exactly which sentence it backs and a test can
    hold the check to that sentence: where the words state a number, the check bounds it on both
    sides, unless ``one_sided`` names the words of ``says`` that make one bound the whole claim
    ("more than twice", "at least").
    """

    experiment: str
    expect: Comparison
    says: str
    one_sided: str | None = None


@dataclass(frozen=True)
class Unchecked:
    """Words of the lesson that state a number or a comparison no run can check, and why: the
    formula's arithmetic, a setting the student picks, a hypothetical. ``sentences.unbacked``
    counts them as backed; everything else a lesson states about a run needs a check."""

    says: str
    why: str


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
    unchecked: tuple[Unchecked, ...] = ()

    def experiment(self, experiment_id: str) -> Experiment:
        """One of ``runs()`` by id: an experiment, or the side B (``ID.b``) of a pair."""
        return next(e for e in self.runs() if e.id == experiment_id)

    def runs(self) -> list[Experiment]:
        """Every run ``lessons check`` makes: each experiment, then each pair's side B."""
        return [*self.experiments, *(b for e in self.experiments if (b := e.side_b()))]

    def all_checks(self) -> list[Check]:
        """The declared checks plus the prediction's right answer, in the order they are run."""
        checks = list(self.checks)
        if self.prediction:
            p = self.prediction
            checks.append(Check(p.experiment, p.check, p.choices[p.answer].text, p.one_sided))
        return checks + self.moment_checks()

    def moment_checks(self) -> list[Check]:
        """A step that names a moment promises the student its run shows it: one check per side.

        The page eases into that moment on the side the step names (``side``, A unless a pair's
        B), the ``nth`` of them, so that side's run must make at least ``nth`` of them on every
        seed checked; a pair's other side plays beside it and must make one too.
        """
        found = []
        for step in self.steps:
            if step.moment is None or step.experiment is None:
                continue
            experiment = self.experiment(step.experiment)
            for side in filter(None, (experiment, experiment.side_b())):
                narrated = (side is experiment) == (step.side == "a")
                least = step.nth if narrated else 1
                found.append(Check(side.id, parse(f"moments.{step.moment} >= {least}"),
                                   f"step {step.id!r} shows the moment {step.moment!r}",
                                   one_sided=None))
        return found

    def texts(self) -> list[str]:
        """Every piece of text a student reads on the page, in page order: see ``page_texts``."""
        return page_texts(self.intro, self.steps, self.prediction, self.checkpoints, self.goal)


def page_texts(intro: str, steps: tuple[Step, ...], prediction: Prediction | None,
               checkpoints: tuple[Checkpoint, ...], goal: Goal | None) -> list[str]:
    """The Markdown a student reads on a lesson page, in page order.

    The intro, then each step's text followed by the prediction and checkpoints shown in it, then
    the goal (the summary, plain text above it all, is not Markdown and is not included). The
    loader finds ``says`` quotes here; the glossary test walks it in order for first uses.
    """
    found = [intro]
    for step in steps:
        found.append(step.markdown)
        if prediction and prediction.step == step.id:
            found += [prediction.question, *(c.text for c in prediction.choices), prediction.explain]
        for cp in checkpoints:
            if cp.step == step.id:
                found += [cp.question, *(t for c in cp.choices for t in (c.text, c.why) if t)]
    if goal:
        found.append(goal.text)
    return [text for text in found if text]


@dataclass(frozen=True)
class Reference:
    id: str
    title: str
    source: str
    url: str         # empty only when ``no_url`` says why
    confidence: str  # V (primary source read), V2 (faithful copy), S (secondary), U (unverified)
    note: str = ""
    no_url: str = ""  # why there is no link (e.g. no primary source exists)


@dataclass(frozen=True)
class Term:
    id: str
    term: str
    definition: str
    uses: tuple[str, ...] = ()  # the words that count as using the term (see lessons/glossary.md)


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
