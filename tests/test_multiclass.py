"""Multi-class targets end to end: metrics against scikit-learn, the task, decisions, components
on a 3-class table, the leakage guard, and the user's loop through the CLI."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.preprocessing import label_binarize

import strategy_search
from strategy_search.cli import main
from strategy_search.combinations import conflicts
from strategy_search.components.registry import Component
from strategy_search.data import DataError, FeatureSchema, encode_classes
from strategy_search.errors import ExportError, SettingsError
from strategy_search.estimators.classifiers.weighting import CustomWeighting
from strategy_search.estimators.decision.thresholded import ClassWeightedClassifier
from strategy_search.estimators.samplers.adaptive import TargetRatio
from strategy_search.export import load_model, predict_table
from strategy_search.prepared import prepare_data
from strategy_search.scoring import fold_from_scores, per_class_metrics, score_pipeline, score_predictions
from strategy_search.slots import get_slot
from strategy_search.space import load_space
from strategy_search.splits import outer_splits as cv_splits
from strategy_search.strategy import Strategy, build_pipeline
from strategy_search.thresholds import BEST_F1, ThresholdRule, choose_class_weights, predict_classes

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "experiments" / "data"
CONFIG = ROOT / "experiments" / "glass-multiclass.yaml"


@pytest.fixture(scope="module")
def three_classes() -> tuple[pd.DataFrame, pd.Series]:
    """new-thyroid: 215 rows, classes normal 150 / hyper 35 / hypo 30."""
    frame = pd.read_csv(DATA / "new-thyroid.csv")
    return frame.drop(columns="target"), frame["target"]


def _random_scores(n: int, n_classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Imbalanced labels and probabilities with some signal."""
    rng = np.random.default_rng(seed)
    prior = np.array([0.6, 0.25, 0.1, 0.05][:n_classes])
    y = rng.choice(n_classes, size=n, p=prior / prior.sum())
    scores = rng.dirichlet(np.ones(n_classes), size=n)
    scores[np.arange(n), y] += rng.random(n)  # some signal
    return y, scores / scores.sum(axis=1, keepdims=True)


# -- metrics ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiclass_metrics_match_scikit_learn(seed):
    y, scores = _random_scores(300, 4, seed)
    weights = (1.0, 0.7, 1.3, 2.0)
    ours = score_predictions(y, scores, weights)
    predicted = predict_classes(scores, weights)
    binarized = label_binarize(y, classes=range(4))
    expected = {
        "pr_auc": average_precision_score(binarized, scores, average="macro"),
        "roc_auc": roc_auc_score(y, scores, multi_class="ovr", average="macro"),
        "f1": f1_score(y, predicted, average="macro", zero_division=0),
        "f1_at_0.5": f1_score(y, scores.argmax(axis=1), average="macro", zero_division=0),
        "precision": precision_score(y, predicted, average="macro", zero_division=0),
        "recall": recall_score(y, predicted, average="macro", zero_division=0),
        "balanced_accuracy": balanced_accuracy_score(y, predicted),
        "mcc": matthews_corrcoef(y, predicted),
    }
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, abs=1e-12), name
    per_class = per_class_metrics(y, scores, weights)
    np.testing.assert_allclose(per_class["pr_auc"], average_precision_score(binarized, scores, average=None))
    np.testing.assert_allclose(per_class["f1"], f1_score(y, predicted, average=None, zero_division=0))


def test_binary_metrics_are_unchanged_by_the_multiclass_path():
    y, scores = _random_scores(200, 2)
    ours = score_predictions(y, scores[:, 1], 0.4)
    assert ours["pr_auc"] == pytest.approx(average_precision_score(y, scores[:, 1]))
    assert ours["f1"] == pytest.approx(f1_score(y, scores[:, 1] >= 0.4))


