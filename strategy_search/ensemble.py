"""Ensembles of scored strategies, chosen from their cross-validation scores alone.

Every trial of a search is scored on the same folds, so averaging several trials' validation
scores fold by fold is exactly what their averaged probabilities would have scored; each fold's
threshold is chosen again on the members' averaged *inner* scores, as for a single strategy.
No model is refitted to score an ensemble.

Choosing one strategy out of many by a noisy CV estimate favours the luckiest (the winner's
curse), so the best trial's own CV score is optimistic and averaging the best few is usually
better on new data. The rule (Caruana et al., "Ensemble selection from libraries of models",
2004): start from the equal average of the best :data:`INITIAL_MEMBERS`, then greedily add
(with replacement, so weights are multiples of one pick) whichever candidate improves the CV
metric most, up to :data:`MAX_PICKS` picks. The single best trial is kept instead only when it
beats that ensemble by more than one standard error of their fold-wise difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strategy_search.data import plain
from strategy_search.ranking import best_first
from strategy_search.scoring import CVResult, fold_from_scores
from strategy_search.strategy import Ensemble, Strategy
from strategy_search.task import Decision, as_decision

# Scores within this of each other count as equal: the smaller ensemble wins the tie.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class TrialEnsemble:
    """An ensemble as the search chose it: trial numbers (best first) averaged with ``weights``,
    the threshold for the average, and its CV means and standard deviations.

    It is stored on the study (:meth:`to_attr`) so any process rebuilds the same answer from
    storage: :meth:`strategy` replays each member trial into the plain-data
    :class:`~strategy_search.strategy.Ensemble` that is built and deployed. ``cv`` (fold scores)
    is known only to the process that chose it.
    """

    trials: tuple[int, ...]
    weights: tuple[float, ...]
    threshold: Decision
    metrics: dict[str, float]
    metrics_std: dict[str, float]
    cv: CVResult | None = field(default=None, compare=False, repr=False)
    # Multi-class: each class's CV metrics (scoring.CVResult.class_metrics).
    class_metrics: dict[str, list[float]] = field(default_factory=dict)

    def strategy(self, strategy_of: Callable[[int], Strategy]) -> Ensemble:
        """The members' strategies (``strategy_of(trial_number)``) as plain data."""
        return Ensemble(tuple(strategy_of(n) for n in self.trials), self.weights, self.threshold)

    def to_attr(self) -> dict[str, Any]:
        stored = {
            "trials": list(self.trials),
            "weights": list(self.weights),
            "threshold": plain(self.threshold),
            "metrics": dict(self.metrics),
            "metrics_std": dict(self.metrics_std),
        }
        return {**stored, "class_metrics": dict(self.class_metrics)} if self.class_metrics else stored

    @classmethod
    def from_attr(cls, data: Mapping[str, Any]) -> TrialEnsemble:
        return cls(
            tuple(int(n) for n in data["trials"]),
            tuple(float(w) for w in data["weights"]),
            as_decision(data["threshold"]),
            dict(data["metrics"]),
            dict(data["metrics_std"]),
            class_metrics=dict(data.get("class_metrics") or {}),
        )


def average_cv(results: Sequence[CVResult], weights: Sequence[float], y: np.ndarray) -> CVResult:
    """The CV result of averaging ``results`` (complete CVs on the same splits and threshold
    rule, and row weights) fold by fold."""
    y = np.asarray(y, dtype=int)
    rule, row_weights = results[0].rule, results[0].weights
    w = np.asarray(weights, dtype=float) / float(np.sum(weights))
    splits = results[0].splits
    folds = []
    for i, (_, validation) in enumerate(splits):
        members = [r.folds[i] for r in results]
        scores = sum(wi * f.validation_scores for wi, f in zip(w, members, strict=True))
        inner = None
        if all(f.inner_scores is not None for f in members):
            inner = sum(wi * f.inner_scores for wi, f in zip(w, members, strict=True))
        folds.append(
            fold_from_scores(
                y,
                validation,
                scores,
                members[0].inner_rows,
                inner,
                rule=rule,
                fit_seconds=sum(f.fit_seconds for f in members),
                weights=row_weights,
            )
        )
    return CVResult(folds, list(splits), results[0].n_rows, rule=rule, weights=row_weights)


INITIAL_MEMBERS = 3
MAX_PICKS = 10


def _value(result: CVResult, metric: str) -> float:
    value = result.mean()[metric]
    return -np.inf if np.isnan(value) else value


def _greedy_picks(ranked: Sequence[tuple[int, CVResult]], y: np.ndarray, metric: str) -> list[int]:
    """Indices into ``ranked`` (with repeats): sorted initialisation, then forward selection."""
    picks = list(range(min(INITIAL_MEMBERS, len(ranked))))
    current = _value(average_cv([ranked[i][1] for i in picks], [1.0] * len(picks), y), metric)
    while len(picks) < MAX_PICKS:
        trials = [
            (_value(average_cv([ranked[i][1] for i in [*picks, j]], [1.0] * (len(picks) + 1), y), metric), -j)
            for j in range(len(ranked))
        ]
        value, negative_j = max(trials)
        if value <= current + TOLERANCE:
            break
        picks.append(-negative_j)
        current = value
    return picks


def clearly_better(single: CVResult, ensemble: CVResult, metric: str) -> bool:
    """Whether ``single`` beats ``ensemble`` by more than one standard error of the fold-wise
    difference (the one-standard-error rule, in favour of the steadier ensemble)."""
    difference = single.metric_values(metric) - ensemble.metric_values(metric)
    difference = difference[~np.isnan(difference)]
    if len(difference) < 2:
        return bool(difference.size and difference.mean() > 0)
    return bool(difference.mean() > difference.std(ddof=1) / np.sqrt(len(difference)))


def select_ensemble(
    candidates: Sequence[tuple[int, CVResult]],
    y: np.ndarray,
    *,
    metric: str,
    pool_size: int,
) -> TrialEnsemble | None:
    """An ensemble of the best ``pool_size`` candidates by ``metric`` (see the module notes),
    or None when a single candidate should be used instead (fewer than two candidates, or the
    best one is clearly better than the ensemble).

    ``candidates`` are (key, complete CV) pairs on the same splits, in any order.
    """
    ranked = sorted(candidates, key=lambda kv: best_first(kv[1].mean()[metric], kv[0]))[:pool_size]
    if len(ranked) < 2:
        return None
    picks = _greedy_picks(ranked, y, metric)
    counts = Counter(picks)
    order = sorted(counts)  # best-ranked member first
    if len(order) < 2:
        return None
    cv = average_cv([ranked[i][1] for i in order], [float(counts[i]) for i in order], y)
    if clearly_better(ranked[0][1], cv, metric):
        return None
    return TrialEnsemble(
        trials=tuple(ranked[i][0] for i in order),
        weights=tuple(float(counts[i]) for i in order),
        threshold=cv.deployment_threshold(y),
        metrics=cv.mean(),
        metrics_std=cv.std(),
        cv=cv,
        class_metrics=cv.class_metrics(),
    )
