"""Ensembles of the best trials: scored exactly, chosen honestly, deployed as scored."""

from __future__ import annotations

import numpy as np
import pytest

import strategy_search
from strategy_search.ensemble import average_cv, select_ensemble
from strategy_search.estimators.classifiers.ensemble import AveragedClassifier
from strategy_search.export import export_model, load_model
from strategy_search.prepared import prepare_data
from strategy_search.scoring import (
    CVResult,
    fold_from_scores,
    score_pipeline,
)
from strategy_search.splits import outer_splits as cv_splits
from strategy_search.strategy import (
    Ensemble,
    Strategy,
    build_pipeline,
    strategy_from_dict,
)

FAST = {"space": "fast", "cv_folds": 3, "n_jobs": 2}


def _synthetic_cv(y: np.ndarray, scores: np.ndarray, splits) -> CVResult:
    """A complete CV whose validation (and inner) scores are the given per-row scores."""
    folds = []
    for train, validation in splits:
        folds.append(fold_from_scores(y, validation, scores[validation], train, scores[train]))
    return CVResult(folds, list(splits), len(y))


@pytest.fixture(scope="module")
def labels_and_splits():
    rng = np.random.default_rng(0)
    y = (rng.random(600) < 0.1).astype(int)
    return y, cv_splits(y, folds=5, repeats=1, seed=0)


def test_ensemble_cv_is_exactly_what_the_averaged_pipeline_scores(small_numeric):
    """Scoring an ensemble from its members' stored fold scores must equal cross-validating
    the deployed AveragedClassifier itself: what is exported is what was measured."""
    X, y = small_numeric
    y01 = (y == 1).to_numpy().astype(int)
    splits = cv_splits(y01, folds=3, repeats=1, seed=0)
    members = (
        Strategy.of(model="logistic_regression", weighting="balanced"),
        Strategy.of(model="random_forest", model_params={"n_estimators": 30, "n_jobs": 1}),
    )
    schema = prepare_data(X, y).profile.schema
    alone = [score_pipeline(build_pipeline(m, schema), X, y01, splits=splits, seed=0) for m in members]
    averaged = average_cv(alone, [1.0, 2.0], y01)
    deployed = score_pipeline(build_pipeline(Ensemble(members, (1.0, 2.0)), schema), X, y01, splits=splits, seed=0)
    for expected, got in zip(averaged.folds, deployed.folds, strict=True):
        assert got.threshold == pytest.approx(expected.threshold, abs=1e-12)
        for metric, value in expected.metrics.items():
            assert got.metrics[metric] == pytest.approx(value, abs=1e-12), metric


def test_similar_candidates_are_averaged_best_first(labels_and_splits):
    y, splits = labels_and_splits
    rng = np.random.default_rng(1)
    candidates = [(key, _synthetic_cv(y, y + rng.normal(0, 1.0, len(y)), splits)) for key in (7, 3, 9, 4)]
    choice = select_ensemble(candidates, y, metric="pr_auc", pool_size=8)
    assert choice is not None and len(choice.trials) >= 2
    best_alone = max(candidates, key=lambda kv: kv[1].mean()["pr_auc"])
    assert choice.trials[0] == best_alone[0]
    assert choice.cv.mean()["pr_auc"] > best_alone[1].mean()["pr_auc"]
    assert len(choice.weights) == len(choice.trials) and min(choice.weights) >= 1.0


def test_a_clearly_better_single_candidate_is_kept_alone(labels_and_splits):
    y, splits = labels_and_splits
    rng = np.random.default_rng(2)
    strong = _synthetic_cv(y, y + rng.normal(0, 0.3, len(y)), splits)
    noise = [_synthetic_cv(y, rng.normal(0, 3.0, len(y)), splits) for _ in range(3)]
    candidates = [(0, strong)] + [(i + 1, cv) for i, cv in enumerate(noise)]
    assert select_ensemble(candidates, y, metric="pr_auc", pool_size=8) is None
    assert select_ensemble(candidates[:1], y, metric="pr_auc", pool_size=8) is None


def test_averaged_classifier_averages_and_rejects_bad_weights(small_numeric):
    X, y = small_numeric
    schema = prepare_data(X, y).profile.schema
    members = [
        build_pipeline(Strategy.of(model="logistic_regression"), schema),
        build_pipeline(Strategy.of(model="extra_trees", model_params={"n_estimators": 20}), schema),
    ]
    model = AveragedClassifier(members, weights=[3, 1]).fit(X, y)
    expected = 0.75 * model.estimators_[0].predict_proba(X) + 0.25 * model.estimators_[1].predict_proba(X)
    np.testing.assert_allclose(model.predict_proba(X), expected)
    with pytest.raises(ValueError, match=r"weights must be 2 non-negative numbers.*got \[1\]"):
        AveragedClassifier(members, weights=[1]).fit(X, y)


def test_search_answer_is_an_ensemble_that_exports_and_round_trips(small_numeric, tmp_path):
    X, y = small_numeric
    result = strategy_search.search(X, y, n_trials=8, seed=0, **FAST)
    answer = result.best_strategy
    assert isinstance(answer, Ensemble), result.leaderboard[["trial", "model", "pr_auc"]]
    assert [result.strategy_of(result.study.trials[n]) for n in result.ensemble.trials] == list(answer.members)
    assert strategy_from_dict(answer.to_dict()) == answer
    fitted = result.best_pipeline()
    export_model(
        classifier=fitted,
        strategy=answer,
        profile=result.profile,
        metrics=result.best_scores,
        metrics_std=result.best_scores_std,
        X=X,
        out_dir=tmp_path / "model",
        source={},
    )
    loaded = load_model(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X))
    assert (loaded.predict(X) == fitted.predict(X)).all()
    assert "ensemble of" in (tmp_path / "model" / "model_card.md").read_text()


def test_ensemble_size_one_answers_with_the_best_trial(small_numeric):
    X, y = small_numeric
    result = strategy_search.search(X, y, n_trials=6, seed=0, ensemble_size=1, **FAST)
    assert result.ensemble is None
    assert result.best_strategy == result.strategy_of(result.best_trial)
    assert "ensemble" not in result.study.user_attrs
    with pytest.raises(ValueError, match=r"ensemble_size must be an integer >= 1 .*; got 0"):
        strategy_search.search(X, y, n_trials=6, ensemble_size=0)


def test_a_resumed_study_keeps_its_recorded_ensemble(small_numeric, tmp_path):
    X, y = small_numeric
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    first = strategy_search.search(X, y, n_trials=8, seed=0, storage=storage, study_name="s", **FAST)
    again = strategy_search.search(X, y, n_trials=8, seed=0, storage=storage, study_name="s", **FAST)
    assert first.ensemble is not None
    assert again.ensemble == first.ensemble
    assert again.best_strategy == first.best_strategy
