"""The monotone maps from a model's scores to calibrated probabilities, as plain data.

A map is a mapping (:meth:`strategy_search.calibration.Calibration.to_attr`): ``method``
``none``; ``sigmoid`` (Platt: ``1 / (1 + exp(-(a * logit(s) + b)))``); ``isotonic`` (a step
function through the points ``x``, ``y``); or, for a multi-class matrix of probabilities,
``temperature`` (each row ``softmax(a * log p)``, Guo et al. 2017: one parameter, the class
order of every row kept). The deployable classifiers keep it as plain data, so an exported
model holds no fitted calibrator object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

__all__ = ["MAP_METHODS", "map_scores"]

MAP_METHODS = ("none", "sigmoid", "isotonic", "temperature")
_EPS = 1e-6


def logit(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    clipped = np.clip(scores, _EPS, 1 - _EPS)
    return np.asarray(np.log(clipped / (1 - clipped)))


def map_scores(calibration: Mapping[str, Any] | None, scores: Any) -> NDArray[np.float64]:
    """``scores`` (a positive-class score per row, or a row of class probabilities) mapped by
    ``calibration``; None or ``none`` leaves them as they are."""
    scores = np.asarray(scores, dtype=float)
    method = "none" if calibration is None else str(calibration.get("method", "none"))
    if method == "sigmoid":
        a, b = float(calibration["a"]), float(calibration["b"])  # type: ignore[index]
        # expit, not 1 / (1 + exp(-z)): a steep map (separable folds) sends z far below -709,
        # where exp overflows and every predict printed a RuntimeWarning for a correct 0.
        return np.asarray(expit(a * logit(scores) + b))
    if method == "isotonic":
        x, y = calibration["x"], calibration["y"]  # type: ignore[index]
        return np.clip(np.interp(scores, np.asarray(x, dtype=float), np.asarray(y, dtype=float)), 0.0, 1.0)
    if method == "temperature":
        logs = float(calibration["a"]) * np.log(np.clip(scores, _EPS, 1.0))  # type: ignore[index]
        logs -= logs.max(axis=1, keepdims=True)
        exp = np.exp(logs)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))
    if method != "none":
        raise ValueError(f"calibration method must be one of {list(MAP_METHODS)}; got {method!r}.")
    return scores
