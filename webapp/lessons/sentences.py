"""Every sentence that states a number or a comparison is backed: by a check, a source, or a reason.

A lesson's checks quote the words they back (``says``), so the sentences nobody backs can be found:
split the page's text into sentences, find in each the words that make it a claim (a number,
"more", "fewer", "than", "twice", "the same", ...) and ask whether each such word lies inside a
check's quote. A sentence about a real system is backed by its source: it cites a reference, or
its paragraph does and the sentence says nothing of the lab (no "lab", "run", "our", "here", ...;
tests/lessons/test_lessons_claims.py holds paragraphs to their citations). A sentence that states
a number about no run (the formula's arithmetic, a hypothetical, general knowledge) is listed in
the lesson's ``unchecked`` with the reason, so a reader of the file sees it was a decision, not an
oversight. The setting of a run is a claim like any other: a check reads it as ``scenario.KEY``.

Only what the page asserts is read: the intro, the steps, the prediction's right answer and its
explanation, each checkpoint's right answer and every choice's explanation. The questions and
the wrong choices are not claims.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from webapp.lessons.claims import NUMBER_WORDS, plain
from webapp.lessons.model import Lesson

COMPARATIVES = (
    "more", "fewer", "less", "than", "longer", "shorter", "faster", "slower", "sooner", "later",
    "higher", "lower", "larger", "smaller", "bigger", "same", "twice", "half", "halves", "double",
    "doubles", "rise", "rises", "fall", "falls", "grows", "drops", "worst", "best",
)
# "one" is mostly a pronoun ("the one that fetches"); a claim of one query is a check anyway.
_WORDS = [w for w in NUMBER_WORDS if w != "one"] + list(COMPARATIVES)
_CLAIM = re.compile(r"(?<![\w.])\d(?:[\d,.]*\d)?%?|\b(?:" + "|".join(_WORDS) + r")\b", re.IGNORECASE)
_LAB = re.compile(r"\b(?:lab|labs|our|we|run|runs|ran|experiment|experiments|engine|here|you)\b",
                  re.IGNORECASE)
# Numbers that name a place in the course, not a quantity: "lesson 9", "lessons 4 to 7".
_NAMES = re.compile(r"\blessons? \d+(?:(?:,| to| and| or) \d+)*|\bstep \d+", re.IGNORECASE)
_CITES = re.compile(r"\]\(/references#")
_PARAGRAPHS = re.compile(r"\n\s*\n")
_ITEMS = re.compile(r"(?:^|\n)\s*(?:[-*]|\d+\.)\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=[A-Z0-9*\[`(\"])")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a lesson page as the reader sees it, and the words that make it a claim."""

    text: str                     # plain text, one space between words
    sourced: bool                 # about a real system, with its source: it cites a reference,
                                  # or its paragraph does and it says nothing of the lab
    claims: tuple[str, ...]       # the numbers and comparatives it states, in order


def sentences(markdown: str) -> list[Sentence]:
    """The sentences of a piece of lesson Markdown (a paragraph, a list item, a table row...)."""
    found = []
    for paragraph in _PARAGRAPHS.split(markdown):
        if paragraph.lstrip().startswith(("```", "~~~", "|")):
            continue  # code and tables are not prose
        cited = bool(_CITES.search(paragraph))
        for block in _ITEMS.split(paragraph):
            for raw in _SENTENCE_END.split(block):
                if not raw.strip():
                    continue
                text = plain(raw)
                sourced = bool(_CITES.search(raw)) or cited and not _LAB.search(text)
                found.append(Sentence(text, sourced, claim_words(text)))
    return found


def claim_words(text: str) -> tuple[str, ...]:
    """The numbers and comparatives of a plain sentence, without the names of lessons."""
    return tuple(m.group(0) for m in _CLAIM.finditer(_NAMES.sub(" ", text)))


def asserted(lesson: Lesson) -> list[str]:
    """The Markdown a lesson page asserts (see the module docstring), in page order."""
    found = [lesson.intro, *(step.markdown for step in lesson.steps)]
    p = lesson.prediction
    if p:
        found += [p.choices[p.answer].text, p.explain]
    for cp in lesson.checkpoints:
        found.append(cp.choices[cp.answer].text)
        found += [c.why for c in cp.choices if c.why]
    return [text for text in found if text]


def unbacked(lesson: Lesson) -> list[tuple[Sentence, tuple[str, ...]]]:
    """Each sentence with claim words outside every check's quote (and its ``unchecked`` quotes),
    with those words; sentences that cite a source are backed by it."""
    quotes = [plain(c.says).lower() for c in lesson.all_checks()]
    quotes += [plain(u.says).lower() for u in lesson.unchecked]
    found = []
    for markdown in asserted(lesson):
        for sentence in sentences(markdown):
            if sentence.sourced or not sentence.claims:
                continue
            loose = _outside(sentence.text, quotes)
            if loose:
                found.append((sentence, loose))
    return found


def _outside(text: str, quotes: Iterable[str]) -> tuple[str, ...]:
    """The claim words of ``text`` that no quote covers (a quote covers the span it matches)."""
    lower = text.lower()
    covered = [False] * len(text)
    for quote in quotes:
        if not quote:
            continue
        start = lower.find(quote)
        while start >= 0:
            covered[start:start + len(quote)] = [True] * len(quote)
            start = lower.find(quote, start + 1)
        if quote in lower or not lower:
            continue
        if lower.rstrip(".") in quote:  # the whole sentence is inside a longer quote
            covered = [True] * len(text)
    named = _NAMES.sub(lambda m: " " * len(m.group(0)), text)
    return tuple(m.group(0) for m in _CLAIM.finditer(named)
                 if not all(covered[m.start():m.end()]))
