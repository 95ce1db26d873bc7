"""Stratified cross-validation and imbalance-aware metrics; no Optuna, no MLflow.

Honesty rules: every fitted thing (preprocessing, resampler, model, *and the decision
threshold*) sees only the training part of a fold. The threshold behind ``f1`` is chosen on
predictions for rows of the training part that the model scoring them did not see (by default
a stratified holdout of a third of the training part, or inner K-fold out-of-fold scores; see
:func:`inner_splits`), so shuffling the validation labels cannot move it.
"""

from __future__ import annotations

import functools
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold, StratifiedShuffleSplit

from strategy_search.errors import DataError
from strategy_search.parallel import Stopped, TaskRunner
from strategy_search.thresholds import BEST_F1, ThresholdRule, confusion_metrics, ranking_curve

# Every metric is maximised.
METRICS = ("pr_auc", "roc_auc", "f1", "f1_at_0.5", "precision", "recall", "balanced_accuracy", "mcc")
# How each metric is written for people (tables, progress line).
METRIC_LABELS = {
    "pr_auc": "PR-AUC",
    "roc_auc": "ROC-AUC",
    "f1": "F1",
    "f1_at_0.5": "F1@0.5",
    "precision": "precision",
    "recall": "recall",
    "balanced_accuracy": "bal. acc.",
    "mcc": "MCC",
}


def check_metrics(metric: Any) -> tuple[str, ...]:
    """The one check of metric names: one name, or several distinct ones (a Pareto search)."""
    metrics = (metric,) if isinstance(metric, str) else tuple(metric) if isinstance(metric, (list, tuple)) else ()
    unknown = [m for m in metrics if m not in METRICS]
    if not metrics or unknown or len(set(metrics)) != len(metrics):
        raise ValueError(f"metric must be one or more distinct names from {list(METRICS)}; got {metric!r}")
    return metrics


