"""The answer's probabilities recalibrated on its out-of-fold scores: the map is chosen by
cross-validated log-loss, is monotone (the decisions do not move), and repairs scores that
resampling inflated."""

from __future__ import annotations

import numpy as np
import pytest

from strategy_search.calibration import Calibration, choose_calibration
from strategy_search.scoring import calibration_metrics


def _inflated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels with a 5 % base rate and scores that rank them well but overstate the risk, as a
    model trained on a balanced (resampled) table does."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.05).astype(int)
    logit = rng.normal(size=n) + 2.0 * y
    true_risk = 1 / (1 + np.exp(-(logit - 4.0)))
    balanced = 1 / (1 + np.exp(-(logit - 1.0)))  # the same ranking, shifted up by the resampling
    return (rng.random(n) < true_risk).astype(int) | y, balanced


def test_inflated_scores_are_repaired_on_rows_the_calibration_never_saw():
    y, scores = _inflated(4000, seed=0)
    calibration = choose_calibration(y[:2000], scores[:2000])
    assert calibration.method in ("sigmoid", "isotonic")
    before = calibration_metrics(y[2000:], scores[2000:])
    after = calibration_metrics(y[2000:], calibration(scores[2000:]))
    assert after["brier"] < before["brier"] and after["ece"] < before["ece"] and after["log_loss"] < before["log_loss"]


def test_calibrated_scores_keep_the_ranking():
    y, scores = _inflated(1000, seed=1)
    for method in ("sigmoid", "isotonic"):
        from strategy_search.calibration import fit_calibration

        mapped = fit_calibration(method, y, scores)(np.sort(scores))
        assert np.all(np.diff(mapped) >= -1e-12), method


def test_well_calibrated_scores_are_left_alone():
    rng = np.random.default_rng(2)
    risk = rng.uniform(0, 1, 3000)
    y = (rng.random(3000) < risk).astype(int)
    calibration = choose_calibration(y, risk)
    assert calibration.method == "none"
    assert set(calibration.cv_metrics or {}) == {"none", "sigmoid", "isotonic"}


@pytest.mark.parametrize("method", ["none", "sigmoid", "isotonic"])
def test_a_calibration_is_plain_data(method):
    from strategy_search.calibration import fit_calibration

    y, scores = _inflated(500, seed=3)
    fitted = fit_calibration(method, y, scores)
    again = Calibration.from_attr(fitted.to_attr())
    assert np.allclose(again(scores), fitted(scores))


def test_a_steep_sigmoid_map_gives_zero_and_one_without_overflow_warnings():
    """A separable table's folds fit a steep Platt map; predict printed numpy's overflow warning."""
    import warnings

    from strategy_search.estimators.decision.probability_map import map_scores

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mapped = map_scores({"method": "sigmoid", "a": 80.0, "b": -3.0}, np.array([1e-9, 0.5, 1 - 1e-9]))
    assert mapped[0] == pytest.approx(0.0, abs=1e-300) and mapped[2] == pytest.approx(1.0)
    assert mapped[1] == pytest.approx(1 / (1 + np.exp(3.0)))


def test_overconfident_multiclass_probabilities_are_tempered_keeping_each_rows_order():
    rng = np.random.default_rng(4)
    n, k = 3000, 3
    y = rng.choice(k, size=n, p=[0.8, 0.15, 0.05])
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    sharp = np.exp(3 * logits)  # three times too confident
    sharp /= sharp.sum(axis=1, keepdims=True)
    calibration = choose_calibration(y[:1500], sharp[:1500])
    assert calibration.method == "temperature" and calibration.a < 1
    mapped = calibration(sharp[1500:])
    np.testing.assert_array_equal(mapped.argmax(axis=1), sharp[1500:].argmax(axis=1))
    np.testing.assert_allclose(mapped.sum(axis=1), 1.0)
    before, after = calibration_metrics(y[1500:], sharp[1500:]), calibration_metrics(y[1500:], mapped)
    assert after["log_loss"] < before["log_loss"] and after["ece"] < before["ece"]
