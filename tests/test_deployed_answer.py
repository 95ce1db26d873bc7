"""What is deployed is what was scored (issue 25, items 1 and 6): the bagged answer is the
search's own fold models, rebuilt from storage alone; its probabilities are calibrated on the
out-of-fold scores without moving a single decision, and on a SMOTE-heavy answer the calibrated
probabilities are better on rows the search never saw."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import load_keel
from sklearn.model_selection import train_test_split

import strategy_search
from strategy_search.estimators.decision.bagged import FoldBaggedClassifier
from strategy_search.export import load_exported, rebuild_classifier
from strategy_search.model_folder import STRATEGY_FILE
from strategy_search.scoring import calibration_metrics

# SMOTE up to as many positives as negatives before a logistic regression: scores that rank
# well but overstate the minority's risk (van den Goorbergh et al., 2022).
SMOTE_HEAVY = {
    "resamplers": {"smote": {"sampling_strategy": 1.0, "k_neighbors": 5}},
    "weightings": {"none": {}},
    "objectives": {"logloss": {}},
    "models": {"logistic_regression": {"C": 1.0}},
}


@pytest.fixture(scope="module")
def glass4():
    X, y = load_keel("glass4")  # 214 rows, 13 positives
    return X, y.to_numpy()


@pytest.fixture(scope="module")
def bagged_search(glass4, tmp_path_factory):
    X, y = glass4
    storage = f"sqlite:///{tmp_path_factory.mktemp('bagged')}/optuna.db"
    result = strategy_search.search(X, y, space="fast", n_trials=5, n_jobs=1, seed=0, storage=storage, study_name="s")
    return result, storage


def test_the_bagged_answer_is_the_fold_models_that_were_scored(bagged_search, glass4):
    result, _ = bagged_search
    X, _ = glass4
    bag = result.model.estimator_
    assert isinstance(bag, FoldBaggedClassifier)
    cv = result.answer_cv()
    assert len(bag.estimators_) == len(result.plan.splits) == len(cv.folds)
    for model, (_, validation), fold in zip(bag.estimators_, result.plan.splits, cv.folds, strict=True):
        scored = model.predict_proba(X.iloc[validation])[:, 1]
        np.testing.assert_allclose(scored, fold.validation_scores, rtol=0, atol=1e-12)


def test_any_process_rebuilds_the_same_bagged_answer_from_storage(bagged_search, glass4, tmp_path):
    result, storage = bagged_search
    X, y = glass4
    reopened = strategy_search.load_search(X=X, y=y, settings={"space": "fast"}, storage=storage, study_name="s")
    np.testing.assert_array_equal(reopened.predict_proba(X), result.predict_proba(X))
    out = reopened.export(tmp_path / "model")
    meta = yaml.safe_load((out / STRATEGY_FILE).read_text())
    assert meta["deployment"]["answer"] == "bagged" and meta["deployment"]["fold_models"] == 5
    loaded, _ = load_exported(out)
    np.testing.assert_array_equal(loaded.predict_proba(X), result.predict_proba(X))
    rebuilt = rebuild_classifier(meta).fit(X, y)
    np.testing.assert_allclose(rebuilt.predict_proba(X), result.predict_proba(X), rtol=0, atol=1e-12)
    card = (out / "model_card.md").read_text()
    assert "The average of 5 fold models (`answer: bagged`)" in card and "## Probabilities" in card


def test_refit_deploys_one_model_fitted_on_all_rows(glass4):
    X, y = glass4
    result = strategy_search.search(X, y, space="fast", n_trials=2, n_jobs=1, answer="refit", calibration="none")
    assert result.bagging is None and result.calibration is None
    assert not isinstance(result.model.estimator_, FoldBaggedClassifier)
    assert result.model.calibration is None


@pytest.fixture(scope="module")
def smote_heavy():
    X, y = load_keel("yeast5")  # 1,484 rows, 44 positives
    y = y.to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    result = strategy_search.search(X_train, y_train, space=SMOTE_HEAVY, n_trials=2, n_jobs=1, seed=0)
    return result, X_test, y_test


def test_calibrated_probabilities_are_better_on_rows_the_search_never_saw(smote_heavy):
    result, X_test, y_test = smote_heavy
    assert result.calibration is not None and result.calibration.method in ("sigmoid", "isotonic")
    model = result.model
    raw = model.decision_scores(X_test)
    calibrated = model.predict_proba(X_test)[:, 1]
    before, after = calibration_metrics(y_test, raw), calibration_metrics(y_test, calibrated)
    assert after["brier"] < before["brier"] and after["ece"] < before["ece"], (before, after)
    # The scores overstated the minority's rate; calibrated, they come close to it.
    assert raw.mean() > 2 * y_test.mean() and abs(calibrated.mean() - y_test.mean()) < 0.5 * y_test.mean()


def test_calibrating_changes_no_decision(smote_heavy):
    result, X_test, _ = smote_heavy
    model = result.model
    expected = model.classes_[(model.decision_scores(X_test) >= model.threshold).astype(int)]
    np.testing.assert_array_equal(model.predict(X_test), expected)
    probabilities, labels = model.proba_and_labels(X_test)
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_allclose(probabilities, model.predict_proba(X_test))


def test_auto_repeats_the_split_for_a_small_minority_and_bags_every_repeat(glass4):
    X, y = glass4  # 13 positives: 100 validated positives take 8 repeats, capped at 3
    result = strategy_search.search(X, y, space="fast", n_trials=2, n_jobs=1, cv_repeats="auto", ensemble_size=1)
    assert (result.plan.folds, result.plan.repeats) == (5, 3)
    bag = result.model.estimator_
    assert len(bag.estimators_) == 15 and result.bagging is not None and result.bagging.repeats == 3
    cv = result.answer_cv()
    for model, (_, validation), fold in zip(bag.estimators_, result.plan.splits, cv.folds, strict=True):
        np.testing.assert_allclose(model.predict_proba(X.iloc[validation])[:, 1], fold.validation_scores, atol=1e-12)


@pytest.mark.parametrize(
    ("smallest", "rows", "expected"),
    [(13, 214, 3), (40, 1000, 3), (50, 1000, 2), (51, 1000, 2), (100, 900, 1), (20, 30_000, 1)],
)
def test_auto_repeats_follow_the_smallest_class_and_the_table_size(smallest, rows, expected):
    from strategy_search.fold_counts import cv_repeats_for

    assert cv_repeats_for("auto", smallest_class=smallest, n_rows=rows) == expected
    assert cv_repeats_for(2, smallest_class=smallest, n_rows=rows) == 2
