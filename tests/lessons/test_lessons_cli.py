"""``python -m webapp lessons check`` proves every lesson's claims against the engine, on many seeds."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.__main__ import main
from webapp.lessons import checks
from webapp.lessons.checks import check_lessons, parse_seeds, random_seeds, seed_list, spread
from webapp.lessons.loader import load_course

ROOT = Path(__file__).resolve().parents[2]


def test_a_failing_claim_exits_non_zero_and_says_on_which_seeds(course_dir, add_lesson, capsys):
    def claim_the_opposite(front: dict) -> None:
        front["checks"][4]["expect"] = "errors == 0"  # lesson 1 shows errors on every seed

    add_lesson("wrong-claim", claim_the_opposite)
    status = main(["lessons", "check", "--dir", str(course_dir), "--seeds", "3", "--jobs", "1"])
    out = capsys.readouterr().out
    assert status == 1
    line = next(l for l in out.splitlines() if l.startswith("FAIL wrong-claim"))
    assert "[herd] errors == 0  (0 of 3 seeds;" in line
    assert "fails on seed 1, 2, 3 (seed 1: " in line and line.endswith("— errors appear")
    assert "1 failed" in out


def test_a_claim_true_on_some_seeds_only_fails_unless_the_lesson_says_how_often(
        course_dir, add_lesson, capsys):
    # The datastore is down 6 s on most seeds and longer on some (seeds 2 and 5 of 1..5).
    usually = "The datastore stays down longer than 6 s in about 3 runs of 10."

    def claim(expect: str, order: int):
        def edit(front: dict) -> None:
            front["checks"] = [{"experiment": "herd", "expect": expect, "says": usually}]
            front["order"] = order
        return edit

    add_lesson("always", claim("db_down_s > 6", 50), body=lambda text: text + "\n" + usually + "\n")
    add_lesson("sometimes", claim("db_down_s > 6 in 20% to 45% of runs", 51),
               body=lambda text: text + "\n" + usually + "\n")
    status = main(["lessons", "check", "--dir", str(course_dir), "--seeds", "1-5", "--jobs", "1",
                   "--lesson", "always", "--lesson", "sometimes"])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL always [herd] db_down_s > 6  (2 of 5 seeds; 6..12; fails on seed 1, 3, 4" in out
    assert "ok   sometimes [herd] db_down_s > 6 in 20% to 45% of runs  (2 of 5 seeds, needs 0..5;" in out


def test_a_share_is_judged_by_its_binomial_margin_on_both_sides(course_dir, add_lesson, capsys):
    """"In about 3 runs of 10" fails a draw where it holds on every seed: too often is wrong too."""
    says = "It goes down in about 3 runs of 10."

    def edit(front: dict) -> None:
        front["checks"] = [{"experiment": "herd", "expect": "errors > 0 in 20% to 45% of runs",
                            "says": says}]

    add_lesson("split", edit, body=lambda text: text + "\n" + says + "\n")
    status = main(["lessons", "check", "--dir", str(course_dir), "--seeds", "40", "--jobs", "2",
                   "--lesson", "split"])
    out = capsys.readouterr().out
    assert status == 1
    assert ("FAIL split [herd] errors > 0 in 20% to 45% of runs  (40 of 40 seeds, needs 0..32;"
            in out) and "holds on more seeds than the share it states" in out


def test_costly_experiments_run_on_a_spread_of_seeds_unless_all_seeds(course_dir, add_lesson, capsys):
    def cap(front: dict) -> None:
        front["experiments"][0].update(max_seeds=2, max_seeds_why="a test of the cap")

    add_lesson("capped", cap)
    main(["lessons", "check", "--dir", str(course_dir), "--seeds", "4", "--jobs", "1",
          "--lesson", "capped"])
    out = capsys.readouterr().out
    assert "ok   capped [herd] errors > 0  (2 of 2 seeds (max_seeds);" in out
    assert "ok   capped [few] errors == 0  (4 of 4 seeds;" in out
    main(["lessons", "check", "--dir", str(course_dir), "--seeds", "4", "--jobs", "1",
          "--lesson", "capped", "--all-seeds"])
    assert "ok   capped [herd] errors > 0  (4 of 4 seeds;" in capsys.readouterr().out


def test_a_check_judged_on_no_seed_fails(course_dir):
    """A check whose experiments share no seed (different caps) has nothing to stand on."""
    [lesson] = load_course(course_dir).lessons
    check = lesson.checks[0]
    assert not checks.Outcome(lesson.id, check, (), ()).ok
    assert checks.Outcome(lesson.id, check, (1,), (checks.Verdict(True, (1.0, 1.0), "1 == 1"),)).ok


def test_runs_are_shared_and_spread_over_processes(course_dir):
    """Two processes give the same verdicts as one, and equal experiments run once."""
    [lesson] = load_course(course_dir).lessons
    one = check_lessons([lesson], (1, 2), jobs=1)
    two = check_lessons([lesson], (1, 2), jobs=2)
    assert [o.verdicts for o in one] == [o.verdicts for o in two]
    runs = [checks.Run.of(e, s) for e in lesson.experiments for s in (1, 2)]
    assert len(set(runs + runs)) == len(lesson.experiments) * 2


def test_a_run_that_raises_fails_only_the_checks_that_read_it(course_dir, monkeypatch):
    [lesson] = load_course(course_dir).lessons

    def summary(experiment):
        if experiment.overrides.get("clients", {}).get("count") == 30:  # the "few" experiment
            raise RuntimeError("engine bug")
        return real(experiment)

    real = checks.run_summary_of
    monkeypatch.setattr(checks, "run_summary_of", summary)
    outcomes = check_lessons([lesson], (1,), jobs=1)
    broken = [o for o in outcomes if o.check.experiment == "few"]
    assert broken and all(not o.ok for o in broken)
    assert broken[0].verdicts[0].detail == "the run raised RuntimeError: engine bug"
    assert all(o.ok for o in outcomes if o.check.experiment != "few")


@pytest.mark.parametrize("text, seeds", [
    ("20", tuple(range(1, 21))), ("1-20", tuple(range(1, 21))), ("3", (1, 2, 3)),
    ("3,7-9", (3, 7, 8, 9)), (" 5-6 ", (5, 6)), ("0-1", (0, 1)),
])
def test_seeds_are_a_count_a_range_or_a_list(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["0", "1001", "x", "5-3", "1,1", "1-2000", "", "1-", "-3",
                                  "1-9007199254740993"])
def test_bad_seeds_are_refused(text):
    with pytest.raises(ValueError):
        parse_seeds(text)


def test_bad_arguments_exit_2_with_a_message(capsys):
    assert main(["lessons", "check", "--seeds", "5-3"]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["lessons", "check", "--jobs", "0"]) == 2


@pytest.mark.parametrize("seeds, most, chosen", [
    ((1, 2, 3, 4, 5), None, (1, 2, 3, 4, 5)), ((1, 2, 3), 5, (1, 2, 3)),
    (tuple(range(1, 21)), 4, (1, 7, 14, 20)), ((1, 2, 3), 1, (1,)), ((4, 9), 2, (4, 9)),
])
def test_a_cap_keeps_an_even_spread_of_the_seeds(seeds, most, chosen):
    assert spread(seeds, most) == chosen


def test_the_command_line_is_registered():
    result = subprocess.run([sys.executable, "-m", "webapp", "lessons", "check", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--seeds" in result.stdout and "--all-seeds" in result.stdout


def test_random_seeds_are_fresh_distinct_and_reproducible_from_the_printed_list():
    import random
    drawn = random_seeds(40, random.Random(1))
    assert len(set(drawn)) == 40 and all(1 <= s < 2**31 for s in drawn)
    assert drawn != random_seeds(40, random.Random(2))
    assert parse_seeds(seed_list(drawn)) == drawn
    assert seed_list((1, 2, 3, 7, 9, 10)) == "1-3,7,9-10"
    with pytest.raises(ValueError):
        random_seeds(0)


def test_random_seeds_drawn_beside_fixed_ones_are_never_among_them():
    import random

    fixed = random_seeds(3, random.Random(1))
    drawn = random_seeds(3, random.Random(1), besides=fixed)   # the same generator offers them first
    assert set(drawn).isdisjoint(fixed) and len(set(drawn)) == 3
    with pytest.raises(ValueError):
        random_seeds(checks.MAX_SEEDS, besides=(1,))


def test_check_random_prints_the_seeds_it_drew_first(course_dir, capsys):
    status = main(["lessons", "check", "--dir", str(course_dir), "--random", "2", "--jobs", "1"])
    out = capsys.readouterr().out.splitlines()
    assert status == 0
    drawn = re.match(r"random seeds \(reproduce with --seeds ([\d,-]+)\):", out[0]).group(1)
    assert len(parse_seeds(drawn)) == 2
    assert out[-1].startswith(f"{len(out) - 2} checks on 2 random seeds, all hold")
    assert main(["lessons", "check", "--random", "0"]) == 2


def test_check_fixed_and_random_seeds_together_prints_them_all_and_judges_them_as_one(
        course_dir, capsys):
    """The suite's check: the fixed seeds and a fresh draw, one verdict per check over all of them
    (a share judged on both, with the margin of its whole count), reproducible from the list."""
    status = main(["lessons", "check", "--dir", str(course_dir), "--seeds", "3",
                   "--random", "2", "--jobs", "1"])
    out = capsys.readouterr().out.splitlines()
    assert status == 0
    listed = parse_seeds(re.match(r"random seeds \(reproduce with --seeds ([\d,-]+)\):",
                                  out[0]).group(1))
    assert listed[:3] == (1, 2, 3) and len(set(listed)) == 5
    assert out[-1].startswith(f"{len(out) - 2} checks on 5 seeds (3 fixed, 2 random), all hold")
    assert all(re.search(r"\(\d+ of 5 seeds", line) for line in out[1:-1]), out
    assert main(["lessons", "check", "--seeds", "1000", "--random", "1"]) == 2  # over MAX_SEEDS


def test_dist_shows_a_claims_distribution_and_whether_it_is_true_as_written(
        course_dir, add_lesson, capsys, tmp_path, monkeypatch):
    from webapp.lessons import runcache
    monkeypatch.setattr(runcache, "CACHE_DIR", tmp_path / "runs")
    says = "It stays down longer than 6 s in most runs."

    def edit(front: dict) -> None:
        front["checks"] = [{"experiment": "herd", "expect": "db_down_s > 6 in most runs",
                            "says": says},
                           {"experiment": "herd", "expect": "chunks == 4", "says": "4 chunks each"}]

    add_lesson("measured", edit, body=lambda text: text + "\n" + says + "\n")
    status = main(["lessons", "dist", "measured", "--dir", str(course_dir), "--seeds", "6",
                   "--jobs", "1"])
    out = capsys.readouterr().out
    assert status == 1                      # down longer than 6 s on 2 of 6 seeds: not most runs
    assert "FALSE measured [herd] db_down_s > 6 in most runs  (check 1)" in out
    assert "holds on 2 of 6 seeds (33.3%" in out and "claimed in most runs" in out
    assert "TRUE  measured [herd] chunks == 4  (check 2)" in out
    assert "value over 6 seeds: min 4" in out
    assert re.search(r"\d+ claims on 6 seeds \(1..6\), 1 false as written", out)
    assert list((tmp_path / "runs").rglob("*.jsonl.gz"))   # the runs are kept ...
    main(["lessons", "dist", "measured", "herd: db_down_s / 3", "--dir", str(course_dir),
          "--seeds", "6", "--jobs", "1"])
    out = capsys.readouterr().out
    assert "VALUE measured [herd] db_down_s / 3" in out and "min 2" in out
    assert "in 0.0 s" in out                                  # ... and read back, not run again
    main(["lessons", "dist", "measured", "herd: events.key_queries_max > 100", "--dir",
          str(course_dir), "--seeds", "2", "--jobs", "1"])
    assert "holds on 2 of 2 seeds" in capsys.readouterr().out   # events.* recorded on demand
    assert main(["lessons", "dist", "measured", "nowhere: x", "--dir", str(course_dir)]) == 2
    assert main(["lessons", "dist", "measured", "9", "--dir", str(course_dir)]) == 2


def test_a_run_wanted_with_and_without_its_events_is_made_once(monkeypatch):
    made = []

    def summary(run):
        made.append(run)
        return {"db_queries": 1, **({"events": {"waves": 1}} if run.record else {})}

    monkeypatch.setattr(checks, "_summary", summary)
    plain = checks.Run("classroom", "{}", 1)
    recorded = checks.Run("classroom", "{}", 1, record=True)
    results = checks.run_all([plain, recorded], jobs=1)
    assert made == [recorded] and results[plain] is results[recorded]


def test_the_run_cache_keeps_runs_per_engine_version_and_only_the_newest_versions(tmp_path):
    from webapp.lessons import runcache
    key = ("classroom", "{}", [], False)
    first = runcache.RunCache(tmp_path, version="v1")
    first.put_all([(key, 3, {"db_queries": 7})])
    assert runcache.RunCache(tmp_path, version="v1").get(key, 3) == {"db_queries": 7}
    assert runcache.RunCache(tmp_path, version="v2").get(key, 3) is None   # another engine
    import os
    for age, version in enumerate(["v1", "v2", "v3", "v4", "v5"], start=1):
        runcache.RunCache(tmp_path, version=version)
        os.utime(tmp_path / version, (10**9 + age, 10**9 + age))   # v5 the newest of them
    runcache.RunCache(tmp_path, version="v6")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v4", "v5", "v6"]


def test_check_with_cache_reuses_runs_of_the_same_source_and_judges_them_afresh(
        course_dir, add_lesson, capsys, tmp_path, monkeypatch):
    from webapp.lessons import runcache
    monkeypatch.setattr(runcache, "CACHE_DIR", tmp_path / "runs")
    add_lesson("cached")
    args = ["lessons", "check", "--dir", str(course_dir), "--seeds", "2", "--jobs", "1",
            "--lesson", "cached", "--cache"]
    assert main(args) == 0
    first = [line for line in capsys.readouterr().out.splitlines() if line.startswith("ok")]
    assert first and list((tmp_path / "runs").rglob("*.jsonl.gz"))

    def no_run(run):
        raise AssertionError(f"computed again: {run}")

    monkeypatch.setattr(checks, "_summary", no_run)     # the same source: every run is read back
    assert main(args) == 0
    assert [line for line in capsys.readouterr().out.splitlines() if line.startswith("ok")] == first
    monkeypatch.setattr(runcache.RunCache, "__init__", lambda self, *a, **k: (_ for _ in ()).throw(
        AssertionError("the cache was opened")))
    with pytest.raises(AssertionError, match="computed again"):   # without --cache: computed
        main(args[:-1])


def test_the_cache_version_changes_with_any_python_file_of_the_source(tmp_path):
    from webapp.lessons.runcache import engine_version
    tree = tmp_path / "webapp"
    (tree / "views").mkdir(parents=True)
    (tree / "engine.py").write_text("x = 1\n")
    (tree / "views" / "page.py").write_text("y = 1\n")
    before = engine_version(tree)
    engine_version.cache_clear()
    (tree / "views" / "page.py").write_text("y = 2\n")      # not the engine: still a new version
    changed = engine_version(tree)
    engine_version.cache_clear()
    (tree / "views" / "page.py").write_text("y = 1\n")
    (tree / "notes.md").write_text("prose")                  # not Python: the same version
    assert changed != before and engine_version(tree) == before
