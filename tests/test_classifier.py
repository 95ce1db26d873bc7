"""StrategySearchClassifier: a search behind scikit-learn's estimator interface, used as a
notebook would (fit, predict_proba, cross_val_score, clone, a Pipeline, a saved model read by
the command line), and held to scikit-learn's own estimator checks."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_classifiers_train, check_param_validation, parametrize_with_checks

from strategy_search import Ensemble, Strategy, StrategySearchClassifier, load_model
from strategy_search.cli import main
from strategy_search.errors import NoStoredScores, SettingsError, SpaceError
from strategy_search.settings import SearchSettings

ROOT = Path(__file__).resolve().parent.parent
KEEL = ROOT / "benchmarks" / "data"

# The checks fit dozens of times: one trial of a space with one cheap model keeps them to seconds.
# What they test is the estimator's contract, which does not depend on the models searched.
TINY_SPACE = {"models": {"logistic_regression": {}}, "portfolio": [{"name": "lr", "model": "logistic_regression"}]}
TINY = {"space": TINY_SPACE, "n_trials": 1, "n_jobs": 1, "cv_folds": 2, "ensemble_size": 1}
# A small real search: the fast space's first two portfolio strategies.
SMALL = {"space": "fast", "n_trials": 2, "n_jobs": 1, "cv_folds": 3}


def _table(path: str) -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_csv(KEEL / path)
    return frame.drop(columns="target"), frame["target"]


@pytest.fixture(scope="module")
def glass4() -> tuple[pd.DataFrame, pd.Series]:
    return _table("keel/glass4.csv")  # 214 rows, 9 features, 13 positives


@pytest.fixture(scope="module")
def fitted(glass4) -> StrategySearchClassifier:
    """Fitted as a notebook would: a time budget (with a trial budget, so it ends early)."""
    X, y = glass4
    return StrategySearchClassifier(timeout=60, **SMALL).fit(X, y)


# -- scikit-learn's checks -----------------------------------------------------------------------
def _expected_failures(estimator: StrategySearchClassifier) -> dict[str, str]:
    return {
        "check_classifiers_train": (
            "predict() applies the threshold tuned for the search's F1, not argmax(predict_proba); "
            "test_predict_is_argmax_under_the_argmax_rule runs this check with threshold='argmax'"
        ),
        "check_sample_weight_equivalence_on_dense_data": (
            "the search's folds are drawn over rows, so a row of weight 2 is not two copies of it (every fit, "
            "metric and threshold in them is weighted: tests/test_row_weights.py)"
        ),
    }


@parametrize_with_checks([StrategySearchClassifier(**TINY)], expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_predict_is_argmax_under_the_argmax_rule():
    # Binary (threshold 0.5) and multi-class (plain argmax): scikit-learn's whole training check.
    # Uncalibrated: a calibrated model decides on its own scores, so its predict is by design not
    # the argmax of the calibrated probabilities it reports (tests/test_deployed_answer.py).
    estimator = StrategySearchClassifier(threshold="argmax", calibration="none", **TINY)
    check_classifiers_train("StrategySearchClassifier", estimator)


def test_parameters_are_validated_in_fit_only():
    check_param_validation("StrategySearchClassifier", StrategySearchClassifier(**TINY))
    unchecked = StrategySearchClassifier(space="no-such-space", n_trials=0)  # __init__ only stores
    assert unchecked.get_params()["n_trials"] == 0
    X, y = np.random.default_rng(0).normal(size=(40, 2)), np.arange(40) % 2
    with pytest.raises(SpaceError, match="no-such-space"):
        StrategySearchClassifier(**{**TINY, "space": "no-such-space"}).fit(X, y)
    with pytest.raises(SettingsError, match="threshold"):  # the settings' own checks judge the values
        StrategySearchClassifier(**{**TINY, "threshold": "recall>=2"}).fit(X, y)


def test_every_search_setting_is_a_parameter_with_the_searchs_default():
    parameters = inspect.signature(StrategySearchClassifier).parameters
    for field in dataclasses.fields(SearchSettings):
        name = "random_state" if field.name == "seed" else field.name
        assert name in parameters, f"setting {field.name} is not a parameter"
        default = field.default if not isinstance(field.default, tuple) else field.default[0]
        assert parameters[name].default == default, name
    assert set(StrategySearchClassifier._parameter_constraints) == set(parameters)
    for name in parameters:  # every parameter is documented, in numpydoc form
        assert f"\n{name} : " in StrategySearchClassifier.__doc__


# -- the notebook's loop -------------------------------------------------------------------------
def test_fit_keeps_the_search_and_predicts_with_its_tuned_threshold(fitted, glass4):
    X, y = glass4
    assert fitted.classes_.tolist() == [0, 1]
    assert fitted.n_features_in_ == 9 and fitted.feature_names_in_.tolist() == list(X.columns)
    assert isinstance(fitted.strategy_, Strategy | Ensemble)
    assert 1 <= len(fitted.leaderboard_) <= 2
    assert fitted.best_scores_ == fitted.search_result_.best_scores and "pr_auc" in fitted.best_scores_
    assert 0.0 <= fitted.threshold_ <= 1.0 and fitted.threshold_ == fitted.strategy_.threshold
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.predict(X), (proba[:, 1] >= fitted.threshold_).astype(int))
    # The fitted columns in another order are the same rows.
    np.testing.assert_array_equal(fitted.predict_proba(X[X.columns[::-1]]), proba)
    assert fitted.score(X, y) > 0.9  # scikit-learn's accuracy of predict()


def test_clone_cross_val_score_and_a_pipeline_after_a_scaler(fitted, glass4):
    X, y = glass4
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params() and not hasattr(copy, "classes_")
    pipeline = make_pipeline(StandardScaler(), StrategySearchClassifier(**SMALL))
    scores = cross_val_score(pipeline, X, y, cv=2, scoring="average_precision")
    assert scores.shape == (2,) and (scores > 0.3).all()
    # The scaler hands the search a NumPy array: the search sees its columns as x0, x1, ...
    pipeline.fit(X, y)
    searched = pipeline[-1]
    assert not hasattr(searched, "feature_names_in_") and searched.n_features_in_ == 9
    assert searched.model_.feature_names_in_[:2].tolist() == ["x0", "x1"]
    assert pipeline.predict_proba(X).shape == (len(X), 2)


def test_saved_model_is_what_the_command_line_predicts_with(fitted, glass4, tmp_path):
    X, _ = glass4
    folder = fitted.save(tmp_path / "model")
    assert fitted.search_result_.best_pipeline() is fitted.model_  # the folder holds model_, not a refit
    X.to_csv(tmp_path / "rows.csv", index=False)
    assert main(["predict", str(folder), str(tmp_path / "rows.csv"), "--out", str(tmp_path / "out.csv")]) == 0
    predicted = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(predicted["score"], fitted.predict_proba(X)[:, 1], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(predicted["prediction"], fitted.predict(X))
    np.testing.assert_allclose(load_model(folder).predict_proba(X), fitted.predict_proba(X), rtol=0, atol=1e-9)


def test_a_pickled_classifier_predicts_but_cannot_save(fitted, glass4, tmp_path):
    X, _ = glass4
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    assert not hasattr(restored, "search_result_") and hasattr(fitted, "search_result_")
    with pytest.raises(NoStoredScores, match="unpickled"):
        restored.save(tmp_path / "model")


def test_classes_are_in_scikit_learns_order_whichever_class_is_positive(glass4):
    X, y = glass4
    flipped = 1 - y  # the rare class is now 0: the engine orders its classes (negative, positive) = (1, 0)
    clf = StrategySearchClassifier(**TINY).fit(X.to_numpy(), flipped)
    assert clf.classes_.tolist() == [0, 1] and clf.model_.classes_.tolist() == [1, 0]
    as_searched = pd.DataFrame(X.to_numpy()).add_prefix("x")  # an array's columns are named x0, x1, ...
    np.testing.assert_array_equal(clf.predict_proba(X.to_numpy())[:, 0], clf.model_.predict_proba(as_searched)[:, 1])
    # scikit-learn's scorers read the column of classes_[1], here the majority's.
    assert get_scorer("roc_auc")(clf, X.to_numpy(), flipped) > 0.8


def test_multiclass_probabilities_and_weights_follow_classes():
    X, y = _table("keel-multiclass/new-thyroid.csv")
    # Numeric text labels: the engine orders them as numbers (9, 10, 11), scikit-learn as text.
    y = y.map({"hyper": "9", "hypo": "10", "normal": "11"})
    clf = StrategySearchClassifier(**{**TINY, "n_trials": np.int64(1), "cv_folds": np.int64(2)}).fit(X, y)
    assert clf.classes_.tolist() == ["10", "11", "9"] and clf.model_.classes_.tolist() == ["9", "10", "11"]
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3) and clf.threshold_.shape == (3,)
    np.testing.assert_allclose(proba, clf.model_.predict_proba(X)[:, [1, 2, 0]])
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(proba * clf.threshold_, axis=1)])
