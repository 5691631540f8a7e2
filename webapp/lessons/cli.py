"""``python -m webapp lessons check|dist``: prove the course's claims, and measure them first.

    python -m webapp lessons check                  seed 1 only: quick, while writing a lesson
    python -m webapp lessons check --seeds 20       seeds 1..20 (the suite's fixed seeds)
    python -m webapp lessons check --random 40      40 fresh random seeds
    python -m webapp lessons check --seeds 20 --random 20   the suite's: 1..20 and 20 fresh ones
    python -m webapp lessons check --seeds 1-20 --lesson queueing --jobs 2
    python -m webapp lessons check --seeds 20 --all-seeds   also the costly runs on every seed
    python -m webapp lessons check --seeds 20 --cache       runs kept for this exact source reused

    python -m webapp lessons dist queueing --seeds 500            every check of one lesson
    python -m webapp lessons dist queueing 3 --seeds 500          its check number 3
    python -m webapp lessons dist queueing "busy: latency_everyone_ms.mean" --seeds 500
    python -m webapp lessons dist all --seeds 1000                the course's calibration

``check`` prints one line per check (how many seeds it held on, the range of the checked value,
the lesson's words it backs) and exits 1 if any check fails or any lesson file is broken, so CI
catches both a lesson whose numbers went stale and a lesson that no longer loads. With
``--random`` it prints the seeds it checks first (the drawn ones with any ``--seeds``, all judged
together), so a failure reproduces with ``--seeds``.

``--cache`` reads and keeps the runs in ``.herdlab/lesson-runs`` under a version made of all of
webapp's source (webapp/lessons/runcache.py): the same seeds again on an unchanged tree cost
nothing, and any change to the code, or to an experiment's definition, computes them again.

``dist`` prints each claim's distribution over the seeds and whether the sentence is true as
written (webapp/lessons/dist.py); it keeps the runs in ``.herdlab/lesson-runs`` for the engine's
current source, so measuring again is free until the engine changes. It exits 1 if a claim is
false at those seeds.
"""
from __future__ import annotations

import argparse
import re
from dataclasses import replace
import sys
import time
from pathlib import Path

_ON_EXPERIMENT = re.compile(r"^\s*([a-z0-9]+(?:-[a-z0-9]+)*(?:\.b)?)\s*:\s+(.+)$", re.DOTALL)


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    lessons = subparsers.add_parser("lessons", help="work with the course in lessons/")
    actions = lessons.add_subparsers(dest="lessons_command", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="run every lesson's experiments and verify its checks")
    check.add_argument("--lesson", action="append", metavar="ID",
                       help="check only this lesson (repeatable)")
    _common(check)
    check.add_argument("--seeds", default=None, metavar="SEEDS",
                       help="N (seeds 1..N), A-B, or a list such as 1,5-7 (default: 1, or none "
                            "with --random); a check holds only if it holds on every seed, or on "
                            "its stated share")
    check.add_argument("--random", type=int, default=None, metavar="N",
                       help="N more seeds drawn at random, checked together with --seeds "
                            "(all of them printed first, to reproduce with --seeds)")
    check.add_argument("--all-seeds", action="store_true",
                       help="run every experiment on every seed, even those that declare "
                            "max_seeds (the full proof; slower)")
    check.add_argument("--cache", action="store_true",
                       help="read and keep runs in .herdlab/lesson-runs, under a version made "
                            "of all of webapp's source (any code change computes them again)")
    check.set_defaults(func=run_check)

    dist = actions.add_parser("dist", help="a claim's distribution over many seeds, and whether "
                                           "it is true as written")
    dist.add_argument("lesson", metavar="LESSON", help="a lesson id, or 'all' for the course")
    dist.add_argument("what", nargs="?", default=None, metavar="CHECK",
                      help="a check's number (as listed), or 'EXPERIMENT: EXPRESSION' with or "
                           "without a comparison (default: every check of the lesson)")
    dist.add_argument("--seeds", default="200", metavar="SEEDS",
                      help="N (seeds 1..N), A-B or a list (default: 200)")
    dist.add_argument("--no-cache", action="store_true",
                      help="compute every run; do not read or keep .herdlab/lesson-runs")
    _common(dist)
    dist.set_defaults(func=run_dist)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=None, metavar="PATH",
                        help="the course directory (default: lessons/)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="processes to run experiments on (default: one per core)")


