"""The deployable classifier: a fitted pipeline plus the decision threshold tuned for it."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted


class ThresholdedClassifier(ClassifierMixin, BaseEstimator):
    """Trains ``estimator`` on 0/1 labels (1 = ``positive_label``) and predicts the positive
    class when its probability is at least ``threshold``.

    ``classes_`` is ``[negative_label, positive_label]`` in the user's own label values, so
    ``predict_proba(X)[:, 1]`` is always the positive class's probability.
    """

    def __init__(self, estimator: Any = None, *, threshold: float = 0.5, positive_label: Any = 1):
        self.estimator = estimator
        self.threshold = threshold
        self.positive_label = positive_label

    def fit(self, X: Any, y: ArrayLike, **fit_params: Any) -> ThresholdedClassifier:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1]; got {self.threshold!r}.")
        y = np.asarray(y)
        labels = np.unique(y)
        if self.positive_label not in labels.tolist() or len(labels) != 2:
            raise ValueError(
                f"Expected two classes including positive_label={self.positive_label!r}; "
                f"got classes {labels.tolist()}."
            )
        negative = labels[labels != self.positive_label][0]
        self.classes_ = np.array([negative, self.positive_label], dtype=labels.dtype)
        self.estimator_ = clone(self.estimator).fit(X, (y == self.positive_label).astype(int), **fit_params)
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def predict(self, X: Any) -> NDArray[Any]:
        positive = self.predict_proba(X)[:, 1] >= self.threshold
        return self.classes_[positive.astype(int)]
