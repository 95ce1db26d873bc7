"""Row weights (``data.weight``, ``sample_weight=``): what a row's mistakes cost, in the fits,
the metrics and the thresholds."""

from __future__ import annotations

import contextlib
import html
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from imblearn.combine import SMOTEENN
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.utils.validation import has_fit_parameter

import strategy_search
from strategy_search.cli import main
from strategy_search.combinations import allowed
from strategy_search.components.registry import BuildContext
from strategy_search.config import validate_config
from strategy_search.errors import DataError
from strategy_search.estimators.pipeline import WeightedPipeline
from strategy_search.estimators.samplers.adaptive import AdaptiveSampler
from strategy_search.export import load_exported, rethreshold
from strategy_search.scoring import calibration_metrics, score_predictions, threshold_free_metrics
from strategy_search.slots import MODEL, get_slot
from strategy_search.thresholds import ThresholdRule, multiclass_confusion_metrics


# -- the metrics -----------------------------------------------------------------------------------
def _scored(seed: int, n: int = 300, *, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    scores = np.clip(0.35 * y + rng.random(n) * 0.7, 0, 1)
    if ties:
        scores = np.round(scores, 1)
    weights = rng.exponential(size=n)
    weights[rng.random(n) < 0.1] = 0.0  # a weight of 0 leaves a row out
    return y, scores, weights


@pytest.mark.parametrize("ties", [False, True])
def test_weighted_metrics_match_scikit_learn_with_sample_weight(ties):
    y, scores, w = _scored(0, ties=ties)
    metrics = score_predictions(y, scores, 0.5, w)
    predicted = (scores >= 0.5).astype(int)
    expected = {
        "pr_auc": average_precision_score(y, scores, sample_weight=w),
        "roc_auc": roc_auc_score(y, scores, sample_weight=w),
        "f1": f1_score(y, predicted, sample_weight=w),
        "precision": precision_score(y, predicted, sample_weight=w),
        "recall": recall_score(y, predicted, sample_weight=w),
        "brier": brier_score_loss(y, scores, sample_weight=w),
        "log_loss": log_loss(y, scores, sample_weight=w),
    }
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(value, abs=1e-9), name
    # Unweighted figures differ on these scores, so the weights were used.
    assert abs(score_predictions(y, scores, 0.5)["pr_auc"] - expected["pr_auc"]) > 1e-3


def test_weighted_multiclass_metrics_match_scikit_learn():
    rng = np.random.default_rng(1)
    y = rng.choice(3, size=400, p=[0.7, 0.2, 0.1])
    raw = rng.random((400, 3)) + np.eye(3)[y] * 0.6
    scores = raw / raw.sum(axis=1, keepdims=True)
    w = rng.exponential(size=400)
    free = threshold_free_metrics(y, scores, w)
    per_class_ap = [average_precision_score(y == k, scores[:, k], sample_weight=w) for k in range(3)]
    assert free["pr_auc"] == pytest.approx(np.mean(per_class_ap), abs=1e-9)
    predicted = scores.argmax(axis=1)
    decided = multiclass_confusion_metrics(y, predicted, n_classes=3, weights=w)
    assert decided["f1"] == pytest.approx(f1_score(y, predicted, average="macro", sample_weight=w), abs=1e-9)
    assert calibration_metrics(y, scores, w)["log_loss"] == pytest.approx(
        log_loss(y, scores, sample_weight=w), abs=1e-9
    )


def test_a_whole_number_weight_counts_as_that_many_copies_of_the_row():
    """For the metrics without a scikit-learn twin (ECE) and the threshold rules: weight k is the
    row k times."""
    y, scores, _ = _scored(2, n=120)
    copies = np.random.default_rng(3).integers(0, 4, size=len(y))
    copies[y == 1][:1] = 1
    repeated = np.repeat(np.arange(len(y)), copies)
    weighted = calibration_metrics(y, scores, copies.astype(float))
    assert weighted == pytest.approx(calibration_metrics(y[repeated], scores[repeated]))
    for rule in ("best_f1", "fn_cost=5", "precision>=0.6", "recall>=0.8"):
        parsed = ThresholdRule.parse(rule)
        assert parsed.threshold(y, scores, copies) == pytest.approx(parsed.threshold(y[repeated], scores[repeated])), (
            rule
        )


# -- the threshold -----------------------------------------------------------------------------------
def _heavy_faint_positives():
    """Positives of two kinds: many light ones the scores find easily (0.8 - 1.0) and a few heavy
    ones scored among the negatives (0.25 - 0.4)."""
    scores = np.r_[np.linspace(0.8, 1.0, 40), np.linspace(0.25, 0.4, 10), np.linspace(0.0, 0.45, 200)]
    y = np.r_[np.ones(40), np.ones(10), np.zeros(200)].astype(int)
    weights = np.r_[np.ones(40), np.full(10, 50.0), np.ones(200)]
    return y, scores, weights


@pytest.mark.parametrize("rule", ["best_f1", "fn_cost=3"])
def test_the_chosen_threshold_moves_toward_the_heavy_rows(rule):
    y, scores, weights = _heavy_faint_positives()
    parsed = ThresholdRule.parse(rule)
    unweighted, weighted = parsed.threshold(y, scores), parsed.threshold(y, scores, weights)
    assert unweighted > 0.45  # counting rows, the faint positives are not worth the negatives around them
    assert weighted < 0.25  # counting money, they are: every heavy row is accepted
    assert (scores[(y == 1) & (weights > 1)] >= weighted).all()


# -- the fits ------------------------------------------------------------------------------------
class _Recorder(ClassifierMixin, BaseEstimator):
    """Keeps the rows and weights its fit was given."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _Recorder:
        self.X_, self.y_, self.sample_weight_ = np.asarray(X), np.asarray(y), sample_weight
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.tile([0.5, 0.5], (len(X), 1))


def _table(n: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (np.arange(n) % 5 == 0).astype(int)
    weights = rng.uniform(0.5, 3.0, size=n)
    return X, y, weights


def test_rows_a_resampler_keeps_or_copies_keep_their_own_weight():
    X, y, weights = _table()
    model = WeightedPipeline(
        [("resample", AdaptiveSampler(RandomUnderSampler(random_state=0))), ("model", _Recorder())]
    )
    recorder = model.fit(X, y, sample_weight=weights).named_steps["model"]
    kept = [int(np.flatnonzero((row == X).all(axis=1))[0]) for row in recorder.X_]
    assert np.array_equal(recorder.sample_weight_, weights[kept])
    assert len(kept) < len(y)


def test_a_synthetic_row_weighs_its_class_mean_and_the_originals_their_own():
    X, y, weights = _table()
    model = WeightedPipeline([("resample", AdaptiveSampler(SMOTE(random_state=0))), ("model", _Recorder())])
    recorder = model.fit(X, y, sample_weight=weights).named_steps["model"]
    n = len(y)
    assert np.array_equal(recorder.sample_weight_[:n], weights)
    assert len(recorder.y_) > n and (recorder.y_[n:] == 1).all()
    assert np.allclose(recorder.sample_weight_[n:], weights[y == 1].mean())


def test_a_resampler_that_says_nothing_of_its_rows_gives_each_its_class_mean():
    X, y, weights = _table()
    model = WeightedPipeline([("resample", AdaptiveSampler(SMOTEENN(random_state=0))), ("model", _Recorder())])
    recorder = model.fit(X, y, sample_weight=weights).named_steps["model"]
    means = {k: weights[y == k].mean() for k in (0, 1)}
    assert np.allclose(recorder.sample_weight_, [means[k] for k in recorder.y_])


def test_every_model_tagged_for_sample_weight_takes_it_and_the_others_are_left_out_of_weighted_searches():
    models = get_slot(MODEL).registry
    context = BuildContext(random_state=0, n_features=3, categorical_indices=())
    for component in models:
        if component.tag("needs_extra"):
            continue
        tagged = bool(component.tag("supports_sample_weight"))
        assert has_fit_parameter(component.factory(context), "sample_weight") == tagged, component.key
        usable = allowed(get_slot(MODEL), component.key, component.key, has_categorical=False, weighted_rows=True)
        assert usable == tagged, component.key


# -- the data ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (-1.0, "finite number >= 0"),
        (np.nan, "finite number >= 0"),
        ("much", "finite number >= 0"),
        (np.inf, "finite number >= 0"),
    ],
)
def test_weights_that_are_not_finite_numbers_from_zero_up_are_refused_naming_the_row(bad, expected):
    X, y, weights = _table(60)
    given = pd.Series(weights, dtype=object)
    given[7] = bad
    with pytest.raises(DataError, match=expected) as raised:
        strategy_search.search(pd.DataFrame(X), y, n_trials=1, sample_weight=given)
    assert "row 7" in str(raised.value)


def test_a_class_whose_rows_all_weigh_nothing_or_a_wrong_length_is_refused():
    X, y, weights = _table(60)
    with pytest.raises(DataError, match=r"every row of the class\(es\) \[1\] weighs 0"):
        strategy_search.search(pd.DataFrame(X), y, n_trials=1, sample_weight=np.where(y == 1, 0.0, weights))
    with pytest.raises(DataError, match="has 59 values but the table has 60 rows"):
        strategy_search.search(pd.DataFrame(X), y, n_trials=1, sample_weight=weights[:-1])


def _write(folder: Path, table: pd.DataFrame, **data: object) -> Path:
    table.to_csv(folder / "table.csv", index=False)
    content = {
        "name": "weights-demo",
        "data": {"path": "table.csv", "target": "target", **data},
        "search": {"space": "fast", "n_trials": 3, "n_jobs": 1, "seed": 0},
        "cv": {"folds": 3},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(content))
    return folder / "config.yaml"


def test_validate_names_a_missing_weight_column_with_the_other_mistakes(tmp_path):
    X, y, _ = _table(60)
    config = _write(tmp_path, pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=y), weight="amount", drop=["x"])
    problems = dict(validate_config(config))
    assert "'amount'" in problems["data.weight"] and "available columns" in problems["data.weight"]
    assert "['x']" in problems["data.drop"]
    config = _write(tmp_path, pd.DataFrame(X, columns=["a", "b", "c"]).assign(target=y), weight="target")
    assert "names the target column" in dict(validate_config(config))["data.weight"]
    table = pd.DataFrame(X, columns=["a", "b", "c"]).assign(amount=-1.0, target=y)
    config = _write(tmp_path, table, weight="amount")
    assert "The weight column 'amount' must hold a finite number >= 0" in dict(validate_config(config))["data.weight"]


# -- the whole loop ------------------------------------------------------------------------------
def _payments(n: int, *, seed: int) -> pd.DataFrame:
    """experiments/make_split_demo_data.py's payments: many small frauds a model finds easily and
    a few large ones hidden among ordinary payments."""
    path = Path(__file__).resolve().parent.parent / "experiments" / "make_split_demo_data.py"
    spec = importlib.util.spec_from_file_location("make_split_demo_data", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.payments(n, seed=seed)


def _heavy_recall(model_dir: Path, rows: pd.DataFrame, tmp_path: Path, name: str) -> float:
    rows.drop(columns=["target", "amount"]).to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(model_dir), str(tmp_path / "new.csv"), "--out", str(tmp_path / name)]) == 0
    predicted = pd.read_csv(tmp_path / name)["prediction"].to_numpy()
    heavy = (rows["target"] == 1) & (rows["amount"] > 100)
    return float(predicted[heavy.to_numpy()].mean())


def test_a_weighted_search_from_a_config_catches_the_costly_rows_and_says_how_it_weighed(tmp_path, capsys):
    train, later = _payments(900, seed=0), _payments(900, seed=1)
    weighted_dir, plain_dir = tmp_path / "weighted", tmp_path / "plain"
    weighted_dir.mkdir()
    plain_dir.mkdir()
    weighted = _write(weighted_dir, train, weight="amount")
    plain = _write(plain_dir, train, drop=["amount"])
    with contextlib.chdir(weighted_dir):
        assert main(["run", str(weighted)]) == 0
        printed = capsys.readouterr()
        assert "column 'amount'" in printed.out + printed.err, printed
        assert main(["export", str(weighted), "--out", "model"]) == 0
        assert main(["report", str(weighted), "--out", "report.html"]) == 0
    with contextlib.chdir(plain_dir):
        assert main(["run", str(plain)]) == 0
        assert main(["export", str(plain), "--out", "model"]) == 0
    meta = yaml.safe_load((weighted_dir / "model" / "strategy.yaml").read_text())
    assert "amount" not in meta["schema"]["numeric"] + meta["schema"]["categorical"]  # never a feature
    words = "weighted by the rows' weights (column 'amount')"
    assert words in (weighted_dir / "model" / "model_card.md").read_text()
    assert words in html.unescape((weighted_dir / "report.html").read_text())
    # Re-picking the threshold from the export folder weighs its rows as the search did.
    stored = pd.read_csv(weighted_dir / "model" / "oof_scores.csv")
    assert stored["weight"].tolist() == train["amount"].tolist()
    classifier = load_exported(weighted_dir / "model")[0]
    assert rethreshold(classifier, weighted_dir / "model", "best_f1") == pytest.approx(meta["threshold"])
    plain_meta = yaml.safe_load((plain_dir / "model" / "strategy.yaml").read_text())
    assert meta["threshold"] < 0.1 < 0.4 < plain_meta["threshold"]  # toward the heavy rows, scored low
    caught_weighted = _heavy_recall(weighted_dir / "model", later, tmp_path, "weighted.csv")
    caught_plain = _heavy_recall(plain_dir / "model", later, tmp_path, "plain.csv")
    assert caught_weighted > 0.8 > 0.3 > caught_plain  # state both: the figures are in the README
    # The study was made with the weights: opened without them, it is refused.
    settings = yaml.safe_load(weighted.read_text())
    del settings["data"]["weight"]
    settings["data"]["drop"] = ["amount"]
    weighted.write_text(yaml.safe_dump(settings))
    capsys.readouterr()
    with contextlib.chdir(weighted_dir):
        assert main(["export", str(weighted), "--out", "model2"]) == 2
    assert "row weights" in capsys.readouterr().err


def test_a_weighted_multiclass_study_reopens_with_its_weights_only(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(240, 3)), columns=["a", "b", "c"])
    y = np.where(X["a"] > 1, 2, np.where(X["b"] > 0.8, 1, 0))
    weights = rng.uniform(0.5, 3.0, size=len(y))
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    settings = {"space": "fast", "n_trials": 2, "n_jobs": 1, "cv_folds": 3}
    result = strategy_search.search(X, y, sample_weight=weights, storage=storage, study_name="w", **settings)
    again = strategy_search.load_search(
        storage=storage, study_name="w", X=X, y=y, sample_weight=weights, settings=settings
    )
    assert again.answer_trials == result.answer_trials
    assert again.best_scores == pytest.approx(result.best_scores, nan_ok=True)
    # The weighted macro F1 is not the unweighted one on these rows, so the weights were used.
    unweighted = strategy_search.search(X, y, **{**settings, "n_trials": 2})
    assert unweighted.best_scores["f1"] != pytest.approx(result.best_scores["f1"], abs=1e-6)
    for other in (None, weights[::-1]):
        with pytest.raises(DataError, match="row weights"):
            strategy_search.load_search(
                storage=storage, study_name="w", X=X, y=y, sample_weight=other, settings=settings
            )
