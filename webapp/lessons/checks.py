"""Prove a lesson's claims: run its experiments on many seeds and evaluate every check on each.

This is what ``python -m webapp lessons check`` and the test suite run, so a lesson that says "one
datastore query per chunk" fails loudly the day the engine stops making it true. A number that
held only for the seed a lesson was written with is not a fact about the mechanism, so every
experiment runs on every seed asked for and a check holds only if it holds on each of them; a
claim the lesson states as "usually" carries a quota (``on at least 18 of 20 seeds``) instead.

Runs are independent and the engine is pure, so they go to a pool of processes, the most costly
first so that the small ones fill the gaps; identical runs (the same preset, overrides and seed in
two lessons) run once.
"""
from __future__ import annotations

import json
import math
import multiprocessing
import os
import re
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from webapp.lessons.claims import plain
from webapp.lessons.experiments import run_cost, run_summary_of
from webapp.lessons.expr import Verdict, evaluate
from webapp.lessons.model import Check, Experiment, Lesson, Window

MAX_SEEDS = 1000
MAX_SEED = 2**53  # the engine's range for scenario.seed
_SEEDS = re.compile(r"^\s*(\d+)(?:\s*-\s*(\d+))?\s*$")


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"20"`` is seeds 1..20; ``"1-20"`` the same; ``"3,7-9"`` seeds 3, 7, 8 and 9.

    Raises ValueError with a sentence for the command line when the text is none of these.
    """
    text = str(text).strip()
    if text.isdigit():
        count = int(text)
        if not 1 <= count <= MAX_SEEDS:
            raise ValueError(f"a seed count must be from 1 to {MAX_SEEDS}, not {count}")
        return tuple(range(1, count + 1))
    seeds: list[int] = []
    for part in text.split(","):
        match = _SEEDS.match(part)
        if not match:
            raise ValueError(f"{part.strip()!r} is not a seed count N, a range A-B or a list of them")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first or last > MAX_SEED:
            raise ValueError(f"{part.strip()!r} is not a range of seeds from 0 to {MAX_SEED}")
        if len(seeds) + last - first + 1 > MAX_SEEDS:
            raise ValueError(f"at most {MAX_SEEDS} seeds at once")
        seeds.extend(range(first, last + 1))
    if len(set(seeds)) != len(seeds):
        raise ValueError("a seed is listed twice")
    return tuple(seeds)


@dataclass(frozen=True)
class Run:
    """One engine run: an experiment's preset and overrides on one seed (hashable, so shared)."""

    preset: str
    overrides: str  # JSON, keys sorted: equal experiments of two lessons are one run
    seed: int
    windows: tuple[Window, ...] = ()

    @classmethod
    def of(cls, experiment: Experiment, seed: int) -> "Run":
        return cls(experiment.preset, json.dumps(experiment.overrides, sort_keys=True), seed,
                   experiment.windows)

    def experiment(self) -> Experiment:
        overrides = {**json.loads(self.overrides), "seed": self.seed}
        return Experiment("run", "run", self.preset, overrides, (), windows=self.windows)


def _summary(run: Run) -> dict[str, Any] | str:
    """The run's summary, or why it raised (a string): executed in a worker process."""
    try:
        return run_summary_of(run.experiment())
    except Exception as exc:  # noqa: BLE001 - reported on every check that reads this run
        return f"the run raised {type(exc).__name__}: {exc}"


def run_all(runs: Iterable[Run], jobs: int) -> dict[Run, dict[str, Any] | str]:
    """Every run's summary (or error text), on ``jobs`` processes (1: in this process)."""
    todo = sorted(set(runs), key=lambda r: (-run_cost(r.experiment()), r.preset, r.overrides, r.seed))
    if jobs <= 1 or len(todo) <= 1:
        return {run: _summary(run) for run in todo}
    # spawn, not fork: the caller may be a server or a test process with eventlet patched in.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context) as pool:
        futures: dict[Run, Future] = {run: pool.submit(_summary, run) for run in todo}
        return {run: future.result() for run, future in futures.items()}


