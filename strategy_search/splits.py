"""The cross-validation splits: stratified K-fold by default, grouped (``cv.groups``: a group's
rows never sit on both sides of a split) or time-ordered (``cv.time``: every validation row is
later than every training row of its split), for the search's folds, the threshold folds inside
each training part and the deployed fold models alike (one function each, so they agree).

Why groups: rows of one customer or patient are near-copies of each other; a model validated on
a customer it trained on is scored for memorising, and a resampler interpolating between a
customer's own rows looks good for it. Why time: data drifts and a model is deployed on the
future; shuffled folds let it train on next month and be judged on last month.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    RepeatedStratifiedKFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    StratifiedShuffleSplit,
)

from strategy_search.errors import DataError

__all__ = [
    "NO_SPLIT_BY",
    "SplitBy",
    "group_codes",
    "group_fold_problem",
    "inner_splits",
    "outer_splits",
    "time_key",
]

Splits = list[tuple[np.ndarray, np.ndarray]]
# A threshold holdout takes this share of the training part (the latest rows of a time split).
HOLDOUT_SHARE = 1 / 3


@dataclass(frozen=True, eq=False)
class SplitBy:
    """What the splits keep apart beyond the classes: ``groups`` (one integer code per row, see
    :func:`group_codes`) or ``time`` (one integer order key per row, see :func:`time_key`), never
    both; ``gap`` rows of a time split are left out between each training part and its validation
    block. ``column`` names the column for people."""

    groups: np.ndarray | None = None
    time: np.ndarray | None = None
    gap: int = 0
    column: str | None = None

    def __post_init__(self) -> None:
        if self.groups is not None and self.time is not None:
            raise DataError("Give groups or a time order for the CV splits, not both (cv.groups or cv.time).")

    @property
    def kind(self) -> str:
        return "group" if self.groups is not None else "time" if self.time is not None else "stratified"

    @property
    def values(self) -> np.ndarray | None:
        return self.groups if self.groups is not None else self.time

    def fit_params(self) -> dict[str, Any]:
        """What the deployed fold models' ``fit`` takes
        (:class:`~strategy_search.estimators.decision.bagged.FoldBaggedClassifier`; a time-ordered
        search deploys a refit, which takes nothing)."""
        return {} if self.groups is None else {"groups": self.groups}

    def describe(self, folds: int, repeats: int = 1) -> str:
        """``stratified 5-fold CV x 2 repeats``, ``stratified group 5-fold CV by 'customer'``, ..."""
        named = f" by {self.column!r}" if self.column else ""
        if self.kind == "time":
            gap = f", a gap of {self.gap} rows" if self.gap else ""
            return f"forward-chaining time CV{named} ({folds} splits, each validated on later rows{gap})"
        kind = "stratified group" if self.kind == "group" else "stratified"
        return f"{kind} {folds}-fold CV{named}" + (f" x {repeats} repeats" if repeats > 1 else "")


NO_SPLIT_BY = SplitBy()


# -- reading the columns ----------------------------------------------------------------------
def group_codes(values: Any, *, name: str = "groups") -> np.ndarray:
    """One integer per row, the same for rows of the same group (sorted order, so codes map to
    themselves); a missing group is refused, naming the column."""
    # Numbers stay numbers (sorted as numbers): codes read back give the same codes, so the
    # deployed fold models, which convert the search's codes again, split exactly as it did.
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    missing = int(series.isna().sum())
    if missing:
        raise DataError(
            f"Group column {name!r} has {missing} missing value(s); every row needs a group (fill them, e.g. "
            "with a group of its own per row, or drop those rows)."
        )
    codes, _ = pd.factorize(series.astype(str) if series.dtype == object else series, sort=True)
    return codes.astype(np.int64)


def time_key(values: Any, *, name: str = "time") -> np.ndarray:
    """One integer per row giving its place in time (equal times, equal keys): from numbers, or
    from dates and times (text such as ``2024-03-01`` or ``2024-03-01 12:00``)."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    missing = int(series.isna().sum())
    if missing:
        raise DataError(
            f"Time column {name!r} has {missing} missing value(s); every row needs a time (drop those rows)."
        )
    if pd.api.types.is_bool_dtype(series) or not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)
    ):
        parsed = pd.to_datetime(series, errors="coerce", format="mixed")
        bad = series[parsed.isna()]
        if len(bad):
            raise DataError(
                f"Time column {name!r} holds {len(bad)} value(s) that are neither numbers nor dates, e.g. "
                f"{bad.iloc[0]!r}; give dates (2024-03-01, 2024-03-01 12:00) or ordered numbers."
            )
        series = parsed
    ordered = series.to_numpy()
    if np.issubdtype(ordered.dtype, np.floating) and not np.isfinite(ordered).all():
        raise DataError(f"Time column {name!r} holds +/-inf; give finite times.")
    return np.unique(ordered, return_inverse=True)[1].astype(np.int64)