def run_check(args: argparse.Namespace) -> int:
    """Return 0 when every lesson loads and every check holds, else 1 (2 for bad arguments)."""
    from webapp.lessons.checks import check_lessons, parse_seeds, random_seeds, seed_list
    from webapp.lessons.loader import LESSONS_DIR, load_course
    from webapp.lessons.runcache import RunCache

    started = time.perf_counter()
    option = "seeds"
    try:
        fixed = parse_seeds(args.seeds or "1") if args.seeds or args.random is None else ()
        option = "random"
        drawn = random_seeds(args.random, besides=fixed) if args.random is not None else ()
    except ValueError as exc:
        print(f"lessons check: --{option}: {exc}", file=sys.stderr)
        return 2
    seeds = fixed + drawn
    if args.jobs is not None and args.jobs < 1:
        print("lessons check: --jobs must be at least 1", file=sys.stderr)
        return 2
    if args.random is not None:
        print(f"random seeds (reproduce with --seeds {seed_list(seeds)}):")
        sys.stdout.flush()
    course = load_course(args.dir or LESSONS_DIR)
    failures = 0
    for problem in course.problems:
        print(f"BROKEN {problem}")
        failures += 1
    wanted = set(args.lesson or ())
    for lesson_id in sorted(wanted - {lesson.id for lesson in course.lessons}):
        print(f"BROKEN no lesson with id {lesson_id!r}")
        failures += 1
    lessons = [lesson for lesson in course.lessons if not wanted or lesson.id in wanted]
    cache = RunCache() if args.cache else None
    outcomes = check_lessons(lessons, seeds, args.jobs, all_seeds=args.all_seeds, cache=cache)
    for outcome in outcomes:
        print(outcome.line())
        failures += not outcome.ok
    span = f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds ({seeds[0]}..{seeds[-1]})"
    if drawn:
        span = f"{len(seeds)} seeds ({len(fixed)} fixed, {len(drawn)} random)" if fixed \
            else f"{len(seeds)} random seeds"
    verdict = "all hold" if not failures else f"{failures} failed"
    print(f"{len(outcomes)} checks on {span}, {verdict}, in {time.perf_counter() - started:.1f} s")
    sys.stdout.flush()
    return 1 if failures else 0


def run_dist(args: argparse.Namespace) -> int:
    """Print the distribution of one check, an expression, or every check; 1 if any is FALSE."""
    from webapp.lessons.checks import check_lessons, parse_seeds
    from webapp.lessons.dist import Report
    from webapp.lessons.expr import ExprError, parse, parse_value
    from webapp.lessons.loader import LESSONS_DIR, load_course, recording
    from webapp.lessons.model import Check
    from webapp.lessons.runcache import RunCache

    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as exc:
        print(f"lessons dist: --seeds: {exc}", file=sys.stderr)
        return 2
    course = load_course(args.dir or LESSONS_DIR)
    for problem in course.problems:
        print(f"BROKEN {problem}")
    if args.lesson == "all":
        lessons = list(course.lessons)
    elif (lesson := course.lesson(args.lesson)) is not None:
        lessons = [lesson]
    else:
        print(f"lessons dist: no lesson with id {args.lesson!r}", file=sys.stderr)
        return 2
    extra = []
    if args.what is not None:
        if len(lessons) != 1:
            print("lessons dist: a CHECK needs one lesson, not 'all'", file=sys.stderr)
            return 2
        checks = lessons[0].all_checks()
        if args.what.isdigit():
            if not 1 <= int(args.what) <= len(checks):
                print(f"lessons dist: {lessons[0].id} has checks 1 to {len(checks)}", file=sys.stderr)
                return 2
            extra = [(lessons[0], checks[int(args.what) - 1])]
        else:
            match = _ON_EXPERIMENT.match(args.what)
            runs = {e.id for e in lessons[0].runs()}
            if not match or match.group(1) not in runs:
                print("lessons dist: CHECK is a number or 'EXPERIMENT: EXPRESSION', with "
                      f"EXPERIMENT one of {', '.join(sorted(runs))}", file=sys.stderr)
                return 2
            text = match.group(2)
            try:
                expect = parse(text) if re.search(r"==|!=|<|>", text) else parse_value(text)
            except ExprError as exc:
                print(f"lessons dist: {exc}", file=sys.stderr)
                return 2
            lesson = replace(lessons[0], experiments=recording(
                lessons[0].experiments, [(match.group(1), expect)]))
            extra = [(lesson, Check(match.group(1), expect, text))]
        lessons = []
    else:
        numbered = [(lesson, i + 1) for lesson in lessons for i in range(len(lesson.all_checks()))]
    started = time.perf_counter()
    cache = None if args.no_cache else RunCache()
    outcomes = check_lessons(lessons, seeds, args.jobs, all_seeds=True, cache=cache, extra=extra)
    false = 0
    for i, outcome in enumerate(outcomes):
        report = Report(outcome)
        lines = report.lines()
        if args.what is None:
            lines[0] = f"{lines[0]}  (check {numbered[i][1]})"
        print("\n".join(lines))
        false += report.verdict == "FALSE"
    print(f"{len(outcomes)} claims on {len(seeds)} seeds ({seeds[0]}..{seeds[-1]}), "
          f"{false} false as written, in {time.perf_counter() - started:.1f} s")
    return 1 if false else 0
