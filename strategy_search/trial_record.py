"""What a trial stores, in one place: the names of its Optuna attributes, the functions that
write them, and :class:`TrialRecord`, the typed view every reader goes through.

A trial's attributes live in the Optuna storage (so any process reads them: a worker on another
machine, ``export``, ``report``); no module outside this one names an attribute as a string.
The study-level attributes (the budget, the answer, the fingerprint...) are named here too, in
:class:`StudyAttr`, so that one list says what a study keeps beside its trials.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

AnyTrial = FrozenTrial | optuna.Trial


class TrialAttr(StrEnum):
    """Every attribute a trial may carry."""

    STRATEGY = "strategy"  # the strategy as built (plain data; with its deployed threshold once scored)
    THRESHOLD = "threshold"  # the deployed decision: a threshold, or per-class weights
    METRICS = "metrics"  # CV means
    METRICS_STD = "metrics_std"
    CLASS_METRICS = "class_metrics"  # multi-class: each class's CV metrics, in class-code order
    FOLD_METRICS = "fold_metrics"
    FOLD_THRESHOLDS = "fold_thresholds"
    FIT_SECONDS = "fit_seconds"
    NOTES = "notes"  # fold number (as text) -> what a component adapted on that fold
    RUNG_METRICS = "rung_metrics"  # multi-fidelity: the threshold-free means of each rung reached
    FIDELITY = "fidelity"  # the share of each training part the trial reached
    STOPPED = "stopped"  # why a trial was pruned or cut (not a failure)
    FAIL_REASON = "fail_reason"
    TRACEBACK = "traceback"
    PORTFOLIO = "portfolio"  # the portfolio entry's name, for a queued portfolio trial
    PORTFOLIO_PARAMS = "portfolio_params"  # the only parameters a portfolio trial asks for
    SURPLUS = "surplus"  # asked for after the budget's last place: closed without running
    RETRY_OF = "retry_of"  # the dead worker's trial this one retries


class StudyAttr(StrEnum):
    """Every attribute the engine stores on a study."""

    TASK = "task"
    FINGERPRINT = "fingerprint"
    BUDGET = "budget"
    LEFT_OUT = "left_out"  # components the table's size ruled out ("slot key" -> why)
    ENSEMBLE = "ensemble"  # the answer's ensemble (None: the best trial answers alone)
    DO_NOTHING = "do_nothing"
    CALIBRATION = "calibration"  # the answer's probability map, with the answer's trials it was fitted for
    IMPORTANCE = "feature_importance"  # the answer's permutation importance, with its answer's trials
    ANSWER_OOF = "answer_oof"  # written by versions before the score store; read for their studies
    CONFIG_NAME = "config_name"
    CREATED_AT = "created_at"
    MLFLOW_PARENT_RUN = "mlflow_parent_run_id"
    HOLDER = "holder"  # the process searching a SQLite study: host, pid and its start time


# What a retry keeps of the dead trial's attributes: how to replay it, not what it measured.
REPLAYED = (TrialAttr.PORTFOLIO, TrialAttr.PORTFOLIO_PARAMS)


def _get(attrs: Mapping[str, Any], attr: TrialAttr, default: Any = None) -> Any:
    value = attrs.get(attr.value)
    return default if value is None else value


@dataclass(frozen=True)
class TrialRecord:
    """A trial's stored attributes, typed (absent ones empty or None)."""

    number: int
    state: TrialState
    params: dict[str, Any]
    strategy: dict[str, Any]
    threshold: Any
    metrics: dict[str, float]
    metrics_std: dict[str, float]
    class_metrics: dict[str, list[float]]
    fold_metrics: list[dict[str, float]]
    fold_thresholds: list[Any]
    fit_seconds: float | None  # summed over the trial's fits (None: it fitted nothing to the end)
    notes: dict[str, dict[str, Any]]
    rung_metrics: list[dict[str, float]]
    fidelity: float | None
    stopped: str | None
    fail_reason: str | None
    traceback: str | None
    portfolio: str | None
    portfolio_params: list[str] | None
    surplus: bool
    retry_of: int | None
    duration_seconds: float | None = field(default=None)

    @classmethod
    def of(cls, trial: AnyTrial) -> TrialRecord:
        state, duration = TrialState.RUNNING, None  # a live trial is running and has no duration yet
        if isinstance(trial, FrozenTrial):
            state, duration = trial.state, trial.duration
        # Once: a live trial reads its attributes from the storage at every access.
        attrs, params = trial.user_attrs, trial.params
        return cls(
            number=trial.number,
            state=state,
            params=dict(params),
            strategy=dict(_get(attrs, TrialAttr.STRATEGY, {})),
            threshold=_get(attrs, TrialAttr.THRESHOLD),
            metrics=dict(_get(attrs, TrialAttr.METRICS, {})),
            metrics_std=dict(_get(attrs, TrialAttr.METRICS_STD, {})),
            class_metrics=dict(_get(attrs, TrialAttr.CLASS_METRICS, {})),
            fold_metrics=list(_get(attrs, TrialAttr.FOLD_METRICS, [])),
            fold_thresholds=list(_get(attrs, TrialAttr.FOLD_THRESHOLDS, [])),
            fit_seconds=_get(attrs, TrialAttr.FIT_SECONDS),
            notes=dict(_get(attrs, TrialAttr.NOTES, {})),
            rung_metrics=list(_get(attrs, TrialAttr.RUNG_METRICS, [])),
            fidelity=_get(attrs, TrialAttr.FIDELITY),
            stopped=_get(attrs, TrialAttr.STOPPED) or None,
            fail_reason=_get(attrs, TrialAttr.FAIL_REASON) or None,
            traceback=_get(attrs, TrialAttr.TRACEBACK) or None,
            portfolio=_get(attrs, TrialAttr.PORTFOLIO),
            portfolio_params=_get(attrs, TrialAttr.PORTFOLIO_PARAMS),
            surplus=bool(_get(attrs, TrialAttr.SURPLUS)),
            retry_of=_retry_number(attrs),
            duration_seconds=duration.total_seconds() if duration is not None else None,
        )

    def metric(self, name: str) -> float:
        """The CV mean of ``name`` (NaN when the trial has none)."""
        return float(self.metrics.get(name, math.nan))

    @property
    def model(self) -> str:
        """The trial's model key, from its strategy (not params: a space with one model never asks)."""
        return str(self.strategy["model"])


