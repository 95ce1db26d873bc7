"""The checked table a search works on, and what follows from it and the settings alone: the
folds (:class:`~strategy_search.trial_scores.ScoringPlan`), the fingerprint a stored study is
checked against, and the settings that have no meaning for the data's task."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from strategy_search.data import DataProfile, check_features, check_usable_features, encode_classes, profile
from strategy_search.errors import DataError, SettingsError, WeightError
from strategy_search.settings import SearchSettings, spec_of
from strategy_search.splits import SplitBy, group_codes, group_fold_problem, time_key
from strategy_search.task import Task
from strategy_search.trial_scores import ScoringPlan, fingerprint

__all__ = [
    "PreparedData",
    "check_task_settings",
    "data_fingerprint",
    "prepare_data",
    "scoring_plan",
    "task_setting_problems",
    "too_many_rows",
]


@dataclass
class PreparedData:
    """The checked table: ``codes`` are the target's class codes (0/1 for a binary target, 1 =
    positive); ``profile.task`` maps them back to labels. ``groups`` (group codes) or ``time``
    (order keys), when given, shape the CV splits (:mod:`strategy_search.splits`);
    ``split_column`` names their column for people. ``weights`` (one non-negative number per
    row, ``data.weight``) go to every fit as ``sample_weight`` and weigh every metric;
    ``weight_column`` names their column."""

    X: pd.DataFrame
    y: pd.Series
    codes: np.ndarray
    profile: DataProfile
    groups: np.ndarray | None = None
    time: np.ndarray | None = None
    split_column: str | None = None
    weights: np.ndarray | None = None
    weight_column: str | None = None

    @property
    def task(self) -> Task:
        return self.profile.the_task

    def split_by(self, settings: SearchSettings) -> SplitBy:
        return SplitBy(groups=self.groups, time=self.time, gap=settings.cv_gap, column=self.split_column)


def prepare_data(
    X: Any,
    y: Any,
    *,
    positive_label: Any = None,
    settings: SearchSettings | None = None,
    groups: Any = None,
    time: Any = None,
    split_column: str | None = None,
    sample_weight: Any = None,
    weight_column: str | None = None,
) -> PreparedData:
    """Check the features and the target (every check a search makes of the data) and encode
    the target's classes; ``groups`` (a group per row) or ``time`` (a date, time or ordered
    number per row) make the CV grouped or time-ordered (``split_column`` names their column in
    messages). ``sample_weight`` (a non-negative number per row; ``weight_column`` names it in
    messages) weighs every fit and metric (:func:`row_weights_of`). With ``settings``, also
    refuse settings that mean nothing for the data's task or its split
    (:func:`check_task_settings`), so a caller can refuse them before it opens any store."""
    X, notes = check_features(X)
    X = X.reset_index(drop=True)
    y = pd.Series(y).reset_index(drop=True)
    if len(X) != len(y):
        raise DataError(f"X has {len(X)} rows but y has {len(y)}; they must match.")
    if groups is not None and time is not None:
        raise DataError("Give groups or time for the CV splits, not both (cv.groups or cv.time).")
    for what, values in (("groups", groups), ("time", time)):
        if values is not None and len(values) != len(y):
            raise DataError(f"{what} has {len(values)} values but the table has {len(y)} rows; give one per row.")
    codes, task = encode_classes(y, positive_label=positive_label)
    data_profile = profile(X, codes, task, notes=notes)
    check_usable_features(data_profile)
    name = split_column or ("groups" if groups is not None else "time")
    prepared = PreparedData(
        X,
        y,
        codes,
        data_profile,
        groups=None if groups is None else group_codes(_values(groups), name=name),
        time=None if time is None else time_key(_values(time), name=name),
        split_column=split_column,
        weights=None
        if sample_weight is None
        else row_weights_of(_values(sample_weight), codes, name=weight_column, classes=list(task.classes)),
        weight_column=weight_column,
    )
    if settings is not None:
        check_task_settings(settings, prepared)
    return prepared


def row_weights_of(
    values: Any, codes: np.ndarray, *, name: str | None = None, classes: list[Any] | None = None
) -> np.ndarray:
    """The rows' weights as floats, refused (naming the column) unless one finite number >= 0
    per row and every class has a positive total: a class whose rows all weigh 0 could be
    neither learned nor scored."""
    what = f"The weight column {name!r}" if name else "sample_weight"
    series = pd.Series(values if isinstance(values, pd.Series) else np.asarray(values)).reset_index(drop=True)
    if len(series) != len(codes):
        raise WeightError(f"{what} has {len(series)} values but the table has {len(codes)} rows; give one per row.")
    numbers = pd.to_numeric(series, errors="coerce")
    bad = series[~np.isfinite(numbers.astype(float)) | (numbers < 0)]  # NaN: missing or not a number
    if len(bad):
        shown = ", ".join(f"row {i}: {v!r}" for i, v in list(bad.items())[:5])
        raise WeightError(
            f"{what} must hold a finite number >= 0 on every row; {len(bad)} rows do not ({shown}). "
            "Fill or drop those rows, or give no weights."
        )
    weights = numbers.to_numpy(dtype=float)
    if not weights.sum() > 0:
        raise WeightError(f"{what} sums to zero (every row weighs 0); each class needs rows of positive weight.")
    totals = np.bincount(codes, weights=weights, minlength=int(codes.max()) + 1)
    if (totals <= 0).any():
        zero = [classes[k] if classes else k for k in np.flatnonzero(totals <= 0)]
        raise WeightError(f"{what}: every row of the class(es) {zero} weighs 0; each class needs some weight.")
    return weights


def _values(values: Any) -> Any:
    return values.reset_index(drop=True) if isinstance(values, pd.Series) else values


def task_setting_problems(settings: SearchSettings, data: PreparedData) -> list[tuple[str, str]]:
    """Settings that have no meaning for the data's task or its CV split, as ``(setting, why)``
    (``setting`` is the settings field's name)."""
    problem = settings.threshold.multiclass_problem() if data.task.multiclass else None
    problems = [("threshold", problem)] if problem else []
    if settings.cv_gap and data.time is None:
        problems.append(("cv_gap", f"is {settings.cv_gap}, but a gap applies only to a time-ordered CV (cv.time)"))
    if data.groups is not None:
        folds = min(settings.cv_folds, data.profile.smallest_class_size)
        found = group_fold_problem(data.codes, data.groups, folds=folds, column=data.split_column)
        if found:
            problems.append(("cv_folds", found))
    return problems


def check_task_settings(settings: SearchSettings, data: PreparedData) -> None:
    """Refuse, before any work, settings that have no meaning for the data's task or split."""
    problems = task_setting_problems(settings, data)
    if problems:
        keys = {f.name: spec_of(f).config for f in fields(SearchSettings)}
        raise SettingsError("; ".join(f"{name} ({keys[name]}): {why}" for name, why in problems) + ".")


def too_many_rows(data: PreparedData, settings: SearchSettings) -> bool:
    """Whether the folds train on more rows than ``expensive_row_limit`` (components tagged
    ``quadratic_in_rows`` are then left out)."""
    n_rows = len(data.codes)
    return n_rows - n_rows // settings.cv_folds > settings.expensive_row_limit


def scoring_plan(data: PreparedData, settings: SearchSettings) -> ScoringPlan:
    return ScoringPlan.of(
        data.codes,
        settings,
        smallest_class=data.profile.smallest_class_size,
        multiclass=data.task.multiclass,
        split_by=data.split_by(settings),
        weights=data.weights,
        weight_column=data.weight_column,
    )


def data_fingerprint(data: PreparedData, settings: SearchSettings) -> dict[str, str]:
    return fingerprint(data.X, data.codes, data.task, settings.space, settings, data.split_by(settings), data.weights)
