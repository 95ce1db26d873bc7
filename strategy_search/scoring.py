"""Cross-validation of a pipeline and imbalance-aware metrics; no Optuna, no MLflow.

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
from scipy.stats import rankdata
from sklearn.base import clone

from strategy_search.parallel import Job, Stopped, TaskRunner
from strategy_search.shared_table import Table, give_back_freed_memory, rows
from strategy_search.splits import NO_SPLIT_BY, SplitBy, inner_splits
from strategy_search.task import Decision, all_class_columns, class_scores, predict_classes
from strategy_search.thresholds import (
    BEST_F1,
    ThresholdRule,
    confusion_metrics,
    multiclass_confusion_metrics,
    ranking_curve,
    row_weights,
    scored_rows,
    untuned_decision,
)

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
    "brier": "Brier",
    "log_loss": "log-loss",
    "ece": "ECE",
}
# How far the scores are from being probabilities (lower is better): reported beside the
# metrics for every fold and trial, never searched for (resampling and class weights move them
# far from the true rates, with no loss of ranking).
CALIBRATION_METRICS = ("brier", "log_loss", "ece")
REPORTED = (*METRICS, *CALIBRATION_METRICS)
# Equal-width bins of the expected calibration error.
ECE_BINS = 10
# Log-loss of a score of exactly 0 or 1 for the other class is infinite: scores are kept this far inside.
_LOG_EPS = 1e-15


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
# thousands of folds). tests/test_scoring.py checks every value against scikit-learn. Each takes
# the rows' weights (data.weight; None: every row weighs 1), as scikit-learn's sample_weight.
def _average_precision(y: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> float:
    _, tp, fp = ranking_curve(y, scores, weights)
    if not tp[-1] > 0:  # every positive row weighs 0
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
    return float(np.sum(np.diff(np.r_[0.0, tp / tp[-1]]) * precision))


def _roc_auc(y: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None) -> float:
    if weights is not None:
        # The area under the weighted ROC curve (trapezoids: a tie counts half, as average ranks do).
        _, tp, fp = ranking_curve(y, scores, weights)
        if not (tp[-1] > 0 and fp[-1] > 0):
            return float("nan")
        return float(np.trapezoid(np.r_[0.0, tp / tp[-1]], np.r_[0.0, fp / fp[-1]]))
    # Mann-Whitney U with average ranks for ties.
    ranks = rankdata(scores)
    n_positive = y.sum()
    n_negative = len(y) - n_positive
    return float((ranks[y == 1].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


def threshold_free_metrics(y: np.ndarray, scores: np.ndarray, weights: Any = None) -> dict[str, float]:
    """PR-AUC, ROC-AUC and the F1 of the untuned decision (threshold 0.5; multi-class: the most
    probable class). Multi-class: macro one-vs-rest averages over the classes present in ``y``.
    ``weights``: one per row (``data.weight``), every count a sum of them."""
    y, scores = np.asarray(y, dtype=int), np.asarray(scores, dtype=float)
    weights = None if weights is None else np.asarray(weights, dtype=float)
    if scores.ndim == 2:
        return _multiclass_threshold_free(y, scores, weights)
    two_classes = 0 < y.sum() < len(y)
    return {
        "pr_auc": _average_precision(y, scores, weights) if y.sum() else float("nan"),
        "roc_auc": _roc_auc(y, scores, weights) if two_classes else float("nan"),
        "f1_at_0.5": confusion_metrics(y, scores >= 0.5, weights)["f1"],
    }


def per_class_threshold_free(y: np.ndarray, scores: np.ndarray, weights: Any = None) -> dict[str, np.ndarray]:
    """One-vs-rest PR-AUC and ROC-AUC of each class (columns of ``scores``); NaN for a class
    absent from ``y`` (PR-AUC) or making up all of it (ROC-AUC)."""
    pr_auc, roc_auc = [], []
    for k in range(scores.shape[1]):
        is_k = (y == k).astype(int)
        pr_auc.append(_average_precision(is_k, scores[:, k], weights) if is_k.any() else np.nan)
        roc_auc.append(_roc_auc(is_k, scores[:, k], weights) if 0 < is_k.sum() < len(is_k) else np.nan)
    return {"pr_auc": np.array(pr_auc), "roc_auc": np.array(roc_auc)}


def _mean_of_present(values: np.ndarray) -> float:
    present = values[~np.isnan(values)]
    return float(present.mean()) if len(present) else float("nan")


def _multiclass_threshold_free(y: np.ndarray, scores: np.ndarray, weights: np.ndarray | None) -> dict[str, float]:
    per_class = per_class_threshold_free(y, scores, weights)
    n_classes = scores.shape[1]
    argmax = multiclass_confusion_metrics(
        y, predict_classes(scores, np.ones(n_classes)), n_classes=n_classes, weights=weights
    )
    return {
        "pr_auc": _mean_of_present(per_class["pr_auc"]),
        "roc_auc": _mean_of_present(per_class["roc_auc"]),
        "f1_at_0.5": argmax["f1"],
    }


def calibration_metrics(y: np.ndarray, scores: np.ndarray, weights: Any = None) -> dict[str, float]:
    """Brier score, log-loss and expected calibration error of the scores read as
    probabilities. Binary: of the positive class's probability; multi-class: the Brier score
    over all classes, the log-loss of the true class and the top-label ECE (Guo et al., 2017).
    ``weights``: one per row, each a weighted mean of the rows' terms."""
    y, scores = np.asarray(y, dtype=int), np.asarray(scores, dtype=float)
    each = row_weights(weights, len(y))
    if scores.ndim == 2:
        truth = np.zeros_like(scores)
        truth[np.arange(len(y)), y] = 1.0
        squared = np.sum((scores - truth) ** 2, axis=1)
        losses = -np.log(np.clip(scores[np.arange(len(y)), y], _LOG_EPS, 1.0))
        confidence, correct = scores.max(axis=1), (scores.argmax(axis=1) == y).astype(float)
    else:
        squared = (scores - y) ** 2
        clipped = np.clip(scores, _LOG_EPS, 1 - _LOG_EPS)
        losses = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
        confidence, correct = scores, y.astype(float)
    total = each.sum()
    brier, log_loss = (float(np.sum(each * v) / total) if total > 0 else float("nan") for v in (squared, losses))
    return {"brier": brier, "log_loss": log_loss, "ece": _ece(confidence, correct, each)}


