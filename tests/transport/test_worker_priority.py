"""A worker demotes itself as it computes (worker/limits.py), as far as the operator allows."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.config import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]

# A worker's priority after its start and after a long computation (the CPU clock moved on).
PROBE = """
import os
from webapp.worker import limits
start = os.nice(0)
priority = limits.Priority()
first = os.nice(0) - start
limits.time.process_time = lambda: 1e6
for _ in limits.DEMOTE:
    priority.check()
print(start, first, os.nice(0) - start)
"""


def _levels(nice_max: str | None) -> tuple[int, list[int]]:
    """The probe's own nice value, and how many steps nicer it was after its start and after
    computing long."""
    env = {k: v for k, v in os.environ.items() if k != "HERDLAB_WORKER_NICE_MAX"}
    if nice_max is not None:
        env["HERDLAB_WORKER_NICE_MAX"] = nice_max
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    start, *levels = (int(x) for x in out.split())
    return start, levels


@pytest.mark.parametrize("nice_max, expected", [(None, [2, 19]), ("5", [2, 5]), ("0", [0, 0])])
def test_a_computing_worker_is_demoted_as_far_as_the_operator_allows(nice_max, expected):
    start, levels = _levels(nice_max)
    # (the kernel stops at nice 19 when the test itself runs niced, e.g. under `nice make test`)
    assert levels == [min(start + steps, 19) - start for steps in expected]


def test_a_demotion_past_19_is_refused_when_the_server_starts():
    with pytest.raises(SettingsError, match="WORKER_NICE_MAX must be from 0 to 19"):
        Settings.from_env({"HERDLAB_WORKER_NICE_MAX": "20", "HERDLAB_SECRET_KEY": "x"})
    assert Settings.from_env({"HERDLAB_WORKER_NICE_MAX": "3", "HERDLAB_SECRET_KEY": "x"}).worker_nice_max == 3
