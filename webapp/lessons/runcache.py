"""Run summaries kept on disk, keyed by the source of the code that made them.

Measuring a claim over 1,000 seeds costs about an hour of CPU for the whole course; an author who
rewrites a sentence and measures again should not pay it twice (``lessons dist``), and the suite
need not recompute seeds 1 to 20 on a tree whose code did not change (``lessons check --cache``).
A run is a pure function of the code, its experiment and its seed, so its summary is kept under a
version made of *all* of webapp's Python source and the Python version: listing only the modules
a run executes would go stale the day one of them gains an import, so any change to the code
starts a fresh version, and the cache can never answer for code that did not make the summary.
A lesson's text and checks are not part of the version: checks are judged afresh on the kept
summaries, and an experiment's definition (preset, overrides, windows, recording) is each run's
key. A clean clone has no cache and computes everything; the suite's random draw never reads it.
The newest ``KEEP_VERSIONS`` versions are kept, older ones are deleted, so the cache stays within
a few courses' runs (one course at 1,000 seeds is about 5 MB).

Layout: ``.herdlab/lesson-runs/VERSION/RUN.jsonl.gz``, one line ``{"seed", "summary"}`` per seed
(appended as gzip members), RUN a hash of the preset, overrides, windows and recording.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = ROOT / ".herdlab" / "lesson-runs"
SOURCE = ROOT / "webapp"
MAX_SEEDS_PER_RUN = 5000  # past this many seeds of one experiment, new ones are not kept
KEEP_VERSIONS = 3


@lru_cache(maxsize=4)
def engine_version(source: Path = SOURCE) -> str:
    """A hash of every Python file under ``source`` (names and bytes) and of the Python version:
    16 hex digits that change with any change to the code."""
    digest = hashlib.sha256(sys.version.encode())
    for file in sorted(source.rglob("*.py")):
        digest.update(str(file.relative_to(source)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


class RunCache:
    """Summaries by (run, seed) for one engine version; ``get`` misses return None."""

    def __init__(self, directory: Path | None = None, version: str | None = None) -> None:
        directory = directory or CACHE_DIR
        self.dir = directory / (version or engine_version())
        self._loaded: dict[str, dict[int, dict[str, Any]]] = {}
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.touch()  # the newest version is the one used last
        versions = sorted((d for d in directory.iterdir() if d.is_dir()),
                          key=lambda d: d.stat().st_mtime, reverse=True)
        for old in versions[KEEP_VERSIONS:]:
            if old != self.dir:
                shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def _name(key: Iterable[Any]) -> str:
        return hashlib.sha256(json.dumps(list(key), sort_keys=True).encode()).hexdigest()[:24]

    def _seeds(self, name: str) -> dict[int, dict[str, Any]]:
        if name not in self._loaded:
            found: dict[int, dict[str, Any]] = {}
            path = self.dir / f"{name}.jsonl.gz"
            if path.is_file():
                try:
                    with gzip.open(path, "rt", encoding="utf-8") as lines:
                        for line in lines:
                            record = json.loads(line)
                            found[int(record["seed"])] = record["summary"]
                except (OSError, EOFError, ValueError, KeyError):
                    pass  # a torn last write: keep what was read, the rest is computed again
            self._loaded[name] = found
        return self._loaded[name]

    def get(self, key: Iterable[Any], seed: int) -> dict[str, Any] | None:
        return self._seeds(self._name(key)).get(seed)

    def put_all(self, found: Iterable[tuple[Iterable[Any], int, dict[str, Any]]]) -> None:
        """Keep ``(key, seed, summary)`` records: one gzip member per run appended to its file."""
        new: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for key, seed, summary in found:
            name = self._name(key)
            seeds = self._seeds(name)
            if seed not in seeds and len(seeds) < MAX_SEEDS_PER_RUN:
                seeds[seed] = summary
                new.setdefault(name, []).append((seed, summary))
        for name, records in new.items():
            with gzip.open(self.dir / f"{name}.jsonl.gz", "at", encoding="utf-8") as out:
                out.writelines(json.dumps({"seed": seed, "summary": summary}) + "\n"
                               for seed, summary in records)
