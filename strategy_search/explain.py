"""Why the answer decides as it does: which columns its scores rest on, over all rows and row by row.

Over all rows, :func:`fold_importance` (one task per fold, run by
:mod:`strategy_search.answer` after the search): the permutation importance of the answer,
measured where it is honest, out of fold. The answer's strategy is fitted on each training part of the
search's first CV repeat, and each fold model is scored on its own validation part with one
column shuffled at a time (scikit-learn's ``permutation_importance``): a column's importance is
the PR-AUC the answer loses without it, averaged over the folds. A model scored on rows it
trained on would credit the columns it memorised.

Row by row, :func:`row_contributions` (``predict --explain K``): a column's contribution to a
row's score is the score minus the score the same row gets on average when that column alone
is drawn from its training distribution (16 quantiles of a numeric column, the most frequent
levels of a categorical one, kept in the export instead of training rows): signed, in the
units of the score, from the deployed model itself (any model, ensembles and calibration
included), with no library beyond the model's own ``predict_proba``. The tree libraries' own
contributions (LightGBM/XGBoost ``pred_contrib``) are not used: they would explain one fold
model's margin before averaging and calibration, not the score that is deployed.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.inspection import permutation_importance

from strategy_search.scoring import threshold_free_metrics, weights_of
from strategy_search.shared_table import Table, rows
from strategy_search.task import all_class_columns, class_scores

__all__ = [
    "FeatureImportance",
    "FoldImportanceTask",
    "baselines",
    "expected_importance_seconds",
    "fold_importance",
    "importance_of",
    "row_contributions",
    "top_contributions",
]

# Shuffles of each column per fold, and the validation rows each fold model is scored on at most
# (a stratified sample beyond that: the importance is a ranking, not a benchmark).
PERMUTATION_REPEATS = 5
MAX_IMPORTANCE_ROWS = 5_000
IMPORTANCE_METRIC = "pr_auc"
# Values of a column's training distribution an explanation draws from (quantiles, or top levels).
BASELINE_VALUES = 16


@dataclass(frozen=True)
class FeatureImportance:
    """The answer's permutation importance (see the module docstring): per column, the mean and
    standard deviation over the folds of the PR-AUC lost when it is shuffled; ``skipped`` says
    why it was not measured."""

    answer_trials: tuple[int, ...]
    columns: tuple[str, ...] = ()
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    folds: int = 0
    skipped: str | None = None

    def ranked(self, limit: int | None = None) -> list[tuple[str, float, float]]:
        """``(column, mean, std)``, the most important first."""
        order = sorted(range(len(self.columns)), key=lambda i: (np.isnan(self.mean[i]), -self.mean[i]))
        return [(self.columns[i], self.mean[i], self.std[i]) for i in order[:limit]]

    def describe(self) -> str:
        if self.skipped:
            return f"feature importance not measured: {self.skipped}"
        return (
            f"permutation importance: the PR-AUC the answer loses when a column is shuffled, on each of its "
            f"{self.folds} fold models' own validation part (out of fold), mean over the folds"
        )

    def to_attr(self) -> dict[str, Any]:
        return {
            "answer_trials": list(self.answer_trials),
            "columns": list(self.columns),
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
            "folds": self.folds,
            "skipped": self.skipped,
        }

    @classmethod
    def from_attr(cls, data: Mapping[str, Any]) -> FeatureImportance:
        return cls(
            tuple(int(n) for n in data["answer_trials"]),
            tuple(str(c) for c in data.get("columns") or ()),
            tuple(float(v) for v in data.get("mean") or ()),
            tuple(float(v) for v in data.get("std") or ()),
            int(data.get("folds") or 0),
            data.get("skipped"),
        )


# -- over all rows --------------------------------------------------------------------------------
@dataclass
class FoldImportanceTask:
    """Fit ``pipeline`` on rows ``train`` and measure its permutation importance on ``validation``
    (with ``weights``, every row's: the fit and the metric weighted, as the search scored it)."""

    pipeline: Any
    X: Table
    codes: np.ndarray
    train: np.ndarray
    validation: np.ndarray
    n_classes: int
    seed: int
    weights: np.ndarray | None = None


def fold_importance(task: FoldImportanceTask) -> np.ndarray:
    """One fold's importances, one per column (the mean over :data:`PERMUTATION_REPEATS` shuffles)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and feature-name chatter of many fits
        fit_params = {} if task.weights is None else {"sample_weight": weights_of(task.weights, task.train)}
        model = clone(task.pipeline).fit(rows(task.X, task.train), task.codes[task.train], **fit_params)
        validation = _sample(task.codes, task.validation, seed=task.seed)
        X_valid = rows(task.X, validation).reset_index(drop=True)

        def score(estimator: Any, X: Any, y: Any, sample_weight: Any = None) -> float:
            probabilities = all_class_columns(estimator.classes_, estimator.predict_proba(X), task.n_classes)
            scores = class_scores(probabilities, task.n_classes)
            return threshold_free_metrics(y, scores, sample_weight)[IMPORTANCE_METRIC]

        found = permutation_importance(
            model,
            X_valid,
            task.codes[validation],
            scoring=score,
            n_repeats=PERMUTATION_REPEATS,
            random_state=task.seed,
            n_jobs=1,
            sample_weight=weights_of(task.weights, validation),
        )
    return np.asarray(found.importances_mean, dtype=float)


def _sample(codes: np.ndarray, validation: np.ndarray, *, seed: int) -> np.ndarray:
    """At most :data:`MAX_IMPORTANCE_ROWS` validation rows, each class in its share (a class
    keeps one row at least: a fold may validate a single row of the rarest class)."""
    if len(validation) <= MAX_IMPORTANCE_ROWS:
        return validation
    rng = np.random.default_rng(seed)
    kept = []
    for k in np.unique(codes[validation]):
        rows_k = validation[codes[validation] == k]
        wanted = max(1, round(MAX_IMPORTANCE_ROWS * len(rows_k) / len(validation)))
        kept.append(rng.choice(rows_k, size=min(wanted, len(rows_k)), replace=False))
    return np.sort(np.concatenate(kept))


def importance_of(
    answer_trials: Sequence[int], columns: Sequence[str], per_fold: Sequence[np.ndarray]
) -> FeatureImportance:
    stacked = np.vstack(per_fold)
    with warnings.catch_warnings():
        # A fold that validated no row of a class scores NaN: the other folds decide.
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, std = np.nanmean(stacked, axis=0), np.nanstd(stacked, axis=0)
    return FeatureImportance(
        tuple(answer_trials),
        tuple(columns),
        tuple(float(v) for v in mean),
        tuple(float(v) for v in std),
        folds=len(per_fold),
    )


def expected_importance_seconds(fit_seconds: float, *, n_columns: int, n_jobs: int) -> float:
    """A guess at the importance's cost from the answer's recorded CV fit time: the fits again,
    plus the predictions of every shuffle (a prediction taken as a tenth of a fit)."""
    return fit_seconds * (1 + 0.1 * PERMUTATION_REPEATS * n_columns) / max(n_jobs, 1)


# -- row by row ----------------------------------------------------------------------------------
def baselines(X: pd.DataFrame, categorical: Sequence[str]) -> dict[str, dict[str, list[Any]]]:
    """Each column's training distribution, as :func:`row_contributions` draws from it:
    ``values`` and their ``weights`` (summing to 1): :data:`BASELINE_VALUES` quantiles of a
    numeric column (equally likely), the most frequent levels of a categorical one with their
    shares. Plain values, kept in ``strategy.yaml``; no training row is kept."""
    found: dict[str, dict[str, list[Any]]] = {}
    for column in X.columns:
        values = X[column].dropna()
        if values.empty:
            found[str(column)] = {"values": [None], "weights": [1.0]}
        elif column in categorical:
            shares = values.astype(str).value_counts(normalize=True).head(BASELINE_VALUES)
            found[str(column)] = {
                "values": [str(v) for v in shares.index],
                "weights": [float(w) for w in shares / shares.sum()],
            }
        else:
            points = (np.arange(BASELINE_VALUES) + 0.5) / BASELINE_VALUES
            quantiles = np.quantile(values.to_numpy(dtype=float), points)
            found[str(column)] = {
                "values": [float(v) for v in quantiles],
                "weights": [1.0 / BASELINE_VALUES] * BASELINE_VALUES,
            }
    return found


def row_contributions(
    score: Any,
    X: pd.DataFrame,
    distributions: Mapping[str, Mapping[str, Sequence[Any]]],
    *,
    columns: Sequence[str],
    categorical: Sequence[str] = (),
) -> pd.DataFrame:
    """Each row's score minus its expected score when one column is drawn from its training
    distribution and the others are kept (an interventional, one-column-at-a-time attribution):
    positive when the row's own value raises its score above what that column usually gives.
    ``score(frame)`` is the deployed model's score per row (binary: the positive class's
    probability; multi-class: the predicted class's). ``categorical`` names the columns training
    read as categories: their levels are set as text even where the rows to explain hold only
    digits (a text column of ``X`` is read as categories too)."""
    own = np.asarray(score(X), dtype=float)
    found = {}
    for column in columns:
        drawn = distributions.get(column) or {"values": [None], "weights": [1.0]}
        values, weights = list(drawn["values"]), np.asarray(drawn["weights"], dtype=float)
        copies = pd.concat([X] * len(values), ignore_index=True)
        replacement = np.repeat(np.array(values, dtype=object), len(X))
        as_levels = column in categorical or not pd.api.types.is_numeric_dtype(X[column])
        copies[column] = replacement if as_levels else pd.to_numeric(replacement, errors="coerce")
        scores = np.asarray(score(copies), dtype=float).reshape(len(values), len(X))
        found[column] = own - weights @ scores
    return pd.DataFrame(found, index=X.index)


def top_contributions(contributions: pd.DataFrame, k: int) -> pd.DataFrame:
    """The ``k`` largest contributions of each row by size: columns ``explain_1_feature``,
    ``explain_1_contribution``, ... ``explain_k_*``."""
    values = contributions.to_numpy(dtype=float)
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    names = np.asarray(contributions.columns, dtype=object)
    out: dict[str, Any] = {}
    for rank in range(order.shape[1]):
        picked = order[:, rank]
        out[f"explain_{rank + 1}_feature"] = names[picked]
        out[f"explain_{rank + 1}_contribution"] = np.round(values[np.arange(len(values)), picked], 6)
    return pd.DataFrame(out, index=contributions.index)
