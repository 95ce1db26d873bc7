"""The one ranking of scored trials, used by the leaderboard, the best trial, the ensemble's
candidates and the objective's candidate pool alike."""

from __future__ import annotations

import math


def best_first(value: float | None, number: int) -> tuple[float, int]:
    """Sort key that puts the best first in ascending order: the higher metric value, then the
    earlier trial (the one found with less search); a missing or NaN value last."""
    if value is None or math.isnan(value):
        return math.inf, number
    return -value, number
