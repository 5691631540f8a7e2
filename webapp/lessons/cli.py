"""``python -m webapp lessons check``: load every lesson, run its experiments, verify its claims.

Prints one line per check and exits 1 if any check fails or any lesson file is broken, so CI catches
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
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    """Return 0 when every lesson loads and every check holds, else 1."""
    from webapp.lessons.checks import check_lesson  # imports the engine: only when checking
    from webapp.lessons.loader import LESSONS_DIR, load_course

    started = time.perf_counter()
    course = load_course(args.dir or LESSONS_DIR)
    failures = 0
    for problem in course.problems:
        print(f"BROKEN {problem}")
        failures += 1
    wanted = set(args.lesson or ())
    unknown = wanted - {lesson.id for lesson in course.lessons}
    for lesson_id in sorted(unknown):
        print(f"BROKEN no lesson with id {lesson_id!r}")
        failures += 1
    count = 0
    for lesson in course.lessons:
        if wanted and lesson.id not in wanted:
            continue
        lesson_started = time.perf_counter()
        for outcome in check_lesson(lesson):
            print(outcome.line())
            count += 1
            failures += not outcome.verdict.ok
        print(f"     {lesson.id}: {time.perf_counter() - lesson_started:.2f} s")
    verdict = "all hold" if not failures else f"{failures} failed"
    print(f"{count} checks, {verdict}, in {time.perf_counter() - started:.1f} s")
    sys.stdout.flush()
    return 1 if failures else 0
