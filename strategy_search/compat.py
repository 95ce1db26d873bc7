"""Which components may be combined, read from registry tags.

The search space asks here which choices to offer, and ``build_pipeline`` asks here before
building, so an impossible combination is neither proposed nor built.
"""

from __future__ import annotations

from strategy_search.components import Component
from strategy_search.components.models import MODELS
from strategy_search.components.objectives import OBJECTIVES
from strategy_search.components.resamplers import RESAMPLERS
from strategy_search.components.weightings import WEIGHTINGS


def resampler_allowed(resampler: Component, model: Component, *, has_categorical: bool) -> bool:
    if model.tag("balanced_ensemble"):
        return resampler.key == "none"
    return not (has_categorical and resampler.tag("numeric_only"))


def weighting_allowed(weighting: Component, model: Component) -> bool:
    if weighting.key == "none":
        return True
    return bool(model.tag("supports_sample_weight")) and not model.tag("balanced_ensemble")


def objective_allowed(objective: Component, model: Component) -> bool:
    return not objective.tag("needs_margin_booster") or model.tag("margin_factory", None) is not None


def incompatibilities(
    *, model: str, resampler: str, weighting: str, objective: str, has_categorical: bool
) -> list[str]:
    """Every reason the combination cannot be built; empty when it can."""
    model_c = MODELS.get(model)
    problems = []
    if not resampler_allowed(RESAMPLERS.get(resampler), model_c, has_categorical=has_categorical):
        why = "balances its own bootstraps" if model_c.tag("balanced_ensemble") else "data has categorical columns"
        problems.append(f"resampler {resampler!r} cannot be used with model {model!r} ({why}).")
    if not weighting_allowed(WEIGHTINGS.get(weighting), model_c):
        problems.append(f"weighting {weighting!r} needs a model that takes sample weights; {model!r} does not.")
    if not objective_allowed(OBJECTIVES.get(objective), model_c):
        problems.append(f"objective {objective!r} needs a gradient-boosting model; {model!r} is not one.")
    return problems
