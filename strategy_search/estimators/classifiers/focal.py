"""Binary focal loss (Lin et al. 2017) as a custom objective for gradient-boosted trees.

The loss is written on the raw margin ``z`` with ``p = sigmoid(z)``. With ``s = 2y - 1`` the
probability of the true class is ``q = sigmoid(s z)``, ``u = 1 - q`` and
``alpha_t = alpha`` for positives, ``1 - alpha`` for negatives:

    L    = -alpha_t * u**gamma * log(q)
    dL/dz = s * alpha_t * (gamma * u**gamma * q * log(q) - u**(gamma + 1))
    d2L/dz2 = alpha_t * q * (-gamma**2 * u**gamma * q * log(q)
                             + gamma * u**(gamma + 1) * (log(q) + 1) + (gamma + 1) * u**(gamma + 1))

With ``gamma = 0`` and ``alpha = 0.5`` this is half the log-loss.

Multi-class (softmax) focal loss, on a margin per class ``z_k`` with ``p = softmax(z)`` and
``p_t`` the probability of the true class ``t``:

    L        = -(1 - p_t)**gamma * log(p_t)
    dL/dz_j   = g(p_t) * (delta_jt - p_j),   g(p) = gamma * p * (1 - p)**(gamma - 1) * log(p) - (1 - p)**gamma
    d2L/dz_j2 = g'(p_t) * p_t * (delta_jt - p_j)**2 - g(p_t) * p_j * (1 - p_j)

(the diagonal of the hessian, which is what the boosters use). ``alpha`` weighs one positive
class, which a multi-class target does not have; there, class weights come from the weighting
slot, and ``alpha`` is not used. With ``gamma = 0`` this is the softmax log-loss.
"""

from __future__ import annotations

import inspect
from numbers import Real
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval
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


def softmax_focal_loss(margins: ArrayLike, y: ArrayLike, *, gamma: float) -> NDArray[np.float64]:
    """Per-sample softmax focal loss for margins ``(n, n_classes)`` and class codes ``y``."""
    margins, rows = np.asarray(margins, float), np.arange(len(margins))
    log_p_t = log_softmax(margins, axis=1)[rows, np.asarray(y, int)]
    return -((-np.expm1(log_p_t)) ** gamma) * log_p_t


