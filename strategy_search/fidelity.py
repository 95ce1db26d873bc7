"""Multi-fidelity scoring: cheap evaluations first, full ones only for the promising.

On a big table most strategies can be told apart long before they are fitted on every row.
With fidelities on, a trial is first cross-validated with each fold's *training* part cut to a
fraction of its rows (every row of the smallest class kept, the others subsampled), then on a
larger fraction, and so on up to the full CV that every answer is scored by. After each rung
Optuna's successive-halving rule (``SuccessiveHalvingPruner``, reduction factor :data:`ETA`)
keeps going only the trials in the top third of those that reached the rung.

Why scores stay comparable: only training rows are subsampled. Every rung predicts the same,
full validation folds, with their true class shares, and the pruning metric (PR-AUC or
ROC-AUC) depends only on the order of the scores, not on how a model trained on fewer
negatives shifted its probabilities. The subsamples are the same for every trial (one seed
per fold) and nested (a larger fraction keeps a superset), so a rung compares like with like.
Lower rungs choose no threshold; the full rung is the ordinary CV, so only full-fidelity
trials complete, and only they can be part of the answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Splits = list[tuple[np.ndarray, np.ndarray]]

# Each rung keeps a third of the rows of the next and a third of the trials that reach it.
ETA = 3
# "auto" turns fidelities on when a fold's training part has at least this many rows: below it
# a full CV costs little more than the rungs' overheads.
AUTO_MIN_ROWS = 50_000
# The lowest rung keeps at least this many training rows ("on" on a small table: ON_MIN_ROWS).
MIN_RUNG_ROWS = 5_000
ON_MIN_ROWS = 200
# Rungs below the full CV, at most.
MAX_LOW_RUNGS = 3
FIDELITY_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class Fidelities:
    """The rungs below the full CV: ``fractions`` (ascending, each < 1) and, for each, the
    outer splits with subsampled training parts and the full validation folds."""

    fractions: tuple[float, ...] = ()
    splits: tuple[Splits, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.fractions)

    def step(self, rung: int) -> int:
        """The Optuna step of rung ``rung`` (the full CV is rung ``len(fractions)``): the
        resource as the successive-halving pruner counts it, ``ETA ** rung``."""
        return int(ETA**rung)


def fractions_for(n_train_rows: int, *, min_rows: int) -> tuple[float, ...]:
    """Fractions 1/ETA, 1/ETA^2, ... (ascending) whose subsample keeps ``min_rows`` rows."""
    fractions: list[float] = []
    fraction = 1.0 / ETA
    while len(fractions) < MAX_LOW_RUNGS and n_train_rows * fraction >= min_rows:
        fractions.append(fraction)
        fraction /= ETA
    return tuple(sorted(fractions))


def subsample(codes: np.ndarray, train: np.ndarray, fraction: float, *, seed: int) -> np.ndarray:
    """The rows of ``train`` kept at ``fraction``: every row of its smallest class, and of each
    other class that fraction of its rows (never fewer than the smallest class has). The same
    seed gives nested subsamples: each class's rows are taken from one fixed permutation."""
    rng = np.random.default_rng(seed)
    labels = codes[train]
    counts = np.bincount(labels)
    smallest = int(counts[counts > 0].min())
    kept = []
    for label in np.flatnonzero(counts):
        rows = train[labels == label]
        order = rng.permutation(len(rows))  # drawn for every class, so later classes get the same stream
        n = len(rows) if len(rows) == smallest else min(len(rows), max(smallest, math.ceil(len(rows) * fraction)))
        kept.append(rows[order[:n]])
    return np.sort(np.concatenate(kept))


def plan_fidelities(
    codes: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]], *, mode: str, seed: int
) -> Fidelities:
    """The rungs for ``mode`` ("auto": only from :data:`AUTO_MIN_ROWS` training rows; "on":
    whenever a subsample keeps :data:`ON_MIN_ROWS` rows; "off": none)."""
    if mode == "off" or not splits:
        return Fidelities()
    n_train = min(len(train) for train, _ in splits)
    if mode == "auto" and n_train < AUTO_MIN_ROWS:
        return Fidelities()
    fractions = fractions_for(n_train, min_rows=MIN_RUNG_ROWS if mode == "auto" else ON_MIN_ROWS)
    rung_splits = tuple(
        [(subsample(codes, train, f, seed=seed + i), validation) for i, (train, validation) in enumerate(splits)]
        for f in fractions
    )
    return Fidelities(fractions, rung_splits)