# Read on every budget check or ranking, for every trial: one attribute, not a whole record.
def retry_of(trial: AnyTrial) -> int | None:
    """The dead worker's trial this one retries, or None."""
    return _retry_number(trial.user_attrs)


def _retry_number(attrs: Mapping[str, Any]) -> int | None:
    number = _get(attrs, TrialAttr.RETRY_OF)
    return None if number is None else int(number)


def was_surplus(trial: AnyTrial) -> bool:
    return bool(_get(trial.user_attrs, TrialAttr.SURPLUS))


def metric_of(trial: AnyTrial, name: str) -> float:
    """The trial's CV mean of ``name`` (NaN when it has none)."""
    return float(_get(trial.user_attrs, TrialAttr.METRICS, {}).get(name, math.nan))


# -- writers ----------------------------------------------------------------------------------
def record_scores(
    trial: optuna.Trial,
    *,
    strategy: Mapping[str, Any],
    threshold: Any,
    metrics: Mapping[str, float],
    metrics_std: Mapping[str, float],
    class_metrics: Mapping[str, list[float]],
    fold_metrics: Sequence[Mapping[str, float]],
    fold_thresholds: Sequence[Any],
    fit_seconds: float,
    notes: Mapping[str, Mapping[str, Any]],
) -> None:
    """What a scored trial keeps: its strategy, decision and CV metrics (one write per trial)."""
    trial.set_user_attr(TrialAttr.STRATEGY.value, dict(strategy))
    trial.set_user_attr(TrialAttr.THRESHOLD.value, threshold)
    trial.set_user_attr(TrialAttr.METRICS.value, dict(metrics))
    if class_metrics:
        trial.set_user_attr(TrialAttr.CLASS_METRICS.value, dict(class_metrics))
    trial.set_user_attr(TrialAttr.METRICS_STD.value, dict(metrics_std))
    trial.set_user_attr(TrialAttr.FOLD_METRICS.value, [dict(m) for m in fold_metrics])
    trial.set_user_attr(TrialAttr.FOLD_THRESHOLDS.value, list(fold_thresholds))
    trial.set_user_attr(TrialAttr.FIT_SECONDS.value, fit_seconds)
    if notes:
        trial.set_user_attr(TrialAttr.NOTES.value, dict(notes))


