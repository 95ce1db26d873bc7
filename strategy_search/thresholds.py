"""Decision thresholds: the rule that picks one from scored rows, and the trade-off it makes.

Users ask for "precision at least 0.9" or "recall at least 0.8" as often as for the best F1.
A :class:`ThresholdRule` is chosen the same leak-free way whatever it is: on each fold's
training part during the search, on the out-of-fold scores for the deployed model.

On a multi-class target the decision is a vector of per-class weights instead of one
threshold: a row goes to the class with the largest weighted probability. ``argmax`` keeps
every weight at 1; ``best_f1`` chooses the weights with the best macro F1 among a one-parameter
family (:func:`choose_class_weights`), the multi-class counterpart of the best-F1 threshold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from strategy_search.task import Decision, predict_classes

Kind = Literal["best_f1", "argmax", "precision", "recall", "fn_cost"]
_RULE = re.compile(r"^\s*(?:(best_f1|argmax)|(precision|recall)\s*>=\s*([0-9.]+)|fn_cost\s*=\s*([0-9.eE+]+))\s*$")
RULE_FORMS = (
    "best_f1, argmax (threshold 0.5; multi-class: the most probable class), precision>=P, recall>=R "
    "(P, R in (0, 1]) or fn_cost=C (a false negative costs C false positives)"
)
# The rules that have a multi-class form (per-class weights); the others bound one class's errors.
MULTICLASS_KINDS = ("best_f1", "argmax")


def scored_rows(scores: np.ndarray) -> np.ndarray:
    """The rows of out-of-fold scores (one per row, or a row of class scores) that some fold
    scored: a stopped CV leaves the others NaN, a time-ordered one its first block."""
    return ~np.isnan(scores) if scores.ndim == 1 else ~np.isnan(scores).any(axis=1)


def row_weights(weights: np.ndarray | None, n_rows: int) -> np.ndarray:
    """Each row's weight (``data.weight``): the given ones, or 1 for every row."""
    return np.ones(n_rows) if weights is None else np.asarray(weights, dtype=float)


