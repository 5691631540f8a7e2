"""The check grammar: a claim about a run, written as a comparison, parsed without ``eval``.

Lessons state numbers ("one datastore query per chunk", "p99 above two seconds"); each number is
declared as a check so ``python -m webapp lessons check`` can prove it still holds as the engine
evolves. The grammar is deliberately tiny, so a lesson file can never run code:

    check   := sum CMP sum [CMP sum] [share]
    share   := "in most runs" | "in at least" PCT "of runs" | "in" PCT "to" PCT "of runs"
    PCT     := NUMBER "%"
    sum     := product (("+" | "-") product)*
    product := atom (("*" | "/") atom)*
    atom    := NUMBER | ref | "(" sum ")" | "-" atom
    ref     := [EXPERIMENT [".b"] ":"] NAME ("." NAME)*   e.g. db_queries, lock:db_queries
    CMP     := "==" | "!=" | "<" | "<=" | ">" | ">="

A bare ``ref`` names a summary key of the check's own experiment; ``lock:latency_answered_ms.mean`` names the
same key in the lesson's experiment ``lock``, which is how two runs are compared;
``pair.b:db_queries`` names it in side B of the experiment ``pair``, which declares ``compare``.

Two comparisons in a row state both bounds of a number, as the prose does when it says "about
3 s": ``2.5 <= latency_answered_ms.max / 1000 <= 3.5`` (both must point the same way, as in Python).
``lessons check`` runs every experiment on many seeds and a check must hold on each of them; a
claim the lesson states as true only in a share of runs ends with that share (``... in most
runs``: at least 95% of seeds; ``... in 20% to 40% of runs``), and is judged on the seeds run with
the statistical margin of ``shares.py``.
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Union

from webapp.lessons.shares import MOST, Share

MAX_LENGTH = 300  # a claim longer than this is not a claim a student can read beside the picture

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>\d+(?:\.\d+)?(?:e[+-]?\d+)?)
    | (?P<ref>(?:[a-z][a-z0-9-]*(?:\.b)?:)?[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)
    | (?P<op>==|!=|<=|>=|<|>|[-+*/()])
    )""", re.VERBOSE | re.IGNORECASE)

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}


class ExprError(ValueError):
    """The text is not a check in the grammar above; the message says where it went wrong."""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Ref:
    experiment: str | None  # None: the check's own experiment
    key: str                # dotted summary key


@dataclass(frozen=True)
class BinOp:
    op: str
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Neg:
    operand: "Node"


Node = Union[Num, Ref, BinOp, Neg]


