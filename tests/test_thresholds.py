"""Threshold rules: parsed with clear errors, and each picks a threshold meeting its target on the
scores it is given."""

from __future__ import annotations

import numpy as np
import pytest

import strategy_search
from strategy_search.thresholds import ThresholdRule, at_threshold, best_f1_threshold, threshold_warning


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(0)
    y = (rng.random(600) < 0.15).astype(int)
    return y, rng.normal(size=600) + 1.5 * y


@pytest.mark.parametrize("text", ["best_f1", "precision>=0.9", "recall>=0.8", "fn_cost=5", " recall >= 0.5 "])
def test_rules_round_trip_as_text(text):
    rule = ThresholdRule.parse(text)
    assert ThresholdRule.parse(str(rule)) == rule


@pytest.mark.parametrize("text", ["f1", "precision>0.9", "precision>=1.5", "recall>=0", "fn_cost=0", "", None])
def test_a_bad_rule_says_what_is_allowed(text):
    with pytest.raises(ValueError, match=r"precision>=|fn_cost"):
        ThresholdRule.parse(text)


@pytest.mark.parametrize(
    "target,bound,gained",
    [
        ("precision", 0.5, "recall"),
        ("precision", 0.8, "recall"),
        ("precision", 0.9, "recall"),
        ("recall", 0.5, "precision"),
        ("recall", 0.8, "precision"),
        ("recall", 0.95, "precision"),
    ],
)
def test_a_bound_is_met_with_the_most_of_the_other_measure(scored, target, bound, gained):
    y, scores = scored
    threshold = ThresholdRule.parse(f"{target}>={bound}").choose(y, scores)
    got = at_threshold(y, scores, threshold)
    assert got[target] >= bound
    # No threshold that meets the bound does better on the other measure.
    others = [at_threshold(y, scores, t) for t in np.unique(scores)]
    assert got[gained] >= max(o[gained] for o in others if o[target] >= bound)


def test_cost_rule_minimises_the_cost_and_best_f1_is_the_default(scored):
    y, scores = scored

    def cost(t: float) -> float:
        predicted = scores >= t
        return float(np.sum(predicted & (y == 0)) + 5 * np.sum(~predicted & (y == 1)))

    chosen = ThresholdRule.parse("fn_cost=5").choose(y, scores)
    assert cost(chosen) <= min(cost(t) for t in np.unique(scores))
    assert ThresholdRule().choose(y, scores) == best_f1_threshold(y, scores)


def test_a_threshold_at_one_is_warned_about():
    assert threshold_warning(0.5) is None
    assert "1.000" in threshold_warning(1.0) and "recall>=" in threshold_warning(1.0)


def test_a_search_with_a_recall_target_deploys_a_threshold_that_meets_it(small_numeric):
    X, y = small_numeric
    result = strategy_search.search(X, y, space="fast", n_trials=4, cv_folds=3, n_jobs=1, threshold="recall>=0.9")
    assert str(result.settings.threshold) == "recall>=0.9"
    oof = result.oof_scores
    assert oof is not None and len(oof) == len(y)
    got = at_threshold(result.data.codes, oof, result.best_strategy.threshold)
    assert got["recall"] >= 0.9
    for trial in result.completed_trials():  # each fold's threshold came from the same rule
        assert all(t is not None for t in trial.user_attrs["fold_thresholds"])


def test_a_decision_of_many_classes_lists_only_the_weights_that_are_not_one():
    from strategy_search.thresholds import LISTED_WEIGHTS, format_decision

    assert format_decision(0.25) == "0.250"
    assert format_decision((1.0, 0.5, 2.0), classes=["a", "b", "c"]) == "w: a=1.00, b=0.50, c=2.00"
    assert format_decision((1.0, 0.5, 2.0)) == "w=1.00/0.50/2.00"
    weights = [1.0] * 50
    assert format_decision(weights, classes=list(range(50))) == "w: 1.00 for 50 of 50 classes"
    weights[3], weights[7] = 0.5, 2.0
    assert format_decision(weights) == "w: 1.00 for 48 of 50 classes; 3=0.50, 7=2.00"
    many = [0.5] * 50
    text = format_decision(many, classes=[f"c{k}" for k in range(50)])
    assert text.startswith("w: 1.00 for 0 of 50 classes; c0=0.50") and text.endswith(f"and {50 - LISTED_WEIGHTS} more")
    assert "c12=" not in text  # only the first LISTED_WEIGHTS are listed
