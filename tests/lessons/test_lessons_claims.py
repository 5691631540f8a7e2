"""Teaching truth: each check is as strong as the sentence it backs, and each source is real and used.

Issue 12: a check of "about 3 s" that only says "more than 0" proves nothing; a reference nobody
cites, or a claim about a real system that cites nothing, cannot be checked by a reader.
"""
from __future__ import annotations

import re

import pytest

from webapp.lessons.claims import numbers_in, one_sided_problem, plain, share_problem, share_words
from webapp.lessons.shares import Share
from webapp.lessons.expr import parse
from webapp.lessons.loader import load_course
from webapp.lessons.model import Check

COURSE = load_course()
LESSONS = COURSE.lessons
CHECKS = [(lesson.id, check) for lesson in LESSONS for check in lesson.all_checks()]

# Names that make a sentence a claim about a real system (or a publication about one).
REAL = re.compile(r"\b(Facebook|Instagram|nginx|Varnish|Cloudflare|CloudFront|AWS|Amazon|memcache|"
                  r"Goodreads|Upstash|Fastly|Brooker|Bronson|Huang|OSDI|HotOS|RFC|Go's|Drake)\b")
CITATION = re.compile(r"\]\(/references#[a-z0-9-]+\)")


def weakness(check: Check) -> str | None:
    """Why a check is weaker than its words, or None: the test below, as a function to test."""
    words = plain(check.says)
    if check.expect.share and (found := share_words(words)):  # "3 runs of 10": how often
        words = words.replace(found[0], "")
    numbers = numbers_in(words)
    if not numbers or check.expect.bounds == "both" or check.one_sided:
        return None
    return (f"'{check.expect.text}' bounds {check.expect.bounds} only, but its words state "
            f"{', '.join(numbers)}: bound both sides, or name the one-sided words in one_sided")


@pytest.mark.parametrize("lesson, check", CHECKS, ids=[f"{l}:{c.expect.text}" for l, c in CHECKS])
def test_every_check_bounds_both_sides_where_its_words_state_a_number(lesson, check):
    assert weakness(check) is None, f"{lesson}: {weakness(check)} — {check.says!r}"


@pytest.mark.parametrize("expect, says, one_sided, weak", [
    ("latency_answered_ms.max > 0", "about 3 s", None, True),            # the weak check of issue 12
    ("2500 <= latency_answered_ms.max <= 3500", "about 3 s", None, False),
    ("db_queries == chunks", "one query per chunk", None, False),
    ("db_queries > 50", "dozens of queries", None, True),
    ("db_queries > 2 * x", "more than twice as many", "more than", False),
    ("errors > 0", "errors appear", None, False),             # no number stated
    ("x > 1 in 25% to 45% of runs", "in about 3 runs of 10 it rises", None, False),
    ("x > 1 in 25% to 45% of runs", "in about 3 runs of 10 it doubles", None, True),
    ("x > 1 in most runs", "in most runs it doubles", None, True),
])
def test_the_strength_rule_catches_a_one_sided_check_of_a_stated_number(expect, says, one_sided, weak):
    assert (weakness(Check("e", parse(expect), says, one_sided)) is not None) == weak


@pytest.mark.parametrize("words, says, bounds, problem", [
    ("more than", "more than twice", "lower", None),
    ("at most", "at most as many", "upper", None),
    ("more than", "more than twice", "upper", "bounds the value from below"),
    ("more than", "twice as many", "lower", "is not in the quoted words"),
    ("about", "about twice", "lower", "is not one-sided wording"),
    ("under", "understood", "upper", "is not in the quoted words"),  # whole words only
])
def test_one_sided_words_must_be_quoted_and_point_the_checks_way(words, says, bounds, problem):
    found = one_sided_problem(words, says, bounds)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize("share, says, problem", [
    (Share(0.95, 1.0), "in most runs it crashes", None),
    (Share(0.95, 1.0), "it crashes", "must say how often"),
    (Share(0.95, 1.0), "in 3 runs of 10 it crashes", "states a share"),
    (Share(0.2, 0.45), "in about 3 runs of 10 it holds", None),
    (Share(0.2, 0.45), "in 7 of 10 runs it holds", "outside the check's"),
    (Share(0.2, 0.45), "in most runs it holds", "write the check '... in most runs'"),
    (Share(0.4, 0.6), "in half the runs", None),
    (Share(0.1, 0.9), "in half the runs", "wider than"),
    (Share(0.25, 0.35), "in 30% of runs", None),
    (Share(0.2, 0.45), "3 of 4 chunks", "must say how often"),   # not about runs
])
def test_a_share_check_quotes_words_that_say_how_often(share, says, problem):
    found = share_problem(share, says)
    assert (found is None) if problem is None else (problem in found)


def test_numbers_are_found_in_digits_and_words():
    assert numbers_in("about 3 s, 1,200 requests and a tenth") == ["3", "1,200", "tenth"]
    assert numbers_in("dozens of [queries](/glossary#x) per chunk_2") == ["dozens"]
    assert numbers_in("everyone is served at once") == []
    assert plain("**300 viewers** and [a link](/references#x) `code`") == "300 viewers and a link code"


def test_every_reference_has_a_url_or_says_why_not():
    assert COURSE.problems == ()
    for ref in COURSE.references.values():
        assert bool(ref.url) != bool(ref.no_url), ref.id
        assert not ref.url or ref.url.startswith("https://"), ref.id


def test_every_reference_is_cited_by_a_lesson_and_every_lesson_lists_what_it_cites():
    cited = {ref for lesson in LESSONS for ref in lesson.references}
    assert set(COURSE.references) - cited == set(), "references no lesson cites"
    for lesson in LESSONS:
        in_text = {ref for text in lesson.texts() for ref in re.findall(r"/references#([a-z0-9-]+)",
                                                                        text)}
        assert set(lesson.references) == in_text, lesson.id


def _paragraphs() -> list[tuple[str, str]]:
    """(where, paragraph) for every paragraph of every lesson and glossary definition."""
    found = [(f"glossary:{t.id}", t.definition) for t in COURSE.glossary]
    for lesson in LESSONS:
        for text in lesson.texts():
            found += [(lesson.id, p) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return found


@pytest.mark.parametrize("where, paragraph", [p for p in _paragraphs() if REAL.search(plain(p[1]))],
                         ids=lambda value: value[:40] if isinstance(value, str) else None)
def test_every_paragraph_about_a_real_system_cites_its_source(where, paragraph):
    assert CITATION.search(paragraph), f"{where}: names {REAL.search(plain(paragraph)).group(0)} " \
                                       f"but cites no reference: {plain(paragraph)[:160]!r}"
