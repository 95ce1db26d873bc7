"""Generative oversampling: new rows of a class drawn from a Gaussian mixture fitted to it."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import Interval, StrOptions

from strategy_search.estimators.samplers._oversampling import ClassWiseOverSampler


class GaussianMixtureOverSampler(ClassWiseOverSampler):
    """Oversample each class to grow with rows drawn from a Gaussian mixture fitted to that
    class's rows alone (in a pipeline: the training part of a fold only).

    Continuous columns are drawn from the mixture. Columns listed in ``categorical_features``
    are never drawn from a density (their codes have no order to interpolate along): each new
    row copies them from a real row of the same class that belongs to the same mixture
    component, so category combinations stay ones that occur together.

    Parameters
    ----------
    sampling_strategy:
        As in imbalanced-learn (a float is the minority/majority ratio after resampling).
    n_components:
        Mixture components per class (fewer when the class has fewer rows).
    covariance_type:
        ``"full"``, ``"diag"``, ``"tied"`` or ``"spherical"``, as in scikit-learn's
        ``GaussianMixture``.
    reg_covar:
        Added to the covariances' diagonal, relative to each column's variance in the class, so
        a class with fewer rows than columns still gets a usable density.
    categorical_features:
        Column indices copied from real rows, never drawn.
    random_state:
        Seed or ``RandomState``.
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **BaseOverSampler._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "categorical_features": [list, tuple, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        n_components: int = 2,
        covariance_type: str = "full",
        reg_covar: float = 1e-3,
        categorical_features: Sequence[int] | None = None,
        random_state: Any = None,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
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
        drawn = rows[rng.randint(0, len(rows), size=n_new)].copy()  # categorical columns, and the fallback
        values = rows[:, continuous]
        if not continuous.any() or len(rows) < 2:
            return drawn
        # Scale-free regularisation: a column's variance sets its floor.
        scale = np.nanvar(values, axis=0)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        mixture = GaussianMixture(
            n_components=min(self.n_components, len(rows)),
            covariance_type=self.covariance_type,
            reg_covar=self.reg_covar,
            random_state=rng.randint(np.iinfo(np.int32).max),
        ).fit(values / np.sqrt(scale))
        sample, component = mixture.sample(n_new)
        order = rng.permutation(n_new)  # sample() returns the components in blocks
        sample, component = sample[order], component[order]
        drawn[:, continuous] = sample * np.sqrt(scale)
        if not continuous.all():
            member = mixture.predict(values / np.sqrt(scale))
            for k in np.unique(component):
                pool = np.flatnonzero(member == k)
                pool = pool if len(pool) else np.arange(len(rows))
                chosen = (component == k).nonzero()[0]
                drawn[np.ix_(chosen, ~continuous)] = rows[
                    np.ix_(pool[rng.randint(0, len(pool), len(chosen))], ~continuous)
                ]
        return drawn