def softmax_focal_grad_hess(
    margins: ArrayLike, y: ArrayLike, *, gamma: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact gradient and hessian diagonal of :func:`softmax_focal_loss` with respect to each
    class margin, both ``(n, n_classes)``."""
    margins = np.asarray(margins, float)
    rows, y = np.arange(len(margins)), np.asarray(y, int)
    p = softmax(margins, axis=1)
    log_p_t = log_softmax(margins, axis=1)[rows, y][:, None]
    p_t = np.exp(log_p_t)
    u = -np.expm1(log_p_t)  # 1 - p_t without cancellation
    delta = np.zeros_like(p)
    delta[rows, y] = 1.0
    diff = delta - p
    u_g = u**gamma
    g = gamma * p_t * _power(u, gamma - 1) * log_p_t - u_g
    grad = g * diff
    # g'(p) = gamma * u**(gamma - 1) * (log p + 2) - gamma * (gamma - 1) * p * u**(gamma - 2) * log p.
    # The u**(gamma - 2) term always comes times (delta_jt - p_j)**2 <= u**2, so it is formed as
    # u**gamma * ((delta_jt - p_j) / u)**2, which stays finite as p_t -> 1 for any gamma.
    ratio_sq = np.where(u > 0, (diff / np.where(u > 0, u, 1.0)) ** 2, 0.0)
    first = gamma * _power(u, gamma - 1) * (log_p_t + 1.0) + gamma * _power(u, gamma - 1)
    first_term = first * p_t * diff**2
    second_term = -gamma * (gamma - 1) * p_t * p_t * log_p_t * u_g * ratio_sq
    hess = first_term + second_term - g * p * (1.0 - p)
    return grad, hess


def _power(base: NDArray[np.float64], exponent: float) -> NDArray[np.float64]:
    # 0 ** negative is infinite, but every such term is multiplied by a factor that is 0 there.
    with np.errstate(divide="ignore"):
        return np.where(base > 0, np.power(np.where(base > 0, base, 1.0), exponent), 0.0 if exponent > 0 else 1.0)


class _SoftmaxFocalObjective:
    """Picklable multi-class objective ``(y_true, margins) -> (grad, hess)``, each
    ``(n, n_classes)``, with the sample weights bound in."""

    def __init__(self, gamma: float, sample_weight: NDArray[np.float64] | None):
        self.gamma, self.sample_weight = gamma, sample_weight

    def __call__(self, y_true: NDArray[Any], y_pred: NDArray[Any]):
        margins = np.asarray(y_pred, float)
        grad, hess = softmax_focal_grad_hess(margins, y_true, gamma=self.gamma)
        hess = np.maximum(hess, _MIN_HESSIAN)
        if self.sample_weight is not None:
            grad, hess = grad * self.sample_weight[:, None], hess * self.sample_weight[:, None]
        return grad, hess


def _softmax_booster(regressor: Any) -> Any:
    """The classifier of the regressor's library with the same settings: a multi-class custom
    objective needs one margin per class, which only the boosters' classifiers grow."""
    from lightgbm import LGBMClassifier, LGBMModel
    from xgboost import XGBClassifier, XGBModel

    params = regressor.get_params()
    if isinstance(regressor, LGBMModel):
        return LGBMClassifier(**params)
    if isinstance(regressor, XGBModel):
        params.pop("base_score", None)
        return XGBClassifier(**params)
    raise ValueError(f"Multi-class focal loss needs a LightGBM or XGBoost booster; got {type(regressor).__name__}.")


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
    """Classifier trained with focal loss on a boosting *regressor* that accepts a callable
    objective (``lightgbm.LGBMRegressor``, ``xgboost.XGBRegressor``); with more than two classes,
    softmax focal loss on the same library's classifier with the regressor's settings.

    ``predict_proba`` is the sigmoid (softmax) of the booster's raw margin(s), so probabilities
    are valid whichever library is underneath (LightGBM returns raw scores for callable objectives).

    Parameters
    ----------
    estimator:
        Unfitted regressor with an ``objective`` parameter.
    gamma:
        Focusing parameter, >= 0; 0 gives (alpha-weighted) log-loss.
    alpha:
        Weight of the positive class in (0, 1).
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "estimator": [HasMethods(["fit", "predict", "set_params"])],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(self, estimator: Any = None, *, gamma: float = 2.0, alpha: float = 0.25):
        self.estimator = estimator
        self.gamma = gamma
        self.alpha = alpha

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # the boosters take NaN as "missing"
        tags.input_tags.sparse = True
        return tags

    @_fit_context(prefer_skip_nested_validation=False)  # the booster is the user's
    def fit(self, X: Any, y: ArrayLike, sample_weight: ArrayLike | None = None) -> FocalLossClassifier:
        y = checked_target(self, y)
        X = validate_data(self, X, accept_sparse=True, ensure_all_finite="allow-nan")
        if len(y) != _num_samples(X):
            raise ValueError(f"X has {_num_samples(X)} rows but y has {len(y)}; they must match.")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"FocalLossClassifier needs two classes; got one class: {self.classes_.tolist()}.")
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        if weights is not None and not weights.sum() > 0:
            raise ValueError("sample_weight sums to zero (or less): at least one row needs a positive weight.")
        if len(self.classes_) > 2:
            booster = _softmax_booster(clone(self.estimator))
            self.estimator_ = booster.set_params(objective=_SoftmaxFocalObjective(self.gamma, weights))
            self.estimator_.fit(X, codes)
            return self
        self.estimator_ = clone(self.estimator).set_params(objective=_FocalObjective(self.gamma, self.alpha, weights))
        self.estimator_.fit(X, codes.astype(float))
        return self

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
        margins = self.decision_function(X)
        if margins.ndim == 2:
            return softmax(margins, axis=1)
        positive = expit(margins)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> NDArray[Any]:
        probabilities = self.predict_proba(X)
        if len(self.classes_) == 2:
            return self.classes_[(probabilities[:, 1] >= 0.5).astype(int)]
        return self.classes_[np.argmax(probabilities, axis=1)]