# -- the task -----------------------------------------------------------------------------------
def test_the_task_is_decided_once_from_the_target(three_classes):
    _, y = three_classes
    codes, task = encode_classes(y)
    assert task.kind == "multiclass" and task.classes == ("hyper", "hypo", "normal")
    np.testing.assert_array_equal(task.labels(codes), y.to_numpy())
    codes, task = encode_classes(pd.Series([10, 9, 10, 9, 2, 2]))
    assert task.classes == (2, 9, 10)  # numeric order, not text order
    _, binary = encode_classes(pd.Series([0, 1, 0, 0, 1]))  # (one row of a class is refused: no CV can use it)
    assert binary.kind == "binary" and binary.classes == (0, 1)
    data = prepare_data(*three_classes)
    assert data.profile.task == data.task and data.profile.multiclass
    assert data.profile.class_counts == {"hyper": 35, "hypo": 30, "normal": 150}
    assert data.profile.imbalance_ratio == pytest.approx(5.0)


def test_positive_label_and_one_sided_threshold_rules_are_refused_for_multiclass(three_classes):
    X, y = three_classes
    with pytest.raises(DataError, match="applies to two-class targets"):
        strategy_search.search(X, y, n_trials=1, positive_label="hyper")
    with pytest.raises(SettingsError, match="no single positive class"):
        strategy_search.search(X, y, n_trials=1, threshold="precision>=0.9")


def test_a_class_with_one_row_is_refused_by_name(three_classes):
    X, y = three_classes
    y = y.copy()
    y.iloc[0] = "unique"
    with pytest.raises(DataError, match=r"single row \('unique': 1"):
        strategy_search.search(X, y, n_trials=1)


# -- decisions ----------------------------------------------------------------------------------
def test_class_weights_help_the_rare_class_and_stay_at_one_when_argmax_is_best():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(300), np.ones(60), np.full(20, 2)].astype(int)
    # A model that under-rates the rare class: its true rows get a probability just below the others'.
    scores = rng.dirichlet(np.ones(3) * 5, size=len(y))
    scores[y == 2, 2] = scores[y == 2].max(axis=1) * 0.9
    scores /= scores.sum(axis=1, keepdims=True)
    weights = choose_class_weights(y, scores)
    assert weights[2] == max(weights) and weights[0] < 1
    assert f1_score(y, predict_classes(scores, weights), average="macro") > f1_score(
        y, scores.argmax(axis=1), average="macro"
    )
    perfect = np.eye(3)[y] * 0.8 + 0.2 / 3
    assert choose_class_weights(y, perfect) == (1.0, 1.0, 1.0)
    assert ThresholdRule.parse("argmax").choose(y, scores) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="no single positive class"):
        ThresholdRule.parse("recall>=0.8").choose(y, scores)


def test_the_deployed_classifier_applies_the_weights_to_the_users_labels(three_classes):
    X, y = three_classes
    pipeline = build_pipeline(Strategy.of(model="logistic_regression"), FeatureSchema.infer(X))
    plain = ClassWeightedClassifier(pipeline).fit(X, y)
    assert plain.classes_.tolist() == ["hyper", "hypo", "normal"]
    np.testing.assert_array_equal(plain.predict(X), plain.classes_[plain.predict_proba(X).argmax(axis=1)])
    tilted = ClassWeightedClassifier(pipeline, class_weights=(1.0, 1.0, 0.01)).fit(X, y)
    assert (tilted.predict(X) == "normal").sum() < (plain.predict(X) == "normal").sum()


# -- components ---------------------------------------------------------------------------------
def test_ratios_mean_each_minority_class_against_the_largest():
    y = np.r_[np.zeros(100), np.ones(20), np.full(10, 2)]
    assert TargetRatio(0.5, "over-sampling")(y) == {1.0: 50, 2.0: 50}
    assert TargetRatio(0.5, "under-sampling")(y) == {0.0: 20, 1.0: 20}
    assert TargetRatio(0.1, "over-sampling")(y) == {1.0: 20, 2.0: 10}  # never removes rows


def test_custom_weights_are_a_function_of_class_frequency():
    weights = CustomWeighting(positive_weight=8.0).class_weights(np.arange(3), np.array([100.0, 10.0, 1.0]))
    np.testing.assert_allclose(weights, [1.0, 8.0**0.5, 8.0])


