from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE
from lightgbm import LGBMClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split

import strategy_search
from strategy_search.data import DataError
from strategy_search.strategy import Ensemble, Strategy

FAST = {"space": "fast", "cv_folds": 3, "n_jobs": 2}


@pytest.fixture(scope="module")
def yeast5_split(yeast5):
    """Two thirds to search on, one third the search never sees."""
    X, y = yeast5
    return train_test_split(X, y, test_size=1 / 3, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def yeast5_search(yeast5_split):
    X_train, _, y_train, _ = yeast5_split
    return strategy_search.search(X_train, y_train, n_trials=25, seed=0)


def test_yeast5_search_covers_the_space_and_beats_plain_lightgbm_on_unseen_rows(yeast5_search, yeast5_split):
    board = yeast5_search.leaderboard
    assert len(board) == 25
    assert board["resampler"].nunique() >= 5, board["resampler"].unique()
    assert board["model"].nunique() >= 4, board["model"].unique()
    # The baseline is LightGBM as a user would first try it, straight from the library, so it
    # is none of the search's own candidates (whose best CV score would beat it by design),
    # and the comparison is on rows no part of the search saw.
    X_train, X_test, y_train, y_test = yeast5_split
    answer = average_precision_score(y_test, yeast5_search.best_pipeline().predict_proba(X_test)[:, 1])
    plain = LGBMClassifier(random_state=0, verbose=-1).fit(X_train, y_train)
    baseline = average_precision_score(y_test, plain.predict_proba(X_test)[:, 1])
    assert answer >= baseline, (answer, baseline)


def test_result_exposes_a_deployable_best_pipeline(yeast5_search, yeast5_split):
    X, _, y, _ = yeast5_split
    result = yeast5_search
    for column in ("state", "pr_auc", "f1", "resampler", "weighting", "objective", "model"):
        assert column in result.leaderboard.columns
    best = result.best_strategy
    # 25 trials of diverse strategies: the answer is an ensemble led by the best trial.
    assert isinstance(best, Ensemble)
    members = result.ensemble.trials
    assert members[0] == result.best_trial.number
    assert best.members[0] == Strategy.from_dict(result.best_trial.user_attrs["strategy"])
    assert result.best_scores == result.ensemble.metrics
    assert set(result.best_scores) >= {"pr_auc", "f1", "f1_at_0.5", "roc_auc", "mcc"}
    assert result.oof_scores is not None and len(result.oof_scores) == len(y)
    model = result.best_pipeline()
    scores = model.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(model.predict(X), np.where(scores >= best.threshold, 1, 0))


def test_pure_noise_labels_never_score_above_chance():
    """Leakage guard: with labels independent of the features no strategy may look good.
    Resampling before splitting (the control below) scores far above the bound."""
    rng = np.random.default_rng(42)
    X = pd.DataFrame(rng.normal(size=(1000, 6)), columns=[f"f{i}" for i in range(6)])
    y = pd.Series((rng.random(1000) < 0.05).astype(int))
    y.iloc[:50] = 1  # exactly 5 % positives
    y.iloc[50:] = 0
    y = y.sample(frac=1.0, random_state=0).reset_index(drop=True)
    result = strategy_search.search(X, y, n_trials=14, seed=1, space="fast", n_jobs=2)
    scored = result.leaderboard.dropna(subset=["pr_auc"])
    assert len(scored) >= 10
    assert scored["pr_auc"].max() < 0.15, scored[["model", "resampler", "pr_auc"]]
    assert result.best_scores["pr_auc"] < 0.15, result.best_strategy  # the answer, ensemble or not

    X_leaky, y_leaky = SMOTE(random_state=0).fit_resample(X, y)
    leaky = cross_val_score(
        RandomForestClassifier(100, random_state=0),
        X_leaky,
        y_leaky,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="average_precision",
    )
    assert leaky.mean() > 0.5


def test_same_seed_gives_the_same_leaderboard(yeast5):
    X, y = yeast5
    columns = ["trial", "state", "model", "resampler", "weighting", "objective", "pr_auc", "f1", "threshold", "params"]
    boards = [strategy_search.search(X, y, n_trials=10, seed=7, **FAST).leaderboard[columns] for _ in range(2)]
    pd.testing.assert_frame_equal(boards[0], boards[1])


def test_a_leaderboard_has_its_columns_with_or_without_trials(yeast5_search):
    """A study where no trial ran gets an empty table with the same columns (it had none, and a
    caller reading board["state"] got a KeyError)."""
    import optuna

    from strategy_search.result import leaderboard

    empty = leaderboard(optuna.create_study())
    assert len(empty) == 0
    assert list(empty.columns) == list(yeast5_search.leaderboard.columns)
    assert {"state", "pr_auc", "model", "fail_reason"} <= set(empty.columns)


def test_a_failing_trial_is_recorded_and_the_search_goes_on(small_numeric):
    X, y = small_numeric
    space = {
        "models": {"logistic_regression": {"C": -1.0}, "lightgbm": {"n_estimators": 20}},
        "portfolio": [{"name": "broken", "model": "logistic_regression"}, {"name": "ok", "model": "lightgbm"}],
    }
    result = strategy_search.search(X, y, space=space, n_trials=3, cv_folds=3, n_jobs=1)
    board = result.leaderboard.set_index("trial")
    assert board.loc[0, "state"] == "FAIL"
    assert "InvalidParameterError" in board.loc[0, "fail_reason"] and "'C'" in board.loc[0, "fail_reason"]
    assert board.loc[1, "state"] == "COMPLETE"
    assert result.strategy_of(result.best_trial).model == "lightgbm"


def test_a_family_whose_trials_all_fail_is_no_longer_fitted_and_the_sampler_learns_it(small_numeric):
    """Optuna's samplers ignore failed trials, so a family that cannot fit the table kept being
    proposed (RUSBoost failed 65-104 times in one 15 s search). After its first failures, while
    another family works, its trials close as pruned before any fit: a bad trial to the sampler."""
    from strategy_search.unfit_models import FAILURES_BEFORE_RETIRING

    X, y = small_numeric
    broken = [{"name": f"broken-{i}", "model": "logistic_regression"} for i in range(FAILURES_BEFORE_RETIRING + 2)]
    space = {
        "models": {"logistic_regression": {"C": -1.0}, "lightgbm": {"n_estimators": 10}},
        "portfolio": [{"name": "ok", "model": "lightgbm"}, *broken],
    }
    result = strategy_search.search(X, y, space=space, n_trials=20, cv_folds=3, n_jobs=1, seed=0)
    board = result.leaderboard.set_index("trial")
    tried = board[board["model"] == "logistic_regression"]
    failed = tried[tried["state"] == "FAIL"]
    # The next trial starts while the previous one fits, so one more may fail before the
    # failures are all told.
    assert FAILURES_BEFORE_RETIRING <= len(failed) <= FAILURES_BEFORE_RETIRING + 1
    retired = tried[tried["state"] == "PRUNED"]
    assert len(retired) >= 1 and len(failed) + len(retired) == len(tried)
    assert retired["fail_reason"].str.startswith("logistic_regression not fitted: its ").all()
    assert "InvalidParameterError" in retired["fail_reason"].iloc[0]
    assert retired.index.min() > failed.index.max()  # retired only once its failures were told
    assert board.loc[0, "state"] == "COMPLETE" and result.strategy_of(result.best_trial).model == "lightgbm"
    # The summary (printed by `run`, in the model card) says which family stopped being fitted.
    assert list(result.summary.not_fitted) == ["logistic_regression"]
    assert f"- {result.summary.not_fitted['logistic_regression']}" in result.summary.markdown()


def test_a_family_is_retired_only_after_its_failures_and_only_while_another_works():
    import optuna
    from optuna.trial import TrialState, create_trial

    from strategy_search.trial_record import TrialAttr
    from strategy_search.unfit_models import FAILURES_BEFORE_RETIRING, retired_model

    def trial(model: str, state: TrialState, **extra) -> optuna.trial.FrozenTrial:
        attrs = {TrialAttr.STRATEGY.value: {"model": model}, TrialAttr.FAIL_REASON.value: f"boom {model}"}
        value = 0.5 if state == TrialState.COMPLETE else None
        return create_trial(state=state, value=value, user_attrs=attrs, params={}, distributions={}, **extra)

    study = optuna.create_study(direction="maximize")
    for _ in range(FAILURES_BEFORE_RETIRING):
        assert retired_model(study, "rus_boost") is None
        study.add_trial(trial("rus_boost", TrialState.FAIL))
    assert retired_model(study, "rus_boost") is None  # no family has worked yet: maybe the setup
    study.add_trial(trial("lightgbm", TrialState.COMPLETE))
    reason = retired_model(study, "rus_boost")
    assert reason == (
        f"rus_boost not fitted: its {FAILURES_BEFORE_RETIRING} trials on this table all failed, none ran "
        "(the last: boom rus_boost)"
    )
    assert retired_model(study, "lightgbm") is None
    # One trial of the family that scored a fold before it was pruned: it can fit this table.
    study.add_trial(trial("rus_boost", TrialState.PRUNED, intermediate_values={0: 0.3}))
    assert retired_model(study, "rus_boost") is None


def test_timeout_is_honoured_while_a_slow_candidate_runs(small_numeric):
    X, y = small_numeric
    X = pd.concat([X] * 20, ignore_index=True)
    y = pd.concat([y] * 20, ignore_index=True)
    slow = {"models": {"random_forest": {"n_estimators": 3000, "min_samples_leaf": 1}}}
    started = time.monotonic()
    result = strategy_search.search(X, y, space=slow, timeout=4, cv_folds=3, n_jobs=2)
    elapsed = time.monotonic() - started
    assert elapsed < 4 + 3, f"a 4 s budget took {elapsed:.1f} s"
    assert result.study.trials[0].user_attrs.get("stopped") == "time budget exhausted"


def test_the_timeout_counts_from_the_call_and_the_trials_leave_a_tenth_of_it(small_numeric):
    from strategy_search.study_budget import Budget

    X, y = small_numeric
    before = time.time()
    result = strategy_search.search(X, y, space="fast", timeout=20, n_trials=2, cv_folds=3, n_jobs=1)
    budget = Budget.of(result.study)
    assert budget.finish_by is not None and budget.deadline is not None
    assert before <= budget.finish_by - 20 <= before + 1  # the data checks count
    assert budget.finish_by - budget.deadline == pytest.approx(2.0)
    assert Budget.starting_now(n_trials=5, timeout=None) == Budget(5, None, None)


def test_what_follows_the_trials_keeps_to_the_timeout_unless_the_study_is_finished_later():
    from strategy_search.answer import after_trials_deadline, do_nothing_allowance

    end = time.monotonic() + 5.0
    # Within the search's own call: half of the tenth the trials left (the rest: figures, logging).
    assert after_trials_deadline(30.0, finish_by=end) == pytest.approx(end - 1.5)
    # Finished later (`finish` of a workers' study): its own allowance from now.
    later = after_trials_deadline(30.0, finish_by=None)
    assert later is not None and later == pytest.approx(time.monotonic() + do_nothing_allowance(30.0), abs=1)
    assert after_trials_deadline(None, finish_by=None) is None


def test_pareto_search_returns_the_front(small_numeric):
    X, y = small_numeric
    result = strategy_search.search(X, y, metric=["pr_auc", "f1"], n_trials=8, space="fast", cv_folds=3, n_jobs=2)
    front = result.pareto_front
    assert front
    assert result.best_trial in front
    values = np.array([t.values for t in front])
    for _i, row in enumerate(values):
        dominated = np.all(values >= row, axis=1) & np.any(values > row, axis=1)
        assert not dominated.any(), "a Pareto trial is dominated"


def test_a_stored_study_resumes_up_to_the_budget(tmp_path, small_numeric):
    X, y = small_numeric
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    common = dict(space="fast", cv_folds=3, n_jobs=1, storage=storage, study_name="resume-me", seed=3)
    strategy_search.search(X, y, n_trials=3, **common)
    result = strategy_search.search(X, y, n_trials=5, **common)
    numbers = [t.number for t in result.study.trials]
    assert numbers == [0, 1, 2, 3, 4]
    first_params = [t.params for t in result.study.trials[:3]]
    assert len({str(p) for p in first_params}) == 3


@pytest.mark.parametrize(
    "labels,error",
    [
        (["a", "b", "c"] * 99 + ["a", "b", "d"], r"single row \('d': 1"),
        ([0] * 300, "has a single class"),
    ],
)
def test_unusable_targets_are_refused_with_their_counts(labels, error, small_numeric):
    X, _ = small_numeric
    with pytest.raises(DataError, match=error):
        strategy_search.search(X, pd.Series(labels), n_trials=1)


def test_positive_label_must_exist(small_numeric):
    X, y = small_numeric
    with pytest.raises(DataError, match="positive_label 'yes' is not a target value"):
        strategy_search.search(X, y, n_trials=1, positive_label="yes")


def test_bad_arguments_say_what_is_allowed(small_numeric):
    X, y = small_numeric
    with pytest.raises(ValueError, match=r"metric must be one of pr_auc, .*; got .accuracy."):
        strategy_search.search(X, y, metric="accuracy", n_trials=1)
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1 or null; got 0"):
        strategy_search.search(X, y, n_trials=0)


def test_budget_guard_ignores_the_first_trial_which_paid_for_worker_start_up():
    import datetime as dt

    import optuna

    from strategy_search.stopping import BudgetGuard as _BudgetGuard

    class StopRecorder:
        stopped = False

        def stop(self) -> None:
            self.stopped = True

    def trial(seconds: float) -> optuna.trial.FrozenTrial:
        start = dt.datetime(2026, 1, 1)
        return optuna.trial.FrozenTrial(
            number=0,
            state=optuna.trial.TrialState.COMPLETE,
            value=0.5,
            datetime_start=start,
            datetime_complete=start + dt.timedelta(seconds=seconds),
            params={},
            distributions={},
            user_attrs={},
            system_attrs={},
            intermediate_values={},
            trial_id=0,
        )

    guard, study = _BudgetGuard(time.monotonic() + 5), StopRecorder()
    guard(study, trial(9.0))  # start-up included: no estimate yet
    assert not study.stopped
    guard(study, trial(1.0))  # a typical trial fits in the 5 s left
    assert not study.stopped
    guard(study, trial(30.0))
    guard(study, trial(30.0))  # the median of the later trials no longer fits
    assert study.stopped
