"""The deployable classifier: a fitted pipeline plus the decision threshold tuned for it."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from strategy_search.estimators._meta import checked_input, checked_target, inherit_input_tags


class ThresholdedClassifier(ClassifierMixin, BaseEstimator):
    """Trains ``estimator`` on 0/1 labels (1 = ``positive_label``) and predicts the positive
    class when its probability is at least ``threshold``.

    ``classes_`` is ``[negative_label, positive_label]`` in the user's own label values, so
    ``predict_proba(X)[:, 1]`` is always the positive class's probability. ``positive_label``
    None means the larger of the two labels (scikit-learn's order).
    """

    def __init__(self, estimator: Any = None, *, threshold: float = 0.5, positive_label: Any = None):
        self.estimator = estimator
        self.threshold = threshold
        self.positive_label = positive_label

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return inherit_input_tags(tags, [self.estimator])

    def fit(self, X: Any, y: ArrayLike, **fit_params: Any) -> ThresholdedClassifier:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1]; got {self.threshold!r}.")
        X = checked_input(self, X, reset=True)
        y = checked_target(self, y, binary=True)
        labels = np.unique(y)
        positive = labels[-1] if self.positive_label is None else self.positive_label
        if len(labels) != 2 or positive not in labels.tolist():
            raise ValueError(
                f"ThresholdedClassifier needs two classes, one of them the positive label {positive!r}; got "
                f"{'one class' if len(labels) == 1 else f'{len(labels)} classes'}: {labels.tolist()}."
            )
        negative = labels[labels != positive][0]
        self.classes_ = np.array([negative, positive], dtype=labels.dtype)
        self.estimator_ = clone(self.estimator).fit(X, (y == positive).astype(int), **fit_params)
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(checked_input(self, X, reset=False))

    def predict(self, X: Any) -> NDArray[Any]:
        positive = self.predict_proba(X)[:, 1] >= self.threshold
        return self.classes_[positive.astype(int)]