# -- outer splits -----------------------------------------------------------------------------
def outer_splits(codes: np.ndarray, *, folds: int, repeats: int, seed: int, by: SplitBy = NO_SPLIT_BY) -> Splits:
    """The CV splits (row indices): stratified (repeated) K-fold; with groups, stratified group
    K-fold, each repeat shuffling the groups with its own seed; with a time order, forward
    chaining (repeats do not apply). The same arguments give the same splits."""
    codes = np.asarray(codes, dtype=int)
    if by.groups is not None:
        return _group_splits(codes, by.groups, folds=folds, repeats=repeats, seed=seed, column=by.column)
    if by.time is not None:
        return time_splits(codes, by.time, folds=folds, gap=by.gap, column=by.column)
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    return list(splitter.split(np.zeros(len(codes)), codes))


def group_fold_problem(codes: np.ndarray, groups: np.ndarray, *, folds: int, column: str | None = None) -> str | None:
    """Why ``folds`` grouped folds cannot each validate every class, or None: a class held by
    fewer groups than folds leaves some validation fold without it."""
    codes = np.asarray(codes, dtype=int)
    named = f"cv.groups {column!r}" if column else "groups"
    n_groups = len(np.unique(groups))
    if n_groups < folds:
        return f"{named} has {n_groups} group(s), fewer than the {folds} CV folds; set cv.folds to {n_groups} or fewer"
    holding = [len(np.unique(groups[codes == k])) for k in range(int(codes.max()) + 1)]
    rarest = int(np.argmin(holding))
    if holding[rarest] < folds:
        what = "the minority class" if len(holding) == 2 else f"class code {rarest}"
        fewer = f"set cv.folds to {holding[rarest]} or fewer" if holding[rarest] >= 2 else "the CV needs two at least"
        return f"only {holding[rarest]} group(s) of {named} hold {what}, fewer than the {folds} CV folds; {fewer}"
    return None


def _group_splits(
    codes: np.ndarray, groups: np.ndarray, *, folds: int, repeats: int, seed: int, column: str | None
) -> Splits:
    problem = group_fold_problem(codes, groups, folds=folds, column=column)
    if problem:
        raise DataError(problem[0].upper() + problem[1:] + ".")
    splits: Splits = []
    for repeat in range(repeats):
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed + repeat)
        splits += list(splitter.split(np.zeros(len(codes)), codes, groups))
    return splits


def time_splits(codes: np.ndarray, time: np.ndarray, *, folds: int, gap: int = 0, column: str | None = None) -> Splits:
    """Forward chaining: the rows in time order cut into ``folds + 1`` blocks of about equal
    size (rows of equal time in one block); split ``i`` trains on blocks ``0 .. i`` (less the
    last ``gap`` rows) and validates on block ``i + 1``. A block without a row of the rarest
    class is merged with the next one (the last with the one before), with a warning, since a
    validation block without it scores nothing; fewer than two splits left is refused."""
    codes = np.asarray(codes, dtype=int)
    order = np.argsort(time, kind="stable")
    cut = _time_blocks(time[order], folds + 1)
    blocks = _merged_blocks(codes[order], cut)
    named = f"cv.time {column!r}" if column else "the time order"
    if len(blocks) - 1 < folds:
        causes = []
        if len(cut) < folds + 1:
            causes.append(f"equal times keep the rows of {named} in {len(cut)} time blocks, not {folds + 1}")
        if len(blocks) < len(cut):
            causes.append(
                f"{len(cut) - len(blocks)} of the {len(cut)} time blocks of {named} held no row of the rarest class "
                "and were merged with their neighbours"
            )
        message = "; ".join(causes) + f": {len(blocks) - 1} forward-chaining split(s) instead of {folds}."
        message = message[0].upper() + message[1:]
        if len(blocks) < 3:
            why = "too few distinct times" if len(cut) < 3 else "the rarest class is too rare, or too bunched in time"
            raise DataError(message + f" Two are needed at least: {why}.")
        warnings.warn(message, stacklevel=2)
    splits: Splits = []
    for start, end in blocks[1:]:
        train = order[: max(start - gap, 0)]
        if not (codes[train] == np.bincount(codes).argmin()).any():
            raise DataError(
                f"With cv.gap {gap}, a training part of {named} holds no row of the rarest class; make cv.gap smaller."
            )
        splits.append((train, order[start:end]))
    return splits


