"""Where a test run's CPU goes: busy CPU seconds by kind of process (Chromium, the lessons' claims,
the test workers, the simulation workers, ...), beside the whole machine's.

    .venv/bin/python bench/suite_cpu.py                     # runs `make test`
    .venv/bin/python bench/suite_cpu.py -- make check       # any command
    .venv/bin/python bench/suite_cpu.py --json out.json -- make test

Why: `make test` keeps both cores busy to its end (the claims fill whatever the waiting tests
leave idle, Makefile), so its wall time is about its total CPU over two, and the only way to make
it shorter is to make some kind of process use less CPU. This says which.

How: every ``INTERVAL_S`` it reads each process's user + system time from ``/proc/<pid>/stat`` and
adds what it used since the last look to that process's kind, named from its command line
(``kind_of``). Processes already running when it starts count only from then. A process that is
born and dies between two looks is not seen: the machine's own busy time (``/proc/stat``, over the
whole command) is printed too, and the difference is the "not attributed" line. Exits with the
command's status.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

INTERVAL_S = 0.5
HZ = os.sysconf("SC_CLK_TCK")
# (kind, words any of which in the command line name it), first match wins: the order matters
# (a pytest xdist worker's command line also says "python", a simulation worker's also "webapp").
KINDS = (
    ("chromium", ("chrom", "headless_shell")),
    ("playwright driver (node)", ("playwright/driver",)),
    ("pytest: claims", ("-m claims",)),
    ("pytest: serial, real services", ("serial and (real",)),
    ("pytest: serial, the rest", ("serial and not (real",)),
    ("pytest: parallel workers", ("exec(eval(sys.stdin", "execnet")),
    ("pytest: main", ("pytest",)),
    ("claims' pool (spawned)", ("multiprocessing.spawn",)),
    ("real-run app servers", ("webapp.real.appserver",)),
    ("real-run worker and planner", ("webapp.real.worker", "webapp.real.planner")),
    ("simulation workers", ("webapp.worker",)),
    ("web servers", ("-m webapp",)),
    ("postgres", ("postgres",)),
    ("redis", ("redis",)),
    ("nginx", ("nginx",)),
)


def kind_of(cmdline: str) -> str:
    """The kind of a process, from its command line (arguments joined by spaces)."""
    for kind, words in KINDS:
        if any(word in cmdline for word in words):
            return kind
    program = cmdline.split(" ", 1)[0].rsplit("/", 1)[-1]
    return f"other: {program or '?'}"


def machine_busy_ticks() -> int:
    """All CPUs' busy time since boot (everything but idle and iowait), in ticks."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq + steal


class Sampler:
    """Adds up each kind's CPU ticks by looking at every process every ``INTERVAL_S``."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], list] = {}     # (pid, start time) -> [ticks, kind]
        self.ticks: dict[str, int] = {}
        self.first = True
        self.stop = threading.Event()

    def look(self) -> None:
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():   # (not this bench itself)
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read().rsplit(")", 1)[1].split()
                used, born = int(stat[11]) + int(stat[12]), stat[19]
                known = self.seen.get((pid, born))
                if known is None:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
                    # Running before we started: only what it uses from now on counts.
                    known = self.seen[(pid, born)] = [used if self.first else 0, kind_of(cmdline)]
                self.ticks[known[1]] = self.ticks.get(known[1], 0) + used - known[0]
                known[0] = used
            except (OSError, IndexError, ValueError):
                continue            # it ended while we looked
        self.first = False

    def run(self) -> None:
        while not self.stop.is_set():
            self.look()
            self.stop.wait(INTERVAL_S)
        self.look()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("command", nargs="*", default=["make", "test"],
                        help="the command to measure (after --; default: make test)")
    args = parser.parse_args(argv)
    sampler = Sampler()
    sampler.look()
    watcher = threading.Thread(target=sampler.run, daemon=True)
    busy0, wall0 = machine_busy_ticks(), time.monotonic()
    watcher.start()
    status = subprocess.call(args.command)
    wall = time.monotonic() - wall0
    busy = (machine_busy_ticks() - busy0) / HZ
    sampler.stop.set()
    watcher.join()
    kinds = {kind: ticks / HZ for kind, ticks in sampler.ticks.items() if ticks}
    attributed = sum(kinds.values())
    print(f"\n== CPU of `{' '.join(args.command)}` (exit {status}), by kind of process")
    print(f"{'kind':34} {'CPU s':>8} {'share':>7}")
    for kind, cpu in sorted(kinds.items(), key=lambda kv: -kv[1]):
        if cpu >= 0.5:
            print(f"{kind:34} {cpu:8.1f} {cpu / busy:7.1%}")
    print(f"{'not attributed (short-lived, kernel)':34} {busy - attributed:8.1f} {(busy - attributed) / busy:7.1%}")
    print(f"machine busy {busy:.0f} CPU s over {wall:.0f} s of wall time: {busy / wall:.2f} cores "
          f"of {os.cpu_count()} on average")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": args.command, "status": status, "wall_s": round(wall, 1),
                       "busy_cpu_s": round(busy, 1),
                       "kinds": {k: round(v, 1) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])}},
                      f, indent=1)
    return status


if __name__ == "__main__":
    sys.exit(main())
