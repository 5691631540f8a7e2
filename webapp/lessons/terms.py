"""Where a lesson first uses each glossary term, and whether that first use links to it.

The course promises that no word is used before it is explained: every glossary term is a link
to its definition the first time a lesson uses it (a lesson can be opened on its own, so the rule
holds per lesson). The page's Markdown is walked in reading order with markdown-it, the way it is
rendered, so "first" means first on the page and "linked" means inside ``[...](/glossary#id)``.
Headings are names, not uses, and are not Markdown here; fenced code is code, not prose.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from markdown_it import MarkdownIt

from webapp.lessons.model import Term

_MARKDOWN = MarkdownIt("commonmark").enable("table")
_ENDINGS = r"(?:s|es|d|ed|ing)?"


@dataclass(frozen=True)
class Use:
    """A term's first use on a page: the words, where they were, and the link they were in."""

    term: str          # the glossary id
    words: str         # the words as written
    context: str       # a few words around it, to find it in the lesson
    link: str | None   # the href of the link around it, if any

    @property
    def linked(self) -> bool:
        return self.link == f"/glossary#{self.term}"


def _pattern(terms: Iterable[Term]) -> tuple[re.Pattern[str], list[str]]:
    """One regex of every term's words, longest first so "origin shield" beats "origin", and the
    term id that owns each of its groups (group ``t3`` belongs to ``owners[3]``)."""
    words = sorted(((w, t.id) for t in terms for w in t.uses), key=lambda p: -len(p[0]))
    alternatives = [f"(?P<t{i}>{re.escape(w)}{_ENDINGS})" for i, (w, _) in enumerate(words)]
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])", re.IGNORECASE)
    return pattern, [term for _, term in words]


def _runs(markdown: str) -> Iterable[tuple[str, str | None]]:
    """(text, href of the enclosing link or None) for every piece of inline text, in order."""
    for block in _MARKDOWN.parse(markdown):
        href: str | None = None
        for token in block.children or ():
            if token.type == "link_open":
                href = str(token.attrGet("href") or "")
            elif token.type == "link_close":
                href = None
            elif token.type in ("text", "code_inline"):
                yield token.content, href
            elif token.type in ("softbreak", "hardbreak"):
                yield " ", href


def first_uses(texts: Iterable[str], terms: Iterable[Term]) -> dict[str, Use]:
    """Each glossary term's first use in ``texts`` (Markdown, in page order)."""
    pattern, owners = _pattern(terms)
    found: dict[str, Use] = {}
    for text in texts:
        for run, href in _runs(text):
            for match in pattern.finditer(run):
                term = owners[int(match.lastgroup[1:])]  # type: ignore[index]
                if term not in found:
                    start, end = max(0, match.start() - 30), match.end() + 30
                    found[term] = Use(term, match.group(0), run[start:end].strip(), href)
    return found
