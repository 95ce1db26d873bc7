"""The checked table a search works on, and what follows from it and the settings alone: the
folds (:class:`~strategy_search.trial_scores.ScoringPlan`), the fingerprint a stored study is
checked against, and the settings that have no meaning for the data's task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy_search.data import DataProfile, check_features, check_usable_features, encode_classes, profile
from strategy_search.errors import DataError, SettingsError
from strategy_search.settings import SearchSettings
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
    positive); ``profile.task`` maps them back to labels."""

    X: pd.DataFrame
    y: pd.Series
    codes: np.ndarray
    profile: DataProfile

    @property
    def task(self) -> Task:
        return self.profile.the_task


def prepare_data(X: Any, y: Any, *, positive_label: Any = None, settings: SearchSettings | None = None) -> PreparedData:
    """Check the features and the target (every check a search makes of the data) and encode
    the target's classes; with ``settings``, also refuse settings that mean nothing for the
    data's task (:func:`check_task_settings`), so a caller can refuse them before it opens any
    store."""
    X, notes = check_features(X)
    X = X.reset_index(drop=True)
    y = pd.Series(y).reset_index(drop=True)
    if len(X) != len(y):
        raise DataError(f"X has {len(X)} rows but y has {len(y)}; they must match.")
    codes, task = encode_classes(y, positive_label=positive_label)
    data_profile = profile(X, codes, task, notes=notes)
    check_usable_features(data_profile)
    prepared = PreparedData(X, y, codes, data_profile)
    if settings is not None:
        check_task_settings(settings, prepared.task)
    return prepared


def task_setting_problems(settings: SearchSettings, task: Task) -> list[tuple[str, str]]:
    """Settings that have no meaning for the data's task, as ``(setting, why)``."""
    problem = settings.threshold.multiclass_problem() if task.multiclass else None
    return [("threshold", problem)] if problem else []


def check_task_settings(settings: SearchSettings, task: Task) -> None:
    """Refuse, before any work, settings that have no meaning for the data's task."""
    problems = task_setting_problems(settings, task)
    if problems:
        raise SettingsError("; ".join(f"{name}: {why}" for name, why in problems) + ".")


def too_many_rows(data: PreparedData, settings: SearchSettings) -> bool:
    """Whether the folds train on more rows than ``expensive_row_limit`` (components tagged
    ``quadratic_in_rows`` are then left out)."""
    n_rows = len(data.codes)
    return n_rows - n_rows // settings.cv_folds > settings.expensive_row_limit


def scoring_plan(data: PreparedData, settings: SearchSettings) -> ScoringPlan:
    return ScoringPlan.of(
        data.codes, settings, smallest_class=data.profile.smallest_class_size, multiclass=data.task.multiclass
    )


def data_fingerprint(data: PreparedData, settings: SearchSettings) -> dict[str, str]:
    return fingerprint(data.X, data.codes, data.task, settings.space, settings)
