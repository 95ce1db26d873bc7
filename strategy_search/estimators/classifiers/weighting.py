"""Class weighting applied as per-sample weights at fit time.

Weights are computed from the labels the model actually sees, i.e. *after* the resampler ran
on the training fold, so weighting and resampling compose without double counting.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from strategy_search.estimators._meta import checked_input, checked_target, inherit_input_tags


class _ClassWeighting(BaseEstimator):
    """Base: subclasses give a weight per class; samples get their class's weight, rescaled so
    the mean sample weight is 1 (keeps learning rates and regularisation comparable).
    :meth:`sample_weight`, the weighting's ``fit``, checks ``_parameter_constraints`` first."""

    _parameter_constraints: ClassVar[dict[str, Any]] = {}

    def class_weights(self, classes: NDArray[Any], counts: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError

    def sample_weight(self, y: ArrayLike, sample_weight: ArrayLike | None = None) -> NDArray[np.float64]:
        """Each row's weight: its class's weight times its own ``sample_weight`` (1 by default).
        Classes are sized by their summed ``sample_weight``, so a row of weight 2 counts as
        two copies of it."""
        self._validate_params()
        y = np.asarray(y)
        own = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if not own.sum() > 0:
            raise ValueError("sample_weight sums to zero (or less): at least one row needs a positive weight.")
        classes, inverse = np.unique(y, return_inverse=True)
        sizes = np.bincount(inverse, weights=own, minlength=len(classes)).astype(np.float64)
        present = sizes > 0  # a class whose rows all weigh 0 gets no weight, not 1 / 0
        per_class = np.zeros(len(classes))
        per_class[present] = self.class_weights(classes[present], sizes[present])
        weights = per_class[inverse] * own
        return weights * (own.sum() / weights.sum())


class BalancedWeighting(_ClassWeighting):
    """w_c proportional to 1 / n_c (scikit-learn's ``class_weight="balanced"``)."""

    def class_weights(self, classes: NDArray[Any], counts: NDArray[np.float64]) -> NDArray[np.float64]:
        return 1.0 / counts


class EffectiveNumberWeighting(_ClassWeighting):
    """Class-balanced weights of Cui et al. (2019): w_c = (1 - beta) / (1 - beta ** n_c)."""

    _parameter_constraints: ClassVar[dict[str, Any]] = {"beta": [Interval(Real, 0, 1, closed="left")]}

    def __init__(self, beta: float = 0.999):
        self.beta = beta

    def class_weights(self, classes: NDArray[Any], counts: NDArray[np.float64]) -> NDArray[np.float64]:
        return (1.0 - self.beta) / (1.0 - np.power(self.beta, counts.astype(float)))


class CustomWeighting(_ClassWeighting):
    """Two classes: the positive (last, i.e. label 1) class weighs ``positive_weight`` times a
    negative. More classes: a function of class size, the smallest class weighing
    ``positive_weight`` times the largest and the others in between, geometrically by size
    (w_c = positive_weight ** (log(n_max / n_c) / log(n_max / n_min)))."""

    _parameter_constraints: ClassVar[dict[str, Any]] = {"positive_weight": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, positive_weight: float = 10.0):
        self.positive_weight = positive_weight

    def class_weights(self, classes: NDArray[Any], counts: NDArray[np.float64]) -> NDArray[np.float64]:
        if len(classes) > 2:
            spread = np.log(counts.max() / counts.min())
            rarity = np.log(counts.max() / counts) / spread if spread > 0 else np.zeros(len(classes))
            return np.power(float(self.positive_weight), rarity)
        weights = np.ones(len(classes))
        weights[-1] = self.positive_weight
        return weights


class WeightedClassifier(ClassifierMixin, BaseEstimator):
    """Fits ``estimator`` with ``sample_weight`` from ``weighting`` computed on the labels it gets."""

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "estimator": [HasMethods(["fit"])],
        "weighting": [HasMethods(["sample_weight"])],
    }

    def __init__(self, estimator: Any = None, weighting: Any = None):
        self.estimator = estimator
        self.weighting = weighting

    def __sklearn_tags__(self) -> Any:
        return inherit_input_tags(super().__sklearn_tags__(), [self.estimator])

    @_fit_context(prefer_skip_nested_validation=False)  # the model is the user's
    def fit(self, X: Any, y: ArrayLike, sample_weight: ArrayLike | None = None) -> WeightedClassifier:
        X = checked_input(self, X, reset=True)
        y = checked_target(self, y)
        weights = self.weighting.sample_weight(y, sample_weight)
        self.estimator_ = clone(self.estimator).fit(X, y, sample_weight=weights)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(checked_input(self, X, reset=False))

    def predict(self, X: Any) -> NDArray[Any]:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(checked_input(self, X, reset=False))
