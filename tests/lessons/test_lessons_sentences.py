"""Every sentence a lesson page asserts with a number or a comparison is backed (sentences.py)."""
from __future__ import annotations

import pytest

from webapp.lessons.expr import parse
from webapp.lessons.loader import load_course
from webapp.lessons.model import Check, Lesson, Unchecked
from webapp.lessons.sentences import claim_words, sentences, unbacked


def _lesson(intro: str, checks=(), unchecked=()) -> Lesson:
    return Lesson(id="x", file="x.md", order=1, title="x", summary="x", intro=intro,
                  experiments=(), steps=(), prediction=None, checkpoints=(),
                  checks=tuple(Check("e", parse("x == 1"), says) for says in checks),
                  references=(), unchecked=tuple(Unchecked(u, "why") for u in unchecked))


def test_claim_words_are_numbers_and_comparatives_but_not_lesson_names():
    assert claim_words("In lesson 9 the 350 clients wait twice as long as in lessons 4 to 7.") \
        == ("350", "twice")
    assert claim_words("The one that fetches is the leader.") == ()       # "one" is a pronoun
    assert claim_words("It is slower, with fewer queries than before.") == ("slower", "fewer", "than")


def test_sentences_split_paragraphs_items_and_know_their_sources():
    found = sentences("Our lab has 3 items. Then [a source](/references#x) says 98%.\n\n"
                      "- an item about our lab with 4 chunks\n- 1.8% leaked ([src](/references#y))\n\n"
                      "A cited paragraph ([src](/references#z)). It says 40% leaked. The lab shows 7.")
    assert [(s.text, s.sourced) for s in found] == [
        ("Our lab has 3 items.", False),        # a cited paragraph, but about the lab
        ("Then a source says 98%.", True),
        ("an item about our lab with 4 chunks", False),
        ("1.8% leaked (src)", True),
        ("A cited paragraph (src).", True),
        ("It says 40% leaked.", True),          # the paragraph cites, and it is not about the lab
        ("The lab shows 7.", False),            # about the lab: a check must back it
    ]


def test_a_sentence_is_backed_when_each_claim_word_is_inside_a_quote():
    text = "The datastore gets 300 queries. It answers 40 of them, twice as fast. Nothing else."
    assert [(s.text, words) for s, words in unbacked(_lesson(text))] == [
        ("The datastore gets 300 queries.", ("300",)),
        ("It answers 40 of them, twice as fast.", ("40", "twice"))]
    backed = _lesson(text, checks=["gets 300 queries", "answers 40 of them"],
                     unchecked=["twice as fast"])
    assert unbacked(backed) == []
    partly = _lesson(text, checks=["gets 300 queries", "answers 40 of them"])
    assert [words for _, words in unbacked(partly)] == [("twice",)]


def test_a_quote_longer_than_the_sentence_backs_all_of_it():
    text = "It makes 4 queries. Then 5 more."
    assert unbacked(_lesson(text, checks=["It makes 4 queries. Then 5 more"])) == []


# ---- the course: every sentence that states a number or a comparison is backed -----------------

COURSE = load_course()


@pytest.mark.parametrize("lesson_id", [lesson.id for lesson in COURSE.lessons])
def test_every_sentence_with_a_number_or_comparison_is_backed(lesson_id):
    """A check quotes it, a source backs it, or ``unchecked`` says why no run can."""
    loose = [f"{words}: {sentence.text}" for sentence, words in unbacked(COURSE.lesson(lesson_id))]
    assert loose == [], f"{lesson_id}: sentences with numbers or comparisons and no check:\n" \
                        + "\n".join(loose)


def test_the_rule_finds_a_new_unbacked_sentence(course_dir, add_lesson):
    add_lesson("claims-more", body=lambda text: text + "\nThe datastore answers 40 queries more.\n")
    [(sentence, words)] = unbacked(load_course(course_dir).lesson("claims-more"))
    assert sentence.text == "The datastore answers 40 queries more." and words == ("40", "more")
