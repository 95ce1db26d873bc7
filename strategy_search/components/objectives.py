"""Training objectives. ``logloss`` is each model's own; others wrap a model's margin booster."""

from __future__ import annotations

from typing import Any

from strategy_search.components.registry import Component, Registry
from strategy_search.estimators.focal import FocalLossClassifier

OBJECTIVES: Registry[Any] = Registry(
    "objective",
    tags={
        "binary_only": "works on two-class targets only; never offered for a multi-class target",
        "requires": "model tags that must be set for this objective to be offered with a model",
    },
)

_ENTRIES: list[Component[Any]] = [
    Component("logloss", lambda c: None, "The model's standard (log-loss / impurity) objective."),
    Component(
        "focal",
        lambda c: FocalLossClassifier(),
        "Focal loss with analytic gradient and hessian (Lin et al. 2017).",
        {"requires": ("margin_factory",)},
    ),
]

for _entry in _ENTRIES:
    OBJECTIVES.register(_entry)
