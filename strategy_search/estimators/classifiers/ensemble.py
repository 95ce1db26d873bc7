"""A weighted average of several classifiers' probabilities (an ensemble of strategies)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils.validation import check_is_fitted

from strategy_search.estimators._meta import checked_input, checked_target, inherit_input_tags


class AveragedClassifier(ClassifierMixin, BaseEstimator):
    """Fits a clone of every estimator on the same rows; ``predict_proba`` is the weighted mean
    of theirs. Weights default to equal; a member listed twice by greedy ensemble selection is
    given as one member with twice the weight."""

    _parameter_constraints: ClassVar[dict[str, Any]] = {"estimators": [list, tuple], "weights": ["array-like", None]}

    def __init__(self, estimators: Sequence[Any] = (), *, weights: Sequence[float] | None = None):
        self.estimators = estimators
        self.weights = weights

    def __sklearn_tags__(self) -> Any:
        return inherit_input_tags(super().__sklearn_tags__(), self.estimators)

    @_fit_context(prefer_skip_nested_validation=False)  # the members are the user's
    def fit(self, X: Any, y: ArrayLike, **fit_params: Any) -> AveragedClassifier:
        self._weights()  # how the two parameters go together, checked before any member is fitted
        X = checked_input(self, X, reset=True)
        y = checked_target(self, y)
        self.classes_ = np.unique(y)
        self.estimators_ = [clone(estimator).fit(X, y, **fit_params) for estimator in self.estimators]
        return self

    def _weights(self) -> NDArray[np.float64]:
        """The weights, summing to 1; refused unless one per estimator, of them at least one."""
        if not len(self.estimators):
            raise ValueError("AveragedClassifier needs at least one estimator; got none.")
        if self.weights is None:
            return np.full(len(self.estimators), 1.0 / len(self.estimators))
        weights = np.asarray(self.weights, dtype=float)
        if weights.shape != (len(self.estimators),) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(
                f"weights must be {len(self.estimators)} non-negative numbers, not all zero "
                f"(one per estimator); got {list(self.weights)!r}."
            )
        return weights / weights.sum()

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self, "estimators_")
        X = checked_input(self, X, reset=False)
        weights = self._weights()
        probabilities = (np.asarray(e.predict_proba(X), dtype=float) for e in self.estimators_)
        return sum(w * p for w, p in zip(weights, probabilities, strict=True))

    def predict(self, X: Any) -> NDArray[Any]:
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]
