"""Did treating the imbalance help: the do-nothing strategy, the corrected paired t-test, and
the comparison every search records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import strategy_search
from strategy_search.do_nothing import (
    DoNothingComparison,
    corrected_t_test,
    do_nothing_strategy,
    is_untreated,
    untreated_strategy,
)
from strategy_search.scoring import score_pipeline
from strategy_search.slots import MODEL, all_slots
from strategy_search.strategy import Strategy, build_pipeline


def test_doing_nothing_keeps_the_model_and_its_parameters_and_drops_every_treatment():
    treated = Strategy.of(
        model="lightgbm",
        resampler="smote",
        weighting="balanced",
        objective="focal",
        model_params={"num_leaves": 7},
        resampler_params={"k_neighbors": 3},
        threshold=0.2,
        seed=4,
    )
    plain = do_nothing_strategy(treated)
    assert plain.model == "lightgbm" and plain.params_for(MODEL) == {"num_leaves": 7}
    assert all(plain.key(s.name) == s.neutral for s in all_slots() if s.name != MODEL)
    assert plain.threshold == 0.5 and plain.seed == 4


def test_the_corrected_t_test_widens_the_variance_by_the_test_to_train_ratio():
    d = np.array([0.02, 0.05, -0.01, 0.04, 0.03])
    t = d.mean() / np.sqrt((1 / 5 + 0.25) * d.var(ddof=1))
    assert corrected_t_test(d, test_share=0.25) == pytest.approx(2 * stats.t.sf(abs(t), df=4))
    # The correction makes it more cautious than the naive paired t-test.
    assert corrected_t_test(d, test_share=0.25) > stats.ttest_1samp(d, 0).pvalue
    assert corrected_t_test(-d, test_share=0.25) == pytest.approx(corrected_t_test(d, test_share=0.25))
    assert corrected_t_test([0.0, 0.0, 0.0], test_share=0.25) == 1.0
    assert np.isnan(corrected_t_test([0.1], test_share=0.25))


def test_every_search_compares_its_answer_with_doing_nothing_on_the_same_folds(yeast5):
    X, y = yeast5
    result = strategy_search.search(X, y, n_trials=6, n_jobs=1, space="fast", seed=0)
    comparison = result.do_nothing
    assert comparison is not None and comparison.skipped is None
    assert list(comparison.answer_trials) == result.answer_trials and comparison.n_folds == 5
    strategy = Strategy.from_dict(comparison.strategy)
    assert strategy.model == result.strategy_of(result.study.trials[comparison.trial]).model
    # Scored again from scratch, the do-nothing strategy gives the recorded fold scores.
    plan = result.plan
    pipeline = build_pipeline(strategy, result.profile.schema)
    again = score_pipeline(pipeline, result.data.X, plan.codes, splits=plan.splits, threshold_folds=0)
    answer = result.answer_cv()
    assert answer is not None
    assert {d.metric for d in comparison.differences} == {"pr_auc", "f1"}
    for d in comparison.differences:
        assert d.do_nothing == pytest.approx(again.mean()[d.metric])
        assert d.answer == pytest.approx(answer.mean()[d.metric])
        differences = answer.metric_values(d.metric) - again.metric_values(d.metric)
        assert d.p_value == pytest.approx(corrected_t_test(differences, test_share=0.25), rel=0.05)
    # Stored on the study: another process reads the same comparison.
    assert DoNothingComparison.from_attr(result.study.user_attrs["do_nothing"]) == comparison
    assert "against doing nothing" in comparison.summary({})


def test_untreating_keeps_each_model_and_its_parameters_or_its_plain_twin():
    smote_lgbm = Strategy.of(model="lightgbm", resampler="smote", objective="focal", model_params={"num_leaves": 7})
    untreated = untreated_strategy(smote_lgbm)
    assert untreated is not None and untreated.model == "lightgbm" and untreated.params_for(MODEL) == {"num_leaves": 7}
    assert all(untreated.key(s.name) == s.neutral for s in all_slots() if s.name != MODEL)
    assert not is_untreated(smote_lgbm) and is_untreated(untreated)
    balanced_forest = Strategy.of(model="balanced_random_forest", model_params={"min_samples_leaf": 3})
    twin = untreated_strategy(balanced_forest)
    assert twin is not None and twin.model == "random_forest" and twin.params_for(MODEL) == {"min_samples_leaf": 3}
    assert not is_untreated(balanced_forest)
    assert untreated_strategy(Strategy.of(model="easy_ensemble")) is None


def test_an_answer_of_untreated_models_is_not_credited_to_a_treatment(yeast5):
    """Its members do nothing about the imbalance: whatever it gains over doing nothing comes from
    the choice of models, averaging and the threshold, and the verdict says so."""
    X, y = yeast5
    space = {"models": {"logistic_regression": {}, "random_forest": {"n_estimators": 40}, "lightgbm": {}}}
    result = strategy_search.search(X, y, n_trials=5, n_jobs=1, space=space, seed=0, ensemble_size=5)
    comparison = result.do_nothing
    assert comparison is not None and comparison.skipped is None and comparison.treatment
    assert comparison.all_untreated and all(d.difference == 0 for d in comparison.treatment)
    assert comparison.treatment_helped is None
    text = comparison.summary({})
    assert "not a treatment" in text and "treating the imbalance helped" not in text
    assert comparison.treatment_rows({}) == []


def test_an_answer_whose_treatment_alone_helps_is_credited(small_minority_boosting_table):
    """XGBoost with a large min_child_weight cannot split a table with 3 % positives unless the
    positives are weighted up (each row's hessian is tiny at a 3 % base rate): the weighting is
    what makes it work, on the same model and parameters."""
    X, y = small_minority_boosting_table
    space = {
        "models": {"xgboost": {"min_child_weight": 20, "n_estimators": 100, "max_depth": 4}},
        "weightings": {"balanced": {}},
    }
    result = strategy_search.search(X, y, n_trials=2, n_jobs=1, space=space, seed=0)
    comparison = result.do_nothing
    assert comparison is not None and not comparison.all_untreated
    pr_auc = next(d for d in comparison.treatment if d.metric == "pr_auc")
    assert pr_auc.difference > 0.3 and pr_auc.p_value < 0.05, pr_auc
    assert comparison.treatment_helped is True
    assert "treating the imbalance helped" in comparison.summary({})
    stored = DoNothingComparison.from_attr(result.study.user_attrs["do_nothing"])
    assert stored == comparison  # another process reads the same attribution


def test_a_do_nothing_cv_that_cannot_finish_in_the_time_left_is_not_started(small_numeric, monkeypatch):
    """Started, it would only be stopped at the deadline: with the source trial's fits taking
    longer than what is left of the timeout, the comparison is skipped at once, saying why, and no CV runs."""
    import strategy_search.answer as answer

    X, y = small_numeric

    def never(*args, **kwargs):
        raise AssertionError("the do-nothing CV was started")

    monkeypatch.setattr(answer, "_expected_seconds", lambda trial, n_jobs: 1e6)
    monkeypatch.setattr(answer, "_scored", never)
    space = {"models": {"logistic_regression": {}}}
    result = strategy_search.search(X, y, n_trials=2, timeout=600, n_jobs=1, space=space, seed=0)
    comparison = result.do_nothing
    assert comparison is not None and comparison.skipped is not None
    # The trials ended early (n_trials), so nearly all of the timeout is left, but not enough.
    assert "would take about 1000000 s" in comparison.skipped and "s left after the trials" in comparison.skipped


@pytest.fixture(scope="module")
def small_minority_boosting_table():
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=1200, n_features=8, n_informative=5, weights=[0.97], class_sep=0.8, flip_y=0, random_state=0
    )
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(8)]), y
