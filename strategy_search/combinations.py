"""Which components may be combined: the rules, read from registry tags by one function.

The search space asks here which choices to offer and :func:`strategy_search.strategy.build_pipeline`
asks before building, so an impossible combination is neither proposed nor built. The rules:

* a component tagged ``requires`` (model tag names) needs a model with each of those tags;
* a model tagged ``balances_itself`` (slot names) takes only the neutral choice of those slots;
* a model tagged ``anomaly_detector`` takes only the neutral choice of every other slot;
* a component tagged ``numeric_only`` is not used on data with categorical columns;
* a component tagged ``binary_only`` is not used on a multi-class target;
* a component tagged ``quadratic_in_rows`` is not used when the folds train on more rows than
  the search's ``expensive_row_limit`` (``too_many_rows``): one fit would take minutes to hours;
* a model not tagged ``supports_sample_weight`` is not used when the rows are weighted
  (``data.weight``: ``weighted_rows``): it could not take the weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strategy_search.components.registry import Component
from strategy_search.slots import MODEL, Slot, all_slots, get_slot


def conflicts(
    slot: Slot,
    component: Component[Any],
    model: Component[Any],
    *,
    has_categorical: bool,
    multiclass: bool = False,
    too_many_rows: bool = False,
    weighted_rows: bool = False,
) -> list[str]:
    """Why ``component`` cannot fill ``slot`` next to ``model`` on this data: the first rule it
    breaks (empty: it can)."""
    name = f"{slot.name} {component.key!r}"
    if weighted_rows and slot.name == MODEL and not component.tag("supports_sample_weight"):
        return [f"{name} cannot be fitted with row weights (data.weight): its fit takes no sample_weight."]
    if multiclass and component.tag("binary_only"):
        return [f"{name} works on two-class targets only; this target has more classes."]
    if too_many_rows and component.tag("quadratic_in_rows"):
        return [
            f"{name} takes time that grows with the square of the rows, and the folds train on more rows than "
            "expensive_row_limit (raise it to include it anyway)."
        ]
    if component.key == slot.neutral or slot.name == MODEL:
        return []
    problems = []
    if model.tag("anomaly_detector"):
        problems.append(
            f"{name} cannot be used with model {model.key!r}, an anomaly detector: it learns what the rows look "
            "like as they are, with no resampling, weights or custom loss."
        )
    if slot.name in model.tag("balances_itself", ()):
        problems.append(
            f"{name} cannot be used with model {model.key!r}, which balances the classes itself "
            f"(each of its bootstraps is balanced)."
        )
    for needed in component.tag("requires", ()):
        if not model.tag(needed):
            meaning = get_slot(MODEL).registry.tags.get(needed, "")
            problems.append(f"{name} needs a model tagged {needed!r} ({meaning}); {model.key!r} is not.")
    if has_categorical and component.tag("numeric_only"):
        problems.append(f"{name} cannot be used on data with categorical columns (it interpolates numeric values).")
    return problems[:1]


def allowed(
    slot: Slot,
    key: str,
    model_key: str,
    *,
    has_categorical: bool,
    multiclass: bool = False,
    too_many_rows: bool = False,
    weighted_rows: bool = False,
) -> bool:
    model = get_slot(MODEL).component(model_key)
    facts = {
        "has_categorical": has_categorical,
        "multiclass": multiclass,
        "too_many_rows": too_many_rows,
        "weighted_rows": weighted_rows,
    }
    return not conflicts(slot, slot.component(key), model, **facts)


def incompatibilities(choices: Mapping[str, str], *, has_categorical: bool, multiclass: bool = False) -> list[str]:
    """Every reason the combination (slot name -> component key) cannot be built; empty when it can."""
    slots = all_slots()
    model = get_slot(MODEL).component(choices[MODEL])
    problems: list[str] = []
    for slot in slots:
        key = choices.get(slot.name, slot.neutral)
        if key is not None:
            problems += conflicts(
                slot, slot.component(key), model, has_categorical=has_categorical, multiclass=multiclass
            )
    return problems
