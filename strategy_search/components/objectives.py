"""Training objectives. ``logloss`` is each model's own; others wrap a model's margin booster."""

from __future__ import annotations

from typing import Any

from strategy_search.components.registry import BINARY_ONLY, Component, Registry
from strategy_search.estimators.classifiers.focal import FocalLossClassifier

OBJECTIVES: Registry[Any] = Registry(
    "objective",
    tags={
        **BINARY_ONLY,
        "binary_only_params": "parameters that mean something for two classes only; not searched on a "
        "multi-class target",
        "requires": "model tags that must be set for this objective to be offered with a model",
    },
)

_ENTRIES: list[Component[Any]] = [
    Component("logloss", lambda c: None, "The model's standard (log-loss / impurity) objective."),
    Component(
        "focal",
        lambda c: FocalLossClassifier(),
        "Focal loss with analytic gradient and hessian (Lin et al. 2017); softmax focal loss for more classes.",
        # alpha weighs the positive class; a multi-class target weighs classes in the weighting slot.
        {"requires": ("margin_factory",), "binary_only_params": ("alpha",)},
    ),
]

for _entry in _ENTRIES:
    OBJECTIVES.register(_entry)