# -- metrics ----------------------------------------------------------------------------------
# Computed with numpy from one sort and the confusion counts: scikit-learn's metric functions
# validate their inputs on every call, which costs more than many small fits (a search scores
# thousands of folds). tests/test_scoring.py checks every value against scikit-learn.
def _average_precision(y: np.ndarray, scores: np.ndarray) -> float:
    _, tp, fp = ranking_curve(y, scores)
    precision, recall = tp / (tp + fp), tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _roc_auc(y: np.ndarray, scores: np.ndarray) -> float:
    # Mann-Whitney U with average ranks for ties.
    ranks = rankdata(scores)
    n_positive = y.sum()
    n_negative = len(y) - n_positive
    return float((ranks[y == 1].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


def threshold_free_metrics(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    y, scores = np.asarray(y, dtype=int), np.asarray(scores, dtype=float)
    two_classes = 0 < y.sum() < len(y)
    return {
        "pr_auc": _average_precision(y, scores) if y.sum() else float("nan"),
        "roc_auc": _roc_auc(y, scores) if two_classes else float("nan"),
        "f1_at_0.5": confusion_metrics(y, scores >= 0.5)["f1"],
    }


def score_predictions(y: np.ndarray, scores: np.ndarray, threshold: float | None) -> dict[str, float]:
    """Every metric in :data:`METRICS` for one validation set; the ones that need the tuned
    threshold are NaN when it is not known (a fold stopped before its inner fits ran)."""
    metrics = threshold_free_metrics(y, scores)
    if threshold is None:
        return {m: metrics.get(m, float("nan")) for m in METRICS}
    metrics.update(confusion_metrics(np.asarray(y, dtype=int), np.asarray(scores, dtype=float) >= threshold))
    return {m: metrics[m] for m in METRICS}


THRESHOLD_FREE = ("pr_auc", "roc_auc", "f1_at_0.5")


# -- folds ------------------------------------------------------------------------------------
def effective_folds(n_positive: int, folds: int) -> int:
    """Folds such that every validation fold holds at least one positive."""
    if n_positive < 2:
        raise DataError(f"Cross-validation needs at least 2 positive rows; the data has {n_positive}.")
    if n_positive < folds:
        warnings.warn(
            f"Only {n_positive} positive rows: using {n_positive} CV folds instead of {folds} "
            "so that every validation fold holds a positive.",
            stacklevel=2,
        )
        return n_positive
    return folds


def cv_splits(y: np.ndarray, *, folds: int, repeats: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified (repeated) K-fold splits; the same seed gives the same splits."""
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


# -- one fit ----------------------------------------------------------------------------------
@dataclass
class FitTask:
    """Fit a clone of ``pipeline`` on rows ``train``, score rows ``predict``."""

    pipeline: Any
    X: pd.DataFrame
    y: np.ndarray
    train: np.ndarray
    predict: np.ndarray


@dataclass
class FitResult:
    scores: np.ndarray
    seconds: float
    notes: dict[str, Any] = field(default_factory=dict)


@functools.cache
def _quiet_lightgbm() -> None:
    """LightGBM prints its C++ log lines ("[LightGBM] [Fatal] ...") itself, once per fit and
    worker; routed to a silent logger instead, an error reaches the trial as its exception."""
    import lightgbm

    quiet = logging.getLogger("strategy_search.lightgbm")
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    lightgbm.register_logger(quiet)


def run_fit(task: FitTask) -> FitResult:
    _quiet_lightgbm()
    with warnings.catch_warnings():
        # Convergence and feature-name chatter from hundreds of fits would drown the output.
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        model = clone(task.pipeline).fit(task.X.iloc[task.train], task.y[task.train])
        scores = np.asarray(model.predict_proba(task.X.iloc[task.predict])[:, 1], dtype=float)
        seconds = time.perf_counter() - started
    notes = {}
    sampler = getattr(model, "named_steps", {}).get("resample")
    if sampler is not None and getattr(sampler, "adaptations_", None):
        notes["resampler_adapted"] = sampler.adaptations_
    return FitResult(scores, seconds, notes)


def inner_splits(y: np.ndarray, train: np.ndarray, *, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified splits *within* ``train`` (as row indices of the full data) for choosing the
    threshold: ``folds >= 2`` gives K-fold out-of-fold predictions, ``1`` a single holdout of
    a third of the rows, ``0`` (or a part too small to split) none, i.e. threshold 0.5."""
    y_train = y[train]
    smallest_class = min(int(y_train.sum()), int(len(y_train) - y_train.sum()))
    if folds < 1 or smallest_class < 2:
        return []
    if folds == 1:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=1 / 3, random_state=seed)
    else:
        splitter = StratifiedKFold(min(folds, smallest_class), shuffle=True, random_state=seed)
    return [(train[a], train[b]) for a, b in splitter.split(np.zeros(len(train)), y_train)]


@dataclass
class FoldResult:
    """One fold's metrics and scores. ``inner_scores`` are the scores that chose ``threshold``:
    rows ``inner_rows`` of the training part, each scored by a model that did not train on it
    (the holdout third by default, or inner K-fold predictions); None when the inner fits did
    not run. They let an ensemble of strategies choose its own threshold the same way."""

    metrics: dict[str, float]
    validation_scores: np.ndarray
    threshold: float | None
    fit_seconds: float
    notes: dict[str, Any] = field(default_factory=dict)
    inner_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    inner_scores: np.ndarray | None = None


def fold_from_scores(
    y: np.ndarray,
    validation: np.ndarray,
    validation_scores: np.ndarray,
    inner_rows: np.ndarray,
    inner_scores: np.ndarray | None,
    *,
    rule: ThresholdRule = BEST_F1,
    fit_seconds: float = 0.0,
    notes: dict[str, Any] | None = None,
) -> FoldResult:
    """Threshold by ``rule`` from the inner scores (training part only, see :class:`FoldResult`;
    0.5 when the part was too small to split), then the validation metrics at it."""
    if inner_scores is None:
        threshold = None
    elif len(inner_rows):
        threshold = rule.choose(y[inner_rows], inner_scores)
    else:
        threshold = 0.5
    metrics = score_predictions(y[validation], validation_scores, threshold)
    return FoldResult(metrics, validation_scores, threshold, fit_seconds, notes or {}, inner_rows, inner_scores)


def _fold_result(
    y: np.ndarray,
    validation: np.ndarray,
    inner: list[tuple[np.ndarray, np.ndarray]],
    outer: FitResult,
    inner_fits: list[FitResult] | None,
    rule: ThresholdRule,
) -> FoldResult:
    """``inner_fits`` is None when the inner fits did not run (the CV was stopped)."""
    inner_rows = np.concatenate([b for _, b in inner]) if inner else np.empty(0, dtype=int)
    inner_scores = None if inner_fits is None else np.concatenate([f.scores for f in inner_fits] or [np.empty(0)])
    seconds = outer.seconds + sum(f.seconds for f in inner_fits or [])
    return fold_from_scores(
        y, validation, outer.scores, inner_rows, inner_scores, rule=rule, fit_seconds=seconds, notes=outer.notes
    )


# -- a whole CV -------------------------------------------------------------------------------
@dataclass
class CVResult:
    """Per-fold results; ``oof`` averages each row's validation scores over repeats; ``rule``
    picked each fold's threshold and picks the deployed one."""

    folds: list[FoldResult]
    splits: list[tuple[np.ndarray, np.ndarray]]
    n_rows: int
    stopped: Stopped = None
    rule: ThresholdRule = BEST_F1

    @property
    def complete(self) -> bool:
        return self.stopped is None and len(self.folds) == len(self.splits)

    def metric_values(self, metric: str) -> np.ndarray:
        return np.array([f.metrics[metric] for f in self.folds], dtype=float)

    def _summary(self, reduce: Callable[[np.ndarray], Any]) -> dict[str, float]:
        summary = {}
        for metric in METRICS:
            values = self.metric_values(metric)
            values = values[~np.isnan(values)]
            summary[metric] = float(reduce(values)) if len(values) else float("nan")
        return summary

    def mean(self) -> dict[str, float]:
        return self._summary(np.mean)

    def std(self) -> dict[str, float]:
        return self._summary(np.std)

    @property
    def oof(self) -> np.ndarray:
        total, count = np.zeros(self.n_rows), np.zeros(self.n_rows)
        for fold, (_, validation) in zip(self.folds, self.splits, strict=False):
            total[validation] += fold.validation_scores
            count[validation] += 1
        with np.errstate(invalid="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def deployment_threshold(self, y: np.ndarray) -> float:
        """Threshold for the model refitted on all rows: the rule applied to the out-of-fold
        scores. (Rows scored by any fold count, so a stopped CV gives a threshold for what it saw.)"""
        oof = self.oof
        seen = ~np.isnan(oof)
        return self.rule.choose(y[seen], oof[seen])

    @property
    def fit_seconds(self) -> float:
        return float(sum(f.fit_seconds for f in self.folds))


def score_pipeline(
    pipeline: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    threshold_folds: int = 1,
    seed: int = 0,
    runner: TaskRunner | None = None,
    on_fold: Callable[[int, dict[str, float]], bool] | None = None,
    deadline: float | None = None,
    threshold_rule: ThresholdRule = BEST_F1,
) -> CVResult:
    """Score an unfitted pipeline (labels 0/1) on the given splits.

    Each fold is one outer fit plus ``threshold_folds`` inner fits on its training part that
    choose its threshold (by ``threshold_rule``). All outer fits run first: ``on_fold(index, metrics)`` gets each
    fold's threshold-free metrics (:data:`THRESHOLD_FREE`) in order and returns False to stop
    (pruning), so a hopeless strategy never pays for its inner fits. ``deadline`` (a
    ``time.monotonic()`` value) stops the CV, killing running fits when ``runner`` uses
    worker processes.
    """
    y = np.asarray(y, dtype=int)
    plan = [inner_splits(y, train, folds=threshold_folds, seed=seed + i) for i, (train, _) in enumerate(splits)]
    tasks = [FitTask(pipeline, X, y, train, validation) for train, validation in splits]
    tasks += [FitTask(pipeline, X, y, a, b) for inner in plan for a, b in inner]

    def report(index: int, fit: FitResult) -> bool:
        if on_fold is None or index >= len(splits):
            return True
        return on_fold(index, threshold_free_metrics(y[splits[index][1]], fit.scores))

    fits, stopped = (runner or TaskRunner(n_jobs=1)).run(run_fit, tasks, on_result=report, deadline=deadline)
    folds, offset = [], len(splits)
    for i, outer in enumerate(fits[: len(splits)]):
        inner_fits = fits[offset : offset + len(plan[i])]
        complete = len(inner_fits) == len(plan[i])
        inner = inner_fits if complete else None
        folds.append(_fold_result(y, splits[i][1], plan[i], outer, inner, threshold_rule))
        offset += len(plan[i])
    return CVResult(folds, list(splits), len(y), stopped, threshold_rule)