@dataclass(frozen=True)
class Outcome:
    """One check over all the seeds: each seed's verdict, and whether enough of them hold."""

    lesson: str
    check: Check
    seeds: tuple[int, ...]
    verdicts: tuple[Verdict, ...]  # in the order of ``seeds``
    capped: bool = False           # fewer seeds than asked for: an experiment's max_seeds

    @property
    def passed(self) -> int:
        return sum(v.ok for v in self.verdicts)

    @property
    def needed(self) -> int:
        quota = self.check.expect.quota
        return len(self.seeds) if quota is None else quota.needed(len(self.seeds))

    @property
    def ok(self) -> bool:
        """Enough seeds hold, and there was at least one: a check run on no seed proves nothing."""
        return bool(self.seeds) and self.passed >= self.needed

    def line(self) -> str:
        """``ok   lesson [experiment] check  (seeds, observed range) — the lesson's words``."""
        mark = "ok  " if self.ok else "FAIL"
        held = f"{self.passed} of {len(self.seeds)} seeds" + (" (max_seeds)" if self.capped else "")
        if self.needed < len(self.seeds):
            held += f", needs {self.needed}"
        at = self.check.expect.subject
        firsts = [v.values[at] for v in self.verdicts if v.values]
        if firsts and len(self.seeds) > 1:
            held += f"; {_fmt(min(firsts))}..{_fmt(max(firsts))}"
        elif self.verdicts:
            held += f"; {self.verdicts[0].detail}"
        failed = [(s, v) for s, v in zip(self.seeds, self.verdicts) if not v.ok]
        if failed and not self.ok:
            shown = ", ".join(str(s) for s, _ in failed[:10]) + (" ..." if len(failed) > 10 else "")
            held += f"; fails on seed {shown} (seed {failed[0][0]}: {failed[0][1].detail})"
        c = self.check
        return f"{mark} {self.lesson} [{c.experiment}] {c.expect.text}  ({held}) — {plain(c.says)}"


def _fmt(x: float) -> str:
    return str(int(x)) if math.isfinite(x) and x.is_integer() else f"{x:.4g}"


def spread(seeds: tuple[int, ...], most: int | None) -> tuple[int, ...]:
    """At most ``most`` of ``seeds``, evenly spread from the first to the last (all if None).

    An experiment that declares ``max_seeds`` (a million viewers, seconds per run) is checked on
    this subset; spreading it keeps the first and the last seed asked for in it.
    """
    if most is None or most >= len(seeds):
        return seeds
    if most == 1:
        return seeds[:1]
    return tuple(seeds[round(i * (len(seeds) - 1) / (most - 1))] for i in range(most))


def check_lessons(lessons: Iterable[Lesson], seeds: tuple[int, ...], jobs: int | None = None,
                  all_seeds: bool = False) -> list[Outcome]:
    """Run every experiment of ``lessons`` on its seeds, then judge every check on them all.

    An experiment runs on every seed asked for, or on an even spread of ``max_seeds`` of them if it
    declares that (unless ``all_seeds``); a check is judged on the seeds all the experiments it
    reads have run on. A pair's side B (``Lesson.runs``) runs like an experiment of its own.
    """
    lessons = list(lessons)

    def seeds_of(experiment: Experiment) -> tuple[int, ...]:
        return seeds if all_seeds else spread(seeds, experiment.max_seeds)

    runs = [Run.of(e, seed) for lesson in lessons for e in lesson.runs() for seed in seeds_of(e)]
    results = run_all(runs, jobs if jobs is not None else default_jobs())
    outcomes = []
    for lesson in lessons:
        for check in lesson.all_checks():
            names = {check.experiment} | {r.experiment for r in check.expect.refs() if r.experiment}
            common = set.intersection(*(set(seeds_of(lesson.experiment(n))) for n in names))
            used = tuple(seed for seed in seeds if seed in common)
            verdicts = tuple(_judge(lesson, check, seed, results) for seed in used)
            outcomes.append(Outcome(lesson.id, check, used, verdicts, len(used) < len(seeds)))
    return outcomes


def _judge(lesson: Lesson, check: Check, seed: int,
           results: Mapping[Run, dict[str, Any] | str]) -> Verdict:
    """One check on one seed; a run that raised fails the checks that read it, with its error."""
    needs = [check.experiment] + [r.experiment for r in check.expect.refs() if r.experiment]
    summaries = {}
    for name in dict.fromkeys(needs):
        result = results[Run.of(lesson.experiment(name), seed)]
        if isinstance(result, str):
            return Verdict(False, (), result)
        summaries[name] = result
    return evaluate(check.expect, summaries, own=check.experiment)


def default_jobs() -> int:
    """One process per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
