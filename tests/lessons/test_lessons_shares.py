"""A share ("in most runs") is judged by the binomial tail: a true claim almost never fails a draw."""
from __future__ import annotations

import math
import random

import pytest

from webapp.lessons.shares import (ALPHA, FALSE_ALARM, MAX_SHARE_CHECKS, Share, accepted,
                                   binomial_cdf, chance_outside, wilson)


def _cdf_by_hand(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))


@pytest.mark.parametrize("k, n, p", [(0, 40, 0.95), (29, 40, 0.95), (12, 20, 0.5), (39, 40, 0.99),
                                     (3, 10, 0.3), (-1, 5, 0.5), (5, 5, 0.5)])
def test_the_binomial_tail_is_the_textbook_sum(k, n, p):
    assert binomial_cdf(k, n, p) == pytest.approx(_cdf_by_hand(k, n, p), rel=1e-9, abs=1e-300)


def test_most_runs_needs_30_of_40_and_13_of_20():
    assert accepted(40, 0.95, 1.0) == (30, 40)
    assert accepted(20, 0.95, 1.0) == (13, 20)
    assert ALPHA == FALSE_ALARM / MAX_SHARE_CHECKS == pytest.approx(2e-5)


@pytest.mark.parametrize("n, low, high", [(40, 0.95, 1.0), (20, 0.95, 1.0), (40, 0.2, 0.45),
                                          (40, 0.6, 0.8), (4, 0.95, 1.0), (200, 0.3, 0.5)])
def test_a_true_claim_fails_a_draw_with_probability_at_most_alpha_and_the_margin_is_tight(n, low, high):
    k_min, k_max = accepted(n, low, high)
    for p in (low, (low + high) / 2, high):  # the worst cases are the edges of the claim
        assert chance_outside(n, p, k_min, k_max) <= ALPHA * (1 + 1e-9)
    each = ALPHA / ((low > 0) + (high < 1))
    if k_min > 0:  # one more needed seed would break the promise: the margin is not wasteful
        assert binomial_cdf(k_min, n, low) > each
    if k_max < n:
        assert 1 - binomial_cdf(k_max - 1, n, high) > each


def test_a_simulated_true_claim_passes_every_one_of_many_draws():
    """10,000 draws of 40 seeds from a claim that holds on exactly 95% of seeds: none fails."""
    rng = random.Random(7)
    k_min, k_max = Share(0.95, 1.0).accepted(40)
    fails = sum(not k_min <= sum(rng.random() < 0.95 for _ in range(40)) <= k_max
                for _ in range(10_000))
    assert fails <= 2  # expected 0.2 at ALPHA = 2e-5


def test_a_false_claim_is_caught_when_it_is_far_from_true():
    k_min, k_max = Share(0.95, 1.0).accepted(40)
    assert chance_outside(40, 0.5, k_min, k_max) > 0.998   # holds on half the seeds
    assert chance_outside(40, 0.7, k_min, k_max) > 0.5


def test_wilson_interval_contains_the_measured_share():
    low, high = wilson(950, 1000)
    assert low < 0.95 < high and high - low < 0.05
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(20, 20)[1] == 1.0
