"""Prove a lesson's claims: run its experiments on many seeds and evaluate every check on each.

This is what ``python -m webapp lessons check`` and the test suite run, so a lesson that says "one
datastore query per chunk" fails loudly the day the engine stops making it true. A number that
held only for the seed a lesson was written with is not a fact about the mechanism, so every
experiment runs on every seed asked for and a check holds only if it holds on each of them; a
claim the lesson states as true in a share of runs ("in most runs") carries that share and is
judged by the binomial margin of ``shares.py``. The suite runs the fixed seeds 1 to 20 and a fresh
random draw (``random_seeds``) every time, so no claim is proved only on the seeds it was written
against.

Runs are independent and the engine is pure, so they go to a pool of processes, the most costly
first so that the small ones fill the gaps; identical runs (the same preset, overrides and seed in
two lessons) run once.
"""
from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
import re
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

from webapp.lessons.claims import plain
from webapp.lessons.experiments import run_cost, run_summary_of
from webapp.lessons.expr import Verdict, evaluate
from webapp.lessons.model import Check, Experiment, Lesson, Window
from webapp.lessons.runcache import RunCache

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


def random_seeds(count: int, rng: random.Random | None = None,
                 besides: tuple[int, ...] = ()) -> tuple[int, ...]:
    """``count`` distinct seeds drawn at random from 1 to 2**31 - 1, none of them in ``besides``
    (the fixed seeds they are checked with), printed by the caller so a failure on them
    reproduces with ``--seeds``; never a fixed list that lessons could be fitted to. ``rng`` is
    for tests; by default the system's entropy."""
    if not 1 <= count <= MAX_SEEDS:
        raise ValueError(f"a seed count must be from 1 to {MAX_SEEDS}, not {count}")
    if count + len(besides) > MAX_SEEDS:
        raise ValueError(f"at most {MAX_SEEDS} seeds at once, not {len(besides)} and {count} more")
    # Distinct, so at least ``count`` of them are not in ``besides``.
    offered = (rng or random.SystemRandom()).sample(range(1, 2**31), count + len(besides))
    taken = set(besides)
    return tuple(sorted([seed for seed in offered if seed not in taken][:count]))


def seed_list(seeds: tuple[int, ...]) -> str:
    """Seeds as ``--seeds`` takes them back: ``3,7-9,12``."""
    parts: list[str] = []
    i = 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        parts.append(str(seeds[i]) if i == j else f"{seeds[i]}-{seeds[j]}")
        i = j + 1
    return ",".join(parts)


@dataclass(frozen=True)
class Run:
    """One engine run: an experiment's preset and overrides on one seed (hashable, so shared)."""

    preset: str
    overrides: str  # JSON, keys sorted: equal experiments of two lessons are one run
    seed: int
    windows: tuple[Window, ...] = ()
    record: bool = False

    @classmethod
    def of(cls, experiment: Experiment, seed: int) -> "Run":
        return cls(experiment.preset, json.dumps(experiment.overrides, sort_keys=True), seed,
                   experiment.windows, experiment.record)

    def family(self) -> tuple[Any, ...]:
        """Everything but the seed: what makes two runs the same experiment (RunCache's key)."""
        return (self.preset, self.overrides, [list(vars(w).values()) for w in self.windows],
                self.record)

    def experiment(self) -> Experiment:
        overrides = {**json.loads(self.overrides), "seed": self.seed}
        return Experiment("run", "run", self.preset, overrides, (), windows=self.windows,
                          record=self.record)


def _summary(run: Run) -> dict[str, Any] | str:
    """The run's summary, or why it raised (a string): executed in a worker process."""
    try:
        return run_summary_of(run.experiment())
    except Exception as exc:  # noqa: BLE001 - reported on every check that reads this run
        return f"the run raised {type(exc).__name__}: {exc}"


