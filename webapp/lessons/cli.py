"""``python -m webapp lessons check``: load every lesson, run its experiments, verify its claims.

    python -m webapp lessons check                  seed 1 only: quick, while writing a lesson
    python -m webapp lessons check --seeds 20       seeds 1..20 (what the test suite runs)
    python -m webapp lessons check --seeds 1-20 --lesson queueing --jobs 2
    python -m webapp lessons check --seeds 20 --all-seeds   also the costly runs on every seed

Prints one line per check (how many seeds it held on, the range of the checked value, the
lesson's words it backs) and exits 1 if any check fails or any lesson file is broken, so CI catches
both a lesson whose numbers went stale and a lesson that no longer loads.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    lessons = subparsers.add_parser("lessons", help="work with the course in lessons/")
    actions = lessons.add_subparsers(dest="lessons_command", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="run every lesson's experiments and verify its checks")
    check.add_argument("--lesson", action="append", metavar="ID",
                       help="check only this lesson (repeatable)")
    check.add_argument("--dir", type=Path, default=None, metavar="PATH",
                       help="the course directory (default: lessons/)")
    check.add_argument("--seeds", default="1", metavar="SEEDS",
                       help="N (seeds 1..N), A-B, or a list such as 1,5-7 (default: 1); a check "
                            "holds only if it holds on every seed, or on its stated share")
    check.add_argument("--all-seeds", action="store_true",
                       help="run every experiment on every seed, even those that declare "
                            "max_seeds (the full proof; slower)")
    check.add_argument("--jobs", type=int, default=None, metavar="N",
                       help="processes to run experiments on (default: one per core)")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Return 0 when every lesson loads and every check holds, else 1 (2 for bad arguments)."""
    from webapp.lessons.checks import check_lessons, parse_seeds  # imports the engine: only here
    from webapp.lessons.loader import LESSONS_DIR, load_course

    started = time.perf_counter()
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as exc:
        print(f"lessons check: --seeds: {exc}", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("lessons check: --jobs must be at least 1", file=sys.stderr)
        return 2
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
    outcomes = check_lessons(lessons, seeds, args.jobs, all_seeds=args.all_seeds)
    for outcome in outcomes:
        print(outcome.line())
        failures += not outcome.ok
    span = f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds ({seeds[0]}..{seeds[-1]})"
    verdict = "all hold" if not failures else f"{failures} failed"
    print(f"{len(outcomes)} checks on {span}, {verdict}, in {time.perf_counter() - started:.1f} s")
    sys.stdout.flush()
    return 1 if failures else 0
