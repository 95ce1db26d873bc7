"""Probabilities one can trust: a monotone map of the answer's scores fitted on its out-of-fold
scores (rows no model scoring them saw), chosen by cross-validated log-loss on those scores:
among none, sigmoid (Platt) and isotonic for two classes; none and temperature scaling for more
(one parameter, so it cannot overfit a small minority, and each row's class order is kept).

Resampling and class weights move a model's scores far from the true rates with no loss of
ranking (van den Goorbergh et al., JAMIA 2022), so the decision threshold chosen on them still
holds, but a user who reads ``predict_proba`` as a risk gets distorted numbers. The map is
monotone, and the deployed model decides on the raw score against the raw threshold, so its
decisions are exactly those that were scored; only the probabilities it reports change.

A fitted map is plain data (:meth:`Calibration.to_attr`): the study stores it beside the
answer, and the export replays it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from strategy_search.estimators.decision.probability_map import logit, map_scores
from strategy_search.scoring import calibration_metrics
from strategy_search.thresholds import scored_rows

__all__ = ["CALIBRATION_METHODS", "MULTICLASS_METHODS", "Calibration", "choose_calibration"]

# Simplest first: a method is chosen over an earlier one only when it gains MIN_GAIN.
CALIBRATION_METHODS = ("none", "sigmoid", "isotonic")
MULTICLASS_METHODS = ("none", "temperature")
# The range searched for the temperature's inverse (a in softmax(a * log p)).
_TEMPERATURE_BOUNDS = (0.05, 20.0)
# Folds of the out-of-fold scores the methods are compared on (fewer with fewer minority rows).
COMPARISON_FOLDS = 5
# A method must lower the cross-validated log-loss by this much to be chosen over a simpler one
# (none < sigmoid < isotonic): on a few hundred rows small gains are noise, and isotonic overfits.
MIN_GAIN = 1e-3


@dataclass(frozen=True)
class Calibration:
    """``method`` and its parameters: sigmoid ``p = 1 / (1 + exp(-(a * logit(s) + b)))``;
    isotonic a step function through ``(x, y)``; temperature ``softmax(a * log p)`` of a row
    of class probabilities (:mod:`~strategy_search.estimators.decision.probability_map`
    applies them); ``cv_metrics`` each method's Brier score,
    log-loss and ECE on the out-of-fold scores, each row mapped by a calibration fitted without
    it (``none``: the scores as they are)."""

    method: str = "none"
    a: float = 1.0
    b: float = 0.0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    cv_metrics: Mapping[str, Mapping[str, float]] | None = None

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return map_scores(self.map_params(), scores)

    def map_params(self) -> dict[str, Any]:
        """The map alone, as the deployable classifiers keep it (their ``calibration``)."""
        return {"method": self.method, "a": self.a, "b": self.b, "x": list(self.x), "y": list(self.y)}

    def to_attr(self) -> dict[str, Any]:
        return {**self.map_params(), "cv_metrics": {k: dict(v) for k, v in (self.cv_metrics or {}).items()}}

    @classmethod
    def from_attr(cls, data: Mapping[str, Any]) -> Calibration:
        return cls(
            method=str(data.get("method", "none")),
            a=float(data.get("a", 1.0)),
            b=float(data.get("b", 0.0)),
            x=tuple(float(v) for v in data.get("x") or ()),
            y=tuple(float(v) for v in data.get("y") or ()),
            cv_metrics={k: dict(v) for k, v in (data.get("cv_metrics") or {}).items()},
        )

    def describe(self) -> str:
        """The method, and for ``none`` why."""
        if self.method != "none":
            return self.method
        if not self.cv_metrics:
            return "none (too few rows of a class to compare calibrations)"
        tried = " nor ".join(m for m in self.cv_metrics if m != "none")
        lead = "neither " if " nor " in tried else ""
        return (
            f"none ({lead}{tried} lowered the cross-validated log-loss by {MIN_GAIN:g} without raising the Brier score)"
        )

    def before_after(self) -> tuple[Mapping[str, float], Mapping[str, float]] | None:
        """The scores' metrics as they are and as calibrated (cross-validated), if compared."""
        found = self.cv_metrics or {}
        return (found["none"], found[self.method]) if "none" in found and self.method in found else None


def fit_calibration(method: str, y: np.ndarray, scores: np.ndarray) -> Calibration:
    """The map of ``method`` fitted on (``y``, ``scores``)."""
    if method == "sigmoid":
        # Unpenalised: Platt's two parameters, nothing to shrink.
        model = LogisticRegression(C=np.inf).fit(logit(scores).reshape(-1, 1), y)
        a, b = float(model.coef_[0, 0]), float(model.intercept_[0])
        # A slope of 0 or less would flatten or reverse the ranking: no map then.
        return Calibration("sigmoid", a=a, b=b) if a > 0 else Calibration("none")
    if method == "isotonic":
        x, levels = _centred_isotonic(y, scores)
        return Calibration("isotonic", x=x, y=levels)
    if method == "temperature":
        return Calibration("temperature", a=_inverse_temperature(y, scores))
    return Calibration("none")


