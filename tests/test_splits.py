"""Grouped and time-ordered cross-validation (``cv.groups``, ``cv.time``; strategy_search.splits):
scores measured on groups and times the model never saw, through the search, its threshold
folds and the deployed answer."""

from __future__ import annotations

import contextlib
import html
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

import strategy_search
from strategy_search.cli import main
from strategy_search.config import validate_config
from strategy_search.errors import DataError, SettingsError
from strategy_search.parallel import TaskRunner
from strategy_search.scoring import score_pipeline
from strategy_search.splits import SplitBy, group_codes, inner_splits, outer_splits, time_key, time_splits

SEARCH = dict(space="fast", n_trials=2, n_jobs=2, seed=0)


# -- tables ------------------------------------------------------------------------------------
def customers(n_customers: int, rows_each: int, *, seed: int, first_id: int = 0):
    """Each customer's rows are near-copies of one point; the label is the customer's trait (a
    noisy function of the point), so a model can memorise a customer but must generalise to others."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=(n_customers, 6))
    trait = ((centre[:, 0] + 0.5 * rng.normal(size=n_customers)) > 1.0).astype(int)
    owner = np.repeat(np.arange(n_customers), rows_each)
    X = centre[owner] + rng.normal(scale=0.05, size=(len(owner), 6))
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]), pd.Series(trait[owner]), owner + first_id


def drifting(n: int, start: float, end: float, *, seed: int):
    """Rows over ``start .. end`` years; the rule that makes a positive turns with time (from
    feature f0 towards f1), so a model is only as good as the rows before it allow."""
    rng = np.random.default_rng(seed)
    years = np.sort(rng.uniform(start, end, n))
    X = rng.normal(size=(n, 5))
    angle = years * np.pi / 2
    y = ((X[:, 0] * np.cos(angle) + X[:, 1] * np.sin(angle) + 0.3 * rng.normal(size=n)) > 1.3).astype(int)
    when = (pd.Timestamp("2024-01-01") + pd.to_timedelta(years * 365, unit="D")).strftime("%Y-%m-%d %H:%M")
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]), pd.Series(y), pd.Series(when)


# -- the two checks --------------------------------------------------------------------
def test_grouped_cv_scores_customers_it_never_saw_where_shuffled_cv_scores_memory():
    X, y, customer = customers(250, 4, seed=0)
    X_new, y_new, _ = customers(1000, 1, seed=1, first_id=10_000)
    found = {}
    for name, groups in (("shuffled", None), ("grouped", customer)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = strategy_search.search(X, y, groups=groups, **SEARCH)
        found[name] = (result.best_scores["pr_auc"], average_precision_score(y_new, result.predict_proba(X_new)[:, 1]))
    print(found)  # measured: shuffled CV 0.990 vs 0.691 on new customers; grouped CV 0.728 vs 0.704
    shuffled_cv, shuffled_new = found["shuffled"]
    grouped_cv, grouped_new = found["grouped"]
    assert shuffled_cv - shuffled_new > 0.2  # memorised customers
    assert abs(grouped_cv - grouped_new) < 0.12
    assert shuffled_cv - grouped_cv > 0.1
    # No fold, threshold fold or deployed fold model ever saw a validation customer.
    plan = result.plan
    assert plan.split_by.kind == "group" and "group" in plan.describe()
    for (train, validation), inner in zip(plan.splits, plan.inner, strict=True):
        assert not set(customer[train]) & set(customer[validation])
        assert set(train) | set(validation) == set(range(len(y)))
        for fit, holdout in inner:
            assert set(fit) <= set(train) and not set(customer[fit]) & set(customer[holdout])
    assert result.bagging is not None and result.bagging.split == "group"
    assert len(result.model.estimator_.estimators_) == len(plan.splits)


def test_time_ordered_cv_scores_what_the_next_months_will_look_like():
    X, y, when = drifting(1500, 0.0, 1.0, seed=0)
    X_later, y_later, _ = drifting(600, 1.0, 1.2, seed=1)
    found = {}
    for name, time in (("shuffled", None), ("time", when)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = strategy_search.search(X, y, time=time, cv_folds=4, **SEARCH)
        later = average_precision_score(y_later, result.predict_proba(X_later)[:, 1])
        found[name] = (result.best_scores["pr_auc"], later)
    print(found)  # measured: shuffled CV 0.721 vs 0.503 on the later rows; time CV 0.617 vs 0.498
    shuffled_cv, shuffled_later = found["shuffled"]
    time_cv, time_later = found["time"]
    assert shuffled_cv - shuffled_later > 0.15
    assert abs(time_cv - time_later) < 0.13
    assert abs(time_cv - time_later) < (shuffled_cv - shuffled_later) - 0.05
    # Every validation row is later than every training row of its split, and each threshold is
    # chosen on rows later than the ones their model learnt from.
    moment = pd.to_datetime(when).to_numpy()
    plan = result.plan
    assert plan.split_by.kind == "time" and len(plan.splits) == 4 and plan.repeats == 1
    for (train, validation), inner in zip(plan.splits, plan.inner, strict=True):
        assert moment[train].max() < moment[validation].min()
        for fit, holdout in inner:
            assert set(fit) | set(holdout) <= set(train) and moment[fit].max() < moment[holdout].min()
    assert result.bagging is None  # forward chaining scores a model trained on all earlier rows: a refit
    assert "forward-chaining" in result.summary.markdown() and "forward-chaining" in result.summary.tags()["cv"]


# -- splits --------------------------------------------------------------------------------------
def _labels(n: int = 300, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < 0.15).astype(int)


def test_grouped_splits_are_repeatable_and_every_repeat_differs():
    codes = _labels()
    groups = group_codes(np.random.default_rng(1).integers(0, 40, len(codes)))
    by = SplitBy(groups=groups)
    first, again = (outer_splits(codes, folds=4, repeats=2, seed=3, by=by) for _ in range(2))
    assert all((a[1] == b[1]).all() for a, b in zip(first, again, strict=True))
    assert not all((a[1] == b[1]).all() for a, b in zip(first[:4], first[4:], strict=True))
    for _, validation in first:
        assert codes[validation].any()


def test_group_codes_map_to_themselves_and_refuse_missing_groups():
    codes = group_codes(["b", "a", "b", "c"])
    assert codes.tolist() == [1, 0, 1, 2] and (group_codes(codes) == codes).all()
    # With more than ten groups too (codes sorted as text would renumber 10 before 2), so the
    # deployed fold models, which convert the search's codes again, get the search's splits.
    raw = np.random.default_rng(0).integers(0, 30, 600)
    once = group_codes(raw)
    assert (group_codes(once) == once).all() and (group_codes(pd.Series(raw)) == once).all()
    labels = _labels(600)
    first = outer_splits(labels, folds=5, repeats=1, seed=0, by=SplitBy(groups=once))
    again = outer_splits(labels, folds=5, repeats=1, seed=0, by=SplitBy(groups=group_codes(once)))
    assert all((a[0] == b[0]).all() for a, b in zip(first, again, strict=True))
    with pytest.raises(DataError, match=r"'customer' has 1 missing"):
        group_codes(pd.Series(["a", None, "b"]), name="customer")


def test_time_keys_order_dates_and_numbers_with_ties_kept_equal():
    assert time_key(["2024-03-01", "2024-01-05", "2024-03-01 00:00"]).tolist() == [1, 0, 1]
    assert time_key([3.5, -1.0, 3.5, 7]).tolist() == [1, 0, 1, 2]
    with pytest.raises(DataError, match=r"'day' holds 1 value\(s\) that are neither numbers nor dates, e.g. 'soon'"):
        time_key(["2024-01-01", "soon"], name="day")


def test_a_time_block_never_splits_equal_times_and_the_gap_is_left_out():
    codes = _labels(400)
    days = np.repeat(np.arange(40), 10)  # ten rows a day
    splits = time_splits(codes, time_key(days), folds=4, gap=15)
    for train, validation in splits:
        assert days[train].max() < days[validation].min()
        assert len(np.intersect1d(days[validation], days[train])) == 0
        first_validated = np.sort(validation)[0]
        assert len(train) == first_validated - 15  # the rows are in time order here
    assert len(splits) == 4


def test_time_blocks_without_the_rare_class_merge_with_a_warning_or_are_refused():
    codes = np.zeros(300, dtype=int)
    codes[[5, 10, 150, 290, 295]] = 1  # blocks 2, 3 and 5 of 6 hold none
    with pytest.warns(UserWarning, match=r"merged with their neighbours: 2 forward-chaining split\(s\) instead of 5"):
        splits = time_splits(codes, np.arange(300), folds=5)
    assert all(codes[validation].any() for _, validation in splits)
    late = np.zeros(300, dtype=int)
    late[-10:] = 1
    with pytest.raises(DataError, match="Two are needed at least"):
        time_splits(late, np.arange(300), folds=5, column="day")
    # Few distinct times: the message says so, not that the rare class is missing.
    days = np.repeat([0, 1, 2], 100)
    mixed = np.zeros(300, dtype=int)
    mixed[::10] = 1
    with pytest.warns(UserWarning, match=r"Equal times keep the rows of cv.time 'day' in 3 time blocks, not 6"):
        assert len(time_splits(mixed, days, folds=5, column="day")) == 2
    with pytest.raises(DataError, match="too few distinct times"):
        time_splits(mixed, np.repeat([0, 1], 150), folds=5, column="day")


def test_too_few_groups_holding_the_minority_are_refused_before_any_work():
    X, y, customer = customers(40, 3, seed=0)
    few = np.where(y == 1, customer % 2, customer)  # the positive rows belong to 2 customers
    with pytest.raises(SettingsError, match=r"only 2 group\(s\) of groups hold the minority class.*cv.folds to 2"):
        strategy_search.search(X, y, groups=few, **SEARCH)
    with pytest.raises(SettingsError, match=r"cv_gap \(cv.gap\): is 3, but a gap applies only"):
        strategy_search.search(X, y, cv_gap=3, **SEARCH)
    with pytest.raises(DataError, match="not both"):
        strategy_search.search(X, y, groups=customer, time=np.arange(len(y)), **SEARCH)


class _RecordingSampler(BaseEstimator):
    """Resamples nothing; records the row ids (column 0) it is handed to fit on."""

    seen: ClassVar[list[np.ndarray]] = []

    def fit_resample(self, X, y):
        type(self).seen.append(np.asarray(X)[:, 0].astype(int))
        return X, y


def test_a_resampler_only_ever_sees_the_training_groups_of_its_fold():
    from imblearn.pipeline import Pipeline

    X, y, customer = customers(60, 4, seed=2)
    X.insert(0, "row", np.arange(len(X)))
    splits = outer_splits(y.to_numpy(), folds=3, repeats=1, seed=0, by=SplitBy(groups=customer))
    _RecordingSampler.seen = []
    pipeline = Pipeline([("resample", _RecordingSampler()), ("model", LogisticRegression())])
    score_pipeline(
        pipeline,
        X,
        y.to_numpy(),
        splits=splits,
        threshold_folds=1,
        runner=TaskRunner(n_jobs=1),
        split_by=SplitBy(groups=customer),
    )
    outer = _RecordingSampler.seen[: len(splits)]
    for seen, (train, validation) in zip(outer, splits, strict=True):
        assert sorted(seen) == sorted(train)
        assert not set(customer[seen]) & set(customer[validation])
    assert len(_RecordingSampler.seen) == 2 * len(splits)  # and one threshold fit per fold
    for seen in _RecordingSampler.seen[len(splits) :]:
        assert len(seen) < min(len(train) for train, _ in splits)


def test_inner_splits_of_a_part_too_small_give_none():
    codes = np.array([0] * 20 + [1] * 2)
    assert inner_splits(codes, np.arange(22), folds=1, seed=0, by=SplitBy(groups=np.zeros(22, dtype=int))) == []


def test_a_threshold_holdout_of_many_classes_in_few_rows_holds_a_row_of_each():
    """50 classes in 134 training rows: a third of them (45) cannot hold every class, so the
    holdout takes one row of each (it was a ValueError from the splitter, ending the search)."""
    codes = np.repeat(np.arange(50), 4)
    train = np.flatnonzero(np.arange(200) % 3 != 0)
    [(fit, holdout)] = inner_splits(codes, train, folds=1, seed=0)
    assert set(codes[holdout]) == set(codes[fit]) == set(range(50))
    assert sorted(np.r_[fit, holdout]) == sorted(train)
    # Where a third is enough, the holdout is the usual third.
    [(_, third)] = inner_splits(np.repeat([0, 1], 60), np.arange(120), folds=1, seed=0)
    assert len(third) == 40


# -- the command line ----------------------------------------------------------------------------
def _write(folder: Path, table: pd.DataFrame, **cv: object) -> Path:
    table.to_csv(folder / "table.csv", index=False)
    content = {
        "name": "split-demo",
        "data": {"path": "table.csv", "target": "target"},
        "search": {"space": "fast", "n_trials": 2, "n_jobs": 1, "seed": 0},
        "cv": {"folds": 3, **cv},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(content))
    return folder / "config.yaml"


def test_a_grouped_search_from_a_config_says_so_in_its_report_and_model_card(tmp_path, capsys):
    X, y, customer = customers(40, 3, seed=0)
    table = X.assign(customer=[f"K{c}" for c in customer], target=y)
    config = _write(tmp_path, table, groups="customer")
    with contextlib.chdir(tmp_path):
        assert main(["run", str(config)]) == 0
        assert main(["export", str(config), "--out", "model"]) == 0
        assert main(["report", str(config), "--out", "report.html"]) == 0
    card = (tmp_path / "model" / "model_card.md").read_text()
    assert "stratified group 3-fold CV by 'customer'" in card
    assert "its `fit` takes the rows' `groups=`" in card
    assert "stratified group 3-fold CV by 'customer'" in html.unescape((tmp_path / "report.html").read_text())
    meta = yaml.safe_load((tmp_path / "model" / "strategy.yaml").read_text())
    assert meta["deployment"]["bagging"]["split"] == "group"
    assert "customer" not in meta["schema"]["numeric"] + meta["schema"]["categorical"]  # never a feature
    # The study was made with the groups: opened without them, it is refused.
    plain = yaml.safe_load(config.read_text())
    del plain["cv"]["groups"]
    plain["data"]["drop"] = ["customer"]
    config.write_text(yaml.safe_dump(plain))
    capsys.readouterr()
    with contextlib.chdir(tmp_path):
        assert main(["export", str(config), "--out", "model2"]) == 2
    assert "other cross-validation settings" in capsys.readouterr().err


def test_validate_names_a_missing_time_column_with_the_other_missing_columns(tmp_path):
    X, y, _ = customers(20, 3, seed=0)
    config = _write(tmp_path, X.assign(target=y), time="when")
    plain = yaml.safe_load(config.read_text())
    plain["data"]["drop"] = ["nope"]
    config.write_text(yaml.safe_dump(plain))
    problems = dict(validate_config(config))
    assert "'when'" in problems["cv.time"] and "available columns" in problems["cv.time"]
    assert "['nope']" in problems["data.drop"]


def test_a_time_ordered_answer_picks_thresholds_on_the_rows_it_scored_only():
    """The first time block is never validated, so its rows have no out-of-fold score: a rule
    re-picked at export, and the model card's targets, count only the rows that have one."""
    from strategy_search.thresholds import ThresholdRule, trade_off

    X, y, when = drifting(600, 0.0, 1.0, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = strategy_search.search(X, y, time=when, cv_folds=3, **SEARCH)
    oof = result.oof_scores
    unscored = np.isnan(oof)
    assert unscored.any() and not unscored.all()
    rule = ThresholdRule.parse("recall>=0.8")
    picked = rule.threshold(y.to_numpy(), oof)
    assert picked == rule.threshold(y.to_numpy()[~unscored], oof[~unscored])
    recall = ((oof[~unscored] >= picked) & (y.to_numpy()[~unscored] == 1)).sum() / y.to_numpy()[~unscored].sum()
    assert recall >= 0.8
    assert all(np.isfinite(row["threshold"]) for row in trade_off(y.to_numpy(), oof))


def test_the_calibration_of_a_grouped_answer_is_compared_on_grouped_folds(monkeypatch):
    import strategy_search.calibration as calibration

    seen = []
    real = calibration._comparison_splits

    def spy(y, scores, groups, seed):
        splits = list(real(y, scores, groups, seed))
        seen.append((groups, splits))
        return splits

    monkeypatch.setattr(calibration, "_comparison_splits", spy)
    X, y, customer = customers(60, 4, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strategy_search.search(X, y, groups=customer, n_trials=2, space="fast", n_jobs=1, seed=0)
    assert seen and all(groups is not None for groups, _ in seen)
    for groups, splits in seen:
        for train, test in splits:
            assert not set(groups[train]) & set(groups[test])


def test_repeats_asked_of_a_time_ordered_cv_are_made_once_with_a_warning():
    from strategy_search.prepared import prepare_data, scoring_plan
    from strategy_search.settings import SearchSettings

    X, y, when = drifting(300, 0.0, 1.0, seed=2)
    data = prepare_data(X, y, time=when, split_column="day")
    with pytest.warns(UserWarning, match="cv.repeats 3 does not apply to a time-ordered CV"):
        plan = scoring_plan(data, SearchSettings.create(cv_repeats=3, cv_folds=3))
    assert plan.repeats == 1 and len(plan.splits) == 3


def test_a_class_held_by_one_group_leaves_the_calibration_comparison_uncalibrated():
    from strategy_search.calibration import cross_validated

    rng = np.random.default_rng(0)
    y = np.r_[np.ones(10, dtype=int), np.zeros(90, dtype=int)]
    scores = np.clip(0.6 * y + 0.3 * rng.random(100), 0.01, 0.99)
    groups = np.r_[np.zeros(10, dtype=int), 1 + np.arange(90) % 9]  # every positive in group 0
    assert np.allclose(cross_validated("sigmoid", y, scores, groups=groups), scores)
