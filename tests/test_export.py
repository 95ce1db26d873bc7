"""Export folders: same scores after loading, the pyfunc works, strategy.yaml rebuilds the
pipeline, and bad input gets a clear error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import skip_without_extras

from strategy_search.export import (
    MODEL_CARD,
    STRATEGY_FILE,
    export_model,
    load_exported,
    predict_table,
    rebuild_classifier,
)
from strategy_search.prepared import prepare_data
from strategy_search.strategy import Strategy, build_classifier

STRATEGY = Strategy.of(
    model="lightgbm",
    resampler="smote",
    model_params={"n_estimators": 30, "num_leaves": 8, "learning_rate": 0.1},
    resampler_params={"sampling_strategy": 0.5, "k_neighbors": 3},
    threshold=0.3,
)
METRICS = {"pr_auc": 0.61, "f1": 0.42, "roc_auc": float("nan")}
METRICS_STD = {"pr_auc": 0.05, "f1": 0.1}


def _export(X, y, strategy: Strategy, out_dir):
    data = prepare_data(X, y)
    classifier = build_classifier(strategy, data.profile.schema, positive_label=data.profile.positive_label)
    classifier.fit(X, y)
    export_model(
        classifier=classifier,
        strategy=strategy,
        profile=data.profile,
        metrics=METRICS,
        metrics_std=METRICS_STD,
        X=X,
        out_dir=out_dir,
        source={"run_id": "abc", "study": "s1", "config_path": None},
    )
    return classifier


@pytest.fixture(scope="module")
def small_yeast(yeast5):
    X, y = yeast5
    return X.head(400), y.head(400)


@pytest.fixture(scope="module")
def exported(small_yeast, tmp_path_factory):
    X, y = small_yeast
    out = tmp_path_factory.mktemp("export") / "model"
    return _export(X, y, STRATEGY, out), out


def test_predict_table_reproduces_the_classifier(exported, small_yeast):
    classifier, out = exported
    X, _ = small_yeast
    table = predict_table(out, X)
    assert list(table.columns) == [*list(X.columns), "score", "prediction"]
    np.testing.assert_allclose(table["score"], classifier.predict_proba(X)[:, 1], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(table["prediction"], classifier.predict(X))
    assert table["prediction"].sum() > 0  # threshold 0.3 does flag some rows


def test_mlflow_pyfunc_loads_and_predicts(exported, small_yeast):
    import mlflow.pyfunc

    classifier, out = exported
    X, _ = small_yeast
    predicted = mlflow.pyfunc.load_model(str(out)).predict(X)
    assert list(predicted.columns) == ["score", "prediction"]
    np.testing.assert_allclose(predicted["score"], classifier.predict_proba(X)[:, 1], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(predicted["prediction"], classifier.predict(X))
    # An environment MLflow builds from the folder (`mlflow models serve`) needs the engine too.
    from importlib import metadata

    requirements = (out / "requirements.txt").read_text().splitlines()
    assert f"strategy-search=={metadata.version('strategy-search')}" in requirements


def test_strategy_yaml_rebuilds_the_same_pipeline(exported, small_yeast):
    classifier, out = exported
    X, y = small_yeast
    meta = yaml.safe_load((out / STRATEGY_FILE).read_text())
    assert Strategy.from_dict(meta["strategy"]) == STRATEGY
    assert meta["threshold"] == STRATEGY.threshold
    assert (meta["positive_label"], meta["negative_label"]) == (1, 0)
    assert "task" not in meta and "class_metrics" not in meta  # a binary export reads as before multi-class
    assert meta["source"]["run_id"] == "abc" and "scikit-learn" in meta["versions"]
    rebuilt = rebuild_classifier(meta).fit(X, y)
    np.testing.assert_allclose(rebuilt.predict_proba(X)[:, 1], classifier.predict_proba(X)[:, 1], rtol=0, atol=1e-12)
    loaded, loaded_meta = load_exported(out)
    assert loaded.threshold == STRATEGY.threshold and loaded_meta == meta


def test_missing_columns_are_named_and_extra_ones_ignored(exported, small_yeast):
    _, out = exported
    X, _ = small_yeast
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['Alm', 'Nuc'\].*expected columns: \['Mcg'"):
        predict_table(out, X.drop(columns=["Alm", "Nuc"]))
    shuffled = X.iloc[:20, ::-1].assign(comment="ignored")
    with pytest.warns(UserWarning, match=r"columns the model does not use, ignored: \['comment'\]"):
        table = predict_table(out, shuffled)  # the note `predict` prints, in Python
    assert list(table.columns[-2:]) == ["score", "prediction"] and "comment" in table
    np.testing.assert_allclose(table["score"], predict_table(out, X.iloc[:20])["score"], rtol=0, atol=1e-12)


def test_load_model_reads_new_rows_as_predict_does(exported, small_yeast):
    """#27 case 11: `load_model` used to be the bare scikit-learn classifier, which refused an
    extra column ("feature names unseen at fit time") that `predict` ignores with a note."""
    from sklearn.metrics import RocCurveDisplay

    from strategy_search import load_model
    from strategy_search.errors import ExportError
    from strategy_search.new_rows import input_notes

    classifier, out = exported
    X, y = small_yeast
    model = load_model(out)
    rows = X.iloc[:20, ::-1].assign(comment="ignored")
    rows["Mcg"] = rows["Mcg"].astype(object)
    rows.iloc[3, rows.columns.get_loc("Mcg")] = "?"
    rows.iloc[4, rows.columns.get_loc("Mcg")] = "abc"
    with pytest.warns(UserWarning) as caught:
        scores = model.predict_proba(rows)
    said = [str(w.message) for w in caught]
    _, meta = load_exported(out)
    assert said == input_notes(meta, rows)  # the notes `predict` prints, word for word
    assert any("['comment']" in note for note in said) and any("'Mcg'" in note and "'abc'" in note for note in said)
    as_missing = X.iloc[:20].copy()
    as_missing.iloc[[3, 4], as_missing.columns.get_loc("Mcg")] = np.nan
    np.testing.assert_allclose(scores, classifier.predict_proba(as_missing), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(model.predict(X), classifier.predict(X))
    assert model.classifier.threshold == model.threshold == STRATEGY.threshold
    with pytest.raises(ExportError, match=r"Column\(s\) \['Alm'\] contain \+/-inf"):
        model.predict(X.head(5).assign(Alm=np.inf))
    with pytest.raises(ExportError, match=r"lacks column\(s\) \['Nuc'\]"):
        model.predict_proba(X.drop(columns="Nuc"))
    RocCurveDisplay.from_estimator(model, X, y)  # a fitted scikit-learn classifier to sklearn's tools
    with pytest.raises(ExportError, match="not fitted again"):
        model.fit(X, y)
    assert repr(model).startswith("DeployedModel(ThresholdedClassifier(")


def test_model_card_describes_data_strategy_metrics_and_usage(exported):
    _, out = exported
    card = (out / MODEL_CARD).read_text()
    assert "\n\n\n" not in card and "Performance per class" not in card
    assert "# columns: score, prediction" in card
    for expected in (
        "400 rows, 8 numeric and 0 categorical columns",
        "| `1` | positive | 9 | 2.2% |",
        "lightgbm + smote",
        "k_neighbors=3",
        "| pr_auc | 0.6100 | 0.0500 |",
        "| roc_auc | n/a | n/a |",
        "at least **0.3000**",
        "strategy-search predict",
        "mlflow.pyfunc.load_model",
    ):
        assert expected in card, expected


def test_export_replaces_an_earlier_export_only(exported, small_yeast, tmp_path):
    X, y = small_yeast
    out = tmp_path / "model"
    _export(X, y, STRATEGY, out)
    (out / "stale.txt").write_text("from an earlier export")
    other = Strategy.of(model="logistic_regression", threshold=0.2)
    _export(X, y, other, out)
    assert not (out / "stale.txt").exists()
    meta = yaml.safe_load((out / STRATEGY_FILE).read_text())
    assert Strategy.from_dict(meta["strategy"]).model == "logistic_regression"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging leftovers
    unrelated = tmp_path / "notes"
    unrelated.mkdir()
    (unrelated / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="refusing to overwrite"):
        _export(X, y, other, unrelated)
    assert (unrelated / "keep.txt").read_text() == "mine"


def test_mixed_types_and_string_labels(small_mixed, tmp_path):
    import mlflow.pyfunc

    X, y = small_mixed
    labels = pd.Series(np.where(y == 1, "fraud", "ok"))
    classifier = _export(X, labels, Strategy.of(model="lightgbm", model_params={"n_estimators": 20}), tmp_path / "m")
    table = predict_table(tmp_path / "m", X)
    assert set(table["prediction"]) <= {"fraud", "ok"}
    np.testing.assert_array_equal(table["prediction"], classifier.predict(X))
    served = mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(X)
    np.testing.assert_allclose(served["score"], table["score"], rtol=0, atol=1e-9)
    meta = yaml.safe_load((tmp_path / "m" / STRATEGY_FILE).read_text())
    assert meta["positive_label"] == "fraud" and meta["schema"]["categorical"] == ["colour"]


def test_load_exported_rejects_other_folders(tmp_path):
    with pytest.raises(ValueError, match="not a strategy-search export"):
        load_exported(tmp_path)


def _copy_export(exported, tmp_path):
    import shutil

    _, out = exported
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    meta = yaml.safe_load((copy / STRATEGY_FILE).read_text())
    return copy, meta, copy / meta["model_file"]["path"]


def test_the_classifier_is_saved_in_skops_format_with_its_checksum(exported):
    from strategy_search.safe_model import sha256_of

    _, out = exported
    meta = yaml.safe_load((out / STRATEGY_FILE).read_text())
    assert meta["model_file"]["path"].endswith(".skops")
    assert meta["model_file"]["sha256"] == sha256_of(out / meta["model_file"]["path"])
    assert not list(out.rglob("*.pkl")), "no pickle files in an export"


def test_a_model_file_changed_after_export_is_refused(exported, small_yeast, tmp_path):
    from strategy_search.safe_model import UntrustedModelError

    copy, _, model_file = _copy_export(exported, tmp_path)
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    with pytest.raises(UntrustedModelError, match="changed after export"):
        load_exported(copy)


def test_a_model_file_naming_untrusted_code_is_refused_even_with_a_matching_checksum(exported, tmp_path):
    import os

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    from strategy_search.safe_model import UntrustedModelError, sha256_of

    copy, meta, model_file = _copy_export(exported, tmp_path)
    # An attacker who can write the folder can also rewrite strategy.yaml's checksum.
    model_file.write_bytes(sio.dumps(FunctionTransformer(func=os.system)))
    meta["model_file"]["sha256"] = sha256_of(model_file)
    (copy / STRATEGY_FILE).write_text(yaml.safe_dump(meta))
    with pytest.raises(UntrustedModelError, match=r"does not trust: \[.*system"):
        load_exported(copy)


def test_an_export_without_a_recorded_checksum_is_refused(exported, tmp_path):
    from strategy_search.safe_model import UntrustedModelError

    copy, meta, _ = _copy_export(exported, tmp_path)
    del meta["model_file"]
    (copy / STRATEGY_FILE).write_text(yaml.safe_dump(meta))
    with pytest.raises(UntrustedModelError, match="records no model checksum"):
        load_exported(copy)


_FAMILIES = [
    pytest.param(Strategy.of(model="isolation_forest", model_params={"fit_on": "all"}), id="anomaly-detector"),
    pytest.param(Strategy.of(model="one_class_svm"), id="one-class-svm"),
    pytest.param(Strategy.of(model="lightgbm", resampler="gmm", model_params={"n_estimators": 30}), id="gmm"),
    pytest.param(Strategy.of(model="self_paced_ensemble", model_params={"n_estimators": 10}), id="self-paced"),
    pytest.param(Strategy.of(model="balance_cascade", model_params={"n_estimators": 5}), id="cascade"),
    pytest.param(
        Strategy.of(
            model="torch_mlp", resampler="cgan", model_params={"max_epochs": 10}, resampler_params={"n_steps": 30}
        ),
        id="deep",
        marks=skip_without_extras(["deep"]),
    ),
]


@pytest.mark.parametrize("strategy", _FAMILIES)
def test_every_family_exports_in_the_safe_format_and_predicts_the_same_scores(strategy, small_yeast, tmp_path):
    X, y = small_yeast
    classifier = _export(X, y, strategy, tmp_path / "model")
    table = predict_table(tmp_path / "model", X)
    np.testing.assert_allclose(table["score"], classifier.predict_proba(X)[:, 1], rtol=0, atol=1e-9)
    meta = yaml.safe_load((tmp_path / "model" / STRATEGY_FILE).read_text())
    assert meta["model_file"]["path"].endswith(".skops")
    assert not list((tmp_path / "model").rglob("*.pkl")) and not list((tmp_path / "model").rglob("*.pt"))
