"""``python -m webapp lessons check`` proves every lesson's claims against the engine."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from webapp.__main__ import main
from webapp.lessons.loader import load_course

# The check runs every lesson's experiments, the capstone at a million viewers included.
pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]


def test_lessons_check_passes_for_the_whole_course(capsys):
    status = main(["lessons", "check"])
    out = capsys.readouterr().out
    failures = [line for line in out.splitlines() if line.startswith(("FAIL", "BROKEN"))]
    assert failures == [] and status == 0, "\n".join(failures)
    checks = sum(len(lesson.all_checks()) for lesson in load_course().lessons)
    assert out.count("\nok   ") + out.startswith("ok   ") == checks
    assert f"{checks} checks, all hold" in out


def test_a_failing_claim_exits_non_zero_and_says_which(course_dir, add_lesson, capsys):
    def claim_the_opposite(front: dict) -> None:
        front["checks"][0]["expect"] = "errors == 0"  # lesson 1 shows errors > 0

    add_lesson("wrong-claim", claim_the_opposite)
    status = main(["lessons", "check", "--dir", str(course_dir)])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL wrong-claim [herd] errors == 0" in out
    assert "1 failed" in out


def test_the_command_line_is_registered():
    result = subprocess.run([sys.executable, "-m", "webapp", "lessons", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "check" in result.stdout
