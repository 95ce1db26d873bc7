"""Export a fitted strategy as a self-describing folder, and score new rows with it.

An export folder holds:

* the MLflow pyfunc model (``MLmodel``, the wrapper's code, the signature and an input example,
  and the fitted classifier in skops format under ``artifacts/``):
  ``mlflow.pyfunc.load_model(folder).predict(df)`` gives ``score`` and ``prediction`` (a
  multi-class model: ``score_<class>`` for each class, and ``prediction``);
* ``strategy.yaml``: the strategy, feature schema, labels, threshold, CV metrics, package
  versions, where it came from and the classifier file's SHA-256; enough to rebuild the
  unfitted pipeline (:func:`rebuild_classifier`);
* ``model_card.md``: what the model was trained on, how it scored and how to use it.

MLflow is imported only inside the functions that read or write the model (via
:mod:`strategy_search.mlflow_model`), so importing this module stays cheap.
"""

from __future__ import annotations

import datetime as dt
import platform
import shutil
import uuid
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from strategy_search.data import DataProfile, FeatureSchema, plain
from strategy_search.do_nothing import TABLE_HEADER, DoNothingComparison
from strategy_search.errors import ExportError
from strategy_search.estimators.decision.thresholded import ClassWeightedClassifier, ThresholdedClassifier
from strategy_search.model_folder import (
    STRATEGY_FILE,
    expected_columns,
    read_strategy_file,
    recorded_sha256,
    score_column,
    score_frame,
)
from strategy_search.scoring import METRIC_LABELS, METRICS
from strategy_search.slots import all_slots
from strategy_search.strategy import Ensemble, Strategy, build_classifier, strategy_from_dict
from strategy_search.summary import SearchSummary
from strategy_search.task import Decision, Task
from strategy_search.thresholds import ThresholdRule, threshold_warning, trade_off

# The deployable classifier of a binary target, or of a multi-class one.
Classifier = ThresholdedClassifier | ClassWeightedClassifier

__all__ = ["export_model", "load_exported", "load_model", "predict_table", "rebuild_classifier", "score_frame"]

MODEL_CARD = "model_card.md"
# The search's out-of-fold scores of the training rows with their 0/1 labels (no features).
OOF_FILE = "oof_scores.csv"
FORMAT_VERSION = 1
# The CLI's scoring command as the model card shows it ({model_dir} is filled in).
PREDICT_COMMAND = "strategy-search predict {model_dir} new_rows.csv --out predictions.csv"
_VERSIONED = (
    "strategy-search",
    "scikit-learn",
    "imbalanced-learn",
    "lightgbm",
    "xgboost",
    "numpy",
    "pandas",
    "scipy",
    "optuna",
    "mlflow",
    "skops",
)
_MAX_CARD_COLUMNS = 50
_MAX_RECORDED_LEVELS = 1000


# -- scoring ----------------------------------------------------------------------------------
def predict_table(model_dir: Path, data: pd.DataFrame) -> pd.DataFrame:
    """``data`` plus ``score`` and ``prediction`` columns (replacing any of that name); a
    multi-class model adds ``score_<class>`` for each class instead of ``score``.

    Columns the model does not use are ignored; a missing one is a ``ValueError`` that names
    it and lists the expected columns. Category levels unseen in training are scored as one
    "unknown" level (:func:`input_notes` says which)."""
    return score_table(*load_exported(model_dir), data)


def score_table(classifier: Classifier, meta: Mapping[str, Any], data: pd.DataFrame) -> pd.DataFrame:
    """:func:`predict_table` for an export already loaded with :func:`load_exported`."""
    features = _features(data, expected_columns(meta))
    return data.assign(**score_frame(classifier, features))


def input_notes(meta: Mapping[str, Any], data: pd.DataFrame) -> list[str]:
    """What scoring ``data`` will ignore or treat specially: unused columns and category levels
    the model never saw in training."""
    named = data.rename(columns=str)
    expected = expected_columns(meta)
    notes = []
    unused = [c for c in named.columns if c not in set(expected)]
    if unused:
        notes.append(f"columns the model does not use, ignored: {unused}")
    for column, levels in (meta.get("category_levels") or {}).items():
        if column not in named.columns:
            continue
        values = named[column].dropna().astype(str)
        unseen = values[~values.isin(set(levels))]
        if len(unseen):
            shown = sorted(unseen.unique())[:10]
            notes.append(
                f"column {column!r}: {len(unseen)} rows have levels not seen in training {shown}; "
                "they are scored as one unknown level"
            )
    return notes


