"""Anomaly detection as a classifier: the rare class as what looks unlike the common one."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import IsolationForest
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

FIT_ON = ("majority", "all")


class AnomalyDetectorClassifier(ClassifierMixin, BaseEstimator):
    """Score rows by how anomalous ``detector`` finds them; the minority class is the anomaly.

    The detector is fitted on the majority rows (``fit_on="majority"``: it learns what normal
    looks like) or on every row (``"all"``: unsupervised, the minority as the outliers it finds
    anyway), at most ``max_rows`` of them (a random sample above that, which bounds the cost of
    detectors that grow with the square of the rows, such as a one-class SVM). Labels are used
    only to choose those rows.

    ``predict_proba`` gives the minority class the anomaly score (``-decision_function``)
    centred on its median over the fitted rows, divided by their interquartile range and
    squashed by the logistic function: a score in (0, 1) that orders rows exactly as the
    detector does and does not saturate for the rows more anomalous than any fitted one (where
    the minority is). It is not a calibrated probability, so the search never averages these
    models with classifiers in an ensemble. Two classes only.

    Parameters
    ----------
    detector:
        A scikit-learn outlier detector with ``decision_function`` (higher: more normal);
        default an isolation forest.
    fit_on:
        ``"majority"`` or ``"all"``.
    max_rows:
        The most rows the detector is fitted on.
    random_state:
        Seed or ``RandomState`` (for the sample, and the detector's own when it has one).
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {}

    def __init__(
        self, detector: Any = None, *, fit_on: str = "majority", max_rows: int = 20_000, random_state: Any = None
    ) -> None:
        self.detector = detector
        self.fit_on = fit_on
        self.max_rows = max_rows
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.sparse = True  # one-hot encoded categories arrive sparse
        return tags

    def fit(self, X: Any, y: Any) -> AnomalyDetectorClassifier:
        X, y = validate_data(self, X, y, accept_sparse="csr")
        check_classification_targets(y)
        if self.fit_on not in FIT_ON:
            raise ValueError(f"fit_on must be one of {FIT_ON}; got {self.fit_on!r}.")
        if self.max_rows < 2:
            raise ValueError(f"max_rows must be >= 2; got {self.max_rows}.")
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(f"Only binary classification is supported. The type of the target is {y_type}.")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(f"Got 1 class ({self.classes_.tolist()}): an anomaly detector needs both classes.")
        rng = check_random_state(self.random_state)
        self.minority_ = int(np.argmin(np.bincount(codes)))
        rows = np.flatnonzero(codes != self.minority_) if self.fit_on == "majority" else np.arange(len(codes))
        if len(rows) > self.max_rows:
            rows = np.sort(rng.choice(rows, size=self.max_rows, replace=False))
        detector = clone(IsolationForest() if self.detector is None else self.detector)
        if "random_state" in detector.get_params():
            detector.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
        self.detector_ = detector.fit(X[rows])
        reference = -self.detector_.decision_function(X[rows])
        low, self.centre_, high = np.percentile(reference, [25, 50, 75])
        self.scale_ = float(high - low) or float(np.std(reference)) or 1.0
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse="csr")
        minority = expit((-self.detector_.decision_function(X) - self.centre_) / self.scale_)
        proba = np.empty((len(X), 2))
        proba[:, self.minority_] = minority
        proba[:, 1 - self.minority_] = 1.0 - minority
        return proba

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
