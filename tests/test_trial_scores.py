"""Trial results live in storage: any process rebuilds the search's answer from the stored
study alone, a resumed search chooses among every run's trials, and a study is not mixed with
other data or another space."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import strategy_search
from strategy_search.errors import DataError, SearchFailed
from strategy_search.prepared import prepare_data
from strategy_search.ranking import best_first
from strategy_search.result import load_result
from strategy_search.settings import SearchSettings
from strategy_search.trial_scores import TABLE, decode_scores, encode_scores

SETTINGS = {"space": "fast", "seed": 3, "n_jobs": 1, "cv_folds": 3}


@pytest.fixture(scope="module")
def table(small_numeric):
    X, y = small_numeric
    return X, y


def _storage(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'optuna.db'}"


def test_a_fresh_process_rebuilds_the_same_answer_from_storage(tmp_path, table):
    X, y = table
    storage = _storage(tmp_path)
    result = strategy_search.search(X, y, n_trials=8, storage=storage, study_name="s", **SETTINGS)
    # What another process has: the data, the config's settings and the storage URL.
    loaded = load_result(prepare_data(X, y), SearchSettings.create(**SETTINGS), storage=storage, study_name="s")
    assert loaded.answer_trials == result.answer_trials
    assert loaded.best_scores == result.best_scores
    np.testing.assert_array_equal(loaded.oof_scores, result.oof_scores)
    assert loaded.best_strategy == result.best_strategy
    for trial in result.completed_trials():  # every complete trial's folds, exactly as scored
        cv = loaded.stored_cvs([trial.number])[trial.number]
        assert cv.mean() == pytest.approx(trial.user_attrs["metrics"], nan_ok=True, rel=0, abs=0)
        assert [f.threshold for f in cv.folds] == trial.user_attrs["fold_thresholds"]


def test_scores_are_kept_in_a_table_beside_the_study_not_in_attributes(tmp_path, table):
    import sqlalchemy as sa

    X, y = table
    storage = _storage(tmp_path)
    result = strategy_search.search(X, y, n_trials=4, storage=storage, study_name="s", **SETTINGS)
    with sa.create_engine(storage).connect() as connection:
        rows = connection.execute(sa.text(f"SELECT trial_number, length(scores) FROM {TABLE}")).all()
    assert sorted(n for n, _ in rows) == [t.number for t in result.completed_trials()]
    assert max(size for _, size in rows) < 20_000  # 300 rows x 3 folds, compressed
    assert all("scores" not in t.user_attrs and "oof" not in str(t.user_attrs) for t in result.study.trials)
    assert "answer_oof" not in result.study.user_attrs


def test_encoded_scores_decode_to_the_same_cv(table):
    X, y = table
    result = strategy_search.search(X, y, n_trials=2, **SETTINGS)
    trial = result.completed_trials()[0]
    cv = result.stored_cvs([trial.number])[trial.number]
    again = decode_scores(encode_scores(cv), result.plan, result.settings)
    np.testing.assert_array_equal(again.oof, cv.oof)
    assert again.mean() == cv.mean()


def test_a_resumed_search_chooses_its_answer_among_every_runs_trials(tmp_path, table):
    X, y = table
    storage = _storage(tmp_path)
    first = strategy_search.search(X, y, n_trials=5, storage=storage, study_name="s", **SETTINGS)
    early = {t.number for t in first.completed_trials()}
    resumed = strategy_search.search(X, y, n_trials=10, storage=storage, study_name="s", **SETTINGS)
    stored = resumed.stored_cvs([t.number for t in resumed.completed_trials()])
    assert early <= set(stored), "the first run's fold scores are still there"
    metric = resumed.settings.primary_metric
    best = min(stored, key=lambda n: best_first(stored[n].mean()[metric], n))
    from strategy_search.ensemble import select_ensemble

    expected = select_ensemble(list(stored.items()), resumed.data.codes, metric=metric, pool_size=8)
    assert resumed.answer_trials == (list(expected.trials) if expected else [best])


@pytest.mark.parametrize(
    "change,says",
    [
        ({"y": "flip"}, "other data"),
        ({"space": "default"}, "another search space"),
        ({"cv_folds": 4}, "other cross-validation settings"),
    ],
)
def test_a_study_is_not_continued_on_other_data_space_or_folds(change, says, tmp_path, table):
    X, y = table
    storage = _storage(tmp_path)
    strategy_search.search(X, y, n_trials=2, storage=storage, study_name="s", **SETTINGS)
    settings = {**SETTINGS, **{k: v for k, v in change.items() if k != "y"}}
    other_y = pd.Series(np.roll(y.to_numpy(), 1)) if change.get("y") else y
    with pytest.raises(DataError, match=says):
        strategy_search.search(X, other_y, n_trials=4, storage=storage, study_name="s", **settings)
    with pytest.raises(DataError, match=says):
        load_result(prepare_data(X, other_y), SearchSettings.create(**settings), storage=storage, study_name="s")


def test_finish_refuses_other_data_instead_of_rebuilding_wrong_scores(tmp_path, table):
    from strategy_search.study import finish_study

    X, y = table
    storage = _storage(tmp_path)
    result = strategy_search.search(X, y, n_trials=2, storage=storage, study_name="s", **SETTINGS)
    other = SearchSettings.create(**{**SETTINGS, "seed": 4})
    with pytest.raises(DataError, match="other cross-validation settings"):
        finish_study(result.study, prepare_data(X, y), other)


def test_a_study_whose_trials_all_failed_still_runs_when_resumed(tmp_path, table, monkeypatch):
    import importlib

    search_module = importlib.import_module("strategy_search.objective")  # where the objective starts its CV
    X, y = table
    storage = _storage(tmp_path)
    broken = {"on": True}
    real = search_module.start_cv

    def sometimes_broken(*args, **kwargs):
        if broken["on"]:
            raise RuntimeError("broken setup")
        return real(*args, **kwargs)

    monkeypatch.setattr(search_module, "start_cv", sometimes_broken)
    with pytest.raises(SearchFailed):
        strategy_search.search(X, y, n_trials=8, storage=storage, study_name="s", **SETTINGS)
    broken["on"] = False
    resumed = strategy_search.search(X, y, n_trials=10, storage=storage, study_name="s", **SETTINGS)
    assert len(resumed.completed_trials()) >= 1
