"""Big tables: multi-fidelity rungs, the cost guard on expensive components, the table shared
with the worker processes once per search, and a search on a generated 200,000-row table."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import strategy_search
from strategy_search.data import duplicated_columns
from strategy_search.fidelity import AUTO_MIN_ROWS, ETA, MIN_RUNG_ROWS, plan_fidelities, subsample
from strategy_search.shared_table import TableRef, rows, shared
from strategy_search.space import load_space
from strategy_search.splits import outer_splits as cv_splits
from strategy_search.study_budget import Budget

QUADRATIC = {"resampler svm_smote", "resampler tomek", "resampler enn", "resampler smote_enn", "resampler smote_tomek"}


def _fraud_table(n_rows: int) -> pd.DataFrame:
    path = Path(__file__).resolve().parent.parent / "experiments" / "make_fraud_data.py"
    spec = importlib.util.spec_from_file_location("make_fraud_data", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_fraud_table(n_rows, seed=0)


# -- fidelities ---------------------------------------------------------------------------------
def test_a_subsample_keeps_every_positive_and_the_fraction_of_negatives_nested():
    codes = np.r_[np.ones(50, dtype=int), np.zeros(9950, dtype=int)]
    train = np.arange(0, 10_000, 2)  # 25 positives, 4975 negatives
    small = subsample(codes, train, 1 / 9, seed=3)
    large = subsample(codes, train, 1 / 3, seed=3)
    assert set(small) <= set(large) <= set(train)
    assert int(codes[small].sum()) == int(codes[large].sum()) == 25
    assert (codes[small] == 0).sum() == int(np.ceil(4975 / 9))
    assert (codes[large] == 0).sum() == int(np.ceil(4975 / 3))
    assert np.array_equal(subsample(codes, train, 1 / 9, seed=3), small)  # the same for every trial


def test_fidelities_are_on_by_default_only_for_big_tables_and_validate_on_the_full_folds():
    rng = np.random.default_rng(0)
    small = (rng.random(3_000) < 0.05).astype(int)
    big = (rng.random(int(AUTO_MIN_ROWS * 1.5)) < 0.01).astype(int)
    small_splits = cv_splits(small, folds=5, repeats=1, seed=0)
    big_splits = cv_splits(big, folds=5, repeats=1, seed=0)
    assert not plan_fidelities(small, small_splits, mode="auto", seed=0).active
    assert not plan_fidelities(big, big_splits, mode="off", seed=0).active
    assert plan_fidelities(small, small_splits, mode="on", seed=0).active
    planned = plan_fidelities(big, big_splits, mode="auto", seed=0)
    assert planned.fractions == tuple(sorted(planned.fractions)) and all(f < 1 for f in planned.fractions)
    assert planned.fractions[-1] == pytest.approx(1 / ETA)
    for rung in planned.splits:
        for (train, validation), (full_train, full_validation) in zip(rung, big_splits, strict=True):
            assert np.array_equal(validation, full_validation)
            assert set(train) <= set(full_train) and len(train) >= MIN_RUNG_ROWS


def test_a_multi_fidelity_search_completes_only_full_fidelity_trials(yeast5):
    X, y = yeast5
    result = strategy_search.search(X, y, n_trials=12, n_jobs=1, space="fast", fidelity="on", seed=0)
    board = result.leaderboard
    complete, pruned = board[board["state"] == "COMPLETE"], board[board["state"] == "PRUNED"]
    assert len(complete) and len(pruned)
    assert (complete["fidelity"] == 1.0).all()
    assert (pruned["fidelity"] < 1.0).all()
    assert pruned["fail_reason"].str.startswith("pruned at fidelity").all()
    assert set(result.answer_trials) <= set(complete["trial"])
    rungs = result.study.trials[int(pruned["trial"].iloc[0])].user_attrs["rung_metrics"]
    assert rungs[0]["fraction"] < 1 and 0 <= rungs[0]["pr_auc"] <= 1 and "f1" not in rungs[0]


def test_a_search_with_fidelities_off_scores_every_trial_on_every_row(yeast5):
    X, y = yeast5
    result = strategy_search.search(X, y, n_trials=4, n_jobs=1, space="fast", fidelity="off", pruning=False)
    assert (result.leaderboard["fidelity"] == 1.0).all()
    assert all("rung_metrics" not in t.user_attrs for t in result.study.trials)


# -- cost guard ---------------------------------------------------------------------------------
def test_expensive_components_are_left_out_of_big_tables_with_the_reason(yeast5):
    X, y = yeast5
    space = load_space("default")
    left_out = space.left_out_for_size(has_categorical=False)
    assert set(left_out) == QUADRATIC
    assert all("square of the rows" in why and "expensive_row_limit" in why for why in left_out.values())
    result = strategy_search.search(X, y, n_trials=12, n_jobs=1, expensive_row_limit=500, seed=0)
    assert set(result.left_out) == QUADRATIC
    used = set(result.leaderboard["resampler"].dropna())
    assert not used & {key.split()[1] for key in QUADRATIC}
    assert not strategy_search.search(X, y, n_trials=1, n_jobs=1).left_out  # 1,187 training rows: all kept


# -- the table shared with the workers ------------------------------------------------------------
def test_the_shared_table_is_one_file_read_back_row_for_row_and_removed_after():
    X = pd.DataFrame({"a": np.arange(1000.0), "s": ["x", "y"] * 500, "c": pd.Categorical(["p", "q"] * 500)})
    with shared(X, share=True) as table:
        assert isinstance(table, TableRef) and len(table) == 1000
        path = Path(table.path)
        assert path.exists()
        pd.testing.assert_frame_equal(rows(table, np.array([3, 998])), X.iloc[[3, 998]])
    assert not path.exists()
    with shared(X, share=False) as table:
        assert table is X


def test_duplicated_columns_are_found_by_value_whatever_their_name():
    X = pd.DataFrame({"a": [1, 2, 3], "b": [1.5, 2.5, 3.5], "c": [1, 2, 3], "d": [3, 2, 1], "e": [1.5, 2.5, 3.5]})
    assert duplicated_columns(X) == ["c", "e"]


# -- a 200,000-row table --------------------------------------------------------------------------
def test_a_search_on_200k_rows_keeps_its_deadline_guards_and_answers_at_full_fidelity():
    table = _fraud_table(200_000)
    X, y = table.drop(columns="target"), table["target"]
    timeout = 75.0
    started = time.monotonic()
    result = strategy_search.search(X, y, timeout=timeout, n_jobs=2, seed=0)
    searched = time.monotonic() - started
    # The timeout counts checking the table, and the trials leave a tenth of it for choosing the
    # answer and the do-nothing comparison; choosing and calibrating the answer on 200,000 rows
    # is not cut short, so it may run a little past ...
    assert searched < timeout + 25, searched
    # ... but no trial runs past the study's deadline by more than a worker kill takes.
    deadline = Budget.of(result.study).deadline
    assert deadline is not None
    ended = max(t.datetime_complete.timestamp() for t in result.study.trials if t.datetime_complete)
    assert ended <= deadline + 3, ended - deadline
    # SVM-SMOTE is out anyway: the table has categorical columns, which it would interpolate.
    assert set(result.left_out) == QUADRATIC - {"resampler svm_smote"}
    board = result.leaderboard
    assert not set(board["resampler"].dropna()) & {key.split()[1] for key in QUADRATIC}
    complete = board[board["state"] == "COMPLETE"]
    assert len(complete) >= 1
    assert (complete["fidelity"] == 1.0).all()
    # The search ran with subsampled rungs below the full CV (whether a trial was stopped on one
    # depends on how many trials the machine's load let run: the 12-trial test above checks that).
    rungs = plan_fidelities(
        result.data.codes, result.plan.splits, mode=result.settings.fidelity, seed=result.settings.seed
    )
    assert rungs.active and max(rungs.fractions) < 1.0, rungs.fractions
    assert set(result.answer_trials) <= set(complete["trial"])
