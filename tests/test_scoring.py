from __future__ import annotations

import numpy as np
import pytest

from strategy_search.data import FeatureSchema
from strategy_search.fold_counts import effective_folds
from strategy_search.scoring import (
    CVResult,
    fold_from_scores,
    score_pipeline,
    score_predictions,
)
from strategy_search.splits import inner_splits
from strategy_search.splits import outer_splits as cv_splits
from strategy_search.strategy import Strategy, build_pipeline
from strategy_search.thresholds import best_f1_threshold


def test_best_f1_threshold_separates_a_perfect_ranking():
    y = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    threshold = best_f1_threshold(y, scores)
    assert 0.3 < threshold <= 0.7
    assert score_predictions(y, scores, threshold)["f1"] == 1.0


def test_same_seed_same_splits_and_every_fold_has_positives():
    y = np.array([0] * 90 + [1] * 10)
    first, second = cv_splits(y, folds=5, repeats=2, seed=3), cv_splits(y, folds=5, repeats=2, seed=3)
    assert len(first) == 10
    for (_a_train, a_val), (_b_train, b_val) in zip(first, second, strict=True):
        np.testing.assert_array_equal(a_val, b_val)
        assert y[a_val].sum() == 2


def test_folds_are_reduced_when_positives_are_fewer():
    with pytest.warns(UserWarning, match="using 3 CV folds"):
        assert effective_folds(3, 5) == 3
    with pytest.raises(ValueError, match="at least 2 positive"):
        effective_folds(1, 5)


def test_inner_threshold_rows_stay_inside_the_training_part():
    y = np.array([0] * 80 + [1] * 20)
    train = np.arange(0, 100, 2)
    for folds in (1, 2, 3):
        for a, b in inner_splits(y, train, folds=folds, seed=0):
            assert set(a) | set(b) <= set(train)
            assert not set(a) & set(b)


def test_threshold_does_not_move_when_validation_labels_are_shuffled(small_numeric):
    """The F1 threshold is chosen on the training part only: scrambling the validation
    labels changes the validation scores' meaning but not the chosen thresholds."""
    X, y = small_numeric
    y = y.to_numpy()
    splits = cv_splits(y, folds=3, repeats=1, seed=0)
    pipeline = build_pipeline(Strategy.of(model="logistic_regression", weighting="balanced"), FeatureSchema.infer(X))
    honest = score_pipeline(pipeline, X, y, splits=splits, threshold_folds=2)
    rng = np.random.default_rng(0)
    for fold, (_, validation) in enumerate(splits):
        shuffled = y.copy()
        shuffled[validation] = rng.permutation(y[validation])[::-1]
        shuffled[validation] = 1 - shuffled[validation]  # guarantee the labels really differ
        again = score_pipeline(pipeline, X, shuffled, splits=[splits[fold]], threshold_folds=2, seed=fold)
        assert again.folds[0].threshold == pytest.approx(honest.folds[fold].threshold, abs=0.0)
        assert again.folds[0].metrics["f1"] != honest.folds[fold].metrics["f1"]


@pytest.mark.parametrize("seed", range(6))
def test_metrics_agree_with_scikit_learn(seed):
    from sklearn import metrics as sk

    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 300))
    y = (rng.random(n) < rng.uniform(0.05, 0.5)).astype(int)
    y[:2] = [0, 1]
    scores = np.round(rng.random(n) * 0.5 + y * rng.uniform(0, 0.5), 2)  # rounding makes ties; at most 1
    threshold = float(rng.uniform(0.2, 0.8))
    ours = score_predictions(y, scores, threshold)
    predicted = (scores >= threshold).astype(int)
    expected = {
        "pr_auc": sk.average_precision_score(y, scores),
        "roc_auc": sk.roc_auc_score(y, scores),
        "f1_at_0.5": sk.f1_score(y, (scores >= 0.5).astype(int), zero_division=0),
        "f1": sk.f1_score(y, predicted, zero_division=0),
        "precision": sk.precision_score(y, predicted, zero_division=0),
        "recall": sk.recall_score(y, predicted, zero_division=0),
        "balanced_accuracy": sk.balanced_accuracy_score(y, predicted),
        "mcc": sk.matthews_corrcoef(y, predicted),
        "brier": sk.brier_score_loss(y, scores),
        "log_loss": sk.log_loss(y, np.clip(scores, 1e-15, 1 - 1e-15)),
        "ece": _ece_by_loop(scores, y),
    }
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, abs=1e-12), name


