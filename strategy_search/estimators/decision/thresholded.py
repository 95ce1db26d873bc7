"""The deployable classifiers: a fitted pipeline plus the decision tuned for it (a threshold
for two classes, per-class weights for more) and, optionally, the calibration of its
probabilities (:mod:`~strategy_search.estimators.decision.probability_map`).

The decision is always made on the pipeline's own scores, the scale on which the search chose
it, so calibrating changes the probabilities reported and never a prediction."""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from strategy_search.estimators._meta import checked_input, checked_target, inherit_input_tags
from strategy_search.estimators.decision.probability_map import map_scores
from strategy_search.task import all_class_columns, ordered_classes, predict_classes


def _calibration_of(classifier: Any) -> dict[str, Any] | None:
    # A classifier exported before calibration existed was saved without the attribute.
    return getattr(classifier, "calibration", None)


class ThresholdedClassifier(ClassifierMixin, BaseEstimator):
    """Trains ``estimator`` on 0/1 labels (1 = ``positive_label``) and predicts the positive
    class when its probability is at least ``threshold``.

    ``classes_`` is ``[negative_label, positive_label]`` in the user's own label values, so
    ``predict_proba(X)[:, 1]`` is always the positive class's probability. ``positive_label``
    None means the larger of the two labels (scikit-learn's order). ``calibration`` (a map of
    :mod:`~strategy_search.estimators.decision.probability_map`) turns the estimator's scores
    into the probabilities ``predict_proba`` reports; ``threshold`` applies to the scores
    (:meth:`decision_scores`), so the decisions are those the search scored.
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "threshold": [Interval(Real, 0, 1, closed="both")],
        # As scikit-learn's own pos_label: a label value the target holds.
        "positive_label": [Real, str, "boolean", None],
        "calibration": [dict, None],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        threshold: float = 0.5,
        positive_label: Any = None,
        calibration: dict[str, Any] | None = None,
    ):
        self.estimator = estimator
        self.threshold = threshold
        self.positive_label = positive_label
        self.calibration = calibration

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return inherit_input_tags(tags, [self.estimator])

    @_fit_context(prefer_skip_nested_validation=False)  # the pipeline is the user's
    def fit(self, X: Any, y: ArrayLike, **fit_params: Any) -> ThresholdedClassifier:
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

    def decision_scores(self, X: Any) -> NDArray[np.float64]:
        """The estimator's positive-class score of each row, which ``threshold`` applies to."""
        check_is_fitted(self, "estimator_")
        # float64 whatever the model gives (float32 from a model fitted on float32 features), so
        # the threshold, a float64 midpoint between two scores, is compared as the search compared it.
        proba = self.estimator_.predict_proba(checked_input(self, X, reset=False))
        return np.asarray(proba, dtype=np.float64)[:, 1]

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        return self.proba_and_labels(X)[0]

    def predict(self, X: Any) -> NDArray[Any]:
        return self.proba_and_labels(X)[1]

    def proba_and_labels(self, X: Any) -> tuple[NDArray[np.float64], NDArray[Any]]:
        """:meth:`predict_proba` and :meth:`predict` from one pass over the estimator."""
        scores = self.decision_scores(X)
        positive = map_scores(_calibration_of(self), scores)
        labels = self.classes_[(scores >= self.threshold).astype(int)]
        return np.column_stack([1.0 - positive, positive]), labels


class ClassWeightedClassifier(ClassifierMixin, BaseEstimator):
    """Trains ``estimator`` on class codes ``0 .. n_classes - 1`` (the labels in
    :func:`~strategy_search.task.label_order`, as a search codes them) and predicts the class
    with the largest weighted probability, ``argmax(predict_proba(X) * class_weights)``.

    ``class_weights`` None (or all equal) is plain argmax. ``threshold`` is another name for
    ``class_weights``, so code that sets "the decision" of a deployable classifier works for
    both kinds. ``calibration`` maps the estimator's probabilities to the ones
    ``predict_proba`` reports; the weighted argmax is taken on the estimator's own.
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "class_weights": ["array-like", None],
        "calibration": [dict, None],
    }

    def __init__(self, estimator: Any = None, *, class_weights: Any = None, calibration: dict[str, Any] | None = None):
        self.estimator = estimator
        self.class_weights = class_weights
        self.calibration = calibration

    def __sklearn_tags__(self) -> Any:
        return inherit_input_tags(super().__sklearn_tags__(), [self.estimator])

    @property
    def threshold(self) -> Any:
        """The per-class weights (all 1 when none were given)."""
        if self.class_weights is None and hasattr(self, "classes_"):
            return tuple(1.0 for _ in self.classes_)
        return self.class_weights

    @threshold.setter
    def threshold(self, weights: Any) -> None:
        self.class_weights = None if weights is None else tuple(float(w) for w in weights)

    @_fit_context(prefer_skip_nested_validation=False)  # the pipeline is the user's
    def fit(self, X: Any, y: ArrayLike, **fit_params: Any) -> ClassWeightedClassifier:
        X = checked_input(self, X, reset=True)
        y = checked_target(self, y)
        self.classes_ = np.array(ordered_classes(y), dtype=np.asarray(y).dtype)
        self._weights(len(self.classes_))  # one per class: known from y, checked before the long fit
        code_of = {label: code for code, label in enumerate(self.classes_.tolist())}
        codes = np.array([code_of[label] for label in np.asarray(y).tolist()])
        self.estimator_ = clone(self.estimator).fit(X, codes, **fit_params)
        return self

    def _weights(self, n_classes: int) -> NDArray[np.float64]:
        if self.class_weights is None:
            return np.ones(n_classes)
        weights = np.asarray(self.class_weights, dtype=float)
        if weights.shape != (n_classes,) or not (weights > 0).all():
            raise ValueError(
                f"class_weights must be {n_classes} positive numbers (one per class); got {self.class_weights!r}."
            )
        return weights

    def decision_scores(self, X: Any) -> NDArray[np.float64]:
        """The estimator's class probabilities (one column per class), which the weights apply to."""
        check_is_fitted(self, "estimator_")
        probabilities = self.estimator_.predict_proba(checked_input(self, X, reset=False))
        return all_class_columns(self.estimator_.classes_, probabilities, len(self.classes_))

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        return self.proba_and_labels(X)[0]

    def predict(self, X: Any) -> NDArray[Any]:
        return self.proba_and_labels(X)[1]

    def proba_and_labels(self, X: Any) -> tuple[NDArray[np.float64], NDArray[Any]]:
        """:meth:`predict_proba` and :meth:`predict` from one pass over the estimator."""
        scores = self.decision_scores(X)
        return map_scores(_calibration_of(self), scores), self.decide(scores)

    def decide(self, scores: Any) -> NDArray[Any]:
        """The labels :meth:`predict` gives for these :meth:`decision_scores` rows."""
        return self.classes_[predict_classes(scores, self._weights(len(self.classes_)))]
