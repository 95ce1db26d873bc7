"""What the engine's own oversamplers share: new rows made class by class, categorical columns
never treated as numbers, sparse input answered with sparse rows."""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from numpy.typing import NDArray
from scipy import sparse
from sklearn.utils import check_random_state


class ClassWiseOverSampler(BaseOverSampler):
    """Each class to grow gets the rows :meth:`_new_rows` makes from that class's rows.
    Subclasses take ``categorical_features`` (column indices) and ``random_state``, and list
    every parameter in ``_parameter_constraints`` (``fit_resample`` checks them first)."""

    categorical_features: Any
    random_state: Any

    def _new_rows(
        self,
        rows: np.ndarray,
        n_new: int,
        continuous: np.ndarray,
        rng: np.random.RandomState,
        every_row: np.ndarray,
        label: Any,
    ) -> np.ndarray:
        """``n_new`` rows like ``rows`` (class ``label``); ``continuous`` marks the columns
        that are not categorical; ``every_row`` is the whole input (for scales a small class lacks)."""
        raise NotImplementedError

    def _prepare(self, dense: np.ndarray, y: NDArray[Any], continuous: np.ndarray, rng: np.random.RandomState) -> None:
        """Called once before any class's rows are made (a model of all classes to grow)."""

    def _fit_resample(self, X: Any, y: NDArray[Any], **params: Any) -> tuple[Any, NDArray[Any]]:
        rng = check_random_state(self.random_state)
        dense = np.asarray(X.toarray() if sparse.issparse(X) else X, dtype=float)
        continuous = np.ones(dense.shape[1], dtype=bool)
        if self.categorical_features:
            continuous[list(self.categorical_features)] = False
        # Float input keeps its precision; integer codes become floats (new values are not integers).
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
        self._prepare(dense, y, continuous, rng)
        new_rows, new_y = [], [y]
        for label, n_new in self.sampling_strategy_.items():
            if n_new == 0:
                continue
            new_rows.append(
                self._new_rows(dense[y == label], n_new, continuous, rng, dense, label).astype(dtype, copy=False)
            )
            new_y.append(np.full(n_new, label, dtype=y.dtype))
        if sparse.issparse(X):
            return sparse.vstack([X, *(sparse.csr_matrix(r) for r in new_rows)], format=X.format), np.concatenate(new_y)
        return np.vstack([np.asarray(X, dtype=dtype), *new_rows]), np.concatenate(new_y)