def _ece(confidence: np.ndarray, outcome: np.ndarray, weights: np.ndarray) -> float:
    """Sum over equal-width bins of |mean outcome - mean confidence|, weighted by the bin's rows
    (their summed weights)."""
    bins = np.minimum((np.clip(confidence, 0.0, 1.0) * ECE_BINS).astype(int), ECE_BINS - 1)
    counts = np.bincount(bins, weights, minlength=ECE_BINS)
    gaps = np.abs(np.bincount(bins, weights * outcome, ECE_BINS) - np.bincount(bins, weights * confidence, ECE_BINS))
    return float(gaps.sum() / counts.sum()) if counts.sum() > 0 else 0.0


def score_predictions(
    y: np.ndarray, scores: np.ndarray, threshold: Decision | None, weights: Any = None
) -> dict[str, float]:
    """Every metric in :data:`REPORTED` for one validation set; the ones that need the tuned
    decision (a threshold, or multi-class per-class weights) are NaN when it is not known (a
    fold stopped before its inner fits ran). Multi-class metrics are macro averages.
    ``weights``: the rows' weights (``data.weight``)."""
    metrics = threshold_free_metrics(y, scores, weights)
    metrics.update(calibration_metrics(y, scores, weights))
    if threshold is None:
        return {m: metrics.get(m, float("nan")) for m in REPORTED}
    metrics.update(decision_metrics(np.asarray(y, dtype=int), np.asarray(scores, dtype=float), threshold, weights))
    return {m: metrics[m] for m in REPORTED}


def decision_metrics(y: np.ndarray, scores: np.ndarray, decision: Decision, weights: Any = None) -> dict[str, Any]:
    """The metrics of deciding by ``decision``; multi-class ones add ``per_class``."""
    if scores.ndim == 2:
        predicted = predict_classes(scores, decision)
        return multiclass_confusion_metrics(y, predicted, n_classes=scores.shape[1], weights=weights)
    return dict(confusion_metrics(y, scores >= decision, weights))


def per_class_metrics(
    y: np.ndarray, scores: np.ndarray, decision: Decision | None, weights: Any = None
) -> dict[str, list[float]]:
    """Each class's one-vs-rest PR-AUC and ROC-AUC and, with a decision, its precision, recall
    and F1 (multi-class scores only)."""
    y = np.asarray(y, dtype=int)
    values = per_class_threshold_free(y, scores, weights)
    if decision is not None:
        values.update(decision_metrics(y, scores, decision, weights)["per_class"])
    return {name: [float(v) for v in column] for name, column in values.items()}


