"""The model :func:`strategy_search.load_model` returns: an export's fitted classifier that
reads new rows as ``strategy-search predict`` does (:mod:`strategy_search.new_rows`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin

from strategy_search.errors import ExportError
from strategy_search.estimators.decision.thresholded import ClassWeightedClassifier, ThresholdedClassifier
from strategy_search.new_rows import read_as_trained, warn_input_notes

__all__ = ["DeployedModel"]


class DeployedModel(ClassifierMixin, BaseEstimator):
    """An exported model, fitted, for scoring new rows in Python.

    ``predict_proba(X)`` (one column per class, in ``classes_`` order) and ``predict(X)`` (the
    exported threshold, or per-class weights) check ``X`` as the command line's ``predict``
    does: columns the model does not use are ignored, the columns it reads as numbers are read
    as training read them (text cells become missing), +/-inf is refused naming the column,
    and each of these is said in a ``UserWarning``. ``classifier`` is the scikit-learn
    classifier itself (it takes exactly the training columns), ``meta`` the folder's parsed
    ``strategy.yaml``. It cannot be fitted again: rebuild the recipe with
    :func:`strategy_search.export.rebuild_classifier` for that.
    """

    def __init__(self, classifier: ThresholdedClassifier | ClassWeightedClassifier, meta: Mapping[str, Any]):
        self.classifier = classifier
        self.meta = meta

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        # Not every parameter: ``meta`` is the whole strategy.yaml.
        return f"DeployedModel({self.classifier!r})"

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> DeployedModel:
        """Refused: an exported model was fitted at export, and scores as it was scored."""
        raise ExportError(
            "A model loaded from an export folder is not fitted again; to train its recipe on other rows, "
            "use strategy_search.export.rebuild_classifier(model.meta).fit(X, y)."
        )

    @property
    def classes_(self) -> NDArray[Any]:
        return np.asarray(self.classifier.classes_)

    @property
    def threshold(self) -> Any:
        """The deployed decision: the positive class's threshold, or the per-class weights."""
        return self.classifier.threshold

    def features(self, X: pd.DataFrame) -> pd.DataFrame:
        """The model's columns of ``X``, read as training read them, with a ``UserWarning``
        for each note (:func:`strategy_search.new_rows.input_notes`)."""
        features = read_as_trained(self.meta, X)
        warn_input_notes(self.meta, X, stacklevel=3)
        return features

    def predict_proba(self, X: pd.DataFrame) -> NDArray[np.float64]:
        return np.asarray(self.classifier.predict_proba(self.features(X)))

    def predict(self, X: pd.DataFrame) -> NDArray[Any]:
        return np.asarray(self.classifier.predict(self.features(X)))