def record_strategy(trial: optuna.Trial, strategy: Mapping[str, Any]) -> None:
    """What a trial tried, when it ends without scores."""
    trial.set_user_attr(TrialAttr.STRATEGY.value, dict(strategy))


def record_stop(trial: optuna.Trial, why: str) -> None:
    trial.set_user_attr(TrialAttr.STOPPED.value, why)


def record_failure(trial: optuna.Trial, reason: str, *, traceback: str | None = None) -> None:
    trial.set_user_attr(TrialAttr.FAIL_REASON.value, reason)
    if traceback is not None:
        trial.set_user_attr(TrialAttr.TRACEBACK.value, traceback)


def record_rungs(trial: optuna.Trial, rungs: Sequence[Mapping[str, float]], *, fidelity: float) -> None:
    trial.set_user_attr(TrialAttr.RUNG_METRICS.value, [dict(r) for r in rungs])
    record_fidelity(trial, fidelity)


def record_fidelity(trial: optuna.Trial, fidelity: float) -> None:
    trial.set_user_attr(TrialAttr.FIDELITY.value, fidelity)


def record_surplus(trial: optuna.Trial, why: str) -> None:
    trial.set_user_attr(TrialAttr.SURPLUS.value, why)


def portfolio_attrs(name: str, params: Sequence[str]) -> dict[str, Any]:
    """The attributes a queued portfolio trial starts with."""
    return {TrialAttr.PORTFOLIO.value: name, TrialAttr.PORTFOLIO_PARAMS.value: list(params)}


def retry_attrs(trial: FrozenTrial) -> dict[str, Any]:
    """The attributes the retry of a dead worker's ``trial`` starts with."""
    kept = {k: v for k, v in trial.user_attrs.items() if k in REPLAYED}
    return {**kept, TrialAttr.RETRY_OF.value: trial.number}


def close_as_interrupted(
    storage: optuna.storages.BaseStorage, study_id: int, number: int, *, strategy: Mapping[str, Any] | None
) -> None:
    """Mark the trial of a process that died as interrupted, with the ``strategy`` it was trying
    when known, through the storage (the trial object of a dead process is gone)."""
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
    reason = "interrupted: the process running it ended without closing it (killed?); retried once"
    storage.set_trial_user_attr(trial_id, TrialAttr.FAIL_REASON.value, reason)
    if strategy is not None:
        storage.set_trial_user_attr(trial_id, TrialAttr.STRATEGY.value, dict(strategy))


# -- study attributes ---------------------------------------------------------------------------
def study_attr(study: optuna.Study, attr: StudyAttr, default: Any = None) -> Any:
    value = study.user_attrs.get(attr.value)
    return default if value is None else value


def set_study_attr(study: optuna.Study, attr: StudyAttr, value: Any) -> None:
    study.set_user_attr(attr.value, value)


def summary_attr(summary: Any, attr: StudyAttr, default: Any = None) -> Any:
    """A study attribute read from an ``optuna.study.StudySummary`` (no study opened)."""
    value = summary.user_attrs.get(attr.value)
    return default if value is None else value
