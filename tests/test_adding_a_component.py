"""Adding a resampler is its registry entry plus its ranges in a space YAML (and its module, when
it is an estimator of our own): the conformance suite and the estimator checks pick it up, and
it passes them, with no test list edited."""

from __future__ import annotations

from typing import Any, ClassVar

import conformance
import numpy as np
import pytest
import test_components as suite
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils.estimator_checks import check_param_validation, estimator_checks_generator
from sklearn.utils import _safe_indexing, check_random_state

from strategy_search import safe_model
from strategy_search.components.registry import Component
from strategy_search.components.resamplers import RESAMPLERS
from strategy_search.space import load_space

SPACE = """
resamplers:
  none: {}
  duplicate:
    sampling_strategy: {type: float, low: 0.2, high: 1.0}
models:
  lightgbm:
    n_estimators: 20
"""


class DuplicatingOverSampler(BaseOverSampler):
    """A stand-in for a new resampler of our own: each class to grow gets copies of random rows
    of it."""

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **BaseOverSampler._parameter_constraints,
        "random_state": ["random_state"],
    }

    def __init__(self, *, sampling_strategy: Any = "auto", random_state: Any = None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state

    def _fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        rng = check_random_state(self.random_state)
        rows = [np.arange(len(y))]
        rows += [rng.choice(np.flatnonzero(y == label), size=n) for label, n in self.sampling_strategy_.items()]
        chosen = np.concatenate(rows)
        return _safe_indexing(X, chosen), y[chosen]


@pytest.fixture
def duplicate(monkeypatch) -> str:
    """The resampler registered as a new one is (the registry is put back afterwards)."""
    monkeypatch.setattr(RESAMPLERS, "_components", dict(RESAMPLERS._components))
    RESAMPLERS.register(
        Component("duplicate", lambda c: DuplicatingOverSampler(random_state=c.random_state), "Copies of rows.")
    )
    # The safe model format loads only the types it names: a new estimator's class is named there.
    trusted = (*safe_model.TRUSTED_TYPES, f"{DuplicatingOverSampler.__module__}.DuplicatingOverSampler")
    monkeypatch.setattr(safe_model, "TRUSTED_TYPES", trusted)
    return "duplicate"


def test_a_registered_resampler_goes_through_the_conformance_suite(duplicate, small_numeric, small_mixed, tmp_path):
    assert ("resampler", duplicate) in [tuple(case.values) for case in conformance.registered_components()]
    suite.test_component_fits_numeric_data_with_nan("resampler", duplicate, small_numeric)
    suite.test_component_fits_categorical_data_where_allowed("resampler", duplicate, small_mixed)
    # Its ranges in a space file are real parameters (loading checks that) and fit at both ends.
    path = tmp_path / "with-duplicate.yaml"
    path.write_text(SPACE)
    space = load_space(path)
    assert duplicate in space.keys("resampler")
    for end in ("low", "high"):
        suite.fit_every_component_at_one_end(space, end, small_numeric)


def test_a_registered_resampler_goes_through_the_estimator_checks(duplicate):
    assert DuplicatingOverSampler in conformance.our_estimator_classes()
    (sampler,) = [s for s in conformance.our_estimators(samplers=True) if isinstance(s, DuplicatingOverSampler)]
    assert not any(isinstance(e, DuplicatingOverSampler) for e in conformance.our_estimators(samplers=False))
    for estimator, check in estimator_checks_generator(sampler):
        check(estimator)
    check_param_validation(DuplicatingOverSampler.__name__, sampler)
