"""No word before its meaning: every glossary term is a link the first time a lesson uses it."""
from __future__ import annotations

import re

import pytest

from webapp.lessons.loader import load_course
from webapp.lessons.model import Term
from webapp.lessons.terms import first_uses

COURSE = load_course()
GLOSSARY = {term.id: term for term in COURSE.glossary}


@pytest.mark.parametrize("lesson", COURSE.lessons, ids=[lesson.id for lesson in COURSE.lessons])
def test_each_term_is_linked_where_a_lesson_first_uses_it(lesson):
    unlinked = [f"{use.words!r} ({use.term}) in: {use.context!r}"
                for use in first_uses(lesson.texts(), COURSE.glossary).values() if not use.linked]
    assert unlinked == [], f"{lesson.id}: first use not linked to the glossary:\n" + "\n".join(unlinked)


def test_every_glossary_term_is_used_and_linked_somewhere_in_the_course():
    used = {term for lesson in COURSE.lessons for term in first_uses(lesson.texts(), COURSE.glossary)}
    assert set(GLOSSARY) - used == set()


@pytest.mark.parametrize("lesson", COURSE.lessons, ids=[lesson.id for lesson in COURSE.lessons])
def test_glossary_links_point_at_terms_that_exist(lesson):
    links = {target for text in lesson.texts() for target in re.findall(r"/glossary#([a-z0-9-]+)", text)}
    assert links - set(GLOSSARY) == set()


def test_jargon_the_issue_named_is_in_the_glossary():
    """Issue 12 found M/M/1, p99, CDN, edge, pods, XFetch and metastable used before defined."""
    words = {word.lower() for term in COURSE.glossary for word in term.uses}
    assert {"m/m/1", "p99", "cdn", "edge", "xfetch", "metastable"} <= words
    assert not any(re.search(r"\bpods?\b", text) for lesson in COURSE.lessons for text in lesson.texts())


TERMS = [Term("origin", "Origin", "", ("origin",)), Term("origin-shield", "OS", "", ("origin shield",)),
         Term("cache-miss", "Miss", "", ("cache miss", "miss")), Term("lock", "Lock", "", ("lock",))]


@pytest.mark.parametrize("texts, term, linked, words", [
    (["A [miss](/glossary#cache-miss), then misses."], "cache-miss", True, "miss"),
    (["Every request missed. A [miss](/glossary#cache-miss)."], "cache-miss", False, "missed"),
    (["The [origin shield](/glossary#origin-shield) and the origin."], "origin", False, "origin"),
    (["The [origin shield](/glossary#origin-shield)."], "origin-shield", True, "origin shield"),
    (["See [the lock](/references#x) and [lock](/glossary#lock)."], "lock", False, "lock"),
    (["```\nlock\n```\n\nthen a [lock](/glossary#lock)"], "lock", True, "lock"),  # code is not prose
    (["a block and a `proxy_cache_lock`, then [locks](/glossary#lock)"], "lock", True, "locks"),
    (["The original text."], "origin", None, None),  # "original" is not a use of "origin"
])
def test_first_uses_follow_the_page_as_rendered(texts, term, linked, words):
    uses = first_uses(texts, TERMS)
    if linked is None:
        assert term not in uses
    else:
        assert (uses[term].linked, uses[term].words) == (linked, words)
