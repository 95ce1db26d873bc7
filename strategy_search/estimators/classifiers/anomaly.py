"""Anomaly detection as a classifier: the rare class as what looks unlike the common one."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from scipy.special import expit
from sklearn.base import _fit_context, clone
from sklearn.ensemble import IsolationForest
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from strategy_search.estimators._meta import MinorityScoringClassifier

FIT_ON = ("majority", "all")


class AnomalyDetectorClassifier(MinorityScoringClassifier):
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

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "detector": [HasMethods(["fit", "decision_function"]), None],
        "fit_on": [StrOptions(set(FIT_ON))],
        "max_rows": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }
    _accepts_sparse = True  # one-hot encoded categories arrive sparse

    def __init__(
        self, detector: Any = None, *, fit_on: str = "majority", max_rows: int = 20_000, random_state: Any = None
    ) -> None:
        self.detector = detector
        self.fit_on = fit_on
        self.max_rows = max_rows
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)  # the detector is the user's
    def fit(self, X: Any, y: Any) -> AnomalyDetectorClassifier:
        X, y = self._checked(X, y, reset=True)
        codes = self._binary_codes(y)
        rng = check_random_state(self.random_state)
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

    def _minority_score(self, X: Any) -> np.ndarray:
        return expit((-self.detector_.decision_function(X) - self.centre_) / self.scale_)