def _time_blocks(sorted_time: np.ndarray, n_blocks: int) -> list[tuple[int, int]]:
    """``n_blocks`` (start, end) ranges of about equal length; a cut never falls between equal times."""
    n = len(sorted_time)
    cuts: list[int] = []
    for k in range(1, n_blocks):
        at = round(k * n / n_blocks)
        # Move the cut to the first row of the next time, so equal times stay in one block.
        at = int(np.searchsorted(sorted_time, sorted_time[at - 1], side="right")) if 0 < at < n else at
        if (not cuts or at > cuts[-1]) and at < n:
            cuts.append(at)
    edges = [0, *cuts, n]
    return list(itertools.pairwise(edges))


def _merged_blocks(sorted_codes: np.ndarray, blocks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    rarest = np.bincount(sorted_codes).argmin()
    merged: list[tuple[int, int]] = []
    carry: int | None = None  # the start of blocks waiting to be merged into the next one
    for start, end in blocks:
        start = start if carry is None else carry
        if (sorted_codes[start:end] == rarest).any():
            merged.append((start, end))
            carry = None
        else:
            carry = start
    if carry is not None and merged:
        merged[-1] = (merged[-1][0], len(sorted_codes))
    return merged


# -- the threshold's splits inside a training part --------------------------------------------
def inner_splits(codes: np.ndarray, train: np.ndarray, *, folds: int, seed: int, by: SplitBy = NO_SPLIT_BY) -> Splits:
    """Splits *within* ``train`` (as row indices of the full data) for choosing the threshold:
    ``folds >= 2`` gives K-fold out-of-fold predictions, ``1`` a single holdout of a third of
    the rows, ``0`` (or a part too small to split) none, i.e. threshold 0.5. With groups, they
    are grouped; with a time order, the holdout is the latest third and K folds chain forward,
    so the threshold is chosen on rows later than the ones their model learnt from."""
    codes = np.asarray(codes, dtype=int)
    y_train = codes[train]
    smallest_class = int(np.bincount(y_train, minlength=max(int(codes.max()) + 1, 2)).min())
    if folds < 1 or smallest_class < 2:
        return []
    if by.time is not None:
        return _time_inner(codes, train, by, folds=folds)
    if by.groups is not None:
        return _group_inner(y_train, train, by.groups[train], folds=folds, seed=seed)
    if folds == 1:
        splitter: Any = StratifiedShuffleSplit(n_splits=1, test_size=_holdout_size(y_train), random_state=seed)
    else:
        splitter = StratifiedKFold(min(folds, smallest_class), shuffle=True, random_state=seed)
    return [(train[a], train[b]) for a, b in splitter.split(np.zeros(len(train)), y_train)]


def _holdout_size(y_train: np.ndarray) -> float | int:
    """The threshold holdout's share of a training part, or, where a third of it cannot hold a row
    of every class (many classes in few rows: 50 classes in 134 rows), one row of each."""
    n_classes = len(np.unique(y_train))
    return HOLDOUT_SHARE if np.ceil(HOLDOUT_SHARE * len(y_train)) >= n_classes else n_classes


def _group_inner(y_train: np.ndarray, train: np.ndarray, groups: np.ndarray, *, folds: int, seed: int) -> Splits:
    holding = min(len(np.unique(groups[y_train == k])) for k in np.unique(y_train))
    n_splits = round(1 / HOLDOUT_SHARE) if folds == 1 else min(folds, holding)
    if holding < 2 or n_splits > holding:
        return []
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    found = [(train[a], train[b]) for a, b in splitter.split(np.zeros(len(train)), y_train, groups)]
    return found[:1] if folds == 1 else found


def _time_inner(codes: np.ndarray, train: np.ndarray, by: SplitBy, *, folds: int) -> Splits:
    assert by.time is not None
    order = train[np.argsort(by.time[train], kind="stable")]
    if folds == 1:
        cut = _time_blocks(by.time[order], round(1 / HOLDOUT_SHARE))[-1][0]
        fit, holdout = order[: max(cut - by.gap, 0)], order[cut:]
        both = all(len(np.unique(codes[part])) == len(np.unique(codes[train])) for part in (fit, holdout))
        return [(fit, holdout)] if both and len(fit) else []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # merged inner blocks only mean fewer inner splits
            found = time_splits(codes[order], by.time[order], folds=folds, gap=by.gap)
    except DataError:
        return []
    return [(order[a], order[b]) for a, b in found]
