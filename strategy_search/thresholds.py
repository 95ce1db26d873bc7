"""Decision thresholds: the rule that picks one from scored rows, and the trade-off it makes.

Users ask for "precision at least 0.9" or "recall at least 0.8" as often as for the best F1.
A :class:`ThresholdRule` is chosen the same leak-free way whatever it is: on each fold's
training part during the search, on the out-of-fold scores for the deployed model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Kind = Literal["best_f1", "precision", "recall", "fn_cost"]
_RULE = re.compile(r"^\s*(?:(best_f1)|(precision|recall)\s*>=\s*([0-9.]+)|fn_cost\s*=\s*([0-9.eE+]+))\s*$")
RULE_FORMS = "best_f1, precision>=P, recall>=R (P, R in (0, 1]) or fn_cost=C (a false negative costs C false positives)"


def ranking_curve(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct thresholds (descending) with the true and false positives at or above each."""
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_y = scores[order], y[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    true_positives = np.cumsum(sorted_y)[last_of_each]
    false_positives = last_of_each + 1 - true_positives
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
        best, bound_kind, bound, cost = match.groups()
        if best:
            return cls("best_f1")
        if bound_kind:
            value = float(bound)
            if not 0 < value <= 1:
                raise ValueError(f"{bound_kind}>= needs a value in (0, 1]; got {rule!r}; rules: {RULE_FORMS}")
            return cls("precision" if bound_kind == "precision" else "recall", value)
        if not float(cost) > 0:
            raise ValueError(f"fn_cost= needs a positive cost; got {rule!r}; rules: {RULE_FORMS}")
        return cls("fn_cost", float(cost))

    def __str__(self) -> str:
        if self.kind == "best_f1":
            return "best_f1"
        value = f"{self.value:g}"
        return f"fn_cost={value}" if self.kind == "fn_cost" else f"{self.kind}>={value}"

    def choose(self, y: Any, scores: Any) -> float:
        """The threshold this rule picks on (y, scores), placed halfway between the lowest score
        it accepts and the next lower one, so rows scored a hair lower on new data are not all
        lost; 0.5 when y holds a single class. Ties go to the higher threshold. A bound no
        threshold meets gets the closest one (the highest precision, say)."""
        y, scores = np.asarray(y, dtype=int), np.asarray(scores, dtype=float)
        positives = int(y.sum())
        if positives == 0 or positives == len(y):
            return 0.5
        thresholds, tp, fp = ranking_curve(y, scores)
        best = self._index(tp, fp, positives)
        if best + 1 < len(thresholds):
            return float((thresholds[best] + thresholds[best + 1]) / 2)
        return float(thresholds[best])

    def _index(self, tp: np.ndarray, fp: np.ndarray, positives: int) -> int:
        # Index i accepts every row scored at or above thresholds[i]; thresholds descend.
        if self.kind == "best_f1":
            return int(np.argmax(2 * tp / (tp + fp + positives)))
        if self.kind == "fn_cost":
            return int(np.argmin(fp + float(self.value or 0) * (positives - tp)))
        precision, recall = tp / (tp + fp), tp / positives
        bound = float(self.value or 0)
        if self.kind == "precision":
            meets = np.flatnonzero(precision >= bound)
            if not len(meets):
                return int(np.argmax(precision))
            # The most recall; among cuts with that recall, the highest (it has the best precision).
            return int(meets[np.flatnonzero(tp[meets] == tp[meets[-1]])[0]])
        meets = np.flatnonzero(recall >= bound)
        return int(meets[0])  # recall reaches 1 at the lowest threshold, so one always meets it


BEST_F1 = ThresholdRule()


def best_f1_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    """The threshold with the highest F1 on (y, scores) (see :meth:`ThresholdRule.choose`)."""
    return BEST_F1.choose(y, scores)


def confusion_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """The metrics of predicting ``predicted`` (booleans) for labels ``y`` (0/1)."""
    tp = float(np.sum(predicted & (y == 1)))
    fp = float(np.sum(predicted & (y == 0)))
    fn = float(np.sum(~predicted & (y == 1)))
    tn = float(len(y) - tp - fp - fn)
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


def at_threshold(y: Any, scores: Any, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of predicting positive at ``scores >= threshold``."""
    metrics = confusion_metrics(np.asarray(y, dtype=int), np.asarray(scores, dtype=float) >= threshold)
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


def trade_off(y: Any, scores: Any) -> list[dict[str, Any]]:
    """For each of :data:`TRADE_OFF_RULES`: the threshold it picks and what it gives on (y, scores)."""
    rows = []
    for rule in TRADE_OFF_RULES:
        threshold = rule.choose(y, scores)
        rows.append({"rule": str(rule), "threshold": threshold, **at_threshold(y, scores, threshold)})
    return rows


def threshold_warning(threshold: float) -> str | None:
    """What to tell a user about a threshold that (almost) never predicts the positive class."""
    if threshold < 0.999:
        return None
    return (
        f"the threshold is {threshold:.3f}: the model predicts the positive class only for a score of at least "
        "that, which almost never happens, so nearly every row will be predicted negative. Rank rows by `score`, "
        "or pick a threshold for a target, e.g. `--threshold 'recall>=0.8'`."
    )
