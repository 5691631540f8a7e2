"""The check grammar: a claim about a run, written as a comparison, parsed without ``eval``.

Lessons state numbers ("one datastore query per chunk", "p99 above two seconds"); each number is
declared as a check so ``python -m webapp lessons check`` can prove it still holds as the engine
evolves. The grammar is deliberately tiny, so a lesson file can never run code:

    check   := sum CMP sum
    sum     := product (("+" | "-") product)*
    product := atom (("*" | "/") atom)*
    atom    := NUMBER | ref | "(" sum ")" | "-" atom
    ref     := [EXPERIMENT ":"] NAME ("." NAME)*      e.g. db_queries, latency_ms.p99, lock:db_queries
    CMP     := "==" | "!=" | "<" | "<=" | ">" | ">="

A bare ``ref`` names a summary key of the check's own experiment; ``lock:latency_ms.mean`` names the
same key in the lesson's experiment ``lock``, which is how two runs are compared.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Union

MAX_LENGTH = 300  # a claim longer than this is not a claim a student can read beside the picture

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>\d+(?:\.\d+)?(?:e[+-]?\d+)?)
    | (?P<ref>(?:[a-z][a-z0-9-]*:)?[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)
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
    """A parsed check: ``left CMP right``, plus the source text to print beside its verdict."""

    text: str
    op: str
    left: Node
    right: Node

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

        walk(self.left)
        walk(self.right)
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


def parse(text: str) -> Comparison:
    """Parse one check, e.g. ``"db_queries == chunks"``; raise ExprError if it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("a check must be a non-empty string")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"a check must be at most {MAX_LENGTH} characters")
    parser = _Parser(text)
    left = parser.sum()
    token = parser.peek()
    if token is None or token[1] not in COMPARATORS:
        raise ExprError("a check must compare two sides with one of: " + " ".join(COMPARATORS))
    parser.take()
    right = parser.sum()
    if parser.peek() is not None:
        raise ExprError(f"unexpected {parser.peek()[1]!r} after the comparison")  # type: ignore[index]
    return Comparison(text.strip(), token[1], left, right)


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
    left: float
    right: float
    detail: str  # "12 == 12", or why it could not be evaluated


def evaluate(check: Comparison, summaries: Mapping[str, Mapping[str, object]], own: str) -> Verdict:
    """Evaluate ``check`` against each experiment's summary; bare keys read ``summaries[own]``."""

    def value(node: Node) -> float:
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Ref):
            return lookup(summaries[node.experiment or own], node.key)
        if isinstance(node, Neg):
            return -value(node.operand)
        return _ARITHMETIC[node.op](value(node.left), value(node.right))

    try:
        left, right = value(check.left), value(check.right)
    except ZeroDivisionError:
        return Verdict(False, math.nan, math.nan, "division by zero")
    except KeyError as exc:
        return Verdict(False, math.nan, math.nan, f"no numeric summary key {exc.args[0]!r}")
    ok = COMPARATORS[check.op](left, right)
    return Verdict(ok, left, right, f"{_fmt(left)} {check.op} {_fmt(right)}")


def _fmt(x: float) -> str:
    return str(int(x)) if x.is_integer() else f"{x:.4g}"
