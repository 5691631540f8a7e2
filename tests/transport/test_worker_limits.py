"""A worker's limits never go above the operator's (webapp/worker/limits.py).

Each case runs in a fresh interpreter started under the operator's limits (a hard limit, once
lowered, cannot be raised again, so never in the test process): a job's soft limit is the lower
of the configured and the inherited one, the hard limit stays the inherited one, and between jobs
the inherited limits come back.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

from webapp.worker.limits import lower

ROOT = Path(__file__).resolve().parents[2]
MB = 1 << 20
INF = resource.RLIM_INFINITY

PROBE = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, tuple(json.loads(sys.argv[1])))
resource.setrlimit(resource.RLIMIT_CPU, tuple(json.loads(sys.argv[2])))
from webapp.worker import limits
seen = {}
limits.apply(float(sys.argv[3]), int(sys.argv[4]))
seen["job"] = [resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU)]
limits.lift()
seen["between"] = [resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU)]
print(json.dumps(seen))
"""


def probe(memory: tuple[int, int], cpu: tuple[int, int], cpu_s: float,
          memory_mb: int) -> dict[str, list[list[int]]]:
    res = subprocess.run([sys.executable, "-c", PROBE, json.dumps(memory), json.dumps(cpu),
                          str(cpu_s), str(memory_mb)],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_a_configured_limit_above_the_inherited_one_takes_the_inherited_one():
    memory, cpu = (1536 * MB, 2048 * MB), (100, 200)
    seen = probe(memory, cpu, cpu_s=600, memory_mb=8192)
    assert seen["job"] == [[1536 * MB, 2048 * MB], [100, 200]]
    assert seen["between"] == [list(memory), list(cpu)]


def test_a_configured_limit_below_the_inherited_one_is_the_jobs_soft_limit():
    memory, cpu = (2048 * MB, 2048 * MB), (INF, INF)
    seen = probe(memory, cpu, cpu_s=5, memory_mb=512)
    (job_memory, job_cpu) = seen["job"]
    assert job_memory == [512 * MB, 2048 * MB]
    assert job_cpu[1] == INF and 5 <= job_cpu[0] <= 10   # a little above the budget
    assert seen["between"] == [list(memory), [INF, INF]]


def test_lower_treats_unlimited_as_the_highest():
    assert lower(5, INF) == 5
    assert lower(INF, 7) == 7
    assert lower(INF, INF) == INF
    assert lower(9, 4) == 4
