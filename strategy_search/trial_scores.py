"""Each complete trial's fold scores, stored beside its study so that any process rebuilds the
search's answer from storage alone.

What the answer needs from a trial is its validation scores on every fold and the inner scores
each fold's decision was chosen on; the folds themselves follow from the data and the CV
settings (:class:`ScoringPlan`), so only the scores are kept. They go into a table of the
study's own database (``strategy_search_trial_scores``, beside Optuna's tables, on SQLite as on
PostgreSQL), compressed, one row per trial: not into trial attributes, which every Optuna call
reads back whole. An in-memory study keeps them in memory.

A study records a fingerprint of the data, the search space and the CV settings when it is
created; a process that opens it with another one is refused, since its scores would belong to
other folds or other strategies.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy_search.errors import DataError
from strategy_search.fold_counts import cv_repeats_for, effective_folds
from strategy_search.optuna_internals import backend_of, storage_of
from strategy_search.scoring import CVResult, fold_from_scores
from strategy_search.settings import SearchSettings
from strategy_search.space import SearchSpace
from strategy_search.splits import NO_SPLIT_BY, SplitBy, inner_splits, outer_splits
from strategy_search.task import Task

TABLE = "strategy_search_trial_scores"


# -- the folds a search scores on ---------------------------------------------------------------
@dataclass(frozen=True)
class ScoringPlan:
    """The outer CV splits of a search and, for each, the inner splits its decision is chosen on;
    ``split_by`` says what they keep apart (groups, a time order; :mod:`strategy_search.splits`)."""

    codes: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    inner: list[list[tuple[np.ndarray, np.ndarray]]]
    repeats: int = 1
    split_by: SplitBy = NO_SPLIT_BY
    requested_folds: int = 0  # the folds asked of the splitter (a time split may merge blocks)
    weights: np.ndarray | None = None  # every row's weight (data.weight), for the fits and the metrics
    weight_column: str | None = None  # the weights' column, for people

    @property
    def folds(self) -> int:
        """Folds (time: splits) per repeat."""
        return len(self.splits) // self.repeats

    def describe(self) -> str:
        column = f" (column {self.weight_column!r})" if self.weight_column else ""
        weighted = (
            f"; fits, metrics and thresholds weighted by the rows' weights{column}" if self.weights is not None else ""
        )
        return self.split_by.describe(self.folds, self.repeats) + weighted

    @classmethod
    def of(
        cls,
        codes: np.ndarray,
        settings: SearchSettings,
        *,
        smallest_class: int,
        multiclass: bool,
        split_by: SplitBy = NO_SPLIT_BY,
        weights: np.ndarray | None = None,
        weight_column: str | None = None,
    ) -> ScoringPlan:
        folds = effective_folds(smallest_class, settings.cv_folds, multiclass=multiclass)
        repeats = cv_repeats_for(settings.cv_repeats, smallest_class=smallest_class, n_rows=len(codes))
        if split_by.kind == "time":
            if settings.cv_repeats not in (1, "auto"):
                warnings.warn(
                    f"cv.repeats {settings.cv_repeats} does not apply to a time-ordered CV: forward chaining has one "
                    "order, so its splits are made once.",
                    stacklevel=2,
                )
            repeats = 1  # a repeat would be the same splits
        splits = outer_splits(codes, folds=folds, repeats=repeats, seed=settings.seed, by=split_by)
        inner = [
            inner_splits(codes, train, folds=settings.threshold_folds, seed=settings.seed + i, by=split_by)
            for i, (train, _) in enumerate(splits)
        ]
        return cls(codes, splits, inner, repeats, split_by, folds, weights, weight_column)


def encode_scores(result: CVResult) -> bytes:
    """A complete CV's fold scores, compressed (what :func:`decode_scores` needs)."""
    arrays = {
        "validation": np.concatenate([f.validation_scores for f in result.folds]),
        "inner": np.concatenate([_inner(f.inner_scores, f.validation_scores) for f in result.folds]),
        "inner_lengths": np.array([len(_inner(f.inner_scores, f.validation_scores)) for f in result.folds]),
        "fit_seconds": np.array([f.fit_seconds for f in result.folds]),
    }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def _inner(scores: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return np.empty((0, *like.shape[1:])) if scores is None else scores


def decode_scores(payload: bytes, plan: ScoringPlan, settings: SearchSettings) -> CVResult:
    """The CV result :func:`encode_scores` stored, its metrics and decisions recomputed the way
    the search computed them (the same numbers)."""
    stored = np.load(io.BytesIO(payload), allow_pickle=False)
    validation, inner = stored["validation"], stored["inner"]
    lengths, seconds = stored["inner_lengths"], stored["fit_seconds"]
    folds, v_at, i_at = [], 0, 0
    for (_, rows), inner_plan, n_inner, fit_seconds in zip(plan.splits, plan.inner, lengths, seconds, strict=True):
        inner_rows = np.concatenate([b for _, b in inner_plan]) if inner_plan else np.empty(0, dtype=int)
        if len(inner_rows) != n_inner:
            raise DataError("Stored trial scores do not match this data's folds; the study belongs to other data.")
        folds.append(
            fold_from_scores(
                plan.codes,
                rows,
                validation[v_at : v_at + len(rows)],
                inner_rows,
                inner[i_at : i_at + n_inner],
                rule=settings.threshold,
                fit_seconds=float(fit_seconds),
                weights=plan.weights,
            )
        )
        v_at, i_at = v_at + len(rows), i_at + n_inner
    return CVResult(folds, list(plan.splits), len(plan.codes), rule=settings.threshold, weights=plan.weights)


# -- where they are kept ------------------------------------------------------------------------
# Scores of in-memory studies, one dict per study storage: every ScoreStore of the same study
# in this process sees the same scores, and they go away with the study.
_IN_MEMORY: weakref.WeakKeyDictionary[Any, dict[tuple[str, int], bytes]] = weakref.WeakKeyDictionary()


class ScoreStore:
    """Trial scores of one study: in a table of the study's database when its storage has a
    URL, else in this process's memory (beside the in-memory study)."""

    def __init__(self, url: str | None, study_name: str, *, memory_of: Any = None):
        self.url, self.study_name = url, study_name
        self._memory: dict[tuple[str, int], bytes] = (
            _IN_MEMORY.setdefault(memory_of, {}) if memory_of is not None else {}
        )
        self._engine: Any = None
        self._table: Any = None

    def _connect(self) -> tuple[Any, Any]:
        if self._engine is None:
            import sqlalchemy as sa

            metadata = sa.MetaData()
            self._table = sa.Table(
                TABLE,
                metadata,
                sa.Column("study_name", sa.String(512), primary_key=True),
                sa.Column("trial_number", sa.Integer, primary_key=True),
                sa.Column("scores", sa.LargeBinary, nullable=False),
            )
            self._engine = sa.create_engine(str(self.url))
            try:
                metadata.create_all(self._engine, checkfirst=True)
            except sa.exc.DatabaseError:
                # Another worker created it between the check and the CREATE: it exists now.
                metadata.create_all(self._engine, checkfirst=True)
        return self._engine, self._table

    def create_table(self) -> None:
        """Create the scores table now (no-op in memory or when it exists)."""
        if self.url is not None:
            self._connect()

    def put(self, trial_number: int, payload: bytes) -> None:
        if self.url is None:
            self._memory[(self.study_name, trial_number)] = payload
            return
        engine, table = self._connect()
        with engine.begin() as connection:
            key = (table.c.study_name == self.study_name) & (table.c.trial_number == trial_number)
            connection.execute(table.delete().where(key))
            connection.execute(
                table.insert().values(study_name=self.study_name, trial_number=trial_number, scores=payload)
            )

    def get(self, trial_numbers: Iterable[int]) -> dict[int, bytes]:
        wanted = [int(n) for n in trial_numbers]
        if self.url is None:
            return {n: self._memory[(self.study_name, n)] for n in wanted if (self.study_name, n) in self._memory}
        engine, table = self._connect()
        query = table.select().where((table.c.study_name == self.study_name) & table.c.trial_number.in_(wanted))
        with engine.connect() as connection:
            return {int(row.trial_number): bytes(row.scores) for row in connection.execute(query)}


def store_of(study: Any) -> ScoreStore:
    """The score store of an Optuna study, on whatever storage it lives."""
    storage = storage_of(study)
    return ScoreStore(storage_url(storage), study.study_name, memory_of=backend_of(storage))


def storage_url(storage: Any) -> str | None:
    """The database URL of an Optuna storage (a URL or an ``RDBStorage``, also as the cache a
    study wraps it in); None for memory."""
    if isinstance(storage, str):
        return storage
    return getattr(backend_of(storage), "url", None)


# -- fingerprints -------------------------------------------------------------------------------
def fingerprint(
    X: pd.DataFrame,
    codes: np.ndarray,
    task: Task,
    space: SearchSpace,
    settings: SearchSettings,
    split_by: SplitBy = NO_SPLIT_BY,
    weights: np.ndarray | None = None,
) -> dict[str, str]:
    """Short digests of what a study's stored scores depend on: the data (with the rows'
    weights, when given), the space, the CV."""
    rows = pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes()
    data = rows + np.asarray(codes, dtype=np.int64).tobytes() + json.dumps(list(map(str, task.classes))).encode()
    if weights is not None:  # left out of unweighted studies, whose stored digest had none
        data += b"weights" + np.asarray(weights, dtype=np.float64).tobytes()
    cv = {
        "folds": settings.cv_folds,
        "repeats": settings.cv_repeats,
        "seed": settings.seed,
        "threshold_folds": settings.threshold_folds,
        "threshold": str(settings.threshold),
    }
    if split_by.values is not None:  # left out of stratified studies, whose stored digest had no such keys
        cv.update(split=split_by.kind, gap=split_by.gap, by=_digest(np.asarray(split_by.values, np.int64).tobytes()))
    return {
        "data": _digest(data + json.dumps(list(X.columns)).encode()),
        "space": _digest(json.dumps(space.to_plain(), sort_keys=True, default=str).encode()),
        "cv": _digest(json.dumps(cv, sort_keys=True).encode()),
    }


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


_WHAT = {
    "data": "other data (rows, columns, target or row weights)",
    "space": "another search space",
    "cv": "other cross-validation settings (cv folds/repeats/groups/time/gap, seed, threshold_folds or threshold)",
}


def check_fingerprint(stored: Mapping[str, str] | None, current: Mapping[str, str], *, study_name: str) -> None:
    """Refuse to add trials to, or rebuild the answer of, a study made on something else."""
    if not stored:
        return
    differs = [key for key in _WHAT if key in stored and stored[key] != current.get(key)]
    if differs:
        raise DataError(
            f"Study {study_name!r} was searched on {' and '.join(_WHAT[k] for k in differs)}: its stored scores "
            "would not mean the same here. Use the study's own config and data, or start a new study."
        )
