"""What the engine's meta-estimators share: input checks that leave the data to the estimators
they wrap (a pipeline reads DataFrames with text columns), and tags taken from them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d, validate_data


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