def _centred_isotonic(y: np.ndarray, scores: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Isotonic regression's blocks as points at their centres, joined by straight lines
    (centred isotonic regression, Oron and Flournoy 2017): still fitted by isotonic
    regression, but strictly increasing between the first and last centre, so rows the scores
    ranked apart stay apart (plain isotonic steps tie them, which lowers PR-AUC)."""
    model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, y)
    fitted = model.predict(scores)
    levels, block = np.unique(fitted, return_inverse=True)
    centres = np.bincount(block, weights=scores) / np.bincount(block)
    return tuple(map(float, centres)), tuple(map(float, levels))


def _inverse_temperature(y: np.ndarray, probabilities: np.ndarray) -> float:
    """The ``a`` of ``softmax(a * log p)`` with the lowest log-loss, searched in log space."""

    def loss(log_a: float) -> float:
        mapped = map_scores({"method": "temperature", "a": float(np.exp(log_a))}, probabilities)
        return calibration_metrics(y, mapped)["log_loss"]

    low, high = np.log(_TEMPERATURE_BOUNDS)
    return float(np.exp(minimize_scalar(loss, bounds=(low, high), method="bounded").x))


def choose_calibration(
    y: np.ndarray, scores: np.ndarray, *, seed: int = 0, groups: np.ndarray | None = None
) -> Calibration:
    """The method with the lowest cross-validated log-loss on the out-of-fold ``scores`` (a
    more complex one only when it gains :data:`MIN_GAIN`), fitted on all of them. A method that
    raises the cross-validated Brier score above the scores' own is never chosen: log-loss
    rewards pulling the rare confident mistakes in, and on a small minority that can cost
    more squared error over the many rows than it saves. With ``groups`` (a grouped search),
    the comparison's folds keep each group on one side, as the search's did."""
    every_y, every_score = y, scores  # cross_validated leaves the unscored rows out itself
    y, scores = _known(y, scores)
    if _folds(y) < 2:
        return Calibration("none", cv_metrics={})
    methods = MULTICLASS_METHODS if scores.ndim == 2 else CALIBRATION_METHODS
    found = {
        method: calibration_metrics(y, cross_validated(method, every_y, every_score, seed=seed, groups=groups))
        for method in methods
    }
    chosen = "none"
    for method in methods[1:]:
        better = found[method]["log_loss"] < found[chosen]["log_loss"] - MIN_GAIN
        if better and found[method]["brier"] <= found["none"]["brier"]:
            chosen = method
    fitted = fit_calibration(chosen, y, scores)
    return Calibration(fitted.method, fitted.a, fitted.b, fitted.x, fitted.y, cv_metrics=found)


def _known(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows some fold scored (a stopped CV leaves others NaN, a time-ordered one its first block)."""
    y, scores = np.asarray(y, dtype=int), np.asarray(scores, dtype=float)
    known = scored_rows(scores)
    return y[known], scores[known]


def _folds(y: np.ndarray) -> int:
    return min(COMPARISON_FOLDS, int(np.bincount(y, minlength=2).min()))


def cross_validated(
    method: str, y: np.ndarray, scores: np.ndarray, *, seed: int = 0, groups: np.ndarray | None = None
) -> np.ndarray:
    """Each row's score mapped by ``method`` fitted on the other folds' rows (what the
    calibration does to rows it never saw); with ``groups`` (one per row of ``y``), no group is
    on both sides."""
    known = scored_rows(np.asarray(scores, dtype=float))
    y, scores = _known(y, scores)
    held_out = np.array(scores, dtype=float)
    if method == "none" or _folds(y) < 2:
        return held_out
    for train, test in _comparison_splits(y, scores, None if groups is None else np.asarray(groups)[known], seed):
        held_out[test] = fit_calibration(method, y[train], scores[train])(scores[test])
    return held_out


def _comparison_splits(y: np.ndarray, scores: np.ndarray, groups: np.ndarray | None, seed: int) -> Any:
    """The comparison's folds; none (the scores left as they are) when a class sits in a single
    group, which grouped folds cannot put on both sides."""
    if groups is None:
        return StratifiedKFold(_folds(y), shuffle=True, random_state=seed).split(scores, y)
    holding = min(len(np.unique(groups[y == k])) for k in np.unique(y))
    if holding < 2:
        return []
    splitter = StratifiedGroupKFold(min(_folds(y), holding), shuffle=True, random_state=seed)
    return splitter.split(scores, y, groups)
