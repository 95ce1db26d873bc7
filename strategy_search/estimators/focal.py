"""Binary focal loss (Lin et al. 2017) as a custom objective for gradient-boosted trees.

The loss is written on the raw margin ``z`` with ``p = sigmoid(z)``. With ``s = 2y - 1`` the
probability of the true class is ``q = sigmoid(s z)``, ``u = 1 - q`` and
``alpha_t = alpha`` for positives, ``1 - alpha`` for negatives:

    L    = -alpha_t * u**gamma * log(q)
    dL/dz = s * alpha_t * (gamma * u**gamma * q * log(q) - u**(gamma + 1))
    d2L/dz2 = alpha_t * q * (-gamma**2 * u**gamma * q * log(q)
                             + gamma * u**(gamma + 1) * (log(q) + 1) + (gamma + 1) * u**(gamma + 1))

With ``gamma = 0`` and ``alpha = 0.5`` this is half the log-loss.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import _check_sample_weight, _num_samples, check_is_fitted, validate_data

from strategy_search.estimators._meta import checked_target

# Newton steps divide by the hessian; focal loss's hessian can reach zero or dip below it
# far from the decision boundary, so the objective floors it.
_MIN_HESSIAN = 1e-6


def _true_class_terms(margin: NDArray[np.float64], y: NDArray[np.float64]):
    sign = 2.0 * y - 1.0
    log_q = log_expit(sign * margin)
    q = np.exp(log_q)
    u = expit(-sign * margin)
    return sign, q, u, log_q


def focal_loss(margin: ArrayLike, y: ArrayLike, *, gamma: float, alpha: float) -> NDArray[np.float64]:
    """Per-sample focal loss for raw margins and 0/1 labels."""
    margin, y = np.asarray(margin, float), np.asarray(y, float)
    _, _, u, log_q = _true_class_terms(margin, y)
    alpha_t = np.where(y > 0.5, alpha, 1.0 - alpha)
    return -alpha_t * u**gamma * log_q


def focal_grad_hess(
    margin: ArrayLike, y: ArrayLike, *, gamma: float, alpha: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact first and second derivative of :func:`focal_loss` with respect to the margin."""
    margin, y = np.asarray(margin, float), np.asarray(y, float)
    sign, q, u, log_q = _true_class_terms(margin, y)
    alpha_t = np.where(y > 0.5, alpha, 1.0 - alpha)
    u_g = u**gamma
    grad = sign * alpha_t * (gamma * u_g * q * log_q - u_g * u)
    hess = alpha_t * q * (-(gamma**2) * u_g * q * log_q + gamma * u_g * u * (log_q + 1.0) + (gamma + 1.0) * u_g * u)
    return grad, hess


class _FocalObjective:
    """Picklable ``(y_true, y_pred) -> (grad, hess)`` callable with the sample weights bound in.

    Weights are applied here rather than handed to the booster because LightGBM and XGBoost
    treat weights in custom objectives differently.
    """

    def __init__(self, gamma: float, alpha: float, sample_weight: NDArray[np.float64] | None):
        self.gamma, self.alpha, self.sample_weight = gamma, alpha, sample_weight

    def __call__(self, y_true: NDArray[Any], y_pred: NDArray[Any]):
        grad, hess = focal_grad_hess(y_pred, y_true, gamma=self.gamma, alpha=self.alpha)
        hess = np.maximum(hess, _MIN_HESSIAN)
        if self.sample_weight is not None:
            grad, hess = grad * self.sample_weight, hess * self.sample_weight
        return grad, hess


class FocalLossClassifier(ClassifierMixin, BaseEstimator):
    """Binary classifier trained with focal loss on a boosting *regressor* that accepts a callable
    objective (``lightgbm.LGBMRegressor``, ``xgboost.XGBRegressor``).

    ``predict_proba`` is the sigmoid of the booster's raw margin, so probabilities are valid
    whichever library is underneath (LightGBM returns raw scores for callable objectives).

    Parameters
    ----------
    estimator:
        Unfitted regressor with an ``objective`` parameter.
    gamma:
        Focusing parameter, >= 0; 0 gives (alpha-weighted) log-loss.
    alpha:
        Weight of the positive class in (0, 1).
    """

    def __init__(self, estimator: Any = None, *, gamma: float = 2.0, alpha: float = 0.25):
        self.estimator = estimator
        self.gamma = gamma
        self.alpha = alpha

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True  # the boosters take NaN as "missing"
        tags.input_tags.sparse = True
        return tags

    def fit(self, X: Any, y: ArrayLike, sample_weight: ArrayLike | None = None) -> FocalLossClassifier:
        self._validate_params_values()
        y = checked_target(self, y, binary=True)
        X = validate_data(self, X, accept_sparse=True, ensure_all_finite="allow-nan")
        if len(y) != _num_samples(X):
            raise ValueError(f"X has {_num_samples(X)} rows but y has {len(y)}; they must match.")
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"FocalLossClassifier needs two classes; got one class: {self.classes_.tolist()}.")
        y01 = (y == self.classes_[1]).astype(float)
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        if weights is not None and not weights.sum() > 0:
            raise ValueError("sample_weight sums to zero (or less): at least one row needs a positive weight.")
        self.estimator_ = clone(self.estimator).set_params(objective=_FocalObjective(self.gamma, self.alpha, weights))
        self.estimator_.fit(X, y01)
        return self

    def _validate_params_values(self) -> None:
        if self.estimator is None:
            raise ValueError("FocalLossClassifier needs an estimator (a boosting regressor); got None.")
        if not self.gamma >= 0:
            raise ValueError(f"gamma must be >= 0; got {self.gamma!r}.")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1); got {self.alpha!r}.")

    def decision_function(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False, accept_sparse=True, ensure_all_finite="allow-nan")
        predict_params = inspect.signature(self.estimator_.predict).parameters
        if "raw_score" in predict_params:  # LightGBM
            return np.asarray(self.estimator_.predict(X, raw_score=True), float)
        if "output_margin" in predict_params:  # XGBoost
            return np.asarray(self.estimator_.predict(X, output_margin=True), float)
        return np.asarray(self.estimator_.predict(X), float)

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> NDArray[Any]:
        positive = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[positive.astype(int)]
