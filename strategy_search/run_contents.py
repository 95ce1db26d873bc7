"""What a search's MLflow runs hold, as plain values: a trial run's name, params, tags and
metrics (``(name, value, step)``), and the data profile's params. :mod:`strategy_search.tracking`
turns them into MLflow entities and writes them; kept apart so that what is logged can be read
and tested without MLflow."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from strategy_search.data import DataProfile
from strategy_search.strategy import Strategy
from strategy_search.trial_record import TrialRecord

__all__ = [
    "MetricValue",
    "class_metric_name",
    "class_metric_values",
    "metric_values",
    "profile_params",
    "trial_metric_values",
    "trial_params",
    "trial_run_name",
    "trial_tags",
]

MetricValue = tuple[str, float, int]  # name, value, step


def _finite(value: Any) -> bool:
    # NaN/inf are not stored: a metric that could not be computed is absent, not 'nan'.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def metric_values(values: Mapping[str, Any], *, prefix: str = "", suffix: str = "", step: int = 0) -> list[MetricValue]:
    return [(f"{prefix}{name}{suffix}", float(value), step) for name, value in values.items() if _finite(value)]


def trial_params(trial: FrozenTrial) -> dict[str, Any]:
    """The strategy's slots and every namespaced hyperparameter, fixed ones included.

    The recorded strategy has the values the pipeline was built with (fixed parameters of the
    space are not Optuna params); ``trial.params`` covers a trial that failed before it."""
    strategy = TrialRecord.of(trial).strategy
    params = Strategy.from_dict(strategy).flat_params() if strategy else {}
    params.update(trial.params)
    return params


def class_metric_name(metric: str, label: Any) -> str:
    """``pr_auc/class_<label>``: the MLflow UI groups a multi-class search's per-class metrics
    by the part before the slash. Characters MLflow refuses in a name become ``_``."""
    return f"{metric}/class_{re.sub(r'[^0-9A-Za-z_. -]', '_', str(label))}"


def class_metric_values(
    class_metrics: Mapping[str, Sequence[float]], decision: Any, classes: Sequence[Any]
) -> list[MetricValue]:
    """Each class's CV metrics and, for a multi-class decision, its weight."""
    values = {
        class_metric_name(name, label): value
        for name, column in class_metrics.items()
        for label, value in zip(classes, column, strict=False)
    }
    if isinstance(decision, list | tuple):
        values.update({class_metric_name("weight", label): w for label, w in zip(classes, decision, strict=False)})
    return metric_values(values)


def trial_metric_values(trial: FrozenTrial, *, classes: Sequence[Any] = ()) -> list[MetricValue]:
    """A trial's metrics; ``classes`` (the labels of a multi-class task, in code order) name
    its per-class metrics."""
    record = TrialRecord.of(trial)
    values = metric_values(record.metrics)
    values += class_metric_values(record.class_metrics, record.threshold, classes)
    values += metric_values(record.metrics_std, suffix="_std")
    for fold, fold_values in enumerate(record.fold_metrics):
        values += metric_values(fold_values, prefix="fold_", step=fold)
    for fold, threshold in enumerate(record.fold_thresholds):
        if isinstance(threshold, list):  # multi-class: a weight per class
            weights = {class_metric_name("fold_weight", c): w for c, w in zip(classes, threshold, strict=False)}
            values += metric_values(weights, step=fold)
        else:
            values += metric_values({"fold_threshold": threshold}, step=fold)
    for rung, rung_values in enumerate(record.rung_metrics):  # multi-fidelity: the rungs it reached
        values += metric_values(rung_values, prefix="rung_", step=rung)
    extra = {"threshold": record.threshold, "fit_seconds": record.fit_seconds, "fidelity": record.fidelity}
    if record.duration_seconds is not None:
        extra["duration_s"] = record.duration_seconds
    return values + metric_values(extra)


def trial_run_name(trial: FrozenTrial) -> str:
    """``#12 lightgbm + smote`` (``(pruned)`` or ``(failed)`` added): the runs table reads as a
    list of strategies."""
    strategy = TrialRecord.of(trial).strategy
    described = Strategy.from_dict(strategy).describe() if strategy else "no strategy"
    suffix = {TrialState.PRUNED: " (pruned)", TrialState.FAIL: " (failed)"}.get(trial.state, "")
    return f"#{trial.number} {described}{suffix}"


def trial_tags(trial: FrozenTrial) -> dict[str, Any]:
    record = TrialRecord.of(trial)
    tags: dict[str, Any] = {"state": trial.state.name, "trial_number": trial.number}
    for key, value in (
        ("fail_reason", record.fail_reason),
        ("portfolio", record.portfolio),
        ("stopped", record.stopped),
        ("retry_of", record.retry_of),
    ):
        if value:
            tags[key] = value
    if record.notes:
        tags["notes"] = record.notes
    return tags


def profile_params(profile: DataProfile) -> dict[str, Any]:
    """The data profile as the parent run's ``data.*`` params."""
    common = {
        "data.n_rows": profile.n_rows,
        "data.n_features": len(profile.schema.columns),
        "data.n_categorical": len(profile.schema.categorical),
        "data.imbalance_ratio": round(profile.imbalance_ratio, 4),
    }
    if profile.multiclass:
        task = {"data.task": "multiclass", "data.n_classes": profile.the_task.n_classes}
        return {**common, **task, "data.smallest_class_size": profile.smallest_class_size}
    return {**common, "data.n_positive": profile.n_positive, "data.positive_label": profile.positive_label}
