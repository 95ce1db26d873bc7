"""Did treating the imbalance help: the do-nothing strategy, the corrected paired t-test, and
the comparison every search records."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import strategy_search
from strategy_search.do_nothing import DoNothingComparison, corrected_t_test, do_nothing_strategy
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
