"""The ``catboost`` extra: CatBoost as a model family. It is built single-threaded, seeded and
silent, writes no ``catboost_info`` folder, takes the weighting slot's sample weights and its
own class weights, fits multi-class targets, saves in the safe model format, and without
CatBoost the spaces offering it are refused with how to install it. (That every component fits,
predicts and saves is the conformance suite's, ``tests/test_components.py``.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import without_extra

import strategy_search.components.registry as registry
from strategy_search import search
from strategy_search.components.models import MODELS
from strategy_search.components.registry import BuildContext
from strategy_search.data import FeatureSchema
from strategy_search.errors import SpaceError
from strategy_search.safe_model import read_classifier, write_classifier
from strategy_search.space import load_space
from strategy_search.strategy import Strategy, build_pipeline

needs_catboost = pytest.mark.skipif(without_extra("catboost") is not None, reason=str(without_extra("catboost")))

# A space of CatBoost alone, with few trees: some of its toolbox ranges and its own class weights.
SPACE = {
    "models": {
        "catboost": {
            "n_estimators": 40,
            "depth": {"type": "int", "low": 4, "high": 8},
            "auto_class_weights": {"type": "categorical", "choices": ["None", "Balanced", "SqrtBalanced"]},
        }
    }
}


def _fit(strategy: Strategy, X: pd.DataFrame, y: np.ndarray):
    return build_pipeline(strategy, FeatureSchema.infer(X)).fit(X, y)


def test_without_catboost_the_toolbox_space_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(
        registry, "EXTRAS", {**registry.EXTRAS, "catboost": ("no_such_module_for_this_test", "CatBoost")}
    )
    with pytest.raises(SpaceError) as raised:
        load_space("toolbox")
    message = str(raised.value)
    assert "models.catboost: CatBoost is not installed" in message
    assert "pip install 'strategy-search[catboost]'" in message
    load_space("default")  # the default space needs no extra


@needs_catboost
def test_it_is_built_single_threaded_seeded_silent_and_writing_no_files():
    params = MODELS.get("catboost").factory(BuildContext(random_state=7)).get_params()
    assert params["thread_count"] == 1 and params["random_seed"] == 7
    assert params["logging_level"] == "Silent" and params["allow_writing_files"] is False
    assert params["auto_class_weights"] == "None"  # class weights are the weighting slot's unless searched


@needs_catboost
def test_it_fits_reproducibly_without_writing_a_catboost_info_folder(small_mixed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y = small_mixed
    strategy = Strategy.of(model="catboost", model_params={"n_estimators": 40})
    first = _fit(strategy, X, y.to_numpy()).predict_proba(X)
    np.testing.assert_array_equal(first, _fit(strategy, X, y.to_numpy()).predict_proba(X))
    assert list(tmp_path.iterdir()) == []


@needs_catboost
def test_the_weighting_slot_and_its_own_class_weights_both_raise_the_rare_class(small_numeric):
    X, y = small_numeric
    y = y.to_numpy()

    def mean_positive_score(**fields) -> float:
        strategy = Strategy.of(model="catboost", **fields)
        strategy.params.setdefault("model", {})["n_estimators"] = 40
        return float(_fit(strategy, X, y).predict_proba(X)[:, 1].mean())

    plain = mean_positive_score()
    by_the_slot = mean_positive_score(weighting="balanced")
    its_own = mean_positive_score(model_params={"auto_class_weights": "Balanced"})
    square_root = mean_positive_score(model_params={"auto_class_weights": "SqrtBalanced"})
    assert by_the_slot > plain + 0.05 and its_own > plain + 0.05
    assert abs(by_the_slot - its_own) < 0.05  # the same class weights, given two ways
    assert plain < square_root < its_own


@needs_catboost
def test_it_fits_three_classes_weighted_and_saves_in_the_safe_format(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.choice(3, size=240, p=[0.7, 0.2, 0.1])
    X = pd.DataFrame(rng.normal(size=(240, 4)) + y[:, None], columns=list("abcd"))
    X["kind"] = np.where(y == 2, "rare", rng.choice(["p", "q"], 240))
    strategy = Strategy.of(model="catboost", weighting="custom", model_params={"n_estimators": 40})
    pipeline = _fit(strategy, X, y)
    proba = pipeline.predict_proba(X)
    assert proba.shape == (240, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    checksum = write_classifier(pipeline, tmp_path / "model.skops")
    loaded = read_classifier(tmp_path / "model.skops", expected_sha256=checksum)
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)


@needs_catboost
def test_a_search_of_catboost_alone_answers_with_catboost(yeast5):
    X, y = yeast5
    result = search(X, y, space=SPACE, n_trials=3, seed=0, cv_folds=3)
    answer = result.best_strategy
    members = getattr(answer, "members", (answer,))
    assert {member.key("model") for member in members} == {"catboost"}
    assert result.model.predict_proba(X.iloc[:5]).shape == (5, 2)
