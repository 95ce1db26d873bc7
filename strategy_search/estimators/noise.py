"""Gaussian-jitter oversampling: new minority rows are copies of real ones plus small noise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from numpy.typing import NDArray
from scipy import sparse
from sklearn.utils import check_random_state


class GaussianNoiseOverSampler(BaseOverSampler):
    """Oversample minority classes by jittering randomly drawn minority rows.

    Noise on each continuous feature is ``N(0, (noise_scale * std_j)**2)`` where ``std_j`` is
    that feature's standard deviation within the class being oversampled (the global one
    when the class is too small to estimate it). Columns listed in ``categorical_features``
    are copied unchanged.

    Parameters
    ----------
    sampling_strategy:
        As in imbalanced-learn (a float is the minority/majority ratio after resampling).
    noise_scale:
        Noise standard deviation as a fraction of each feature's standard deviation.
    categorical_features:
        Column indices never jittered.
    random_state:
        Seed or ``RandomState``.
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **BaseOverSampler._parameter_constraints,
        "noise_scale": [float, int],
        "categorical_features": [list, tuple, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        noise_scale: float = 0.1,
        categorical_features: Sequence[int] | None = None,
        random_state: Any = None,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.noise_scale = noise_scale
        self.categorical_features = categorical_features
        self.random_state = random_state

    def _fit_resample(self, X: Any, y: NDArray[Any], **params: Any) -> tuple[Any, NDArray[Any]]:
        if not self.noise_scale >= 0:
            raise ValueError(f"noise_scale must be >= 0; got {self.noise_scale!r}.")
        rng = check_random_state(self.random_state)
        # Noise makes every new row dense; sparse input gets its new rows as sparse rows again.
        dense = np.asarray(X.toarray() if sparse.issparse(X) else X, dtype=float)
        continuous = np.ones(dense.shape[1], dtype=bool)
        if self.categorical_features:
            continuous[list(self.categorical_features)] = False
        # Float input keeps its precision; integer codes become floats (jitter is not an integer).
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
        global_std = np.nanstd(dense, axis=0)
        new_rows, new_y = [], [y]
        for label, n_new in self.sampling_strategy_.items():
            if n_new == 0:
                continue
            rows = dense[y == label]
            std = np.nanstd(rows, axis=0) if len(rows) > 2 else global_std
            std = np.where(np.isfinite(std) & (std > 0), std, global_std)
            picked = rows[rng.randint(0, len(rows), size=n_new)]
            noise = rng.normal(size=picked.shape) * (self.noise_scale * std)
            new_rows.append((picked + noise * continuous).astype(dtype, copy=False))
            new_y.append(np.full(n_new, label, dtype=y.dtype))
        if sparse.issparse(X):
            return sparse.vstack([X, *(sparse.csr_matrix(r) for r in new_rows)], format=X.format), np.concatenate(new_y)
        return np.vstack([np.asarray(X, dtype=dtype), *new_rows]), np.concatenate(new_y)
