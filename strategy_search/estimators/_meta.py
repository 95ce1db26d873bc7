"""What the engine's meta-estimators share: input checks that leave the data to the estimators
they wrap (a pipeline reads DataFrames with text columns), and tags taken from them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data


def checked_input(estimator: Any, X: Any, *, reset: bool) -> Any:
    """``X`` for the wrapped estimators, with ``n_features_in_`` / ``feature_names_in_``
    recorded at fit (``reset``) and checked at predict.

    A DataFrame is passed on as it is (the wrapped pipeline reads its text columns; at predict,
    the fitted columns in another order are put back in the fitted order); anything
    else is checked as an array (shape, emptiness) without changing its dtype or refusing NaN
    or sparse input, which the wrapped estimators decide on. A model fitted before the engine
    recorded the input (an old export) predicts without the check.
    """
    if not reset and not hasattr(estimator, "n_features_in_"):
        return X
    if isinstance(X, pd.DataFrame):
        fitted = getattr(estimator, "feature_names_in_", None)
        if not reset and fitted is not None and set(X.columns) == set(fitted):
            X = X[list(fitted)]  # the same columns in another order are the same data
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        return X
    return validate_data(estimator, X, reset=reset, accept_sparse=True, ensure_all_finite=False, dtype=None)


def checked_target(estimator: Any, y: Any, *, binary: bool = False) -> NDArray[Any]:
    """``y`` as a 1-d array of class labels; refused the way scikit-learn classifiers refuse a
    missing, continuous or (for a ``binary`` estimator) multi-class target."""
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target y is None.")
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    if binary and type_of_target(y) == "multiclass":
        raise ValueError(
            f"Only binary classification is supported. The type of the target is multiclass "
            f"(classes {np.unique(y).tolist()})."
        )
    return y


def inherit_input_tags(tags: Any, inner: Iterable[Any]) -> Any:
    """Sparse, NaN and text input are fine when every wrapped estimator takes them."""
    inner_tags = [get_tags(e) for e in inner if e is not None]
    if inner_tags:
        tags.input_tags.sparse = all(t.input_tags.sparse for t in inner_tags)
        tags.input_tags.allow_nan = all(t.input_tags.allow_nan for t in inner_tags)
        tags.input_tags.string = all(t.input_tags.string for t in inner_tags)
    return tags


class MinorityScoringClassifier(ClassifierMixin, BaseEstimator):
    """A two-class classifier that scores how likely each row is to be of the minority class.

    Subclasses call :meth:`_binary_codes` in ``fit`` (it checks the target and records
    ``classes_`` and ``minority_``) and give :meth:`_minority_score`; probabilities, their
    column order and ``predict`` are built here once.
    """

    # Whether X may be sparse (one-hot encoded categories arrive sparse).
    _accepts_sparse: ClassVar[bool] = False

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.sparse = self._accepts_sparse
        return tags

    def _checked(self, X: Any, y: Any = None, *, reset: bool) -> Any:
        """``(X, y)`` checked for fitting (``reset``: y is required), else ``X`` for predicting."""
        sparse = "csr" if self._accepts_sparse else False
        if reset:
            return validate_data(self, X, y, reset=True, accept_sparse=sparse)
        return validate_data(self, X, reset=False, accept_sparse=sparse)

    def _binary_codes(self, y: Any) -> NDArray[np.intp]:
        """``y`` as codes 0/1 of ``classes_``; refuses a target that is not two classes."""
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(f"Only binary classification is supported. The type of the target is {y_type}.")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(f"Got 1 class ({self.classes_.tolist()}): {type(self).__name__} needs both classes.")
        self.minority_ = int(np.argmin(np.bincount(codes)))
        return codes

    def _minority_score(self, X: Any) -> NDArray[np.float64]:
        """Each row's probability-like score (in [0, 1]) of being of the minority class."""
        raise NotImplementedError

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self)
        X = self._checked(X, reset=False)
        minority = self._minority_score(X)
        proba = np.empty((X.shape[0], 2))
        proba[:, self.minority_] = minority
        proba[:, 1 - self.minority_] = 1.0 - minority
        return proba

    def predict(self, X: Any) -> NDArray[Any]:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
