"""How many folds and repeats a search's CV gets: from the size of its smallest class (every
validation fold must hold one of its rows) and from the table's size (``cv.repeats: auto``)."""

from __future__ import annotations

import warnings

from strategy_search.errors import DataError

__all__ = ["AUTO_REPEAT_MAX_ROWS", "AUTO_REPEAT_ROWS", "MAX_AUTO_REPEATS", "cv_repeats_for", "effective_folds"]


def effective_folds(n_positive: int, folds: int, *, multiclass: bool = False) -> int:
    """Folds such that every validation fold holds at least one positive (multi-class: one
    row of every class; ``n_positive`` is then the smallest class's size)."""
    if multiclass and n_positive < folds:
        warnings.warn(
            f"The smallest class has only {n_positive} rows: using {max(n_positive, 2)} CV folds instead of "
            f"{folds} so that every validation fold holds a row of every class.",
            stacklevel=2,
        )
        return max(n_positive, 2)
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


# cv.repeats auto: repeat the K-fold split until about this many rows of the smallest class have
# been validated (each repeat validates every row once), at most MAX_AUTO_REPEATS times. With 17
# positives a 5-fold validation part holds 3 or 4 of them, and a trial's score is mostly the luck
# of its folds; repeats average that luck out (AutoGluon's repeated bagging in best_quality).
# Every repeat costs a whole CV, so tables beyond AUTO_REPEAT_MAX_ROWS rows take one: they hold
# enough minority rows per fold, or are too slow to fit thrice.
AUTO_REPEAT_ROWS = 100
MAX_AUTO_REPEATS = 3
AUTO_REPEAT_MAX_ROWS = 20_000


def cv_repeats_for(repeats: int | str, *, smallest_class: int, n_rows: int) -> int:
    """The repeats of the K-fold split: ``repeats`` itself, or for ``"auto"`` as many as bring
    the validated rows of the smallest class to :data:`AUTO_REPEAT_ROWS` (see there)."""
    if repeats != "auto":
        return int(repeats)
    if n_rows > AUTO_REPEAT_MAX_ROWS:
        return 1
    return int(min(MAX_AUTO_REPEATS, max(1, -(-AUTO_REPEAT_ROWS // max(smallest_class, 1)))))