THRESHOLD_FREE = ("pr_auc", "roc_auc", "f1_at_0.5")


# -- one fit ----------------------------------------------------------------------------------
@dataclass
class FitTask:
    """Fit a clone of ``pipeline`` on rows ``train``, score rows ``predict`` (labels are class
    codes ``0 .. n_classes - 1``)."""

    pipeline: Any
    X: Table
    y: np.ndarray
    train: np.ndarray
    predict: np.ndarray
    n_classes: int = 2
    weights: np.ndarray | None = None  # the weights (data.weight) of the rows ``train``, for the fit


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
    result = _fit_and_score(task)
    give_back_freed_memory()
    return result


def _fit_and_score(task: FitTask) -> FitResult:
    _quiet_lightgbm()
    with warnings.catch_warnings():
        # Convergence and feature-name chatter from hundreds of fits would drown the output.
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        fit_params = {} if task.weights is None else {"sample_weight": task.weights}
        model = clone(task.pipeline).fit(rows(task.X, task.train), task.y[task.train], **fit_params)
        probabilities = all_class_columns(
            model.classes_, model.predict_proba(rows(task.X, task.predict)), task.n_classes
        )
        scores = class_scores(probabilities, task.n_classes)
        seconds = time.perf_counter() - started
    notes = {}
    sampler = getattr(model, "named_steps", {}).get("resample")
    if sampler is not None and getattr(sampler, "adaptations_", None):
        notes["resampler_adapted"] = sampler.adaptations_
    return FitResult(scores, seconds, notes)


@dataclass
class FoldResult:
    """One fold's metrics and scores. ``inner_scores`` are the scores that chose ``threshold``:
    rows ``inner_rows`` of the training part, each scored by a model that did not train on it
    (the holdout third by default, or inner K-fold predictions); None when the inner fits did
    not run. They let an ensemble of strategies choose its own threshold the same way."""

    metrics: dict[str, float]
    validation_scores: np.ndarray
    threshold: Decision | None
    fit_seconds: float
    notes: dict[str, Any] = field(default_factory=dict)
    inner_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    inner_scores: np.ndarray | None = None
    class_metrics: dict[str, list[float]] = field(default_factory=dict)


def weights_of(weights: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    """The weights of ``rows`` (None when the rows are not weighted)."""
    return None if weights is None else weights[rows]


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
    weights: np.ndarray | None = None,
) -> FoldResult:
    """Threshold (multi-class: per-class weights) by ``rule`` from the inner scores (training
    part only, see :class:`FoldResult`; the untuned decision when the part was too small to
    split), then the validation metrics at it. ``weights``: every row's (``data.weight``),
    weighing both."""
    threshold: Decision | None
    inner_weights, validation_weights = weights_of(weights, inner_rows), weights_of(weights, validation)
    if inner_scores is None:
        threshold = None
    elif len(inner_rows):
        threshold = rule.choose(y[inner_rows], inner_scores, inner_weights)
    else:
        threshold = untuned_decision(validation_scores)
    metrics = score_predictions(y[validation], validation_scores, threshold, validation_weights)
    by_class = (
        per_class_metrics(y[validation], validation_scores, threshold, validation_weights)
        if validation_scores.ndim == 2
        else {}
    )
    return FoldResult(
        metrics, validation_scores, threshold, fit_seconds, notes or {}, inner_rows, inner_scores, by_class
    )


def _fold_result(
    y: np.ndarray,
    validation: np.ndarray,
    inner: list[tuple[np.ndarray, np.ndarray]],
    outer: FitResult,
    inner_fits: list[FitResult] | None,
    rule: ThresholdRule,
    weights: np.ndarray | None,
) -> FoldResult:
    """``inner_fits`` is None when the inner fits did not run (the CV was stopped)."""
    inner_rows = np.concatenate([b for _, b in inner]) if inner else np.empty(0, dtype=int)
    empty = np.empty((0, *outer.scores.shape[1:]))
    inner_scores = None if inner_fits is None else np.concatenate([f.scores for f in inner_fits] or [empty])
    seconds = outer.seconds + sum(f.seconds for f in inner_fits or [])
    return fold_from_scores(
        y,
        validation,
        outer.scores,
        inner_rows,
        inner_scores,
        rule=rule,
        fit_seconds=seconds,
        notes=outer.notes,
        weights=weights,
    )


