"""Class weightings, applied as sample weights to models tagged ``supports_sample_weight``."""

from __future__ import annotations

from typing import Any

from strategy_search.components import Component, Registry
from strategy_search.estimators.weighting import BalancedWeighting, CustomWeighting, EffectiveNumberWeighting

WEIGHTINGS: Registry[Any] = Registry("weighting")

for _entry in [
    Component("none", lambda c: None, "Every row weighs 1."),
    Component("balanced", lambda c: BalancedWeighting(), "Weights inversely proportional to class size."),
    Component(
        "effective_number",
        lambda c: EffectiveNumberWeighting(),
        "Class-balanced weights by effective number of samples (Cui et al. 2019).",
    ),
    Component("custom", lambda c: CustomWeighting(), "A searched weight for the positive class."),
]:
    WEIGHTINGS.register(_entry)