def test_a_binary_only_component_is_never_proposed_for_a_multiclass_target():
    weighting = get_slot("weighting")
    only_two = Component("only_two", lambda c: None, "", {"binary_only": True})
    model = get_slot("model").component("lightgbm")
    assert conflicts(weighting, only_two, model, has_categorical=False, multiclass=True)
    assert not conflicts(weighting, only_two, model, has_categorical=False, multiclass=False)
    weighting.registry.register(only_two)
    try:
        fast = yaml.safe_load((ROOT / "search_spaces" / "fast.yaml").read_text())
        space = load_space({**fast, "weightings": {"none": {}, "only_two": {}}})
        study = optuna.create_study()
        for _ in range(5):
            trial = study.ask()
            assert space.suggest(trial, has_categorical=False, multiclass=True).key("weighting") != "only_two"
    finally:
        weighting.registry._components.pop("only_two")


def _component_cases():
    from strategy_search.slots import all_slots

    for slot in all_slots():
        for component in slot.registry:
            yield pytest.param(slot.name, component.key, id=f"{slot.name}-{component.key}")


@pytest.mark.parametrize("slot,key", list(_component_cases()))
def test_every_component_fits_a_three_class_table_or_is_never_proposed(slot, key, three_classes):
    """The conformance suite on a 3-class imbalanced table: valid probabilities for every class."""
    X, y = three_classes
    component = get_slot(slot).component(key)
    if component.tag("binary_only"):
        model = component if slot == "model" else get_slot("model").component("lightgbm")
        assert conflicts(get_slot(slot), component, model, has_categorical=False, multiclass=True)
        return
    codes, _ = encode_classes(y)
    strategy = Strategy.of(model="lightgbm" if slot != "model" else key, **({slot: key} if slot != "model" else {}))
    pipeline = build_pipeline(strategy, FeatureSchema.infer(X)).fit(X, codes)
    proba = pipeline.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)  # XGBoost works in float32
    assert f1_score(codes, proba.argmax(axis=1), average="macro") > 0.5, "the model learned nothing"


# -- honesty ------------------------------------------------------------------------------------
def test_pure_noise_multiclass_labels_never_score_above_chance():
    """Leakage guard: labels independent of the features. Macro PR-AUC of a random ranking is
    the mean class prior, 1/3 here; no trial and not the answer may look better than noise."""
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(600, 5)), columns=[f"f{i}" for i in range(5)])
    y = pd.Series(rng.permutation(np.repeat(["big", "mid", "rare"], [420, 120, 60])))
    result = strategy_search.search(X, y, n_trials=12, seed=1, space="fast", n_jobs=2)
    scored = result.leaderboard.dropna(subset=["pr_auc"])
    assert len(scored) >= 8
    chance = 1 / 3
    assert scored["pr_auc"].max() < chance + 0.06, scored[["model", "resampler", "pr_auc"]]
    assert result.best_scores["pr_auc"] < chance + 0.06
    assert result.best_scores["f1"] < 0.45  # macro F1 of guessing by the priors is about 1/3


# -- the user's loop ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def multiclass_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("multiclass")
    (folder / "data").mkdir()
    config = yaml.safe_load(CONFIG.read_text())
    config["search"].update(n_trials=8, timeout=None, n_jobs=2)
    (folder / "glass.yaml").write_text(yaml.safe_dump(config))
    shutil.copy(DATA / "glass.csv", folder / "data" / "glass.csv")
    output = io.StringIO()
    with contextlib.chdir(folder), contextlib.redirect_stdout(output):
        code = main(["run", str(folder / "glass.yaml")])
    (folder / "run-output.txt").write_text(output.getvalue())
    return folder, code


def test_the_console_names_the_class_of_each_decision_weight(multiclass_run, capsys):
    folder, _ = multiclass_run
    classes = sorted(pd.read_csv(DATA / "glass.csv")["target"].unique())
    with contextlib.chdir(folder):
        assert main(["export", str(folder / "glass.yaml")]) == 0
    exported = capsys.readouterr().out
    line = next(x for x in exported.splitlines() if x.startswith("threshold "))
    assert line.startswith("threshold w: ") and [c for c in classes if f"{c}=" in line] == classes, line
    printed = (folder / "run-output.txt").read_text()
    assert "w=" not in printed, printed  # no bare weights in the search's own report


