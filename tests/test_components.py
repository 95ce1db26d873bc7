"""Conformance suite: every registered component, built through build_pipeline, fits and
predicts valid probabilities; every search-space parameter is a real parameter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conformance import registered_components
from conftest import ROOT, extras_needed, skip_without_extras
from sklearn.metrics import average_precision_score

from strategy_search.combinations import incompatibilities
from strategy_search.data import FeatureSchema, encode_target
from strategy_search.estimators.classifiers.anomaly import AnomalyDetectorClassifier
from strategy_search.estimators.classifiers.self_paced import BalanceCascadeClassifier, SelfPacedEnsembleClassifier
from strategy_search.estimators.samplers.gmm import GaussianMixtureOverSampler
from strategy_search.slots import get_slot
from strategy_search.space import SEARCHED_TYPES, builtin_space_names, load_space, settable_params
from strategy_search.strategy import Strategy, build_pipeline

# A partner model that accepts every resampler, weighting and objective.
PARTNER = "lightgbm"


def _spaces(*, with_benchmark_spaces: bool = False):
    for name in builtin_space_names():
        marks = skip_without_extras(extras_needed(ROOT / "search_spaces" / f"{name}.yaml"))
        yield pytest.param(name, id=name, marks=marks)
    # The spaces benchmarks/ searches (ablations) load and name real parameters too.
    for path in sorted((ROOT / "benchmarks" / "spaces").glob("*.yaml")) if with_benchmark_spaces else ():
        yield pytest.param(str(path), id=f"benchmarks/{path.stem}", marks=skip_without_extras(extras_needed(path)))


def _strategy(slot: str, key: str, **params) -> Strategy:
    fields = {"model": PARTNER, slot: key, f"{slot}_params": params}
    return Strategy.of(**fields)


def _assert_valid_probabilities(pipeline, X) -> None:
    proba = pipeline.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert proba[:, 1].std() > 0, "constant predictions: the model learned nothing"


def _assert_saves_in_the_safe_format(pipeline) -> None:
    import skops.io as sio

    from strategy_search.safe_model import untrusted_types

    assert untrusted_types(sio.dumps(pipeline)) == [], "add these to strategy_search.safe_model.TRUSTED_TYPES"


@pytest.mark.parametrize("slot,key", registered_components())
def test_component_fits_numeric_data_with_nan(slot, key, small_numeric):
    X, y = small_numeric
    pipeline = build_pipeline(_strategy(slot, key), FeatureSchema.infer(X))
    pipeline.fit(X, y.to_numpy())
    _assert_valid_probabilities(pipeline, X)
    _assert_saves_in_the_safe_format(pipeline)


@pytest.mark.parametrize("slot,key", registered_components())
def test_component_fits_categorical_data_where_allowed(slot, key, small_mixed):
    X, y = small_mixed
    strategy = _strategy(slot, key)
    schema = FeatureSchema.infer(X)
    assert schema.categorical == ("colour",)
    problems = incompatibilities(strategy.choices, has_categorical=True)
    if problems:
        assert get_slot(slot).component(key).tag("numeric_only"), problems
        with pytest.raises(ValueError, match="cannot be built"):
            build_pipeline(strategy, schema)
        return
    pipeline = build_pipeline(strategy, schema).fit(X, y.to_numpy())
    _assert_valid_probabilities(pipeline, X)
    _assert_saves_in_the_safe_format(pipeline)


def test_all_categorical_data_uses_smoten(small_mixed):
    X, y = small_mixed
    X = X[["colour"]].assign(size=np.where(y == 1, "big", "small"))
    pipeline = build_pipeline(Strategy.of(model="random_forest", resampler="smote"), FeatureSchema.infer(X))
    pipeline.fit(X, y.to_numpy())
    assert type(pipeline.named_steps["resample"].sampler_).__name__ == "SMOTEN"
    _assert_valid_probabilities(pipeline, X)
    _assert_saves_in_the_safe_format(pipeline)


@pytest.mark.parametrize("space_name", list(_spaces(with_benchmark_spaces=True)))
def test_every_space_parameter_is_a_real_parameter(space_name):
    space = load_space(space_name)
    for slot, components in space.components.items():
        for key, params in components.items():
            valid = settable_params(slot, key)
            assert set(params) <= valid, f"{space_name}: {slot} {key} has unknown {set(params) - valid}"


def _extreme_params(params: dict, end: str) -> dict:
    chosen = {}
    for name, spec in params.items():
        if not isinstance(spec, SEARCHED_TYPES):
            chosen[name] = spec
        elif hasattr(spec, "choices"):
            chosen[name] = spec.choices[0 if end == "low" else -1]
        else:
            chosen[name] = getattr(spec, end)
    return chosen


@pytest.mark.parametrize("space_name", list(_spaces()))
@pytest.mark.parametrize("end", ["low", "high"])
def test_builtin_space_ranges_build_and_fit_at_both_ends(end, space_name, small_numeric):
    """Every component of every built-in space, at the low and at the high end of each of its
    ranges, builds, fits (the adaptive sampler keeps neighbour counts within the fold) and
    saves in the safe model format."""
    fit_every_component_at_one_end(load_space(space_name), end, small_numeric)


def fit_every_component_at_one_end(space, end: str, data) -> None:
    """Each component of ``space`` with every range at its ``end`` builds, fits, predicts and
    saves in the safe model format."""
    X, y = data
    schema = FeatureSchema.infer(X)
    for slot, components in space.components.items():
        for key, params in components.items():
            model = key if slot == "model" else PARTNER
            strategy = Strategy.of(**{"model": model, slot: key, f"{slot}_params": _extreme_params(params, end)})
            if slot == "model" and "n_estimators" in strategy.params_for("model"):
                strategy.params["model"]["n_estimators"] = min(strategy.params["model"]["n_estimators"], 60)
            pipeline = build_pipeline(strategy, schema).fit(X.iloc[:150], y.to_numpy()[:150])
            assert pipeline.predict_proba(X.iloc[150:]).shape == (150, 2), (slot, key)
            _assert_saves_in_the_safe_format(pipeline)


def test_impossible_combinations_are_refused():
    problems = incompatibilities(
        {"model": "balanced_random_forest", "resampler": "smote", "weighting": "balanced", "objective": "focal"},
        has_categorical=False,
    )
    assert len(problems) == 3
    with pytest.raises(ValueError, match="focal"):
        build_pipeline(Strategy.of(model="random_forest", objective="focal"), FeatureSchema(numeric=("a",)))


def test_neighbour_count_adapts_to_a_tiny_minority(small_numeric):
    X, y = small_numeric
    y01 = y.to_numpy().copy()
    keep = np.flatnonzero(y01 == 0)[:100].tolist() + np.flatnonzero(y01 == 1)[:4].tolist()
    pipeline = build_pipeline(
        Strategy.of(model="lightgbm", resampler="smote", resampler_params={"k_neighbors": 10}),
        FeatureSchema.infer(X),
    ).fit(X.iloc[keep], y01[keep])
    assert pipeline.named_steps["resample"].adaptations_ == {"k_neighbors": "10 -> 3 (fold has 4 minority rows)"}


def test_sampling_ratio_below_current_balance_is_a_no_op():
    from strategy_search.estimators.samplers.adaptive import TargetRatio

    y = np.array([0] * 60 + [1] * 40)
    assert TargetRatio(0.2, "over-sampling")(y) == {1: 40}
    assert TargetRatio(1.0, "over-sampling")(y) == {1: 60}
    assert TargetRatio(0.5, "under-sampling")(y) == {0: 60}
    assert TargetRatio(1.0, "under-sampling")(y) == {0: 40}


def test_weightings_follow_their_formulas():
    from strategy_search.estimators.classifiers.weighting import (
        BalancedWeighting,
        CustomWeighting,
        EffectiveNumberWeighting,
    )

    y = np.array([0] * 90 + [1] * 10)
    balanced = BalancedWeighting().sample_weight(y)
    assert balanced[-1] / balanced[0] == pytest.approx(9.0)
    assert balanced.mean() == pytest.approx(1.0)
    beta = 0.99
    effective = EffectiveNumberWeighting(beta=beta).sample_weight(y)
    expected_ratio = ((1 - beta) / (1 - beta**10)) / ((1 - beta) / (1 - beta**90))
    assert effective[-1] / effective[0] == pytest.approx(expected_ratio)
    custom = CustomWeighting(positive_weight=25.0).sample_weight(y)
    assert custom[-1] / custom[0] == pytest.approx(25.0)


def test_string_labels_keep_the_users_label_values(small_numeric):
    from strategy_search.strategy import build_classifier

    X, y = small_numeric
    labels = np.where(y == 1, "yes", "no")
    _y01, positive, negative = encode_target(labels)
    assert (positive, negative) == ("yes", "no")
    model = build_classifier(Strategy.of(model="lightgbm", threshold=0.3), FeatureSchema.infer(X), positive_label="yes")
    model.fit(X, labels)
    assert list(model.classes_) == ["no", "yes"]
    predicted = model.predict(X)
    np.testing.assert_array_equal(predicted == "yes", model.predict_proba(X)[:, 1] >= 0.3)


def test_an_installed_package_carries_its_search_spaces():
    """CI installs with `pip install .` (not editable): the spaces must be inside the wheel."""
    import strategy_search
    from strategy_search.space import _builtin_folder

    if "site-packages" not in strategy_search.__file__:
        pytest.skip("source checkout (editable install): spaces are read from search_spaces/")
    folder = Path(str(_builtin_folder()))
    assert folder.parent == Path(strategy_search.__file__).parent
    assert {"default.yaml", "fast.yaml"} <= {p.name for p in folder.iterdir()}
    assert (folder / "portfolios" / "hand-picked.yaml").is_file()  # the default space's portfolio


def test_gmm_draws_numeric_values_and_copies_categorical_codes_from_real_minority_rows():
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.15).astype(int)
    X = np.c_[rng.normal(size=(300, 3)) + 3 * y[:, None], rng.integers(0, 4, 300)].astype(float)
    X[y == 1, 3] = rng.choice([1.0, 3.0], int(y.sum()))  # the minority uses codes 1 and 3 only
    X_new, y_new = GaussianMixtureOverSampler(categorical_features=[3], random_state=0).fit_resample(X, y)
    synthetic = X_new[len(X) :]
    assert (y_new[len(X) :] == 1).all() and len(synthetic) == int((y == 0).sum() - y.sum())
    assert set(np.unique(synthetic[:, 3])) <= {1.0, 3.0}  # never an interpolated or foreign code
    assert not np.isin(synthetic[:, :3], X[:, :3]).any()  # drawn, not copied
    assert np.allclose(synthetic[:, :3].mean(axis=0), X[y == 1, :3].mean(axis=0), atol=0.4)


@pytest.mark.parametrize("ensemble", [SelfPacedEnsembleClassifier, BalanceCascadeClassifier])
def test_under_sampling_ensembles_fit_balanced_members_and_rank_the_minority_first(ensemble):
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.04).astype(int)
    X = rng.normal(size=(3000, 4)) + 1.2 * y[:, None]
    model = ensemble(n_estimators=10, random_state=0).fit(X, y)
    assert len(model.estimators_) == 10
    proba = model.predict_proba(X)[:, 1]
    # Members see balanced samples, so the minority's probability sits far above its 4 % share.
    assert proba[y == 1].mean() > 0.5 > proba[y == 0].mean()
    assert average_precision_score(y, proba) > 0.4
    np.testing.assert_array_equal(ensemble(n_estimators=10, random_state=0).fit(X, y).predict_proba(X)[:, 1], proba)


def test_an_anomaly_detector_learns_normal_rows_and_ranks_the_rare_class_as_anomalous():
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.03).astype(int)
    X = rng.normal(size=(2000, 3))
    X[y == 1] *= 4  # the rare class: far from the common one's cloud
    for fit_on in ("majority", "all"):
        model = AnomalyDetectorClassifier(fit_on=fit_on, random_state=0).fit(X, y)
        assert average_precision_score(y, model.predict_proba(X)[:, 1]) > 0.5
    # Fitted on a bounded sample of the majority rows.
    bounded = AnomalyDetectorClassifier(max_rows=100, random_state=0).fit(X, y)
    assert bounded.detector_.max_samples_ <= 100


def test_anomaly_detectors_get_no_treatment_and_never_join_an_ensemble(yeast5):
    import strategy_search

    X, y = yeast5
    space = {
        "models": {
            "isolation_forest": {"fit_on": {"type": "categorical", "choices": ["majority", "all"]}},
            "lightgbm": {},
        },
        "resamplers": {"none": {}, "random_over": {}},
        "weightings": {"none": {}, "balanced": {}},
    }
    assert incompatibilities({"model": "isolation_forest", "resampler": "random_over"}, has_categorical=False)
    result = strategy_search.search(X, y, space=space, n_trials=10, n_jobs=1, seed=0, ensemble_size=8)
    board = result.leaderboard
    detectors = board[board["model"] == "isolation_forest"]
    assert len(detectors) and (detectors["resampler"] == "none").all() and (detectors["weighting"] == "none").all()
    if result.ensemble is not None:
        assert not set(result.ensemble.trials) & set(detectors["trial"])
