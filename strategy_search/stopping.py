"""The three rules that stop a search's trial loop early, each an Optuna callback that calls
``study.stop()``: the study's budget is used up (:class:`StopAtBudget`), the next trial would
not finish before the deadline (:class:`BudgetGuard`), or the setup is broken
(:class:`FailFast`)."""

from __future__ import annotations

import time

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from strategy_search.study_budget import Budget, no_place_left

__all__ = ["FAIL_FAST_TRIALS", "BudgetGuard", "FailFast", "StopAtBudget"]

# When this many trials have finished and every one failed, the setup (not the strategies) is
# broken: the search stops and says why instead of repeating the error up to the budget.
FAIL_FAST_TRIALS = 5


class StopAtBudget:
    """Stop this worker once every place of the budget is taken or its deadline has passed."""

    def __init__(self, budget: Budget):
        self.budget = budget

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self.budget.expired() or no_place_left(study, self.budget):
            study.stop()


class BudgetGuard:
    """Ends the search when the next trial would probably not finish within the time budget.

    A trial cut off at the deadline is wasted and its worker processes must be killed, which
    makes the next search start them again (seconds of imports); stopping one typical trial
    early keeps them warm. The estimate is the median duration of the recent completed trials
    of this process, leaving out its first, which also paid for starting the workers (with
    only that one known there is no estimate, and the search goes on).
    """

    def __init__(self, deadline: float | None):
        self.deadline = deadline
        self.durations: list[float] = []
        self.fired = False

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self.deadline is None or trial.state != TrialState.COMPLETE or trial.duration is None:
            return
        self.durations.append(trial.duration.total_seconds())
        recent = self.durations[1:][-5:]
        if recent and time.monotonic() + float(np.median(recent)) > self.deadline:
            self.fired = True
            study.stop()


class FailFast:
    """Stops this process when the first :data:`FAIL_FAST_TRIALS` trials it ran all failed (its
    setup is broken, not the strategies); trials other processes ran do not count."""

    def __init__(self) -> None:
        self.states: list[TrialState] = []
        self.fired = False

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state.is_finished():
            self.states.append(trial.state)
        if len(self.states) >= FAIL_FAST_TRIALS and all(s == TrialState.FAIL for s in self.states):
            self.fired = True
            study.stop()
