from __future__ import annotations

import numpy as np
import pytest
from lightgbm import LGBMRegressor
from xgboost import XGBRegressor

from strategy_search.estimators.classifiers.focal import (
    FocalLossClassifier,
    focal_grad_hess,
    focal_loss,
    softmax_focal_grad_hess,
    softmax_focal_loss,
)

MARGINS = np.linspace(-6, 6, 41)


@pytest.mark.parametrize("gamma,alpha", [(0.0, 0.5), (0.5, 0.25), (2.0, 0.25), (4.0, 0.9)])
@pytest.mark.parametrize("label", [0.0, 1.0])
def test_gradient_and_hessian_match_finite_differences(gamma, alpha, label):
    y = np.full_like(MARGINS, label)
    grad, hess = focal_grad_hess(MARGINS, y, gamma=gamma, alpha=alpha)
    step = 1e-5

    def loss(z):
        return focal_loss(z, y, gamma=gamma, alpha=alpha)

    def numeric_grad(z):
        return (loss(z + step) - loss(z - step)) / (2 * step)

    np.testing.assert_allclose(grad, numeric_grad(MARGINS), rtol=1e-5, atol=1e-8)
    numeric_hess = (numeric_grad(MARGINS + step) - numeric_grad(MARGINS - step)) / (2 * step)
    np.testing.assert_allclose(hess, numeric_hess, rtol=1e-3, atol=1e-5)


def test_gamma_zero_is_weighted_log_loss():
    y = (MARGINS > 0.3).astype(float)
    p = 1 / (1 + np.exp(-MARGINS))
    log_loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(focal_loss(MARGINS, y, gamma=0.0, alpha=0.5), 0.5 * log_loss, rtol=1e-9)


@pytest.mark.parametrize(
    "booster",
    [LGBMRegressor(n_estimators=30, verbose=-1, n_jobs=1), XGBRegressor(n_estimators=30, n_jobs=1, base_score=0.0)],
    ids=["lightgbm", "xgboost"],
)
def test_focal_classifier_predicts_valid_probabilities(booster, small_numeric):
    X, y = small_numeric
    X = X.fillna(0.0)
    model = FocalLossClassifier(booster, gamma=2.0, alpha=0.25).fit(X, y)
    proba = model.predict_proba(X)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    positive = y.to_numpy() == 1
    assert proba[positive, 1].mean() > proba[~positive, 1].mean() + 0.2, "focal model did not learn"
    np.testing.assert_array_equal(model.predict(X), (proba[:, 1] >= 0.5).astype(int))


def test_sample_weights_change_the_focal_fit(small_numeric):
    X, y = small_numeric
    X = X.fillna(0.0)
    booster = LGBMRegressor(n_estimators=30, verbose=-1, n_jobs=1)
    plain = FocalLossClassifier(booster).fit(X, y).predict_proba(X)[:, 1]
    weights = np.where(y == 1, 10.0, 1.0)
    weighted = FocalLossClassifier(booster).fit(X, y, sample_weight=weights).predict_proba(X)[:, 1]
    assert weighted[y.to_numpy() == 1].mean() > plain[y.to_numpy() == 1].mean()


def test_invalid_focal_parameters_are_explained(small_numeric):
    X, y = small_numeric
    with pytest.raises(
        ValueError,
        match=r"'alpha' parameter of FocalLossClassifier must be a float in the range \(0.0, 1.0\)\. Got 1.5",
    ):
        FocalLossClassifier(LGBMRegressor(), alpha=1.5).fit(X, y)


# -- multi-class (softmax) focal loss -----------------------------------------------------------
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 4.0])
def test_softmax_gradient_and_hessian_match_finite_differences(gamma):
    rng = np.random.default_rng(0)
    margins = rng.normal(scale=3.0, size=(60, 4))
    margins[0] = [12.0, -12.0, 0.0, 0.0]  # a row predicted almost surely right
    y = rng.integers(0, 4, size=60)
    y[0] = 0
    grad, hess = softmax_focal_grad_hess(margins, y, gamma=gamma)
    step = 1e-5
    for k in range(4):
        shift = np.zeros_like(margins)
        shift[:, k] = step
        up, down = (
            softmax_focal_loss(margins + shift, y, gamma=gamma),
            softmax_focal_loss(margins - shift, y, gamma=gamma),
        )
        np.testing.assert_allclose(grad[:, k], (up - down) / (2 * step), rtol=1e-5, atol=1e-8)
        grad_up = softmax_focal_grad_hess(margins + shift, y, gamma=gamma)[0][:, k]
        grad_down = softmax_focal_grad_hess(margins - shift, y, gamma=gamma)[0][:, k]
        np.testing.assert_allclose(hess[:, k], (grad_up - grad_down) / (2 * step), rtol=1e-4, atol=1e-7)


def test_softmax_focal_with_gamma_zero_is_the_log_loss():
    rng = np.random.default_rng(1)
    margins, y = rng.normal(size=(20, 3)), rng.integers(0, 3, size=20)
    log_p = margins - np.log(np.exp(margins).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(softmax_focal_loss(margins, y, gamma=0.0), -log_p[np.arange(20), y], rtol=1e-9)


@pytest.mark.parametrize(
    "booster",
    [LGBMRegressor(n_estimators=30, verbose=-1, n_jobs=1), XGBRegressor(n_estimators=30, n_jobs=1, base_score=0.0)],
    ids=["lightgbm", "xgboost"],
)
def test_focal_classifier_learns_three_classes(booster):
    rng = np.random.default_rng(2)
    y = rng.choice(["a", "b", "c"], size=400, p=[0.7, 0.2, 0.1])
    X = rng.normal(size=(400, 4)) + (y == "b")[:, None] * 1.5 - (y == "c")[:, None] * 1.5
    model = FocalLossClassifier(booster, gamma=2.0).fit(X, y, sample_weight=np.where(y == "c", 3.0, 1.0))
    proba = model.predict_proba(X)
    assert proba.shape == (400, 3) and model.classes_.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    for code, label in enumerate("abc"):
        assert proba[y == label, code].mean() > proba[y != label, code].mean() + 0.2, label
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
