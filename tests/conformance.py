"""What the conformance suite and the estimator checks run on, derived from the code rather
than listed: every registered component (``tests/test_components.py``), and every estimator
class of ours (``tests/test_estimator_checks.py``), found in the component registries and in
the ``strategy_search.estimators`` sub-packages. A new component or estimator class is checked
without editing a test; :data:`CHECK_PARAMS` is the one place to give a class small settings."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from functools import cache
from importlib.metadata import packages_distributions
from typing import Any

import pytest
from conftest import skip_without_extras, without_extra
from imblearn.over_sampling import RandomOverSampler
from lightgbm import LGBMRegressor
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression

import strategy_search.estimators
from strategy_search.components.registry import BuildContext
from strategy_search.errors import MissingExtraError
from strategy_search.estimators.classifiers.anomaly import AnomalyDetectorClassifier
from strategy_search.estimators.classifiers.ensemble import AveragedClassifier
from strategy_search.estimators.classifiers.focal import FocalLossClassifier
from strategy_search.estimators.classifiers.self_paced import BalanceCascadeClassifier, SelfPacedEnsembleClassifier
from strategy_search.estimators.classifiers.torch_mlp import TorchMLPClassifier
from strategy_search.estimators.classifiers.weighting import EffectiveNumberWeighting, WeightedClassifier
from strategy_search.estimators.decision.bagged import FoldBaggedClassifier
from strategy_search.estimators.decision.thresholded import ClassWeightedClassifier, ThresholdedClassifier
from strategy_search.estimators.pipeline import WeightedPipeline
from strategy_search.estimators.preprocessing.one_hot import OneHotCodes
from strategy_search.estimators.samplers.adaptive import AdaptiveSampler
from strategy_search.estimators.samplers.cgan import ConditionalGANOverSampler
from strategy_search.estimators.samplers.smote_nc import ChunkedSMOTENC
from strategy_search.slots import all_slots

# Tiny boosters: the checks fit on a handful of rows (LightGBM's defaults need more to bin).
_BOOSTER = LGBMRegressor(n_estimators=5, min_child_samples=1, min_data_in_bin=1, verbose=-1)

# The settings each estimator class is checked with: small and fast (the checks fit every
# estimator hundreds of times on a few dozen rows), and what a wrapper wraps. A class not listed
# is checked as it is default-constructed; list one only when that is slow or cannot fit. Every
# class is checked with random_state=0 unless listed with another (some checks fit twice and
# compare).
CHECK_PARAMS: dict[type, dict[str, Any]] = {
    AveragedClassifier: {"estimators": [LogisticRegression(), LogisticRegression(C=0.1)], "weights": [2, 1]},
    # Calibrated, so the checks also cover probabilities mapped apart from the decision.
    ThresholdedClassifier: {
        "estimator": LogisticRegression(),
        "threshold": 0.3,
        "calibration": {"method": "sigmoid", "a": 0.5, "b": -0.2},
    },
    ClassWeightedClassifier: {"estimator": LogisticRegression(), "calibration": {"method": "temperature", "a": 0.7}},
    FoldBaggedClassifier: {"estimator": LogisticRegression(), "n_splits": 3},
    WeightedClassifier: {"estimator": LogisticRegression(), "weighting": EffectiveNumberWeighting(beta=0.9)},
    EffectiveNumberWeighting: {"beta": 0.9},
    FocalLossClassifier: {"estimator": _BOOSTER},
    SelfPacedEnsembleClassifier: {"n_estimators": 5},
    BalanceCascadeClassifier: {"n_estimators": 5},
    AnomalyDetectorClassifier: {"detector": IsolationForest(n_estimators=10)},
    OneHotCodes: {"n_categorical": 1},
    TorchMLPClassifier: {"learning_rate": 0.01, "max_epochs": 40},
    AdaptiveSampler: {"sampler": RandomOverSampler(random_state=0)},
    # Row weights carried through a resampler to the model.
    WeightedPipeline: {
        "steps": [("resample", AdaptiveSampler(RandomOverSampler(random_state=0))), ("model", LogisticRegression())]
    },
    ConditionalGANOverSampler: {"n_steps": 20},
    # The checks' tables are numeric: their first column stands in for a categorical one.
    ChunkedSMOTENC: {"categorical_features": [0]},
}

# The tables a factory may be asked to build for: some components build another estimator for
# categorical columns (SMOTE becomes SMOTE-NC or SMOTE-N).
_CONTEXTS = (
    BuildContext(random_state=0, n_features=3),
    BuildContext(random_state=0, n_features=3, categorical_indices=(0,)),
    BuildContext(random_state=0, n_features=1, categorical_indices=(0,)),
)


# -- registered components (the conformance suite) ---------------------------------------------
def registered_components() -> list[Any]:
    """``(slot, key)`` of every registered component, as test parameters; one that needs an
    optional extra is skipped, with the reason, where the extra is missing."""
    return [
        pytest.param(
            slot.name,
            component.key,
            id=f"{slot.name}-{component.key}",
            marks=skip_without_extras([extra] if (extra := component.tag("needs_extra", None)) else []),
        )
        for slot in all_slots()
        for component in slot.registry
    ]


# -- our estimator classes (the estimator checks) ----------------------------------------------
def our_estimator_classes() -> list[type]:
    """Every estimator class of ours: the public ones defined in ``strategy_search.estimators``'
    modules, then those that registered components build and no other installed distribution
    ships (imbalanced-learn's, LightGBM's ... are checked by their own projects)."""
    classes = dict.fromkeys(_package_classes())
    registered = (cls for cls in _registered_classes() if issubclass(cls, BaseEstimator) and _is_ours(cls))
    classes.update(dict.fromkeys(registered))
    return list(classes)


def extras_by_class() -> dict[type, str]:
    """The optional extra each class that needs one needs, read from the ``needs_extra`` tag of
    the components that build it."""
    return {
        cls: component.tag("needs_extra")
        for component, estimator in _built_components()
        if component.tag("needs_extra", None)
        for cls in _estimator_classes_in(estimator)
    }


def check_instance(cls: type) -> Any:
    """A fresh instance of ``cls`` for the checks, with its :data:`CHECK_PARAMS`. A class
    weighting has no ``fit`` of its own: it is checked inside the classifier that applies it."""
    estimator = _configured(cls)
    if not hasattr(estimator, "fit") and hasattr(estimator, "sample_weight"):
        return WeightedClassifier(LogisticRegression(), estimator)
    return estimator


def our_estimators(*, samplers: bool) -> list[Any]:
    """Check instances of our samplers (``samplers``) or of our other estimators, leaving out
    those whose extra is missing (:func:`estimators_missing_an_extra` reports them). The same
    setup twice (a weighting inside the classifier that applies it) is checked once."""
    extras = extras_by_class()
    instances = (check_instance(cls) for cls in our_estimator_classes() if not _missing(extras.get(cls)))
    # Asked of the instance: a pipeline resamples only when its last step does.
    return list({repr(i): i for i in instances if hasattr(i, "fit_resample") == samplers}.values())


def estimators_missing_an_extra() -> list[Any]:
    """``(class, reason)`` of each estimator class whose optional extra is not installed, as
    test parameters (a parametrized test of checks cannot carry a skip per estimator)."""
    extras = extras_by_class()
    return [
        pytest.param(cls, reason, id=cls.__name__)
        for cls in our_estimator_classes()
        if (reason := _missing(extras.get(cls)))
    ]


def every_estimator() -> list[Any]:
    """Every class of ours as a test parameter with its check instance (a class weighting on its
    own), skipped with the reason where its extra is missing."""
    extras = extras_by_class()
    return [
        pytest.param(
            _configured(cls),
            id=cls.__name__,
            marks=skip_without_extras([extras[cls]] if cls in extras else []),
        )
        for cls in our_estimator_classes()
    ]


def _configured(cls: type) -> Any:
    """A fresh ``cls`` with its :data:`CHECK_PARAMS`, seeded."""
    seed = {"random_state": 0} if "random_state" in inspect.signature(cls).parameters else {}
    return clone(cls(**{**seed, **CHECK_PARAMS.get(cls, {})}))


def _missing(extra: str | None) -> str | None:
    """Why checks needing ``extra`` are skipped here; None when it is installed (or none is needed)."""
    return None if extra is None else without_extra(extra)


def _package_classes() -> Iterator[type]:
    """Public estimator classes defined in the public modules of ``strategy_search.estimators``
    (private modules hold shared bases, not estimators)."""
    package = strategy_search.estimators
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            defined_here = cls.__module__ == module.__name__
            if defined_here and not name.startswith("_") and issubclass(cls, BaseEstimator):
                yield cls


def _registered_classes() -> Iterator[type]:
    for _component, estimator in _built_components():
        yield from _estimator_classes_in(estimator)


def _built_components() -> Iterator[tuple[Any, Any]]:
    """Every registered component with what its factory builds, for each kind of table."""
    for slot in all_slots():
        for component in slot.registry:
            for context in _CONTEXTS:
                try:
                    built = component.factory(context)
                except MissingExtraError:
                    continue  # a factory that needs its extra installed to build at all
                if built is not None:
                    yield component, built


def _estimator_classes_in(estimator: Any) -> Iterator[type]:
    """The classes of ``estimator`` and of the estimators among its parameters (a sampler a
    combined sampler holds)."""
    yield type(estimator)
    if isinstance(estimator, BaseEstimator):
        for value in estimator.get_params(deep=True).values():
            if isinstance(value, BaseEstimator):
                yield type(value)


@cache
def _distributions() -> dict[str, list[str]]:
    return {name: list(owners) for name, owners in packages_distributions().items()}


def _is_ours(cls: type) -> bool:
    """Defined by this project (its package, or a test): not in a module another installed
    distribution ships."""
    owners = _distributions().get(cls.__module__.split(".")[0], [])
    return not owners or "strategy-search" in owners