def test_a_multiclass_search_runs_from_config_to_mlflow(multiclass_run):
    folder, code = multiclass_run
    assert code == 0
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("glass-multiclass")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 8
    parent = parents[0]
    assert parent.data.params["data.task"] == "multiclass" and parent.data.params["data.n_classes"] == "6"
    assert {"best_pr_auc", "best_f1", "best_pr_auc/class_tableware", "best_f1/class_tableware"} <= set(
        parent.data.metrics
    )
    # Doing nothing, multi-class: the most probable class, against the answer's macro scores.
    assert {"do_nothing_pr_auc", "gain_f1", "gain_f1_p_value"} <= set(parent.data.metrics)
    assert "untuned threshold" in parent.data.tags["do_nothing"]
    complete = [c for c in children if c.data.tags.get("state") == "COMPLETE"]
    assert complete
    for child in complete:
        assert {"pr_auc", "f1", "pr_auc/class_containers", "f1/class_headlamps", "weight/class_tableware"} <= set(
            child.data.metrics
        )
        assert "fold_weight/class_tableware" in child.data.metrics
    # Its plots: per-class curves and a 6 x 6 confusion matrix; no threshold curve (the
    # decision is a weight per class, not a threshold).
    plots = {a.path for a in client.list_artifacts(parent.info.run_id) if a.path.endswith(".png")}
    assert {"pr_curves.png", "roc_curves.png", "confusion_matrix.png", "choices.png", "calibration.png"} <= plots
    assert "threshold_curves.png" not in plots


def test_a_multiclass_export_predicts_every_class(multiclass_run):
    folder, _ = multiclass_run
    with contextlib.chdir(folder):
        assert main(["export", str(folder / "glass.yaml")]) == 0
        assert main(["predict", "artifacts/glass-multiclass", "data/glass.csv", "--out", "predictions.csv"]) == 0
    data = pd.read_csv(folder / "data" / "glass.csv")
    classes = sorted(data["target"].unique())
    written = pd.read_csv(folder / "predictions.csv")
    score_columns = [f"score_{c}" for c in classes]
    assert set(score_columns) <= set(written.columns)
    np.testing.assert_allclose(written[score_columns].sum(axis=1), 1.0, atol=1e-6)
    assert set(written["prediction"]) <= set(classes)
    model_dir = folder / "artifacts" / "glass-multiclass"
    model = load_model(model_dir)
    features = data.drop(columns="target")
    np.testing.assert_array_equal(model.predict(features), written["prediction"].to_numpy())
    assert f1_score(data["target"], written["prediction"], average="macro") > 0.6
    in_python = predict_table(model_dir, features)
    pyfunc = mlflow.pyfunc.load_model(str(model_dir)).predict(features)
    np.testing.assert_allclose(pyfunc[score_columns].to_numpy(), in_python[score_columns].to_numpy())
    assert pyfunc["prediction"].tolist() == in_python["prediction"].tolist()
    card = (model_dir / "model_card.md").read_text()
    assert "## Performance per class" in card and "| `tableware` |" in card
    assert "## Class distribution" in card and "6 classes" in card and "## Decision rule" in card
    meta = yaml.safe_load((model_dir / "strategy.yaml").read_text())
    assert meta["task"] == {"kind": "multiclass", "classes": classes}
    assert len(meta["threshold"]) == 6


def test_predict_can_switch_a_multiclass_model_to_argmax(multiclass_run, capsys):
    folder, _ = multiclass_run
    with contextlib.chdir(folder):
        main(["export", str(folder / "glass.yaml")])
        capsys.readouterr()
        assert main(["predict", "artifacts/glass-multiclass", "data/glass.csv", "--threshold", "argmax"]) == 0
        out = capsys.readouterr()
        classes = sorted(pd.read_csv(DATA / "glass.csv")["target"].unique())
        assert "w: " + ", ".join(f"{c}=1.00" for c in classes) in out.err
        assert main(["predict", "artifacts/glass-multiclass", "data/glass.csv", "--threshold", "recall>=0.9"]) == 2
        assert "no single positive class" in capsys.readouterr().err