def category_levels(X: pd.DataFrame, schema: FeatureSchema) -> dict[str, list[str]]:
    """Each categorical column's training levels (as the encoder sees them: text), for
    :func:`input_notes`; columns with more than ``_MAX_RECORDED_LEVELS`` levels are left out."""
    levels = {}
    for column in schema.categorical:
        values = X[column].dropna().astype(str).unique()
        if len(values) <= _MAX_RECORDED_LEVELS:
            levels[column] = sorted(values)
    return levels


def _features(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ExportError(f"data must be a pandas DataFrame; got {type(data).__name__}.")
    named = data.rename(columns=str)  # the search names columns by their string form
    missing = [c for c in columns if c not in named.columns]
    if missing:
        raise ExportError(f"The data lacks column(s) {missing} that the model needs; expected columns: {columns}.")
    return named[columns]


# -- loading ----------------------------------------------------------------------------------
def load_model(model_dir: Path) -> Classifier:
    """The fitted classifier of an export folder, checked as :func:`load_exported` does:
    ``load_model(dir).predict_proba(X)[:, 1]`` scores rows (a multi-class model: one column per
    class, in ``classes_`` order), ``predict`` applies the tuned threshold (per-class weights)."""
    return load_exported(model_dir)[0]


def load_exported(model_dir: Path) -> tuple[Classifier, dict[str, Any]]:
    """The fitted classifier of an export folder and its parsed ``strategy.yaml``.

    Loading runs no code from the folder: the classifier file must match the SHA-256 recorded
    at export and hold only types on the engine's allowlist
    (:class:`~strategy_search.errors.UntrustedModelError` otherwise)."""
    model_dir = Path(model_dir)
    meta = read_strategy_file(model_dir)
    from strategy_search.mlflow_model import load_mlflow_model

    return load_mlflow_model(model_dir, expected_sha256=recorded_sha256(model_dir, meta)), meta


def rule_for_task(rule: ThresholdRule | str, *, multiclass: bool) -> ThresholdRule:
    """``rule`` parsed, refused (:class:`ExportError`) when it has no form for the model's task."""
    rule = ThresholdRule.parse(rule)
    problem = rule.multiclass_problem() if multiclass else None
    if problem:
        raise ExportError(f"--threshold: {problem}.")
    return rule


def rethreshold(classifier: Classifier, model_dir: Path, rule: ThresholdRule | str) -> Decision:
    """Set ``classifier``'s threshold (multi-class: per-class weights) by ``rule`` on the
    out-of-fold scores stored in the export folder (what it would have been had the search used
    that rule); returns it."""
    path = Path(model_dir) / OOF_FILE
    if not path.is_file():
        raise ExportError(
            f"{model_dir} keeps no out-of-fold scores ({OOF_FILE}), so its threshold cannot be re-picked; "
            "export it again with this version (`strategy-search export CONFIG`)."
        )
    stored = pd.read_csv(path)
    rule = rule_for_task(rule, multiclass=isinstance(classifier, ClassWeightedClassifier))
    if isinstance(classifier, ClassWeightedClassifier):
        columns = [score_column(c) for c in classifier.classes_]
        weights = rule.choose(stored["class_code"].to_numpy(dtype=int), stored[columns].to_numpy(dtype=float))
        classifier.threshold = weights
        return weights
    classifier.threshold = rule.threshold(stored["positive"].to_numpy(), stored["score"].to_numpy())
    return float(classifier.threshold)


def rebuild_classifier(meta: Mapping[str, Any]) -> Classifier:
    """The unfitted classifier described by a parsed ``strategy.yaml`` (refit it on new data)."""
    return build_classifier(
        strategy_from_dict(meta["strategy"]),
        FeatureSchema.from_dict(meta["schema"]),
        positive_label=meta["positive_label"],
        task=Task.from_dict(meta["task"]) if meta.get("task") else None,
    )


# -- writing ----------------------------------------------------------------------------------
def export_model(
    *,
    classifier: Classifier,
    strategy: Strategy | Ensemble,
    profile: DataProfile,
    metrics: dict[str, float],
    metrics_std: dict[str, float],
    X: pd.DataFrame,
    out_dir: Path,
    source: dict[str, Any],
    oof: tuple[np.ndarray, np.ndarray] | None = None,
    threshold_rule: ThresholdRule | str = "best_f1",
    class_metrics: Mapping[str, list[float]] | None = None,
    do_nothing: DoNothingComparison | None = None,
    summary: SearchSummary | None = None,
) -> Path:
    """Write the export folder for a fitted ``classifier`` (replacing an earlier export there).

    ``X`` is the training table: its first rows become the input example and signature, and
    the model card describes its columns. ``source`` says where the model came from (run id,
    study, config path). ``oof`` (out-of-fold scores and 0/1 labels of the training rows, from
    the search's CV) is kept in the folder so ``predict --threshold`` can re-pick the threshold
    by another rule; ``threshold_rule`` is the rule that picked the classifier's;
    ``class_metrics`` (multi-class) each class's CV metrics, in class-code order;
    ``do_nothing`` the answer against doing nothing about the imbalance; ``summary`` the
    search that found it (:mod:`strategy_search.summary`), for the model card. The folder is
    built beside ``out_dir`` and moved into place at the end, so a failed export never leaves
    a half-written folder.
    """
    out_dir = Path(out_dir)
    _check_replaceable(out_dir)
    strategy = strategy.with_threshold(classifier.threshold)  # the threshold actually deployed
    features = _features(X, list(profile.schema.columns))
    staging = out_dir.parent / f".{out_dir.name}.staging-{uuid.uuid4().hex[:8]}"
    from strategy_search.mlflow_model import save_mlflow_model

    try:
        model_file = save_mlflow_model(classifier, staging, input_example=features.head(5), signature_data=features)
        meta = strategy_metadata(
            strategy=strategy,
            profile=profile,
            metrics=metrics,
            metrics_std=metrics_std,
            source=source,
            model_file=model_file,
        )
        meta["category_levels"] = category_levels(features, profile.schema)
        meta.update(_search_meta(threshold_rule, class_metrics, do_nothing, summary))
        if oof is not None:
            _oof_frame(oof, profile.the_task).to_csv(staging / OOF_FILE, index=False)
            meta["oof_file"] = OOF_FILE
        (staging / STRATEGY_FILE).write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True))
        card = model_card(meta=meta, strategy=strategy, profile=profile, X=features, model_dir=out_dir, oof=oof)
        (staging / MODEL_CARD).write_text(card)
        _move_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _search_meta(
    threshold_rule: ThresholdRule | str,
    class_metrics: Mapping[str, list[float]] | None,
    do_nothing: DoNothingComparison | None,
    summary: SearchSummary | None,
) -> dict[str, Any]:
    """What ``strategy.yaml`` keeps of the search beside the strategy: the threshold rule, the
    per-class metrics, the do-nothing comparison and the search's summary (for the card)."""
    meta: dict[str, Any] = {"threshold_rule": str(ThresholdRule.parse(threshold_rule))}
    if class_metrics:
        meta["class_metrics"] = plain(class_metrics)
    if do_nothing is not None:
        meta["do_nothing"] = do_nothing.to_attr()
    if summary is not None:
        meta["search_summary"] = summary.to_dict()
    return meta


