"""How a check is held to the sentence it backs: numbers in prose, and one-sided wording.

A check quotes the lesson's words (``says``). If those words state a number ("about 3 s", "one
query per chunk", "dozens"), a check that bounds it on one side only is weaker than the sentence:
"about 3 s" is false at 9 s. The only honest one-sided checks are for one-sided words ("more than
twice", "at least", "under a second"), and a check names those words in ``one_sided``. The loader
verifies that those words are in the quote and point the way the check does; the test suite
verifies that every other check quoting a number bounds it on both sides.
"""
from __future__ import annotations

import re

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"[*`]")
_SPACE = re.compile(r"\s+")

NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
    "hundred hundreds thousand thousands million millions dozen dozens half halve halves twice "
    "double doubles triple thrice quarter quarters third thirds fifth fifths tenth tenths tenfold"
).split()
_NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*|\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)

# One-sided wording and the bound it puts on the quantity it qualifies.
ONE_SIDED: dict[str, str] = {
    **dict.fromkeys(["more than", "at least", "over", "above", "greater than", "longer than",
                     "larger than", "bigger than", "exceeds", "or more"], "lower"),
    **dict.fromkeys(["less than", "fewer than", "under", "below", "at most", "no more than",
                     "up to", "shorter than", "smaller than", "or fewer", "or less", "within"],
                    "upper"),
}


def plain(markdown: str) -> str:
    """Markdown source as the words a reader sees: link text kept, emphasis marks gone, one space."""
    return _SPACE.sub(" ", _MARKUP.sub("", _LINK.sub(r"\1", markdown))).strip()


def numbers_in(text: str) -> list[str]:
    """The numbers a sentence states, digits or words ("300", "one", "dozens", "twice")."""
    return [match.group(0) for match in _NUMBER.finditer(plain(text))]


def one_sided_problem(words: str, says: str, bounds: str) -> str | None:
    """Why ``words`` cannot excuse a one-sided check of ``says``, or None when they can."""
    direction = ONE_SIDED.get(words.lower().strip())
    if direction is None:
        return f"{words!r} is not one-sided wording; known: " + ", ".join(sorted(ONE_SIDED))
    if not re.search(r"\b" + re.escape(words.strip()) + r"\b", plain(says), re.IGNORECASE):
        return f"{words!r} is not in the quoted words {says!r}"
    if bounds != direction:
        return f"{words!r} bounds the value from {'below' if direction == 'lower' else 'above'}, " \
               f"but the check bounds it {'on both sides' if bounds == 'both' else bounds + ' only'}"
    return None