def run_all(runs: Iterable[Run], jobs: int,
            cache: RunCache | None = None) -> dict[Run, dict[str, Any] | str]:
    """Every run's summary (or error text), on ``jobs`` processes (1: in this process); those
    ``cache`` holds are read from it, and those computed are kept in it (``lessons dist``)."""
    results: dict[Run, dict[str, Any] | str] = {}
    todo = []
    wanted = set(runs)
    # A run wanted both with and without its events is made once, with them: its summary is the
    # other's plus ``events`` (lessons 1 and 2 share lesson 1's herd, which lesson 1 records).
    twins = {run: replace(run, record=True) for run in wanted
             if not run.record and replace(run, record=True) in wanted}
    for run in wanted - set(twins):
        kept = cache.get(run.family(), run.seed) if cache else None
        if kept is None:
            todo.append(run)
        else:
            results[run] = kept
    todo.sort(key=lambda r: (-run_cost(r.experiment()), r.preset, r.overrides, r.seed))
    if jobs <= 1 or len(todo) <= 1:
        computed = {run: _summary(run) for run in todo}
    else:
        # spawn, not fork: the caller may be a server or a test process with eventlet patched in.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context) as pool:
            futures: dict[Run, Future] = {run: pool.submit(_summary, run) for run in todo}
            computed = {run: future.result() for run, future in futures.items()}
    if cache:
        cache.put_all((run.family(), run.seed, summary) for run, summary in computed.items()
                      if not isinstance(summary, str))
    results.update(computed)
    return {**results, **{run: results[twin] for run, twin in twins.items()}}


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
    def accepted(self) -> tuple[int, int]:
        """How many of the seeds may pass: all of them, or a share's binomial range."""
        share = self.check.expect.share
        n = len(self.seeds)
        return (n, n) if share is None else share.accepted(n)

    @property
    def ok(self) -> bool:
        """The count of passing seeds is what the claim says, and there was at least one seed: a
        check run on no seed proves nothing."""
        low, high = self.accepted
        return bool(self.seeds) and low <= self.passed <= high

    def line(self) -> str:
        """``ok   lesson [experiment] check  (seeds, observed range) — the lesson's words``."""
        mark = "ok  " if self.ok else "FAIL"
        held = f"{self.passed} of {len(self.seeds)} seeds" + (" (max_seeds)" if self.capped else "")
        low, high = self.accepted
        if (low, high) != (len(self.seeds), len(self.seeds)):
            held += f", needs {low}..{high}"
        at = self.check.expect.subject
        firsts = [v.values[at] for v in self.verdicts if v.values]
        if firsts and len(self.seeds) > 1:
            held += f"; {_fmt(min(firsts))}..{_fmt(max(firsts))}"
        elif self.verdicts:
            held += f"; {self.verdicts[0].detail}"
        failed = [(s, v) for s, v in zip(self.seeds, self.verdicts) if not v.ok]
        if self.passed > high and not self.ok:
            held += "; holds on more seeds than the share it states"
        elif failed and not self.ok:
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
                  all_seeds: bool = False, cache: RunCache | None = None,
                  extra: Iterable[tuple[Lesson, Check]] = ()) -> list[Outcome]:
    """Run every experiment of ``lessons`` on its seeds, then judge every check on them all.

    An experiment runs on every seed asked for, or on an even spread of ``max_seeds`` of them if it
    declares that (unless ``all_seeds``); a check is judged on the seeds all the experiments it
    reads have run on. A pair's side B (``Lesson.runs``) runs like an experiment of its own, and
    only the runs some check reads are made. ``extra`` adds checks that are not in a lesson file
    (``lessons dist`` of an expression); ``cache`` keeps the runs (``lessons dist``).
    """
    lessons = list(lessons)

    def seeds_of(experiment: Experiment) -> tuple[int, ...]:
        return seeds if all_seeds else spread(seeds, experiment.max_seeds)

    todo = [(lesson, check) for lesson in lessons for check in lesson.all_checks()] + list(extra)
    used: dict[int, tuple[int, ...]] = {}
    runs = []
    for i, (lesson, check) in enumerate(todo):
        names = {check.experiment} | {r.experiment for r in check.expect.refs() if r.experiment}
        common = set.intersection(*(set(seeds_of(lesson.experiment(n))) for n in names))
        used[i] = tuple(seed for seed in seeds if seed in common)
        runs += [Run.of(lesson.experiment(n), seed) for n in names for seed in used[i]]
    results = run_all(runs, jobs if jobs is not None else default_jobs(), cache)
    return [Outcome(lesson.id, check, used[i],
                    tuple(_judge(lesson, check, seed, results) for seed in used[i]),
                    len(used[i]) < len(seeds))
            for i, (lesson, check) in enumerate(todo)]


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