# -- review findings ----------------------------------------------------------------------------
def test_labels_that_read_as_one_number_keep_one_order_in_search_and_deployment():
    y = pd.Series(["1", "1", "1", "01", "01", "2", "2", "01", "2"])
    _, task = encode_classes(y)
    X = pd.DataFrame({"x": np.arange(len(y), dtype=float)})
    deployed = ClassWeightedClassifier(build_pipeline(Strategy.of(model="logistic_regression"), FeatureSchema.infer(X)))
    assert deployed.fit(X, y).classes_.tolist() == list(task.classes)


def test_a_folds_class_weights_never_see_its_validation_labels(three_classes):
    """The decision of each fold is chosen from its training part's inner scores alone:
    shuffling the validation labels leaves it as it is."""
    X, y = three_classes
    codes, _ = encode_classes(y)
    splits = cv_splits(codes, folds=3, repeats=1, seed=0)
    pipeline = build_pipeline(Strategy.of(model="logistic_regression"), FeatureSchema.infer(X))
    result = score_pipeline(pipeline, X, codes, splits=splits, seed=0)
    rng = np.random.default_rng(0)
    for fold, (_, validation) in zip(result.folds, splits, strict=True):
        assert fold.threshold == BEST_F1.choose(codes[fold.inner_rows], fold.inner_scores)
        shuffled = codes.copy()
        shuffled[validation] = rng.permutation(shuffled[validation])
        again = fold_from_scores(shuffled, validation, fold.validation_scores, fold.inner_rows, fold.inner_scores)
        assert again.threshold == fold.threshold


def test_focal_alpha_is_not_searched_for_a_multiclass_target():
    space = load_space("fast")
    for multiclass in (False, True):
        study = optuna.create_study()
        study.enqueue_trial({"model": "lightgbm", "objective": "focal"})
        strategy = space.suggest(study.ask(), has_categorical=False, multiclass=multiclass)
        assert strategy.key("objective") == "focal"
        assert ("alpha" in strategy.params_for("objective")) is not multiclass
        assert "gamma" in strategy.params_for("objective")


def test_a_study_is_not_resumed_on_another_task(tmp_path, three_classes):
    X, y = three_classes
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    strategy_search.search(X, y, n_trials=1, n_jobs=1, space="fast", storage=storage, study_name="s")
    with pytest.raises(DataError, match="multiclass target with classes"):
        strategy_search.search(X, (y == "normal").astype(int), n_trials=2, storage=storage, study_name="s")


def test_export_refuses_a_one_sided_rule_for_a_multiclass_search_before_refitting(three_classes, tmp_path):
    X, y = three_classes
    result = strategy_search.search(X, y, n_trials=2, n_jobs=1, space="fast")
    with pytest.raises(ExportError, match="no single positive class"):
        result.export(tmp_path / "model", threshold="recall>=0.9")
    assert not (tmp_path / "model").exists()


def test_a_model_trained_on_one_class_scores_it_certain_whatever_columns_it_gives():
    """A resampler (ENN on 4 rows per class) can leave a training part one class; scikit-learn's
    HistGradientBoostingClassifier then still gives two probability columns, which failed the
    trial with a shape mismatch."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from strategy_search.task import all_class_columns

    rows = np.random.default_rng(0).normal(size=(20, 2))
    model = HistGradientBoostingClassifier(max_iter=3).fit(rows, np.full(20, 3))
    assert model.predict_proba(rows[:4]).shape == (4, 2) and list(model.classes_) == [3]
    full = all_class_columns(model.classes_, model.predict_proba(rows[:4]), 5)
    np.testing.assert_array_equal(full, np.tile([0.0, 0.0, 0.0, 1.0, 0.0], (4, 1)))
    # Trained on some classes: their columns in place, the others 0.
    np.testing.assert_array_equal(all_class_columns([0, 2], [[0.25, 0.75]], 3), [[0.25, 0.0, 0.75]])