def _oof_frame(oof: tuple[np.ndarray, np.ndarray], task: Task) -> pd.DataFrame:
    """The out-of-fold scores with their labels: ``score`` and ``positive`` (0/1) for a binary
    target; a ``score_<class>`` column per class, ``class_code`` and ``label`` for more."""
    scores, codes = oof
    if not task.multiclass:
        return pd.DataFrame({"score": scores, "positive": codes.astype(int)})
    columns = {score_column(c): scores[:, i] for i, c in enumerate(task.classes)}
    return pd.DataFrame({**columns, "class_code": codes.astype(int), "label": task.labels(codes)})


def _check_replaceable(out_dir: Path) -> None:
    # Never delete a folder that is not an earlier export (a typo like --out . must not wipe).
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} exists and is not a folder.")
    is_export = (out_dir / STRATEGY_FILE).is_file() or (out_dir / "MLmodel").is_file()
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_export:
        raise ExportError(f"{out_dir} is not empty and is not a model export; refusing to overwrite it.")


def _move_into_place(staging: Path, out_dir: Path) -> None:
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
        out_dir.rename(old)
    staging.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def strategy_metadata(
    *,
    strategy: Strategy | Ensemble,
    profile: DataProfile,
    metrics: Mapping[str, float],
    metrics_std: Mapping[str, float],
    source: Mapping[str, Any],
    model_file: Mapping[str, str],
) -> dict[str, Any]:
    """The content of ``strategy.yaml``."""
    return plain(
        {
            "format_version": FORMAT_VERSION,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "strategy": strategy.to_dict(),
            # A binary export reads as it always has; rebuild_classifier takes no task as binary.
            **({"task": profile.the_task.to_dict()} if profile.multiclass else {}),
            "schema": profile.schema.to_dict(),
            "positive_label": profile.positive_label,
            "negative_label": profile.negative_label,
            "threshold": strategy.threshold,
            "cv_metrics": {"mean": dict(metrics), "std": dict(metrics_std)},
            "versions": package_versions(),
            "source": dict(source),
            "model_file": dict(model_file),
        }
    )


