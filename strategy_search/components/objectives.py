"""Training objectives. ``logloss`` is each model's own; others wrap a model's margin booster.

Tags
----
needs_margin_booster: only for models that provide a ``margin_factory`` (gradient boosting
                      regressors that accept a callable objective)
"""

from __future__ import annotations

from typing import Any

from strategy_search.components import Component, Registry
from strategy_search.estimators.focal import FocalLossClassifier

OBJECTIVES: Registry[Any] = Registry("objective")

for _entry in [
    Component("logloss", lambda c: None, "The model's standard (log-loss / impurity) objective."),
    Component(
        "focal",
        lambda c: FocalLossClassifier(),
        "Focal loss with analytic gradient and hessian (Lin et al. 2017).",
        {"needs_margin_booster": True},
    ),
]:
    OBJECTIVES.register(_entry)
