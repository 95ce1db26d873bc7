"""Did treating the imbalance help? The answer against doing nothing about it, on the same folds.

"Doing nothing" is the model family of the search's best trial, with the hyperparameters that
trial found, but no resampling, no class weights, the plain log-loss and the untuned decision
(threshold 0.5; multi-class: the most probable class). Only the treatment of the imbalance
differs from the answer's best member, so the difference is what treating it bought. When the
best trial's model balances the classes itself (balanced random forest, EasyEnsemble,
RUSBoost, the self-paced and cascade ensembles) or is an anomaly detector, the best trial with a
model that is neither is used instead.

The do-nothing strategy is cross-validated on the search's own folds, so each fold gives a
paired difference. Folds share most of their training rows, which makes the ordinary paired
t-test far too confident; the corrected resampled t-test of Nadeau and Bengio ("Inference for
the generalization error", Machine Learning 52, 2003) widens the variance by the test-to-train
ratio: ``t = mean(d) / sqrt((1/J + n_test/n_train) * var(d))`` with J - 1 degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from strategy_search.data import plain
from strategy_search.slots import MODEL, all_slots
from strategy_search.strategy import Strategy

# Below this two-sided p-value a difference counts as real.
SIGNIFICANCE = 0.05
# The metrics compared (when the search has them): ranking quality and the deployed decision.
COMPARED = ("pr_auc", "f1")
TABLE_HEADER = ("metric", "answer", "do nothing", "difference", "p-value", "verdict")


def do_nothing_strategy(strategy: Strategy) -> Strategy:
    """``strategy``'s model with its parameters, every other slot at its neutral choice, and
    the untuned decision."""
    choices = {slot.name: strategy.key(slot.name) if slot.name == MODEL else str(slot.neutral) for slot in all_slots()}
    return Strategy(choices, {MODEL: strategy.params_for(MODEL)}, threshold=0.5, seed=strategy.seed)


def corrected_t_test(differences: Sequence[float], *, test_share: float) -> float:
    """Two-sided p-value of the corrected resampled t-test (module notes) for per-fold
    ``differences``; ``test_share`` is n_test / n_train of a fold. NaN with fewer than 2 folds;
    1 when every difference is 0, 0 when they are all equal and not 0."""
    d = np.asarray([x for x in differences if np.isfinite(x)], dtype=float)
    if len(d) < 2:
        return float("nan")
    variance = float(d.var(ddof=1))
    if variance == 0.0:
        return 1.0 if float(d.mean()) == 0.0 else 0.0
    t = float(d.mean()) / np.sqrt((1.0 / len(d) + test_share) * variance)
    return float(2 * stats.t.sf(abs(t), df=len(d) - 1))


@dataclass(frozen=True)
class MetricDifference:
    metric: str
    answer: float
    do_nothing: float
    difference: float
    p_value: float

    @property
    def verdict(self) -> str:
        if not np.isfinite(self.p_value) or self.p_value >= SIGNIFICANCE:
            return "not significant"
        return "better" if self.difference > 0 else "worse"


@dataclass(frozen=True)
class DoNothingComparison:
    """The do-nothing strategy, the trial it came from, and each compared metric's difference
    (answer minus do-nothing) with its p-value; ``skipped`` says why there is none."""

    strategy: dict[str, Any] = field(default_factory=dict)
    trial: int | None = None
    answer_trials: tuple[int, ...] = ()
    differences: tuple[MetricDifference, ...] = ()
    n_folds: int = 0
    skipped: str | None = None

    @property
    def helped(self) -> bool | None:
        """True when the answer is significantly better on some compared metric and worse on
        none; False when it is significantly worse on one; None when no difference is clear."""
        verdicts = {d.verdict for d in self.differences}
        if "worse" in verdicts:
            return False
        return True if "better" in verdicts else None

    def summary(self, labels: Mapping[str, str]) -> str:
        """One paragraph for the command line, the model card and the report."""
        if self.skipped:
            return f"Do-nothing comparison not made: {self.skipped}"
        described = Strategy.from_dict(self.strategy).describe()
        parts = [
            f"{labels.get(d.metric, d.metric)} {d.answer:.4f} vs {d.do_nothing:.4f} ({d.difference:+.4f}, "
            f"p = {d.p_value:.3g}: {d.verdict})"
            for d in self.differences
        ]
        conclusion = {
            True: "treating the imbalance helped",
            False: "treating the imbalance made things worse",
            None: f"no difference is significant at the {SIGNIFICANCE:.0%} level over {self.n_folds} folds "
            "(cv.repeats adds folds and power)",
        }[self.helped]
        return (
            f"against doing nothing ({described} as tuned, no resampling, no weights, log-loss, untuned threshold, "
            f"same folds): " + "; ".join(parts) + f"; corrected paired t-test: {conclusion}."
        )

    def table_rows(self, labels: Mapping[str, str]) -> list[list[str]]:
        """Rows under :data:`TABLE_HEADER`, one per compared metric."""
        return [
            [
                labels.get(d.metric, d.metric),
                f"{d.answer:.4f}",
                f"{d.do_nothing:.4f}",
                f"{d.difference:+.4f}",
                f"{d.p_value:.3g}",
                d.verdict,
            ]
            for d in self.differences
        ]

    def to_attr(self) -> dict[str, Any]:
        return plain(
            {
                "strategy": self.strategy,
                "trial": self.trial,
                "answer_trials": list(self.answer_trials),
                "differences": [vars(d) for d in self.differences],
                "n_folds": self.n_folds,
                "skipped": self.skipped,
            }
        )

    @classmethod
    def from_attr(cls, data: Mapping[str, Any]) -> DoNothingComparison:
        return cls(
            strategy=dict(data.get("strategy") or {}),
            trial=data.get("trial"),
            answer_trials=tuple(data.get("answer_trials") or ()),
            differences=tuple(MetricDifference(**d) for d in data.get("differences") or ()),
            n_folds=int(data.get("n_folds") or 0),
            skipped=data.get("skipped"),
        )


def compare_folds(
    answer: Mapping[str, np.ndarray], do_nothing: Mapping[str, np.ndarray], *, test_share: float
) -> tuple[MetricDifference, ...]:
    """Each compared metric's mean difference and p-value from per-fold values."""
    found = []
    for metric in COMPARED:
        if metric not in answer or metric not in do_nothing:
            continue
        a, b = np.asarray(answer[metric], dtype=float), np.asarray(do_nothing[metric], dtype=float)
        found.append(
            MetricDifference(
                metric,
                float(np.nanmean(a)),
                float(np.nanmean(b)),
                float(np.nanmean(a - b)),
                corrected_t_test(a - b, test_share=test_share),
            )
        )
    return tuple(found)
