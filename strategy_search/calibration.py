"""Probabilities one can trust: a monotone map of the answer's scores fitted on its out-of-fold
scores (rows no model scoring them saw), chosen among none, sigmoid (Platt) and isotonic by
cross-validated log-loss on those scores.

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
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from strategy_search.scoring import calibration_metrics

__all__ = ["CALIBRATION_METHODS", "Calibration", "choose_calibration"]

CALIBRATION_METHODS = ("none", "sigmoid", "isotonic")
# Folds of the out-of-fold scores the methods are compared on (fewer with fewer minority rows).
COMPARISON_FOLDS = 5
# A method must lower the cross-validated log-loss by this much to be chosen over a simpler one
# (none < sigmoid < isotonic): on a few hundred rows small gains are noise, and isotonic overfits.
MIN_GAIN = 1e-3
_EPS = 1e-6


@dataclass(frozen=True)
class Calibration:
    """``method`` and its parameters: sigmoid ``p = 1 / (1 + exp(-(a * logit(s) + b)))``;
    isotonic a step function through ``(x, y)``; ``cv_metrics`` each method's Brier score,
    log-loss and ECE on the out-of-fold scores, each row mapped by a calibration fitted without
    it (``none``: the scores as they are)."""

    method: str = "none"
    a: float = 1.0
    b: float = 0.0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    cv_metrics: Mapping[str, Mapping[str, float]] | None = None

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=float)
        if self.method == "sigmoid":
            return 1.0 / (1.0 + np.exp(-(self.a * _logit(scores) + self.b)))
        if self.method == "isotonic":
            return np.clip(np.interp(scores, self.x, self.y), 0.0, 1.0)
        return scores

    def to_attr(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "a": self.a,
            "b": self.b,
            "x": list(self.x),
            "y": list(self.y),
            "cv_metrics": {k: dict(v) for k, v in (self.cv_metrics or {}).items()},
        }

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
        if self.method == "none":
            return "none: neither sigmoid nor isotonic lowered the cross-validated log-loss of the scores"
        return f"{self.method}, fitted on the answer's out-of-fold scores"

    def before_after(self) -> tuple[Mapping[str, float], Mapping[str, float]] | None:
        """The scores' metrics as they are and as calibrated (cross-validated), if compared."""
        found = self.cv_metrics or {}
        return (found["none"], found[self.method]) if "none" in found and self.method in found else None


def _logit(scores: np.ndarray) -> np.ndarray:
    clipped = np.clip(scores, _EPS, 1 - _EPS)
    return np.log(clipped / (1 - clipped))


def fit_calibration(method: str, y: np.ndarray, scores: np.ndarray) -> Calibration:
    """The map of ``method`` fitted on (``y``, ``scores``)."""
    if method == "sigmoid":
        # Unpenalised: Platt's two parameters, nothing to shrink.
        model = LogisticRegression(C=np.inf).fit(_logit(scores).reshape(-1, 1), y)
        return Calibration("sigmoid", a=float(model.coef_[0, 0]), b=float(model.intercept_[0]))
    if method == "isotonic":
        model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, y)
        return Calibration(
            "isotonic", x=tuple(map(float, model.X_thresholds_)), y=tuple(map(float, model.y_thresholds_))
        )
    return Calibration("none")


def choose_calibration(y: np.ndarray, scores: np.ndarray, *, seed: int = 0) -> Calibration:
    """The method with the lowest cross-validated log-loss on the out-of-fold ``scores`` (a
    more complex one only when it gains :data:`MIN_GAIN`), fitted on all of them."""
    y, scores = _known(y, scores)
    folds = _folds(y)
    if folds < 2:
        return Calibration("none", cv_metrics={})
    found = {
        method: calibration_metrics(y, cross_validated(method, y, scores, seed=seed)) for method in CALIBRATION_METHODS
    }
    chosen = "none"
    for method in CALIBRATION_METHODS[1:]:
        if found[method]["log_loss"] < found[chosen]["log_loss"] - MIN_GAIN:
            chosen = method
    fitted = fit_calibration(chosen, y, scores)
    return Calibration(fitted.method, fitted.a, fitted.b, fitted.x, fitted.y, cv_metrics=found)


def _known(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, scores = np.asarray(y, dtype=int), np.asarray(scores, dtype=float)
    known = ~np.isnan(scores)
    return y[known], scores[known]


def _folds(y: np.ndarray) -> int:
    return min(COMPARISON_FOLDS, int(np.bincount(y, minlength=2).min()))


def cross_validated(method: str, y: np.ndarray, scores: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Each row's score mapped by ``method`` fitted on the other folds' rows (what the
    calibration does to rows it never saw)."""
    y, scores = _known(y, scores)
    held_out = np.array(scores, dtype=float)
    if method == "none" or _folds(y) < 2:
        return held_out
    for train, test in StratifiedKFold(_folds(y), shuffle=True, random_state=seed).split(scores, y):
        held_out[test] = fit_calibration(method, y[train], scores[train])(scores[test])
    return held_out
