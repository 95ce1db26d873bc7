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

from strategy_search.calibration import Calibration
from strategy_search.data import DataProfile, FeatureSchema, plain
from strategy_search.deployed import DeployedModel
from strategy_search.do_nothing import DoNothingComparison
from strategy_search.errors import ExportError
from strategy_search.estimators.decision.bagged import FoldBaggedClassifier
from strategy_search.estimators.decision.thresholded import ClassWeightedClassifier, ThresholdedClassifier
from strategy_search.explain import FeatureImportance, baselines, row_contributions, top_contributions
from strategy_search.model_card import model_card
from strategy_search.model_folder import (
    STRATEGY_FILE,
    read_strategy_file,
    recorded_sha256,
    score_column,
    score_frame,
)
from strategy_search.new_rows import category_levels, feature_frame, read_as_trained, warn_input_notes
from strategy_search.strategy import Bagging, Ensemble, Strategy, build_classifier, strategy_from_dict
from strategy_search.summary import SearchSummary
from strategy_search.task import Decision, Task
from strategy_search.thresholds import ThresholdRule

# The deployable classifier of a binary target, or of a multi-class one.
Classifier = ThresholdedClassifier | ClassWeightedClassifier

__all__ = ["export_model", "load_exported", "load_model", "predict_table", "rebuild_classifier", "score_frame"]

MODEL_CARD = "model_card.md"
# The search's out-of-fold scores of the training rows with their 0/1 labels (no features).
OOF_FILE = "oof_scores.csv"
FORMAT_VERSION = 1
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


# -- scoring ----------------------------------------------------------------------------------
def predict_table(model_dir: Path, data: pd.DataFrame, *, explain: int = 0) -> pd.DataFrame:
    """``data`` plus ``score`` and ``prediction`` columns (replacing any of that name); a
    multi-class model adds ``score_<class>`` for each class instead of ``score``: what
    ``strategy-search predict`` writes, with its notes as warnings. ``explain`` K adds each
    row's K largest column contributions (:func:`explanation_columns`).

    Columns the model does not use are ignored; a missing one is a ``ValueError`` that names
    it and lists the expected columns. Columns the model reads as numbers are read as training
    read them, and category levels unseen in training are scored as one "unknown" level
    (:func:`strategy_search.new_rows.input_notes` says which, in a ``UserWarning`` each)."""
    classifier, meta = load_exported(model_dir)
    scored = score_table(classifier, meta, data, explain=explain)
    warn_input_notes(meta, data, stacklevel=2)
    return scored


def score_table(
    classifier: Classifier, meta: Mapping[str, Any], data: pd.DataFrame, *, explain: int = 0
) -> pd.DataFrame:
    """:func:`predict_table` for an export already loaded with :func:`load_exported`."""
    features = read_as_trained(meta, data)
    scored = data.assign(**score_frame(classifier, features))
    if explain:
        scored = scored.assign(**explanation_columns(classifier, meta, features, explain))
    return scored


