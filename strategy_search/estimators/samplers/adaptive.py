"""Fit-time adaptation of a sampler to the fold it runs on.

Search spaces speak in fold-independent terms (a target minority/majority ratio, a neighbour
count); a training fold may already be more balanced than the ratio asks, or hold fewer
minority rows than the neighbour count. This wrapper turns both into settings that fold can
use and records what it changed in ``adaptations_``. A sampler that finds nothing it can do
on a fold (a RuntimeError, e.g. KMeans-SMOTE without a usable cluster) leaves the fold as it
is, and that is recorded too.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from imblearn.base import BaseSampler
from imblearn.utils import check_target_type
from sklearn import config_context
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import validate_data

_NEIGHBOUR_PARAMS = ("k_neighbors", "n_neighbors")


class TargetRatio:
    """Picklable ``sampling_strategy`` callable: reach ``ratio`` = n_minority / n_majority,
    never asking an over-sampler to remove rows or an under-sampler to add them.

    With more than two classes every smaller class is over-sampled to ``ratio`` times the
    largest class, or every larger class under-sampled to the smallest class divided by
    ``ratio``; with two classes both read as the binary rule."""

    def __init__(self, ratio: float, sampling_type: str):
        if not 0 < ratio <= 1:
            raise ValueError(f"sampling ratio must be in (0, 1]; got {ratio!r}.")
        self.ratio, self.sampling_type = ratio, sampling_type

    def __call__(self, y: Any) -> dict[Any, int]:
        labels, counts = np.unique(y, return_counts=True)
        n_min, n_maj = counts.min(), counts.max()
        if self.sampling_type == "under-sampling":
            # The smallest class stays; with two classes that leaves exactly the majority.
            keep = int(np.argmin(counts))
            target = max(n_min, np.floor(n_min / self.ratio))
            return {
                label: int(min(n, target)) for i, (label, n) in enumerate(zip(labels, counts, strict=True)) if i != keep
            }
        grow = int(np.argmax(counts))
        target = np.ceil(self.ratio * n_maj)
        return {
            label: int(max(n, target)) for i, (label, n) in enumerate(zip(labels, counts, strict=True)) if i != grow
        }

    def __repr__(self) -> str:
        return f"TargetRatio({self.ratio!r}, {self.sampling_type!r})"


class AdaptiveSampler(BaseSampler):
    """Resample with ``sampler`` after adapting its ratio and neighbour counts to ``y``.

    An imbalanced-learn sampler itself: input is checked as the wrapped samplers need it (NaN
    and any dtype pass, since the wrapped sampler decides), and the output keeps the input's
    container type.
    """

    # The wrapped sampler owns the sampling strategy; this wrapper adds no rows of its own choosing.
    _sampling_type = "bypass"
    sampling_strategy = "auto"
    _parameter_constraints: ClassVar[dict[str, Any]] = {"sampler": [HasMethods(["fit_resample"])]}

    def __init__(self, sampler: Any = None):
        self.sampler = sampler

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _check_X_y(self, X: Any, y: Any, accept_sparse: Any = None) -> Any:
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, y = validate_data(
            self, X=X, y=y, reset=True, accept_sparse=["csr", "csc"], dtype=None, ensure_all_finite=False
        )
        return X, y, binarize_y

    def _fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        sampler = clone(self.sampler)
        n_minority = int(np.unique(y, return_counts=True)[1].min())
        self.adaptations_: dict[str, Any] = {}
        settings = sampler.get_params(deep=True)
        for name, value in settings.items():
            owner = settings.get(name.rsplit("__", 1)[0], sampler) if "__" in name else sampler
            leaf = name.rsplit("__", 1)[-1]
            if leaf == "sampling_strategy" and isinstance(value, float):
                sampling_type = getattr(owner, "_sampling_type", "over-sampling")
                sampler.set_params(**{name: TargetRatio(value, sampling_type)})
            elif leaf in _NEIGHBOUR_PARAMS and isinstance(value, int) and value >= n_minority:
                if n_minority < 2:
                    self.adaptations_["skipped"] = f"only {n_minority} minority row(s) in this fold"
                    self.sampler_ = None
                    return X, y
                sampler.set_params(**{name: n_minority - 1})
                self.adaptations_[name] = f"{value} -> {n_minority - 1} (fold has {n_minority} minority rows)"
        self.sampler_ = sampler
        try:
            # imbalanced-learn turns parameter checks off for the samplers a sampler calls; the
            # wrapped one holds the parameters a search space sets, so its checks stay on.
            with config_context(skip_parameter_validation=False):
                return sampler.fit_resample(X, y, **params)
        except RuntimeError as exc:
            # KMeans-SMOTE raises this when no cluster holds enough minority rows; the
            # fold is then left as it is rather than failing the whole strategy.
            self.adaptations_["skipped"] = _in_plain_words(sampler, exc)
            return X, y


def _in_plain_words(sampler: Any, error: Exception) -> str:
    """Why a sampler left the fold as it was, in the tool's words (the library's message names
    its own parameters, which a search-space user never set)."""
    name = type(sampler).__name__
    if "No clusters found" in str(error):
        return f"{name} found no k-means cluster with enough minority rows in this fold; the fold was used as it is"
    return f"{name} could not resample this fold ({type(error).__name__}); the fold was used as it is"
