"""The check grammar: what parses, what evaluates to what, and what is refused."""
from __future__ import annotations

import pytest

from webapp.lessons.expr import ExprError, Ref, evaluate, numeric_keys, parse, parse_value
from webapp.lessons.shares import Share

RUNS = {
    "a": {"db_queries": 4, "chunks": 4, "errors": 0, "latency_answered_ms": {"mean": 90.0, "p99": None}},
    "b": {"db_queries": 12, "chunks": 4, "errors": 3, "latency_answered_ms": {"mean": 30.0, "p99": 50.0}},
}


@pytest.mark.parametrize("text, ok, detail", [
    ("db_queries == chunks", True, "4 == 4"),
    ("errors > 0", False, "0 > 0"),
    ("db_queries * 3 == b:db_queries", True, "12 == 12"),
    ("latency_answered_ms.mean > b:latency_answered_ms.mean", True, "90 > 30"),
    ("b:db_queries - chunks * 2 >= 4", True, "4 >= 4"),
    ("(b:db_queries - chunks) / 2 == 4", True, "4 == 4"),
    ("db_queries != 1e3", True, "4 != 1000"),
    ("latency_answered_ms.mean < 90.5", True, "90 < 90.5"),
    ("80 <= latency_answered_ms.mean <= 100", True, "80 <= 90 <= 100"),
    ("80 <= latency_answered_ms.mean <= 85", False, "80 <= 90 <= 85"),
    ("100 > latency_answered_ms.mean > 95", False, "100 > 90 > 95"),
    ("1 < b:errors < b:db_queries / chunks", False, "1 < 3 < 3"),
])
def test_checks_evaluate_on_their_own_and_other_experiments(text, ok, detail):
    verdict = evaluate(parse(text), RUNS, own="a")
    assert (verdict.ok, verdict.detail) == (ok, detail)


def test_a_chain_bounds_its_middle_and_a_single_comparison_its_first_side():
    assert parse("2 <= x <= 3").bounds == "both" and parse("2 <= x <= 3").subject == 1
    assert parse("x == 3").bounds == "both" and parse("x == 3").subject == 0
    assert parse("x > 3").bounds == "lower" and parse("x <= 3").bounds == "upper"
    assert parse("x != 3").bounds == "none"


def test_missing_values_and_division_by_zero_fail_with_a_reason():
    assert evaluate(parse("latency_answered_ms.p99 < 10"), RUNS, "a").detail == \
        "no numeric summary key 'latency_answered_ms.p99'"
    assert not evaluate(parse("errors / errors > 0"), RUNS, "a").ok
    assert evaluate(parse("db_queries / errors > 0"), RUNS, "a").detail == "division by zero"


@pytest.mark.parametrize("text, share", [
    ("errors > 0 in most runs", Share(0.95, 1.0)),
    ("2 <= errors <= 4 in 20% to 45% of runs", Share(0.2, 0.45)),
    ("errors > 0 in at least 80% of runs", Share(0.8, 1.0)),
    ("errors > 0  in   MOST runs ", Share(0.95, 1.0)),
    ("errors > 0", None),
])
def test_a_share_is_how_often_a_claim_holds(text, share):
    check = parse(text)
    assert check.share == share and check.text == text.strip()


def test_a_value_without_a_comparison_evaluates_to_itself():
    verdict = evaluate(parse_value("db_queries / chunks"), RUNS, "b")
    assert verdict.ok and verdict.values == (3.0,) and parse_value("x").bounds == "none"
    with pytest.raises(ExprError):
        parse_value("x > 1")


@pytest.mark.parametrize("text", [
    "", "errors", "errors > ", "> 3", "errors >> 0", "(errors > 0",
    "__import__('os') == 0", "errors.__class__ == 0", "open('x') == 1", "errors > 0; x",
    "errors == 'a'", "lambda: 0 == 0", "x" * 400,
    "1 < errors > 0",                      # a chain must point one way
    "1 < errors < 2 < 3",                  # at most two comparisons
    "errors > 0 on at least 18 of 20 seeds",   # the old fitted quota: a share says how often
    "errors > 0 in 40% to 20% of runs", "errors > 0 in 0% to 100% of runs",
    "errors > 0 in 50% to 120% of runs", "errors > 0 on most seeds", "errors > 0 in most",
])
def test_anything_outside_the_grammar_is_refused(text):
    with pytest.raises(ExprError):
        parse(text)


def test_refs_name_every_key_with_its_experiment():
    check = parse("lock:latency_answered_ms.mean > 2 * latency_answered_ms.mean + errors")
    assert check.refs() == [Ref("lock", "latency_answered_ms.mean"), Ref(None, "latency_answered_ms.mean"),
                            Ref(None, "errors")]
    assert parse("a < b:x < c").refs() == [Ref(None, "a"), Ref("b", "x"), Ref(None, "c")]


def test_numeric_keys_flatten_the_summary_and_skip_text_and_flags():
    keys = numeric_keys({"a": 1, "b": {"c": 2.0, "d": None}, "e": "promise", "f": True})
    assert keys == {"a", "b.c", "b.d"}
