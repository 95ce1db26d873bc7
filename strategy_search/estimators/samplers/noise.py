"""Gaussian-jitter oversampling: new minority rows are copies of real ones plus small noise."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any, ClassVar

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.utils._param_validation import Interval

from strategy_search.estimators.samplers._oversampling import ClassWiseOverSampler


class GaussianNoiseOverSampler(ClassWiseOverSampler):
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
        "noise_scale": [Interval(Real, 0, None, closed="left")],
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

    def _new_rows(
        self,
        rows: np.ndarray,
        n_new: int,
        continuous: np.ndarray,
        rng: np.random.RandomState,
        every_row: np.ndarray,
        label: Any,
    ) -> np.ndarray:
        global_std = np.nanstd(every_row, axis=0)
        std = np.nanstd(rows, axis=0) if len(rows) > 2 else global_std
        std = np.where(np.isfinite(std) & (std > 0), std, global_std)
        picked = rows[rng.randint(0, len(rows), size=n_new)]
        noise = rng.normal(size=picked.shape) * (self.noise_scale * std)
        return picked + noise * continuous
