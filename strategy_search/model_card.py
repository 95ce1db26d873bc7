"""The model card of an export folder (``model_card.md``): what the model was trained on, how
it was built and scored, how it decides, and how to use it; written from ``strategy.yaml``'s
content (:func:`strategy_search.export.strategy_metadata`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from strategy_search.calibration import Calibration
from strategy_search.data import DataProfile
from strategy_search.do_nothing import TABLE_HEADER, TREATMENT_HEADER, DoNothingComparison
from strategy_search.explain import FeatureImportance
from strategy_search.model_folder import score_column
from strategy_search.scoring import METRIC_LABELS, METRICS
from strategy_search.slots import all_slots
from strategy_search.strategy import Ensemble, Strategy
from strategy_search.summary import SearchSummary
from strategy_search.task import Decision, Task
from strategy_search.thresholds import threshold_warning, trade_off

__all__ = ["PREDICT_COMMAND", "model_card"]

# The CLI's scoring command as the model card shows it ({model_dir} is filled in).
PREDICT_COMMAND = "strategy-search predict {model_dir} new_rows.csv --out predictions.csv"
_MAX_CARD_COLUMNS = 50


def model_card(
    *,
    meta: Mapping[str, Any],
    strategy: Strategy | Ensemble,
    profile: DataProfile,
    X: pd.DataFrame,
    model_dir: Path,
    oof: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None,
) -> str:
    sections = [
        f"# Model card: {strategy.describe()}",
        _source_section(meta),
        _search_section(meta.get("search_summary")),
        _data_section(profile, X),
        _class_section(profile),
        _strategy_section(strategy),
        _deployment_section(meta.get("deployment")),
        _calibration_section(meta.get("calibration"), meta.get("deployment")),
        _metrics_section(meta["cv_metrics"]["mean"], meta["cv_metrics"]["std"]),
        _class_metrics_section(profile, meta.get("class_metrics") or {}),
        _do_nothing_section(meta.get("do_nothing")),
        _importance_section(meta.get("feature_importance")),
        _decision_section(strategy.threshold, profile, str(meta.get("threshold_rule", "best_f1")), oof),
        _usage_section(model_dir, profile.the_task),
        _versions_section(meta["versions"]),
    ]
    return "\n\n".join(s.strip() for s in sections if s.strip()) + "\n"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _source_section(meta: Mapping[str, Any]) -> str:
    source = meta.get("source") or {}
    lines = [f"- {key}: `{value}`" for key, value in source.items() if value is not None]
    return "## Source\n\n" + f"Exported {meta['created_at']}.\n\n" + "\n".join(lines)


def _search_section(stored: Mapping[str, Any] | None) -> str:
    return SearchSummary.from_dict(stored).markdown() if stored else ""


def _data_section(profile: DataProfile, X: pd.DataFrame) -> str:
    categorical = set(profile.schema.categorical)
    missing = X.isna().sum()
    rows = [
        [
            f"`{c}`",
            "categorical" if c in categorical else "numeric",
            str(X[c].dtype),
            f"{int(missing[c])} ({missing[c] / max(len(X), 1):.1%})",
        ]
        for c in list(X.columns)[:_MAX_CARD_COLUMNS]
    ]
    more = len(X.columns) - _MAX_CARD_COLUMNS
    tail = f"\n\n... and {more} more columns (see `strategy.yaml`)." if more > 0 else ""
    summary = (
        f"{profile.n_rows} rows, {len(profile.schema.numeric)} numeric and "
        f"{len(profile.schema.categorical)} categorical columns; "
        f"{int(missing.sum())} missing values in total."
    )
    return "## Training data\n\n" + summary + "\n\n" + _table(["column", "kind", "dtype", "missing"], rows) + tail


def _class_section(profile: DataProfile) -> str:
    if profile.multiclass:
        rows = [
            [f"`{label}`", count, f"{count / max(profile.n_rows, 1):.1%}"]
            for label, count in profile.class_counts.items()
        ]
        return (
            "## Class distribution\n\n"
            + _table(["label", "rows", "share"], rows)
            + f"\n\n{len(rows)} classes; imbalance ratio: {profile.imbalance_ratio:.1f} rows of the largest "
            "class per row of the smallest."
        )
    rows = []
    for role, label in (("positive", profile.positive_label), ("negative", profile.negative_label)):
        count = profile.class_counts.get(str(label), 0)
        rows.append([f"`{label}`", role, count, f"{count / max(profile.n_rows, 1):.1%}"])
    return (
        "## Class distribution\n\n"
        + _table(["label", "role", "rows", "share"], rows)
        + f"\n\nImbalance ratio: {profile.imbalance_ratio:.1f} negatives per positive."
    )


def _slot_rows(strategy: Strategy, prefix: str = "") -> list[list[str]]:
    rows = []
    for slot in all_slots():
        params = strategy.params_for(slot.name)
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"
        rows.append([prefix + slot.name, f"`{strategy.key(slot.name)}`", shown])
    return rows


def _strategy_section(strategy: Strategy | Ensemble) -> str:
    if isinstance(strategy, Ensemble):
        rows = [
            row
            for i, (member, share) in enumerate(zip(strategy.members, strategy.shares, strict=True), start=1)
            for row in _slot_rows(member, prefix=f"member {i} (weight {share:.2f}): ")
        ]
        intro = f"**{strategy.describe()}**. The model's probability is the weighted mean of the members'.\n\n"
    else:
        rows = _slot_rows(strategy)
        intro = f"**{strategy.describe()}** (random seed {strategy.seed}).\n\n"
    return (
        "## Strategy\n\n"
        + intro
        + _table(["slot", "component", "parameters"], rows)
        + "\n\nPreprocessing: numeric columns are scaled (and median-imputed when a step cannot "
        "handle missing values); categorical columns are ordinal-encoded. Resampling happens "
        "only while fitting, never when predicting."
    )


def _deployment_section(deployment: Mapping[str, Any] | None) -> str:
    if not deployment or deployment.get("answer") != "bagged":
        return (
            "## How it was fitted\n\n"
            "Fitted once on all training rows (`answer: refit`, or a time-ordered CV, whose splits each score "
            "a model trained on all rows before its block, as this one is for the rows to come). Its threshold "
            "was chosen on out-of-fold scores of models fitted on part of the rows, whose scores may sit on "
            "another scale."
        )
    bagging = deployment["bagging"]
    n_models = deployment.get("fold_models") or bagging["folds"] * bagging["repeats"]
    return (
        "## How it was fitted\n\n"
        f"The average of {n_models} fold models (`answer: bagged`): the strategy fitted on the training part of "
        f"each fold of the search's {_split_words(bagging)}"
        + (f", repeated {bagging['repeats']} times" if bagging["repeats"] > 1 else "")
        + f" (seed {bagging['seed']}), the very models whose validation scores were measured and on whose "
        "out-of-fold scores the decision was chosen. Refit them on new data with "
        "`strategy_search.export.rebuild_classifier`" + _refit_keyword(bagging) + "."
    )


def _split_words(bagging: Mapping[str, Any]) -> str:
    grouped = bagging.get("split") == "group"
    return f"stratified {'group ' if grouped else ''}{bagging['folds']}-fold cross-validation"


def _refit_keyword(bagging: Mapping[str, Any]) -> str:
    return " (its `fit` takes the rows' `groups=`)" if bagging.get("split") == "group" else ""


def _calibration_section(stored: Mapping[str, Any] | None, deployment: Mapping[str, Any] | None) -> str:
    applied = (deployment or {}).get("calibration")
    if not stored:
        if applied:
            return f"## Probabilities\n\nCalibrated by `{applied['method']}`."
        return (
            "## Probabilities\n\n"
            "Not calibrated (`calibration: none`): `score` is the model's own probability, which resampling "
            "and class weights may move far from the true rate."
        )
    calibration = Calibration.from_attr(stored)
    text = (
        "## Probabilities\n\n"
        f"Calibration: **{calibration.describe()}**. Chosen among the maps below by the lowest cross-validated "
        "log-loss on the answer's out-of-fold scores (each row mapped by a map fitted without it), never one "
        "that raises the Brier score. "
        + (
            "`score` is the model's own probability."
            if calibration.method == "none"
            else "`score` is the calibrated probability; the decision is made on the model's own score against "
            "the threshold, so calibrating changes no prediction."
        )
    )
    found = calibration.cv_metrics or {}
    if not found:
        return text
    rows = [[f"`{m}`", *(_number(found[m].get(k)) for k in ("brier", "log_loss", "ece"))] for m in found]
    return text + "\n\n" + _table(["calibration", "Brier", "log-loss", "ECE"], rows)


def _metrics_section(means: Mapping[str, float], stds: Mapping[str, float]) -> str:
    rows = [[m, _number(means.get(m)), _number(stds.get(m))] for m in METRICS if m in means]
    return (
        "## Cross-validated performance\n\n"
        "Mean and standard deviation over the validation folds of the search's cross-validation (how it "
        "split the rows: see Search); each fold's threshold was chosen on its training part only.\n\n"
        + _table(["metric", "mean", "std"], rows)
    )


def _do_nothing_section(stored: Mapping[str, Any] | None) -> str:
    if not stored:
        return ""
    comparison = DoNothingComparison.from_attr(stored)
    text = comparison.summary(METRIC_LABELS)
    rows, treatment = comparison.table_rows(METRIC_LABELS), comparison.treatment_rows(METRIC_LABELS)
    table = "\n\n" + _table(list(TABLE_HEADER), rows) if rows else ""
    table += "\n\n" + _table(list(TREATMENT_HEADER), treatment) if treatment else ""
    return "## Did treating the imbalance help?\n\n" + text[0].upper() + text[1:] + table


# Per-class metrics in the model card, and how they are headed there.
_CLASS_COLUMNS = {"pr_auc": "PR-AUC", "roc_auc": "ROC-AUC", "precision": "precision", "recall": "recall", "f1": "F1"}


def _importance_section(stored: Mapping[str, Any] | None) -> str:
    if not stored:
        return ""
    importance = FeatureImportance.from_attr(stored)
    text = importance.describe()
    ranked = importance.ranked(_MAX_CARD_COLUMNS)
    rows = [[f"`{column}`", _number(mean), _number(std)] for column, mean, std in ranked]
    table = "\n\n" + _table(["column", "PR-AUC lost (mean)", "std over folds"], rows) if rows else ""
    return "## Why it decides\n\n" + text[0].upper() + text[1:] + "." + table


def _class_metrics_section(profile: DataProfile, class_metrics: Mapping[str, list[float]]) -> str:
    if not profile.multiclass or not class_metrics:
        return ""
    shown = [name for name in _CLASS_COLUMNS if name in class_metrics]
    rows = [
        [f"`{label}`", *(_number(class_metrics[name][code]) for name in shown)]
        for code, label in enumerate(profile.the_task.classes)
    ]
    return (
        "## Performance per class\n\n"
        "Each class against the others, averaged over the same validation folds (PR-AUC and ROC-AUC "
        "one-vs-rest; precision, recall and F1 of the tuned decision). The macro metrics above are "
        "their unweighted means.\n\n" + _table(["class", *(_CLASS_COLUMNS[n] for n in shown)], rows)
    )


def _number(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.4f}"


def _decision_section(
    decision: Decision, profile: DataProfile, rule: str, oof: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None
) -> str:
    if isinstance(decision, tuple):
        rows = [[f"`{label}`", f"{w:.4f}"] for label, w in zip(profile.the_task.classes, decision, strict=True)]
        return (
            "## Decision rule\n\n"
            "A row is predicted as the class with the largest weighted probability "
            "(`score_<class>` times the class's weight). The weights were picked by the rule "
            f"`{rule}` on the search's out-of-fold predictions (every training row scored by a model that did "
            "not see it); all weights equal means the most probable class (kept under `best_f1` when it had at "
            "least the tuned weights' macro F1 over the validation folds). Re-pick them with "
            "`strategy-search predict --threshold argmax` (or `best_f1`).\n\n" + _table(["class", "weight"], rows)
        )
    return _threshold_section(decision, profile, rule, oof)


def _threshold_section(
    threshold: float, profile: DataProfile, rule: str, oof: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None
) -> str:
    text = (
        "## Decision threshold\n\n"
        f"A row is predicted `{profile.positive_label}` (positive) when the model's own score for the "
        f"positive class (before any calibration) is at least **{threshold:.4f}**, and "
        f"`{profile.negative_label}` otherwise. The threshold was picked by the rule `{rule}` on the "
        "search's out-of-fold predictions (every training row scored by a model that did not see it)."
    )
    if rule == "best_f1" and threshold == 0.5:
        text += (
            " It is the untuned 0.5: over the validation folds it had at least the F1 of thresholds tuned on the "
            "training parts, so tuning was not worth its noise."
        )
    warning = threshold_warning(threshold)
    if warning:
        text += f"\n\n**Warning:** {warning}"
    if oof is None:
        return text + " Rank rows by `score` to pick a different trade-off between precision and recall."
    rows = [
        [
            f"`{row['rule']}`",
            f"{row['threshold']:.4f}",
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
        ]
        for row in trade_off(oof[1], oof[0], oof[2])
    ]
    return (
        text + "\n\nOther targets, on the same out-of-fold predictions (pick one without a new search with "
        "`strategy-search predict --threshold RULE` or `strategy-search export --threshold RULE`):\n\n"
        + _table(["rule", "threshold", "precision", "recall", "F1"], rows)
    )


def _usage_section(model_dir: Path, task: Task) -> str:
    command = PREDICT_COMMAND.format(model_dir=model_dir)
    columns = (
        ", ".join(f"`{score_column(c)}`" for c in task.classes) + " (one probability per class)"
        if task.multiclass
        else "`score`"
    )
    output = "score_<class> (one per class)" if task.multiclass else "score"
    return f"""## How to use

Command line (writes the input rows plus {columns} and `prediction`):

```bash
{command}
```

Python, through MLflow (needs `strategy-search` installed, since the pipeline uses its classes):

```python
import mlflow.pyfunc
import pandas as pd

model = mlflow.pyfunc.load_model("{model_dir}")
predictions = model.predict(pd.read_csv("new_rows.csv"))  # columns: {output}, prediction
```

`strategy-search predict` and `strategy_search.load_model` run no code from this folder: they
refuse a classifier file whose SHA-256 differs from the one in `strategy.yaml` or that names a
type outside the engine's allowlist (skops format). `mlflow.pyfunc.load_model` runs the
folder's `python_model` code first, so use it only on folders you trust."""


def _versions_section(versions: Mapping[str, str]) -> str:
    return "## Package versions\n\n" + "\n".join(f"- {name} {version}" for name, version in versions.items())