def ranking_curve(
    y: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct thresholds (descending) with the true and false positives at or above each
    (with ``weights``: the summed weights of those rows, so a row of weight 5 counts five times)."""
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_y = scores[order], y[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    if weights is None:
        true_positives = np.cumsum(sorted_y)[last_of_each]
        return sorted_scores[last_of_each], true_positives, last_of_each + 1 - true_positives
    sorted_weights = np.asarray(weights, dtype=float)[order]
    true_positives = np.cumsum(sorted_weights * sorted_y)[last_of_each]
    false_positives = np.cumsum(sorted_weights * (1 - sorted_y))[last_of_each]
    return sorted_scores[last_of_each], true_positives, false_positives


@dataclass(frozen=True)
class ThresholdRule:
    """How a threshold is picked: ``best_f1``; ``precision>=P`` (the most recall with at least
    that precision); ``recall>=R`` (the most precision with at least that recall); or
    ``fn_cost=C`` (the least cost when a false negative costs C false positives)."""

    kind: Kind = "best_f1"
    value: float | None = None

    @classmethod
    def parse(cls, rule: Any) -> ThresholdRule:
        if isinstance(rule, ThresholdRule):
            return rule
        match = _RULE.match(rule) if isinstance(rule, str) else None
        if match is None:
            raise ValueError(f"threshold rule must be one of {RULE_FORMS}; got {rule!r}")
        plain_kind, bound_kind, bound, cost = match.groups()
        if plain_kind:
            return cls("argmax" if plain_kind == "argmax" else "best_f1")
        if bound_kind:
            value = float(bound)
            if not 0 < value <= 1:
                raise ValueError(f"{bound_kind}>= needs a value in (0, 1]; got {rule!r}; rules: {RULE_FORMS}")
            return cls("precision" if bound_kind == "precision" else "recall", value)
        if not float(cost) > 0:
            raise ValueError(f"fn_cost= needs a positive cost; got {rule!r}; rules: {RULE_FORMS}")
        return cls("fn_cost", float(cost))

    def __str__(self) -> str:
        if self.kind in ("best_f1", "argmax"):
            return self.kind
        value = f"{self.value:g}"
        return f"fn_cost={value}" if self.kind == "fn_cost" else f"{self.kind}>={value}"

    def multiclass_problem(self) -> str | None:
        """Why this rule cannot decide between more than two classes (None when it can)."""
        if self.kind in MULTICLASS_KINDS:
            return None
        return (
            f"the threshold rule {str(self)!r} bounds the errors on one positive class, and a multi-class target "
            f"has no single positive class; use one of {list(MULTICLASS_KINDS)} (best_f1: per-class weights "
            "with the best macro F1; argmax: the most probable class)"
        )

    def choose(self, y: Any, scores: Any, weights: Any = None) -> Decision:
        """The decision this rule picks on (y, scores): for binary scores (one column) a
        threshold (:meth:`threshold`), for multi-class ones (a probability column per class) a
        tuple of per-class weights (:func:`choose_class_weights`). Rows without a score (NaN: a
        time-ordered CV never validates its first block, a stopped one leaves some out) are left
        out. ``weights`` (one per row, ``data.weight``) make every count a sum of weights."""
        scores = np.asarray(scores, dtype=float)
        scored = scored_rows(scores)
        y, scores = np.asarray(y)[scored], scores[scored]
        weights = None if weights is None else np.asarray(weights, dtype=float)[scored]
        if scores.ndim == 1:
            return self.threshold(y, scores, weights)
        problem = self.multiclass_problem()
        if problem:
            raise ValueError(problem[0].upper() + problem[1:] + ".")
        if self.kind == "argmax":
            return untuned_decision(scores)
        return choose_class_weights(np.asarray(y, dtype=int), scores, weights)

    def threshold(self, y: Any, scores: Any, weights: Any = None) -> float:
        """The threshold this rule picks on binary (y, scores), placed halfway between the
        lowest score it accepts and the next lower one, so rows scored a hair lower on new data
        are not all lost; 0.5 when y holds a single class. Ties go to the higher threshold. A
        bound no threshold meets gets the closest one (the highest precision, say). Rows without a
        score (NaN) are left out. With ``weights`` the counts are sums of weights (money, not
        rows: ``fn_cost=C`` then weighs a missed positive by its own weight)."""
        if self.kind == "argmax":
            return 0.5
        scores = np.asarray(scores, dtype=float)
        scored = scored_rows(scores)
        y, scores = np.asarray(y, dtype=int)[scored], scores[scored]
        weights = None if weights is None else np.asarray(weights, dtype=float)[scored]
        if y.sum() == 0 or y.sum() == len(y):
            return 0.5
        thresholds, tp, fp = ranking_curve(y, scores, weights)
        positives = float(tp[-1])
        if positives <= 0:  # every positive row weighs 0
            return 0.5
        best = self._index(tp, fp, positives)
        if best + 1 < len(thresholds):
            return float((thresholds[best] + thresholds[best + 1]) / 2)
        return float(thresholds[best])

    def _index(self, tp: np.ndarray, fp: np.ndarray, positives: float) -> int:
        # Index i accepts every row scored at or above thresholds[i]; thresholds descend.
        if self.kind == "best_f1":
            return int(np.argmax(2 * tp / (tp + fp + positives)))
        if self.kind == "fn_cost":
            return int(np.argmin(fp + float(self.value or 0) * (positives - tp)))
        with np.errstate(invalid="ignore", divide="ignore"):  # rows of weight 0 alone at the top
            precision, recall = tp / (tp + fp), tp / positives
        bound = float(self.value or 0)
        if self.kind == "precision":
            meets = np.flatnonzero(precision >= bound)
            if not len(meets):
                return int(np.argmax(precision))
            # The most recall; among cuts with that recall, the highest (it has the best precision).
            return int(meets[np.flatnonzero(tp[meets] == tp[meets[-1]])[0]])
        meets = np.flatnonzero(recall >= bound * (1 - 1e-12))  # summed weights round
        return int(meets[0])  # recall reaches 1 at the lowest threshold, so one always meets it


BEST_F1 = ThresholdRule()


# -- multi-class decisions --------------------------------------------------------------------
# Weights w_k = prior_k ** -alpha for these alphas: 0 is argmax, 1 divides each probability by
# its class's share (the decision that balances the classes for a calibrated model). One
# degree of freedom, like a binary threshold: freely tuned per-class weights fit the noise of
# the few rare-class rows in a training part and lost macro F1 on held-out folds
# (experiments/multiclass_decision_rules.py).
_PRIOR_POWERS = np.linspace(0.0, 1.0, 11)


def untuned_decision(scores: np.ndarray) -> Decision:
    """The decision no data chose: threshold 0.5, or every class weighing 1 (argmax)."""
    return 0.5 if np.ndim(scores) == 1 else tuple(1.0 for _ in range(np.shape(scores)[1]))


def choose_class_weights(y: np.ndarray, scores: np.ndarray, row_weight: Any = None) -> tuple[float, ...]:
    """Per-class weights with the best macro F1 on (y, scores) among ``prior ** -alpha`` for
    alpha in :data:`_PRIOR_POWERS` (ties: the smallest alpha, closest to argmax). Normalised to
    a largest weight of 1. A class absent from ``y`` counts as one row. ``row_weight`` (one per
    row) weighs the priors and the F1 counts."""
    n_classes = scores.shape[1]
    each = row_weights(row_weight, len(y))
    prior = np.maximum(np.bincount(y, weights=each, minlength=n_classes), 1) / max(each.sum(), 1)
    best_value, best_weights = -1.0, np.ones(n_classes)
    for alpha in _PRIOR_POWERS:
        weights = prior**-alpha
        value = _macro_f1(y, predict_classes(scores, weights), n_classes, row_weight)
        if value > best_value + 1e-12:
            best_value, best_weights = value, weights
    return tuple(float(w) for w in best_weights / best_weights.max())


def confusion_matrix(y: np.ndarray, predicted: np.ndarray, *, n_classes: int, weights: Any = None) -> np.ndarray:
    """Counts ``[true class, predicted class]`` (with ``weights``: summed row weights)."""
    cells = np.asarray(y, dtype=int) * n_classes + np.asarray(predicted, dtype=int)
    counts = np.bincount(
        cells, weights=None if weights is None else np.asarray(weights, dtype=float), minlength=n_classes * n_classes
    )
    return counts.reshape(n_classes, n_classes).astype(float)


def _per_class(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = np.diag(matrix)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(predicted + actual > 0, 2 * tp / (predicted + actual), 0.0)
    return precision, recall, f1


def _macro_f1(y: np.ndarray, predicted: np.ndarray, n_classes: int, weights: Any = None) -> float:
    matrix = confusion_matrix(y, predicted, n_classes=n_classes, weights=weights)
    seen = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    return float(_per_class(matrix)[2][seen].mean())


def multiclass_confusion_metrics(
    y: np.ndarray, predicted: np.ndarray, *, n_classes: int, weights: Any = None
) -> dict[str, Any]:
    """Macro precision, recall and F1 (unweighted means over the classes that occur in ``y`` or
    the predictions, scikit-learn's ``average="macro"``), balanced accuracy (mean recall over
    the classes in ``y``) and the multi-class MCC (Gorodkin's R_K); ``per_class`` holds each
    class's precision, recall and F1 (NaN for a class in neither). ``weights``: of the rows."""
    matrix = confusion_matrix(y, predicted, n_classes=n_classes, weights=weights)
    precision, recall, f1 = _per_class(matrix)
    present = matrix.sum(axis=1) > 0
    seen = present | (matrix.sum(axis=0) > 0)
    total, correct = matrix.sum(), np.trace(matrix)
    predicted_totals, actual_totals = matrix.sum(axis=0), matrix.sum(axis=1)
    covariance = correct * total - predicted_totals @ actual_totals
    denominator = np.sqrt((total**2 - predicted_totals @ predicted_totals) * (total**2 - actual_totals @ actual_totals))
    unseen = np.where(seen, 1.0, np.nan)
    return {
        "f1": float(f1[seen].mean()),
        "precision": float(precision[seen].mean()),
        "recall": float(recall[seen].mean()),
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "mcc": float(covariance / denominator) if denominator else 0.0,
        "per_class": {"precision": precision * unseen, "recall": recall * unseen, "f1": f1 * unseen},
    }


def best_f1_threshold(y: np.ndarray, scores: np.ndarray, weights: Any = None) -> float:
    """The threshold with the highest F1 on (y, scores) (see :meth:`ThresholdRule.choose`)."""
    return BEST_F1.threshold(y, scores, weights)


def confusion_metrics(y: np.ndarray, predicted: np.ndarray, weights: Any = None) -> dict[str, float]:
    """The metrics of predicting ``predicted`` (booleans) for labels ``y`` (0/1); with
    ``weights`` the confusion counts are sums of the rows' weights."""
    each = row_weights(weights, len(y))
    tp = float(np.sum(each[predicted & (y == 1)]))
    fp = float(np.sum(each[predicted & (y == 0)]))
    fn = float(np.sum(each[~predicted & (y == 1)]))
    tn = float(each.sum() - tp - fp - fn)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return {
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "precision": precision,
        "recall": recall,
        "balanced_accuracy": (recall + specificity) / 2 if tp + fn and tn + fp else recall or specificity,
        "mcc": float((tp * tn - fp * fn) / denominator) if denominator else 0.0,
    }


def at_threshold(y: Any, scores: Any, threshold: float, weights: Any = None) -> dict[str, float]:
    """Precision, recall and F1 of predicting positive at ``scores >= threshold``."""
    metrics = confusion_metrics(np.asarray(y, dtype=int), np.asarray(scores, dtype=float) >= threshold, weights)
    return {name: metrics[name] for name in ("precision", "recall", "f1")}


# Rows of the trade-off table in a model card: what a user would most likely ask for instead.
TRADE_OFF_RULES = tuple(
    ThresholdRule.parse(r)
    for r in (
        "best_f1",
        "precision>=0.5",
        "precision>=0.8",
        "precision>=0.9",
        "recall>=0.5",
        "recall>=0.8",
        "recall>=0.9",
        "recall>=0.95",
    )
)


def trade_off(y: Any, scores: Any, weights: Any = None) -> list[dict[str, Any]]:
    """For each of :data:`TRADE_OFF_RULES`: the threshold it picks and what it gives on (y,
    scores), rows without a score (NaN) left out; ``weights``: of the rows."""
    scores = np.asarray(scores, dtype=float)
    scored = scored_rows(scores)
    y, scores = np.asarray(y, dtype=int)[scored], scores[scored]
    weights = None if weights is None else np.asarray(weights, dtype=float)[scored]
    rows = []
    for rule in TRADE_OFF_RULES:
        threshold = rule.threshold(y, scores, weights)
        rows.append({"rule": str(rule), "threshold": threshold, **at_threshold(y, scores, threshold, weights)})
    return rows


def format_decision(decision: Any, *, digits: int = 3, classes: Sequence[Any] = ()) -> str:
    """A threshold as a number; per-class weights as ``w=1.00/0.50/2.00`` (class-code order),
    or with ``classes`` (the labels in code order) as ``w: a=1.00, b=0.50, c=2.00``; more than
    :data:`LISTED_WEIGHTS` weights as ``w: 1.00 for 47 of 50 classes; 3=0.50, ...``."""
    if isinstance(decision, (list, tuple)):
        if len(decision) > LISTED_WEIGHTS:
            return _many_weights(decision, classes if len(classes) == len(decision) else range(len(decision)))
        if len(classes) == len(decision):
            return "w: " + ", ".join(f"{c}={float(w):.2f}" for c, w in zip(classes, decision, strict=True))
        return "w=" + "/".join(f"{float(w):.2f}" for w in decision)
    return f"{float(decision):.{digits}f}"


# A decision of more classes than this lists only the weights that are not 1 (50 classes' weights
# would fill the console line, the leaderboard cell and the figure title).
LISTED_WEIGHTS = 12


def _many_weights(decision: Sequence[Any], names: Sequence[Any]) -> str:
    others = [(name, float(w)) for name, w in zip(names, decision, strict=True) if f"{float(w):.2f}" != "1.00"]
    text = f"w: 1.00 for {len(decision) - len(others)} of {len(decision)} classes"
    if not others:
        return text
    listed = ", ".join(f"{name}={w:.2f}" for name, w in others[:LISTED_WEIGHTS])
    more = f" and {len(others) - LISTED_WEIGHTS} more" if len(others) > LISTED_WEIGHTS else ""
    return f"{text}; {listed}{more}"


def threshold_warning(threshold: Any) -> str | None:
    """What to tell a user about a threshold that (almost) never predicts the positive class
    (per-class weights of a multi-class model get no warning)."""
    if isinstance(threshold, (list, tuple)) or threshold < 0.999:
        return None
    return (
        f"the threshold is {threshold:.3f}: the model predicts the positive class only for a score of at least "
        "that, which almost never happens, so nearly every row will be predicted negative. Rank rows by `score`, "
        "or pick a threshold for a target, e.g. `--threshold 'recall>=0.8'`."
    )