def explanation_columns(
    classifier: Classifier, meta: Mapping[str, Any], features: pd.DataFrame, k: int
) -> pd.DataFrame:
    """Each row's ``k`` largest contributions by size (``explain_1_feature``,
    ``explain_1_contribution``, ...): the row's score minus its expected score with the column
    drawn from its training distribution (:func:`strategy_search.explain.row_contributions`). The
    score is the positive class's probability (multi-class: the predicted class's)."""
    stored = meta.get("baselines")
    if stored is None:
        raise ExportError(
            "This export keeps no column baselines, so its predictions cannot be explained; export it again "
            "with this version (`strategy-search export CONFIG`)."
        )
    k = min(k, features.shape[1])
    if features.empty:
        return top_contributions(pd.DataFrame(columns=features.columns, dtype=float), k)
    probabilities, _ = classifier.proba_and_labels(features)
    predicted = np.argmax(probabilities, axis=1)

    def score(frame: pd.DataFrame) -> np.ndarray:
        found = classifier.proba_and_labels(frame)[0]
        if found.shape[1] == 2:
            return found[:, 1]
        # ``frame`` is ``features`` itself or copies of it stacked (row_contributions): each row
        # is read at the class predicted for the row it copies.
        return found[np.arange(len(frame)), np.tile(predicted, len(frame) // len(predicted))]

    categorical = list((meta.get("schema") or {}).get("categorical", ()))
    contributions = row_contributions(score, features, stored, columns=list(features.columns), categorical=categorical)
    return top_contributions(contributions, k)


# -- loading ----------------------------------------------------------------------------------
def load_model(model_dir: Path) -> DeployedModel:
    """The fitted model of an export folder, checked as :func:`load_exported` does:
    ``load_model(dir).predict_proba(X)[:, 1]`` scores rows (a multi-class model: one column per
    class, in ``classes_`` order), ``predict`` applies the tuned threshold (per-class weights);
    both read ``X`` as ``strategy-search predict`` does (:class:`DeployedModel`)."""
    return DeployedModel(*load_exported(model_dir))


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
    row_weights = stored["weight"].to_numpy(dtype=float) if "weight" in stored else None  # data.weight
    if isinstance(classifier, ClassWeightedClassifier):
        columns = [score_column(c) for c in classifier.classes_]
        codes, scores = stored["class_code"].to_numpy(dtype=int), stored[columns].to_numpy(dtype=float)
        classifier.threshold = rule.choose(codes, scores, row_weights)
        return classifier.threshold
    classifier.threshold = rule.threshold(stored["positive"].to_numpy(), stored["score"].to_numpy(), row_weights)
    return float(classifier.threshold)


def rebuild_classifier(meta: Mapping[str, Any]) -> Classifier:
    """The unfitted classifier described by a parsed ``strategy.yaml``: fitted on the search's
    rows it is the exported one (the same fold models, the same calibration); on new data, the
    same recipe (its calibration was fitted on the search's scores)."""
    deployment = meta.get("deployment") or {}
    bagging = deployment.get("bagging")
    return build_classifier(
        strategy_from_dict(meta["strategy"]),
        FeatureSchema.from_dict(meta["schema"]),
        positive_label=meta["positive_label"],
        task=Task.from_dict(meta["task"]) if meta.get("task") else None,
        bagging=None if bagging is None else Bagging.from_dict(bagging),
        calibration=deployment.get("calibration"),
    )


def deployment_of(classifier: Classifier) -> dict[str, Any]:
    """How the fitted classifier is built beyond its strategy, for ``strategy.yaml``: the
    ``answer`` (``bagged``, the search's fold models averaged, or ``refit``), the folds
    (``bagging``) and the calibration map of its probabilities."""
    estimator = classifier.estimator
    bagging = Bagging.of(estimator) if isinstance(estimator, FoldBaggedClassifier) else None
    return {
        "answer": "refit" if bagging is None else "bagged",
        "bagging": None if bagging is None else bagging.to_dict(),
        "fold_models": None if bagging is None else len(classifier.estimator_.estimators_),
        "calibration": getattr(classifier, "calibration", None),
    }


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
    oof: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None,
    threshold_rule: ThresholdRule | str = "best_f1",
    class_metrics: Mapping[str, list[float]] | None = None,
    do_nothing: DoNothingComparison | None = None,
    summary: SearchSummary | None = None,
    calibration: Calibration | None = None,
    importance: FeatureImportance | None = None,
) -> Path:
    """Write the export folder for a fitted ``classifier`` (replacing an earlier export there).

    ``X`` is the training table (its first rows the input example and signature; the card
    describes its columns, whose distributions are kept for ``predict --explain``); ``source``
    where the model came from (run id, study, config path); ``oof`` the search's out-of-fold
    scores and 0/1 labels, kept so ``predict --threshold`` can re-pick the threshold that
    ``threshold_rule`` picked. For the card: ``class_metrics`` (multi-class, in class-code
    order), ``do_nothing``, ``summary`` (:mod:`strategy_search.summary`), ``calibration`` (the
    one the classifier applies) and ``importance``. Built beside ``out_dir``, moved into place
    at the end: a failed export never leaves a half-written folder.
    """
    out_dir = Path(out_dir)
    _check_replaceable(out_dir)
    strategy = strategy.with_threshold(classifier.threshold)  # the threshold actually deployed
    features = feature_frame(X, list(profile.schema.columns))
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
        meta.update(_column_meta(features, profile, importance))
        meta.update(_search_meta(threshold_rule, class_metrics, do_nothing, summary))
        meta.update(_deployment_meta(classifier, calibration))
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


def _column_meta(features: pd.DataFrame, profile: DataProfile, importance: FeatureImportance | None) -> dict[str, Any]:
    """What ``strategy.yaml`` keeps of the columns: the category levels seen in training, each
    column's distribution for ``predict --explain`` and the answer's importance (for the card)."""
    meta: dict[str, Any] = {"category_levels": category_levels(features, profile.schema)}
    meta["baselines"] = plain(baselines(features, profile.schema.categorical))
    if importance is not None:
        meta["feature_importance"] = importance.to_attr()
    return meta


def _deployment_meta(classifier: Classifier, calibration: Calibration | None) -> dict[str, Any]:
    """How the classifier was built (:func:`deployment_of`) and the calibration it applies,
    with its cross-validated comparison (for the card)."""
    meta = {"deployment": plain(deployment_of(classifier))}
    if calibration is not None:
        meta["calibration"] = plain(calibration.to_attr())
    return meta


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


def _oof_frame(oof: tuple[np.ndarray, np.ndarray, np.ndarray | None], task: Task) -> pd.DataFrame:
    """The out-of-fold scores with their labels: ``score`` and ``positive`` (0/1) for a binary
    target; a ``score_<class>`` column per class, ``class_code`` and ``label`` for more; and
    ``weight``, each row's weight, when the rows were weighted (``data.weight``)."""
    scores, codes, weights = oof
    if not task.multiclass:
        frame = pd.DataFrame({"score": scores, "positive": codes.astype(int)})
    else:
        columns = {score_column(c): scores[:, i] for i, c in enumerate(task.classes)}
        frame = pd.DataFrame({**columns, "class_code": codes.astype(int), "label": task.labels(codes)})
    return frame if weights is None else frame.assign(weight=weights)


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