@dataclass(frozen=True)
class Comparison:
    """A parsed check: ``a CMP b`` or ``a CMP b CMP c``, plus its source text for the verdict."""

    text: str
    ops: tuple[str, ...]
    operands: tuple[Node, ...]
    share: Share | None = None  # None: the claim holds on every seed

    @property
    def bounds(self) -> str:
        """Which bounds the check puts on its first operand: "both", "lower", "upper" or "none".

        ``==`` and a chain (``lo <= x <= hi``) bound both sides; ``x > 3`` only from below; this is
        what the lessons' strength test compares with the number the prose states.
        """
        if self.ops == ("==",) or len(self.ops) == 2:
            return "both"
        if not self.ops:
            return "none"
        return {">": "lower", ">=": "lower", "<": "upper", "<=": "upper"}.get(self.ops[0], "none")

    @property
    def subject(self) -> int:
        """Which operand the claim is about: the middle of a chain, else the first."""
        return 1 if len(self.ops) == 2 else 0

    def refs(self) -> list[Ref]:
        """Every summary key the check reads, so a loader can verify they exist."""
        found: list[Ref] = []

        def walk(node: Node) -> None:
            if isinstance(node, Ref):
                found.append(node)
            elif isinstance(node, BinOp):
                walk(node.left)
                walk(node.right)
            elif isinstance(node, Neg):
                walk(node.operand)

        for operand in self.operands:
            walk(operand)
        return found


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExprError(f"unexpected {text[pos:].strip()[:20]!r} at character {pos + 1}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExprError("the check ends too early")
        self.pos += 1
        return token

    def sum(self) -> Node:
        node = self.product()
        while (token := self.peek()) and token[1] in ("+", "-"):
            self.take()
            node = BinOp(token[1], node, self.product())
        return node

    def product(self) -> Node:
        node = self.atom()
        while (token := self.peek()) and token[1] in ("*", "/"):
            self.take()
            node = BinOp(token[1], node, self.atom())
        return node

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return Num(float(value))
        if kind == "ref":
            experiment, _, key = value.rpartition(":")
            return Ref(experiment or None, key)
        if value == "-":
            return Neg(self.atom())
        if value == "(":
            node = self.sum()
            if self.take()[1] != ")":
                raise ExprError("a '(' is not closed")
            return node
        raise ExprError(f"expected a number or a summary key, found {value!r}")


_SHARE = re.compile(r"""\s+in\s+(?:
      (?P<most>most\s+runs)
    | at\s+least\s+(?P<least>\d+(?:\.\d+)?)\s*%\s+of\s+runs
    | (?P<low>\d+(?:\.\d+)?)\s*%\s+to\s+(?P<high>\d+(?:\.\d+)?)\s*%\s+of\s+runs
    )\s*\Z""", re.IGNORECASE | re.VERBOSE)
_UPWARD, _DOWNWARD = {"<", "<="}, {">", ">="}


def _share(text: str) -> tuple[str, Share | None]:
    """Split a trailing share (``in most runs``, ``in 20% to 40% of runs``) off the comparison."""
    match = _SHARE.search(text)
    if not match:
        return text, None
    if match.group("most"):
        share = Share(*MOST)
    elif match.group("least") is not None:
        share = Share(float(match.group("least")) / 100, 1.0)
    else:
        share = Share(float(match.group("low")) / 100, float(match.group("high")) / 100)
    if not 0.0 <= share.low < share.high <= 1.0 or share == Share(0.0, 1.0):
        raise ExprError(f"a share must satisfy 0% <= low < high <= 100% and say something, "
                        f"not {match.group(0).strip()!r}")
    return text[:match.start()], share


def parse(text: str) -> Comparison:
    """Parse one check, e.g. ``"db_queries == chunks"``; raise ExprError if it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("a check must be a non-empty string")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"a check must be at most {MAX_LENGTH} characters")
    body, share = _share(text)
    parser = _Parser(body)
    operands = [parser.sum()]
    ops: list[str] = []
    while (token := parser.peek()) is not None and token[1] in COMPARATORS:
        parser.take()
        ops.append(token[1])
        operands.append(parser.sum())
    if not ops:
        raise ExprError("a check must compare two sides with one of: " + " ".join(COMPARATORS))
    if parser.peek() is not None:
        raise ExprError(f"unexpected {parser.peek()[1]!r} after the comparison")  # type: ignore[index]
    if len(ops) > 2:
        raise ExprError("a check compares at most three sides (lower <= value <= upper)")
    if len(ops) == 2 and not (set(ops) <= _UPWARD or set(ops) <= _DOWNWARD):
        raise ExprError("a chained check must point one way: 'lo <= x <= hi' or 'hi >= x >= lo'")
    return Comparison(text.strip(), tuple(ops), tuple(operands), share)


def parse_value(text: str) -> Comparison:
    """An expression with no comparison (``db_queries / chunks``), for ``lessons dist`` to show
    the distribution of: a Comparison of one operand, which evaluates to its value and holds."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LENGTH:
        raise ExprError(f"a value must be a non-empty expression of at most {MAX_LENGTH} characters")
    parser = _Parser(text)
    node = parser.sum()
    if parser.peek() is not None:
        raise ExprError(f"unexpected {parser.peek()[1]!r} after the value")  # type: ignore[index]
    return Comparison(text.strip(), (), (node,))


def lookup(summary: Mapping[str, object], key: str) -> float:
    """Read a dotted key from a (nested) summary as a number; KeyError if it is not a number."""
    value: object = summary
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(key)
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KeyError(key)
    return float(value)


def numeric_keys(summary: Mapping[str, object], prefix: str = "") -> set[str]:
    """Every dotted key of a summary that holds a number (or None, e.g. a p99 of no requests)."""
    keys: set[str] = set()
    for name, value in summary.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, Mapping):
            keys |= numeric_keys(value, dotted + ".")
        elif value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
            keys.add(dotted)
    return keys


@dataclass(frozen=True)
class Verdict:
    ok: bool
    values: tuple[float, ...]  # each operand's value, in order; empty when it could not be evaluated
    detail: str                # "12 == 12", or why it could not be evaluated


def evaluate(check: Comparison, summaries: Mapping[str, Mapping[str, object]], own: str) -> Verdict:
    """Evaluate ``check`` against each experiment's summary; bare keys read ``summaries[own]``.

    The share is not applied here: one evaluation is one seed's run (``checks`` counts the seeds).
    """

    def value(node: Node) -> float:
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Ref):
            return lookup(summaries[node.experiment or own], node.key)
        if isinstance(node, Neg):
            return -value(node.operand)
        return _ARITHMETIC[node.op](value(node.left), value(node.right))

    try:
        values = tuple(value(operand) for operand in check.operands)
    except ZeroDivisionError:
        return Verdict(False, (), "division by zero")
    except KeyError as exc:
        return Verdict(False, (), f"no numeric summary key {exc.args[0]!r}")
    ok = all(COMPARATORS[op](values[i], values[i + 1]) for i, op in enumerate(check.ops))
    detail = _fmt(values[0]) + "".join(f" {op} {_fmt(v)}" for op, v in zip(check.ops, values[1:]))
    return Verdict(ok, values, detail)


def _fmt(x: float) -> str:
    """A number as a person would write it in a verdict: 12, 0.5, 1.235e+04."""
    return str(int(x)) if x.is_integer() else f"{x:.4g}"
