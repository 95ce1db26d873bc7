"""Why the answer decides (strategy_search.explain): its permutation importance, measured out of
fold and stored with the study, and each row's column contributions (``predict --explain K``)."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import strategy_search
from strategy_search.cli import main
from strategy_search.errors import ExportError
from strategy_search.explain import baselines, row_contributions, top_contributions
from strategy_search.export import predict_table

SEARCH = dict(space="fast", n_trials=3, n_jobs=2, seed=0)


def one_feature_decides(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["noise1", "decides", "noise2", "noise3"])
    X["colour"] = rng.choice(["red", "green", "blue"], n)
    return X, pd.Series((X["decides"] > 1.0).astype(int))


@pytest.fixture(scope="module")
def decided(tmp_path_factory):
    X, y = one_feature_decides()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = strategy_search.search(X, y, **SEARCH)
    folder = tmp_path_factory.mktemp("decided")
    result.export(folder / "model")
    return result, folder


def test_the_deciding_feature_is_the_most_important_and_the_rest_near_nothing(decided):
    result, _ = decided
    importance = result.feature_importance
    assert importance is not None and importance.skipped is None and importance.folds == result.plan.folds
    ranked = importance.ranked()
    assert ranked[0][0] == "decides" and ranked[0][1] > 0.5
    assert all(abs(mean) < 0.05 for column, mean, _ in ranked[1:]), ranked
    assert set(importance.columns) == {"noise1", "decides", "noise2", "noise3", "colour"}


def test_importance_is_measured_out_of_fold_so_pure_noise_has_none():
    # A forest fitted on these rows would credit the columns it memorised if it were scored on them.
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    y = pd.Series((rng.random(300) < 0.2).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = strategy_search.search(X, y, **SEARCH)
    means = [mean for _, mean, _ in result.feature_importance.ranked()]
    assert max(abs(m) for m in means) < 0.06, means


def test_the_importance_is_stored_with_the_study_and_read_back_alone(decided, tmp_path):
    result, _ = decided
    stored = result.answer.importance
    assert stored is not None and stored.to_attr() == type(stored).from_attr(stored.to_attr()).to_attr()
    assert result.study.user_attrs["feature_importance"]["columns"] == list(stored.columns)


def test_predict_explain_gives_k_pairs_per_row_with_the_deciding_feature_first(decided):
    _, folder = decided
    X_new, _ = one_feature_decides(60, seed=9)
    scored = predict_table(folder / "model", X_new, explain=3)
    pairs = [(f"explain_{k}_feature", f"explain_{k}_contribution") for k in (1, 2, 3)]
    assert all(name in scored.columns for pair in pairs for name in pair)
    assert "explain_4_feature" not in scored.columns
    assert (scored["explain_1_feature"] == "decides").all()
    # Signed: a row with a large deciding value is pushed up, a small one down.
    high = scored["decides"] > 1.5
    assert (scored.loc[high, "explain_1_contribution"] > 0).all()
    assert (scored.loc[scored["decides"] < 0, "explain_1_contribution"] < 0).all()
    assert scored["explain_1_contribution"].abs().ge(scored["explain_2_contribution"].abs()).all()


def test_the_model_card_shows_the_importance_and_keeps_no_training_row(decided):
    _, folder = decided
    card = (folder / "model" / "model_card.md").read_text()
    assert "## Why it decides" in card and "| `decides` |" in card
    meta = yaml.safe_load((folder / "model" / "strategy.yaml").read_text())
    assert set(meta["baselines"]) == {"noise1", "decides", "noise2", "noise3", "colour"}
    assert len(meta["baselines"]["decides"]["values"]) == 16  # quantiles, not rows


def test_predict_explain_through_the_command_line(tmp_path, capsys):
    X, y = one_feature_decides(200)
    X.assign(target=y).to_csv(tmp_path / "table.csv", index=False)
    X.head(10).to_csv(tmp_path / "new.csv", index=False)
    content = {
        "name": "explain-demo",
        "data": {"path": "table.csv", "target": "target"},
        "search": {"space": "fast", "n_trials": 2, "n_jobs": 1, "seed": 0},
        "cv": {"folds": 3},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(content))
    with contextlib.chdir(tmp_path):
        assert main(["run", "config.yaml"]) == 0
        assert main(["export", "config.yaml", "--out", "model"]) == 0
        assert main(["predict", "model", "new.csv", "--explain", "3", "--out", "p.parquet"]) == 0
        capsys.readouterr()
        with pytest.raises(SystemExit) as refused:
            main(["predict", "model", "new.csv", "--explain", "0"])
    assert refused.value.code == 2
    assert "--explain: must be an integer >= 1" in capsys.readouterr().err
    written = pd.read_parquet(tmp_path / "p.parquet")
    assert list(written.columns[-6:]) == [
        f"explain_{k}_{what}" for k in (1, 2, 3) for what in ("feature", "contribution")
    ]
    assert (written["explain_1_feature"] == "decides").all()  # the one column that decides the label


def test_an_export_without_baselines_cannot_be_explained_and_says_what_to_do(decided, tmp_path):
    import shutil

    _, folder = decided
    copy = tmp_path / "old"
    shutil.copytree(folder / "model", copy)
    meta = yaml.safe_load((copy / "strategy.yaml").read_text())
    del meta["baselines"]
    (copy / "strategy.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    X_new, _ = one_feature_decides(5, seed=1)
    with pytest.raises(ExportError, match=r"keeps no column baselines.*export it again"):
        predict_table(copy, X_new, explain=2)


def test_row_contributions_of_an_additive_score_are_its_terms():
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [5.0, 5.0, 5.0, 5.0], "c": ["x", "y", "x", "y"]})
    drawn = baselines(X, ["c"])

    def score(frame: pd.DataFrame) -> np.ndarray:
        return 0.1 * frame["a"].to_numpy() + 0.5 * (frame["c"] == "y").to_numpy()

    found = row_contributions(score, X, drawn, columns=["a", "b", "c"])
    expected_a = 0.1 * (X["a"] - np.mean(drawn["a"]["values"]))
    assert np.allclose(found["a"], expected_a) and np.allclose(found["b"], 0.0)
    assert np.allclose(found["c"], 0.5 * ((X["c"] == "y") - 0.5))
    top = top_contributions(found, 2)
    assert list(top.columns) == [
        "explain_1_feature",
        "explain_1_contribution",
        "explain_2_feature",
        "explain_2_contribution",
    ]
    assert top.loc[3, "explain_1_feature"] == "c" and top.loc[3, "explain_2_feature"] == "a"


def test_a_column_with_no_value_has_a_missing_baseline(tmp_path: Path):
    drawn = baselines(pd.DataFrame({"a": [np.nan, np.nan], "b": [1.0, 2.0]}), [])
    assert drawn["a"] == {"values": [None], "weights": [1.0]}


def test_a_multiclass_answer_explains_the_class_it_predicts(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["a", "b", "c"])
    y = np.where(X["a"] > 1, "high", np.where(X["a"] < -1, "low", "middle"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = strategy_search.search(X, y, **SEARCH)
    assert result.feature_importance.ranked(1)[0][0] == "a"
    result.export(tmp_path / "model")
    scored = predict_table(tmp_path / "model", X.head(30), explain=2)
    assert (scored["explain_1_feature"] == "a").all()
    # The predicted class's probability is what a's value holds up: positive contributions.
    assert (scored["explain_1_contribution"] > 0).all()


def test_a_fold_with_one_row_of_the_rare_class_is_sampled_without_failing():
    from strategy_search.explain import MAX_IMPORTANCE_ROWS, _sample

    codes = np.zeros(30_000, dtype=int)
    codes[[7, 9_000, 15_000, 21_000, 29_000]] = 1
    picked = _sample(codes, np.arange(6_000), seed=0)
    assert len(picked) <= MAX_IMPORTANCE_ROWS + 1 and 7 in picked and len(np.unique(picked)) == len(picked)


def test_contributions_of_a_categorical_column_read_as_numbers_use_its_levels():
    X = pd.DataFrame({"code": ["7", "A12", "7", "A12"], "x": [0.0, 1.0, 2.0, 3.0]})
    drawn = baselines(X, ["code"])
    seen = []

    def score(frame: pd.DataFrame) -> np.ndarray:
        seen.append(set(frame["code"].astype(str)))
        return (frame["code"].astype(str) == "A12").to_numpy(dtype=float)

    as_read = X.assign(code=[7, 7, 7, 7])  # a predict file whose rows are all digits
    found = row_contributions(score, as_read, drawn, columns=["code"], categorical=["code"])
    assert {"A12", "7"} <= set().union(*seen)  # the training levels, as text, not NaN or 7.0
    assert np.allclose(found["code"], -0.5)