# -- the model card ---------------------------------------------------------------------------
def model_card(
    *,
    meta: Mapping[str, Any],
    strategy: Strategy | Ensemble,
    profile: DataProfile,
    X: pd.DataFrame,
    model_dir: Path,
    oof: tuple[np.ndarray, np.ndarray] | None = None,
) -> str:
    sections = [
        f"# Model card: {strategy.describe()}",
        _source_section(meta),
        _search_section(meta.get("search_summary")),
        _data_section(profile, X),
        _class_section(profile),
        _strategy_section(strategy),
        _metrics_section(meta["cv_metrics"]["mean"], meta["cv_metrics"]["std"]),
        _class_metrics_section(profile, meta.get("class_metrics") or {}),
        _do_nothing_section(meta.get("do_nothing")),
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
        intro = (
            f"**{strategy.describe()}**. Each member is fitted on all training rows; the "
            "model's probability is the weighted mean of theirs.\n\n"
        )
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


def _metrics_section(means: Mapping[str, float], stds: Mapping[str, float]) -> str:
    rows = [[m, _number(means.get(m)), _number(stds.get(m))] for m in METRICS if m in means]
    return (
        "## Cross-validated performance\n\n"
        "Mean and standard deviation over the validation folds of the search's stratified "
        "cross-validation; each fold's threshold was chosen on its training part only.\n\n"
        + _table(["metric", "mean", "std"], rows)
    )


def _do_nothing_section(stored: Mapping[str, Any] | None) -> str:
    if not stored:
        return ""
    comparison = DoNothingComparison.from_attr(stored)
    text = comparison.summary(METRIC_LABELS)
    rows = comparison.table_rows(METRIC_LABELS)
    table = "\n\n" + _table(list(TABLE_HEADER), rows) if rows else ""
    return "## Did treating the imbalance help?\n\n" + text[0].upper() + text[1:] + table


# Per-class metrics in the model card, and how they are headed there.
_CLASS_COLUMNS = {"pr_auc": "PR-AUC", "roc_auc": "ROC-AUC", "precision": "precision", "recall": "recall", "f1": "F1"}


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
    decision: Decision, profile: DataProfile, rule: str, oof: tuple[np.ndarray, np.ndarray] | None
) -> str:
    if isinstance(decision, tuple):
        rows = [[f"`{label}`", f"{w:.4f}"] for label, w in zip(profile.the_task.classes, decision, strict=True)]
        return (
            "## Decision rule\n\n"
            "A row is predicted as the class with the largest weighted probability "
            "(`score_<class>` times the class's weight). The weights were picked by the rule "
            f"`{rule}` on the search's out-of-fold predictions (every training row scored by a model that did "
            "not see it); all weights equal means the most probable class. Re-pick them with "
            "`strategy-search predict --threshold argmax` (or `best_f1`).\n\n" + _table(["class", "weight"], rows)
        )
    return _threshold_section(decision, profile, rule, oof)


def _threshold_section(
    threshold: float, profile: DataProfile, rule: str, oof: tuple[np.ndarray, np.ndarray] | None
) -> str:
    text = (
        "## Decision threshold\n\n"
        f"A row is predicted `{profile.positive_label}` (positive) when its score, the model's "
        f"probability of the positive class, is at least **{threshold:.4f}**, and "
        f"`{profile.negative_label}` otherwise. The threshold was picked by the rule `{rule}` on the "
        "search's out-of-fold predictions (every training row scored by a model that did not see it)."
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
        for row in trade_off(oof[1], oof[0])
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
