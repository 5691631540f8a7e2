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

from webapp.lessons.shares import Share

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


# How a sentence says how often: "in most runs", "in about 3 runs of 10", "in half of the runs",
# "in 30% of runs". A share check must quote such words, and they must agree with its share.
_SMALL = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}
_COUNT = r"(\d+|" + "|".join(_SMALL) + r")"
_MOST = re.compile(r"\bmost (?:of the )?runs\b", re.IGNORECASE)
_K_OF_N = re.compile(r"\b" + _COUNT + r" (?:runs? )?(?:of|in|out of) " + _COUNT + r"(?: runs)?\b",
                     re.IGNORECASE)
_HALF = re.compile(r"\bhalf (?:of )?the runs\b", re.IGNORECASE)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?% of (?:the )?runs\b", re.IGNORECASE)
SHARE_WIDTH = 0.3  # a split stated as "about 3 runs of 10" may be checked as 20% to 45%, not wider


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _SMALL[word.lower()]


def share_words(says: str) -> tuple[str, float | None] | None:
    """The words of ``says`` that state how often, and the share they state (None for "most
    runs"); None when it states none."""
    text = plain(says)
    if match := _MOST.search(text):
        return match.group(0), None
    for match in _K_OF_N.finditer(text):
        if "run" in match.group(0).lower() and _count(match.group(2)) > 0:
            return match.group(0), _count(match.group(1)) / _count(match.group(2))
    if match := _HALF.search(text):
        return match.group(0), 0.5
    if match := _PERCENT.search(text):
        return match.group(0), float(match.group(1)) / 100
    return None


def share_problem(share: Share, says: str) -> str | None:
    """Why the quoted words cannot back a check with this share, or None when they can."""
    found = share_words(says)
    if found is None:
        return (f"the check holds {share}, so the quoted words must say how often: 'in most "
                f"runs', 'in about 3 runs of 10', 'in half of the runs', 'in 30% of runs'")
    words, stated = found
    if share.most:
        return None if stated is None else f"{words!r} states a share; the check says 'in most runs'"
    if stated is None:
        return f"'most runs' is the share [95%, 100%]: write the check '... in most runs', not {share}"
    if not share.low <= stated <= share.high:
        return f"{words!r} states {stated:.0%}, outside the check's {share}"
    if share.high < 1.0 and share.high - share.low > SHARE_WIDTH + 1e-9:
        return f"{share} is wider than {SHARE_WIDTH:.0%}: it says too little to back {words!r}"
    return None