def _ece_by_loop(confidence, outcome, bins=10):
    """The textbook ECE, one bin at a time (the last bin closed at 1)."""
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = (confidence >= low) & ((confidence < high) if b < bins - 1 else (confidence <= high))
        if inside.any():
            total += inside.sum() / len(confidence) * abs(outcome[inside].mean() - confidence[inside].mean())
    return total


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_calibration_metrics_agree_with_scikit_learn(seed):
    from sklearn import metrics as sk

    from strategy_search.scoring import calibration_metrics

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 80)
    y[:3] = [0, 1, 2]
    raw = rng.random((80, 3)) + np.eye(3)[y] * rng.uniform(0, 1)
    scores = raw / raw.sum(axis=1, keepdims=True)
    ours = calibration_metrics(y, scores)
    truth = np.eye(3)[y]
    assert ours["brier"] == pytest.approx(np.mean(np.sum((scores - truth) ** 2, axis=1)), abs=1e-12)
    assert ours["log_loss"] == pytest.approx(sk.log_loss(y, scores), abs=1e-12)
    correct = (scores.argmax(axis=1) == y).astype(float)
    assert ours["ece"] == pytest.approx(_ece_by_loop(scores.max(axis=1), correct), abs=1e-12)


def test_calibration_metrics_see_overconfident_scores():
    from strategy_search.scoring import calibration_metrics

    y = np.array([0] * 90 + [1] * 10)
    honest = calibration_metrics(y, np.where(y == 1, 0.6, 0.05))
    inflated = calibration_metrics(y, np.where(y == 1, 0.95, 0.5))  # same ranking, risk overstated
    assert all(inflated[m] > honest[m] for m in ("brier", "log_loss", "ece"))


def test_best_f1_threshold_maximises_f1_and_sits_between_scores():
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.2).astype(int)
    scores = np.round(rng.random(200) * 0.7 + 0.3 * y, 3)
    threshold = best_f1_threshold(y, scores)
    assert threshold not in set(scores)
    best_possible = max(score_predictions(y, scores, t)["f1"] for t in np.unique(scores))
    assert score_predictions(y, scores, threshold)["f1"] == pytest.approx(best_possible)


def _one_fold_cv(validation_scores: np.ndarray, inner_scores: np.ndarray) -> tuple[CVResult, np.ndarray]:
    """One fold: rows 0-9 validated (positives 0-2), rows 10-19 its inner rows (positives 10-12)."""
    y = np.array([1, 1, 1] + [0] * 7 + [1, 1, 1] + [0] * 7)
    validation, inner = np.arange(10), np.arange(10, 20)
    fold = fold_from_scores(y, validation, validation_scores, inner, inner_scores)
    return CVResult([fold], [(inner, validation)], len(y)), y


def test_the_deployed_decision_stays_untuned_when_tuning_did_not_pay_on_the_folds():
    # The inner rows put the threshold above every validation positive: tuned F1 0, at 0.5 F1 1.
    cv, y = _one_fold_cv(np.r_[[0.9] * 3, [0.1] * 7], np.r_[[0.99] * 3, [0.95] * 7])
    assert cv.mean()["f1"] == 0.0 and cv.mean()["f1_at_0.5"] == 1.0
    assert cv.deployment_threshold(y) == 0.5


def test_the_deployed_decision_is_tuned_when_tuning_paid_on_the_folds():
    cv, y = _one_fold_cv(np.r_[[0.3] * 3, [0.1] * 7], np.r_[[0.3] * 3, [0.1] * 7])
    assert cv.mean()["f1"] == 1.0 and cv.mean()["f1_at_0.5"] == 0.0
    assert 0.1 < cv.deployment_threshold(y) <= 0.3
