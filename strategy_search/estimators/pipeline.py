"""imbalanced-learn's Pipeline with row weights (``data.weight``).

``Pipeline.fit(X, y, model__sample_weight=w)`` cannot work once a resampler has run: the
model sees other rows than ``w`` describes. :class:`WeightedPipeline` takes
``fit(X, y, sample_weight=w)`` and carries each row's weight through the resampler:

- a row the resampler kept or copied (random over/under-sampling, NearMiss, Tomek links, ENN:
  the samplers that report ``sample_indices_``) keeps its own weight;
- a synthetic row (SMOTE and its kin, the GMM, noise and GAN over-samplers) weighs the mean
  weight of its class's rows in that training part: it stands for a typical row of its class,
  not for any one of them;
- where the resampler says neither which rows it kept nor that it only appended rows (the
  combined SMOTE-ENN and SMOTE-Tomek), every row weighs its class's mean weight.

The model then gets the carried weights as ``sample_weight``, which a class weighting
multiplies with its own (:class:`~strategy_search.estimators.classifiers.weighting.WeightedClassifier`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.pipeline import Pipeline
from numpy.typing import NDArray
from scipy import sparse
from sklearn.utils.validation import _check_sample_weight, has_fit_parameter

__all__ = ["WeightedPipeline", "resampled_weights"]


class WeightedPipeline(Pipeline):
    """An imbalanced-learn ``Pipeline`` whose ``fit`` takes ``sample_weight`` (see the module)."""

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None, **params: Any) -> WeightedPipeline:
        if sample_weight is None:
            super().fit(X, y, **params)
            return self
        if params:
            raise TypeError(
                f"WeightedPipeline.fit takes sample_weight or step parameters, not both; got {sorted(params)}."
            )
        self._validate_steps()
        final = self._final_estimator
        if final != "passthrough" and not has_fit_parameter(final, "sample_weight"):
            raise TypeError(
                f"{type(final).__name__} cannot be fitted with row weights (its fit takes no sample_weight); "
                "leave data.weight out or choose a model that takes them."
            )
        weights = _check_sample_weight(sample_weight, X, dtype=np.float64)  # one number per row, or refused
        Xt, yt = X, y
        for _, _, step in self._iter(with_final=False, filter_passthrough=True, filter_resample=False):
            if hasattr(step, "fit_resample"):
                X_out, y_out = step.fit_resample(Xt, yt)
                weights = resampled_weights(step, Xt, yt, weights, X_out, y_out)
                Xt, yt = X_out, y_out
            else:
                Xt = step.fit_transform(Xt, yt)
        if final != "passthrough":
            final.fit(Xt, yt, sample_weight=weights)
        return self


def resampled_weights(
    sampler: Any, X_in: Any, y_in: Any, weights: NDArray[np.float64], X_out: Any, y_out: Any
) -> NDArray[np.float64]:
    """The weight of each row ``sampler`` returned (see the module for the rules)."""
    inner = getattr(sampler, "sampler_", sampler)  # an AdaptiveSampler holds the sampler it fitted
    if X_out is X_in or inner is None:  # the fold was left as it was
        return weights
    indices = getattr(inner, "sample_indices_", None)
    if indices is not None and len(indices) == len(y_out):
        return weights[np.asarray(indices)]
    y_in, y_out = np.asarray(y_in), np.asarray(y_out)
    labels, codes = np.unique(y_in, return_inverse=True)
    class_mean = np.bincount(codes, weights=weights) / np.maximum(np.bincount(codes), 1)
    carried = class_mean[np.searchsorted(labels, y_out)]
    n_in = len(y_in)
    if len(y_out) >= n_in and _same_rows(X_in, X_out, n_in):
        carried[:n_in] = weights  # an over-sampler that appended its rows after the originals
    return carried


def _same_rows(X_in: Any, X_out: Any, n_rows: int) -> bool:
    if sparse.issparse(X_in) or sparse.issparse(X_out):
        return False
    try:
        return bool(np.array_equal(np.asarray(X_in), np.asarray(X_out)[:n_rows], equal_nan=True))
    except TypeError:  # object columns cannot compare NaN
        return bool(np.array_equal(np.asarray(X_in), np.asarray(X_out)[:n_rows]))
