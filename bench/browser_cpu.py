"""Which browser tests cost the CPU: Chromium's CPU seconds per test, per file, the top tests.

    .venv/bin/python bench/browser_cpu.py                       # tests/browser, 3 workers
    .venv/bin/python bench/browser_cpu.py -- tests/browser/test_lab.py -n 1

Why: Chromium is the largest kind of process in `make test` (bench/suite_cpu.py says which kind);
this says which tests. How: this file is also a pytest plugin; around each test it reads the CPU
time of every process below its pytest worker (Chromium's, Playwright's driver, the server's)
from ``/proc``, including what their exited children used (a page's renderer ends with its
context), and writes one line per test. The numbers are the tests' own beside whatever else the
machine does: compare runs on a quiet machine, and read tens of percent, not single ones.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HZ = os.sysconf("SC_CLK_TCK")
OUT_ENV = "HERDLAB_BROWSER_CPU_OUT"


def _read(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = collections.defaultdict(list)
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = _read(f"/proc/{name}/stat")
            except OSError:
                continue
            children[int(stat[stat.rfind(")") + 2:].split()[1])].append(int(name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cpu_by_kind() -> dict[str, float]:
    """CPU seconds so far of this process's descendants, with their reaped children's."""
    kinds = {"chromium": 0.0, "node": 0.0, "python": 0.0, "other": 0.0}
    for pid in _descendants(os.getpid()):
        try:
            stat = _read(f"/proc/{pid}/stat")
        except OSError:
            continue
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2:].split()
        seconds = sum(int(x) for x in fields[11:15]) / HZ      # utime stime cutime cstime
        kind = ("chromium" if "chrom" in name or "headless" in name else
                "node" if "node" in name else "python" if "python" in name else "other")
        kinds[kind] += seconds
    return kinds


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):   # noqa: ANN001 - a pytest hook
    """(The plugin side.) Time the test's setup, call and teardown, not the session's end."""
    before, started = _cpu_by_kind(), time.monotonic()
    yield
    after = _cpu_by_kind()
    row = {"test": item.nodeid, "wall": round(time.monotonic() - started, 2)}
    row.update({k: round(after[k] - before[k], 2) for k in after})
    with open(os.environ[OUT_ENV], "a") as fh:
        fh.write(json.dumps(row) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=25, help="how many tests to list")
    parser.add_argument("pytest_args", nargs="*", default=["tests/browser", "-n", "3"],
                        help="after --: what pytest runs")
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as out:
        path = out.name
    env = {**os.environ, OUT_ENV: path,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")])}
    status = subprocess.call([sys.executable, "-m", "pytest", "-p", "browser_cpu", "-q",
                              "-m", "not serial and not claims", *args.pytest_args],
                             cwd=ROOT, env=env)
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    os.unlink(path)
    # A session's last test also sees its browser close (its CPU leaves the tree): not its own.
    rows = [r for r in rows if r["chromium"] >= 0]
    per_file: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0])
    for r in rows:
        f = per_file[r["test"].split("::")[0]]
        f[0] += r["chromium"]
        f[1] += r["wall"]
        f[2] += 1
    print(f"\n{'Chromium CPU s':>15} {'wall s':>8} {'tests':>6}  file")
    for name, (cpu, wall, n) in sorted(per_file.items(), key=lambda kv: -kv[1][0]):
        print(f"{cpu:15.1f} {wall:8.1f} {n:6d}  {name}")
    print(f"{sum(r['chromium'] for r in rows):15.1f} {sum(r['wall'] for r in rows):8.1f} "
          f"{len(rows):6d}  all")
    print(f"\n{'Chromium':>9} {'server':>7} {'wall':>6}  the {args.top} costliest tests")
    for r in sorted(rows, key=lambda r: -r["chromium"])[:args.top]:
        print(f"{r['chromium']:9.1f} {r['python']:7.1f} {r['wall']:6.1f}  {r['test']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
