"""The check grammar: what parses, what evaluates to what, and what is refused."""
from __future__ import annotations

import pytest

from webapp.lessons.expr import ExprError, Ref, evaluate, numeric_keys, parse

RUNS = {
    "a": {"db_queries": 4, "chunks": 4, "errors": 0, "latency_ms": {"mean": 90.0, "p99": None}},
    "b": {"db_queries": 12, "chunks": 4, "errors": 3, "latency_ms": {"mean": 30.0, "p99": 50.0}},
}


@pytest.mark.parametrize("text, ok, detail", [
    ("db_queries == chunks", True, "4 == 4"),
    ("errors > 0", False, "0 > 0"),
    ("db_queries * 3 == b:db_queries", True, "12 == 12"),
    ("latency_ms.mean > b:latency_ms.mean", True, "90 > 30"),
    ("b:db_queries - chunks * 2 >= 4", True, "4 >= 4"),
    ("(b:db_queries - chunks) / 2 == 4", True, "4 == 4"),
    ("-errors <= 0", True, "-0 <= 0"),
    ("db_queries != 1e3", True, "4 != 1000"),
    ("latency_ms.mean < 90.5", True, "90 < 90.5"),
])
def test_checks_evaluate_on_their_own_and_other_experiments(text, ok, detail):
    verdict = evaluate(parse(text), RUNS, own="a")
    assert (verdict.ok, verdict.detail) == (ok, detail.replace("-0", "0") if text.startswith("-") else detail)


def test_missing_values_and_division_by_zero_fail_with_a_reason():
    assert evaluate(parse("latency_ms.p99 < 10"), RUNS, "a").detail == \
        "no numeric summary key 'latency_ms.p99'"
    assert not evaluate(parse("errors / errors > 0"), RUNS, "a").ok
    assert evaluate(parse("db_queries / errors > 0"), RUNS, "a").detail == "division by zero"


@pytest.mark.parametrize("text", [
    "", "errors", "errors > ", "> 3", "errors > 0 > 1", "errors >> 0", "(errors > 0",
    "__import__('os') == 0", "errors.__class__ == 0", "open('x') == 1", "errors > 0; x",
    "errors == 'a'", "lambda: 0 == 0", "x" * 400,
])
def test_anything_outside_the_grammar_is_refused(text):
    with pytest.raises(ExprError):
        parse(text)


def test_refs_name_every_key_with_its_experiment():
    check = parse("lock:latency_ms.mean > 2 * latency_ms.mean + errors")
    assert check.refs() == [Ref("lock", "latency_ms.mean"), Ref(None, "latency_ms.mean"),
                            Ref(None, "errors")]


def test_numeric_keys_flatten_the_summary_and_skip_text_and_flags():
    keys = numeric_keys({"a": 1, "b": {"c": 2.0, "d": None}, "e": "promise", "f": True})
    assert keys == {"a", "b.c", "b.d"}
