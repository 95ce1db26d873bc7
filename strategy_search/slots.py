"""The slots a strategy is made of: one table that every part of the engine reads.

A slot is one choice in a strategy (which model, which resampler, ...) filled from one
registry. The search space's sections, the Optuna parameter names, a strategy's fields, the
MLflow params of a trial, the model card's rows and the ``spaces`` command all iterate this
table, so adding a slot is one entry here (plus its step in
:func:`strategy_search.strategy.build_pipeline`, the only place that makes estimators).
What may be combined with what is read from component tags by
:mod:`strategy_search.combinations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strategy_search.components.models import MODELS
from strategy_search.components.objectives import OBJECTIVES
from strategy_search.components.registry import Component, Registry
from strategy_search.components.resamplers import RESAMPLERS
from strategy_search.components.weightings import WEIGHTINGS
from strategy_search.errors import UnknownComponentError


@dataclass(frozen=True, eq=False)
class Slot:
    """One choice in a strategy.

    ``neutral`` is the do-nothing choice, which a strategy or space file that does not mention
    the slot gets (None for the model, which every strategy must name); ``label`` says how a
    chosen component reads in a strategy's description (``{key}`` is filled in).
    """

    name: str
    section: str
    registry: Registry[Any]
    neutral: str | None
    label: str = "{key}"

    def component(self, key: str) -> Component[Any]:
        return self.registry.get(key)

    def describe(self, key: str) -> str | None:
        """How ``key`` reads in a strategy's description; None for the neutral choice."""
        return None if key == self.neutral else self.label.format(key=key)


MODEL = "model"

# The order is the order of the Optuna questions (model first: the others depend on it), of a
# strategy's fields and of every table that lists slots.
SLOTS: tuple[Slot, ...] = (
    Slot(MODEL, "models", MODELS, None),
    Slot("resampler", "resamplers", RESAMPLERS, "none"),
    Slot("weighting", "weightings", WEIGHTINGS, "none", "{key} weights"),
    Slot("objective", "objectives", OBJECTIVES, "logloss", "{key} loss"),
)


def all_slots() -> tuple[Slot, ...]:
    """The slot table (read at call time, so a test may extend it)."""
    return SLOTS


def slot_names() -> tuple[str, ...]:
    return tuple(s.name for s in all_slots())


def get_slot(name: str) -> Slot:
    for slot in all_slots():
        if slot.name == name:
            return slot
    raise UnknownComponentError(f"Unknown slot {name!r}; slots: {', '.join(slot_names())}.")
