"""Class weightings, applied as sample weights to models tagged ``supports_sample_weight``."""

from __future__ import annotations

from typing import Any

from strategy_search.components.registry import BINARY_ONLY, Component, Registry
from strategy_search.estimators.classifiers.weighting import (
    BalancedWeighting,
    CustomWeighting,
    EffectiveNumberWeighting,
)

WEIGHTINGS: Registry[Any] = Registry(
    "weighting",
    tags={
        **BINARY_ONLY,
        "requires": "model tags that must be set for this weighting to be offered with a model",
    },
)

_NEEDS_WEIGHTS = {"requires": ("supports_sample_weight",)}

_ENTRIES: list[Component[Any]] = [
    Component("none", lambda c: None, "Every row weighs 1."),
    Component(
        "balanced", lambda c: BalancedWeighting(), "Weights inversely proportional to class size.", _NEEDS_WEIGHTS
    ),
    Component(
        "effective_number",
        lambda c: EffectiveNumberWeighting(),
        "Class-balanced weights by effective number of samples (Cui et al. 2019).",
        _NEEDS_WEIGHTS,
    ),
    Component("custom", lambda c: CustomWeighting(), "A searched weight for the positive class.", _NEEDS_WEIGHTS),
]

for _entry in _ENTRIES:
    WEIGHTINGS.register(_entry)