# -- a whole CV -------------------------------------------------------------------------------
@dataclass
class CVResult:
    """Per-fold results; ``oof`` averages each row's validation scores over repeats; ``rule``
    picked each fold's threshold and picks the deployed one; ``weights`` (every row's, or None)
    weighed both."""

    folds: list[FoldResult]
    splits: list[tuple[np.ndarray, np.ndarray]]
    n_rows: int
    stopped: Stopped = None
    rule: ThresholdRule = BEST_F1
    weights: np.ndarray | None = None

    @property
    def complete(self) -> bool:
        return self.stopped is None and len(self.folds) == len(self.splits)

    def metric_values(self, metric: str) -> np.ndarray:
        return np.array([f.metrics.get(metric, np.nan) for f in self.folds], dtype=float)

    def _summary(self, reduce: Callable[[np.ndarray], Any]) -> dict[str, float]:
        summary = {}
        for metric in REPORTED:
            values = self.metric_values(metric)
            values = values[~np.isnan(values)]
            summary[metric] = float(reduce(values)) if len(values) else float("nan")
        return summary

    def mean(self) -> dict[str, float]:
        return self._summary(np.mean)

    def std(self) -> dict[str, float]:
        return self._summary(np.std)

    def class_metrics(self) -> dict[str, list[float]]:
        """Multi-class CVs: each class's metrics (:func:`per_class_metrics`), averaged over
        the folds; empty for a binary CV."""
        per_fold = [f.class_metrics for f in self.folds if f.class_metrics]
        if not per_fold:
            return {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a class absent from every fold stays NaN
            return {
                name: [float(v) for v in np.nanmean([f[name] for f in per_fold if name in f], axis=0)]
                for name in per_fold[0]
            }

    @property
    def oof(self) -> np.ndarray:
        """Each row's validation scores averaged over repeats (NaN for rows no fold scored);
        multi-class: one column per class."""
        width = self.folds[0].validation_scores.shape[1:] if self.folds else ()
        total, count = np.zeros((self.n_rows, *width)), np.zeros(self.n_rows)
        for fold, (_, validation) in zip(self.folds, self.splits, strict=False):
            total[validation] += fold.validation_scores
            count[validation] += 1
        count = count.reshape(-1, *([1] * len(width)))
        with np.errstate(invalid="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def deployment_threshold(self, y: np.ndarray) -> Decision:
        """Threshold (multi-class: per-class weights) for the deployed model: the rule applied
        to the out-of-fold scores. (Rows scored by any fold count, so a stopped CV gives a
        decision for what it saw.)

        For ``best_f1``, the untuned decision (0.5, or argmax) instead when it had at least
        the tuned decision's F1 over the validation folds: both were measured on rows their
        decision never saw, and with few minority rows a threshold tuned on the training part is
        mostly noise, which argmax or 0.5 does not add."""
        oof = self.oof
        if self.rule.kind == "best_f1" and self.untuned_is_as_good():
            return untuned_decision(oof)
        seen = scored_rows(oof)
        return self.rule.choose(y[seen], oof[seen], None if self.weights is None else self.weights[seen])

    def untuned_is_as_good(self) -> bool:
        """Whether the untuned decision's mean F1 over the folds is at least the tuned one's."""
        means = self.mean()
        tuned, untuned = means["f1"], means["f1_at_0.5"]
        return not np.isnan(untuned) and (np.isnan(tuned) or untuned >= tuned)

    @property
    def fit_seconds(self) -> float:
        return float(sum(f.fit_seconds for f in self.folds))


def _n_classes(codes: np.ndarray) -> int:
    """The number of classes of labels that must be class codes ``0 .. K-1``, every one present."""
    found = np.unique(codes)
    if len(found) < 2 or not (found == np.arange(len(found))).all():
        raise ValueError(
            f"labels must be class codes 0 .. K-1 (K >= 2), every one present; got the values {found.tolist()[:20]}. "
            "Encode them with strategy_search.data.encode_classes."
        )
    return len(found)


def score_pipeline(
    pipeline: Any,
    X: Table,
    y: np.ndarray,
    *,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    threshold_folds: int = 1,
    seed: int = 0,
    runner: TaskRunner | None = None,
    on_fold: Callable[[int, dict[str, float]], bool] | None = None,
    deadline: float | None = None,
    threshold_rule: ThresholdRule = BEST_F1,
    split_by: SplitBy = NO_SPLIT_BY,
    weights: np.ndarray | None = None,
) -> CVResult:
    """Score an unfitted pipeline on the given splits (labels: class codes; 0/1 for binary).

    Each fold is one outer fit plus ``threshold_folds`` inner fits on its training part that
    choose its threshold (by ``threshold_rule``). All outer fits run first: ``on_fold(index, metrics)`` gets each
    fold's threshold-free metrics (:data:`THRESHOLD_FREE`) in order and returns False to stop
    (pruning), so a hopeless strategy never pays for its inner fits. ``deadline`` (a
    ``time.monotonic()`` value) stops the CV, killing running fits when ``runner`` uses
    worker processes. ``split_by`` makes the inner splits grouped or time-ordered as the outer
    ones (:mod:`strategy_search.splits`). ``weights`` (one per row, ``data.weight``) go to every
    fit as ``sample_weight`` and weigh the metrics and the thresholds.
    """
    return start_cv(
        pipeline,
        X,
        y,
        splits=splits,
        threshold_folds=threshold_folds,
        seed=seed,
        runner=runner or TaskRunner(n_jobs=1),
        on_fold=on_fold,
        deadline=deadline,
        threshold_rule=threshold_rule,
        split_by=split_by,
        weights=weights,
    ).result()


class PendingCV:
    """A CV whose fits were handed to the runner; :meth:`result` waits for them."""

    def __init__(
        self,
        job: Job,
        y: np.ndarray,
        splits: list[tuple[np.ndarray, np.ndarray]],
        plan: list,
        rule: ThresholdRule,
        weights: np.ndarray | None = None,
    ):
        self.job, self.y, self.splits, self.plan, self.rule, self.weights = job, y, splits, plan, rule, weights

    def result(self) -> CVResult:
        fits, stopped = self.job.finish()
        folds, offset = [], len(self.splits)
        for i, outer in enumerate(fits[: len(self.splits)]):
            inner_fits = fits[offset : offset + len(self.plan[i])]
            complete = len(inner_fits) == len(self.plan[i])
            inner = inner_fits if complete else None
            folds.append(_fold_result(self.y, self.splits[i][1], self.plan[i], outer, inner, self.rule, self.weights))
            offset += len(self.plan[i])
        return CVResult(folds, self.splits, len(self.y), stopped, self.rule, self.weights)


def start_cv(
    pipeline: Any,
    X: Table,
    y: np.ndarray,
    *,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    threshold_folds: int,
    seed: int,
    runner: TaskRunner,
    on_fold: Callable[[int, dict[str, float]], bool] | None,
    deadline: float | None,
    threshold_rule: ThresholdRule,
    split_by: SplitBy = NO_SPLIT_BY,
    weights: np.ndarray | None = None,
) -> PendingCV:
    """:func:`score_pipeline` in two steps: the fits start now (in ``runner``'s workers, behind
    any other CV still running there) and ``on_fold`` is called when :meth:`PendingCV.result`
    collects them, so a search can prepare its next trial meanwhile."""
    y = np.asarray(y, dtype=int)
    n_classes = _n_classes(y)
    weights = None if weights is None else np.asarray(weights, dtype=float)
    plan = [
        inner_splits(y, train, folds=threshold_folds, seed=seed + i, by=split_by) for i, (train, _) in enumerate(splits)
    ]
    # Each task carries its training rows' weights only: tasks are sent to the worker processes.
    tasks = [
        FitTask(pipeline, X, y, train, validation, n_classes, weights_of(weights, train))
        for train, validation in splits
    ]
    tasks += [FitTask(pipeline, X, y, a, b, n_classes, weights_of(weights, a)) for inner in plan for a, b in inner]

    def report(index: int, fit: FitResult) -> bool:
        if on_fold is None or index >= len(splits):
            return True
        validation = splits[index][1]
        return on_fold(index, threshold_free_metrics(y[validation], fit.scores, weights_of(weights, validation)))

    job = runner.start(run_fit, tasks, on_result=report, deadline=deadline)
    return PendingCV(job, y, list(splits), plan, threshold_rule, weights)
