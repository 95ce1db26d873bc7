"""One budget for a study, however many workers pull its trials.

The budget (trials in total, and wall-clock deadlines for the trials and for the whole search)
is stored on the study when it is created, so every worker on every machine reads the same
one. Trials are numbered by the database in the order they are created, which makes the count
exact without a lock: a trial whose number comes after the budget's last place is *surplus*
(two workers asked for the last trial at once); it is closed at once without running and never
counted. A trial whose worker died is failed by Optuna's heartbeat and retried once; the retry
takes its place in the count.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from strategy_search.optuna_internals import queued_params
from strategy_search.trial_record import (
    AnyTrial,
    StudyAttr,
    retry_attrs,
    retry_of,
    set_study_attr,
    study_attr,
    was_surplus,
)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


# What a search does after its trials (choosing and calibrating the answer, the do-nothing
# comparison, the importance, the figures, the MLflow logging) comes out of its timeout: the
# trials end this share of the timeout early, and that work gets what is left.
AFTER_TRIALS_SHARE = 0.10


@dataclass(frozen=True)
class Budget:
    """Trials in total (None: no limit), the trials' deadline and the whole search's end
    (``finish_by``, ``search.timeout`` after it started), as Unix times (None: none)."""

    n_trials: int | None
    deadline: float | None
    finish_by: float | None = None

    @classmethod
    def starting_now(cls, *, n_trials: int | None, timeout: float | None, started: float | None = None) -> Budget:
        """The budget of a search that started at ``started`` (a Unix time; default now): the
        timeout counts from there, and the trials end :data:`AFTER_TRIALS_SHARE` of it early."""
        if timeout is None:
            return cls(n_trials, None, None)
        finish_by = (time.time() if started is None else started) + timeout
        return cls(n_trials, finish_by - AFTER_TRIALS_SHARE * timeout, finish_by)

    def to_attr(self) -> dict[str, Any]:
        return {"n_trials": self.n_trials, "deadline": self.deadline, "finish_by": self.finish_by}

    @classmethod
    def of(cls, study: optuna.Study) -> Budget:
        stored = study_attr(study, StudyAttr.BUDGET, {})
        return cls(stored.get("n_trials"), stored.get("deadline"), stored.get("finish_by"))

    def store(self, study: optuna.Study) -> None:
        set_study_attr(study, StudyAttr.BUDGET, self.to_attr())

    def monotonic_deadline(self) -> float | None:
        """The trials' deadline on this process's monotonic clock (what the CV's deadline takes)."""
        return _monotonic(self.deadline)

    def monotonic_finish_by(self) -> float | None:
        """The search's end on this process's monotonic clock (None: no timeout, or a study
        stored before the end was)."""
        return _monotonic(self.finish_by)

    def seconds_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.time()

    def expired(self) -> bool:
        left = self.seconds_left()
        return left is not None and left <= 0

    def ended_by_timeout(self, ran: int) -> bool:
        """Whether the deadline, not the trial count, ended a search that ran ``ran`` trials."""
        return self.expired() and (self.n_trials is None or ran < self.n_trials)


def _monotonic(unix_time: float | None) -> float | None:
    return None if unix_time is None else time.monotonic() + (unix_time - time.time())


def retried_number(trial: AnyTrial) -> int | None:
    """The trial this one retries (its worker died), or None."""
    return retry_of(trial)


def stale_reasons(trials: Iterable[FrozenTrial]) -> dict[int, str]:
    """Why each dead worker's trial failed (it cannot carry the reason itself: Optuna closes it
    before anyone can write to it), by trial number."""
    return {
        number: f"its worker stopped sending heartbeats; retried as trial {t.number}"
        for t in trials
        if (number := retried_number(t)) is not None
    }


class RetryStaleTrial:
    """Optuna's stale-trial callback: queue a dead worker's trial again, with the same
    parameters and a ``retry_of`` attribute naming it; a retry that dies too is not retried."""

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if retried_number(trial) is not None:
            return
        # A queued (portfolio) trial that died before drawing every parameter: its queued ones too.
        params = {**queued_params(trial), **trial.params}
        study.enqueue_trial(params, user_attrs=retry_attrs(trial))


def never_ran(trial: FrozenTrial) -> bool:
    """A surplus trial: closed at once because the budget was reached; no view of the search shows it."""
    return was_surplus(trial)


def not_counted(trials: Iterable[FrozenTrial]) -> set[int]:
    """Numbers of trials the budget leaves out: surplus ones, and dead workers' trials that a
    retry replaced."""
    trials = list(trials)
    retried = {n for n in (retried_number(t) for t in trials) if n is not None}
    return retried | {t.number for t in trials if never_ran(t)}


def counted(study: optuna.Study) -> list[FrozenTrial]:
    trials = study.get_trials(deepcopy=False)
    skipped = not_counted(trials)
    return [t for t in trials if t.number not in skipped]


def is_surplus(study: optuna.Study, trial: FrozenTrial | optuna.Trial, budget: Budget) -> bool:
    """Whether ``trial`` comes after the budget's last place. A retry never is: it replaces a
    dead worker's trial, which held a place."""
    if budget.n_trials is None or retried_number(trial) is not None:
        return False
    before = [t for t in counted(study) if t.number < trial.number]
    return len(before) >= budget.n_trials


def no_place_left(study: optuna.Study, budget: Budget) -> bool:
    """Whether every place of the budget is held by a trial that is running or finished (so a
    worker has nothing left to start: no new trial, no queued one within the budget)."""
    if budget.n_trials is None:
        return False
    holding = sorted(counted(study), key=lambda t: t.number)[: budget.n_trials]
    return len(holding) >= budget.n_trials and not any(t.state == TrialState.WAITING for t in holding)


def running(study: optuna.Study) -> list[FrozenTrial]:
    """The counted trials some worker is running now."""
    return [t for t in counted(study) if t.state == TrialState.RUNNING]


def fail_stale(study: optuna.Study) -> None:
    """Fail (and so retry) trials whose worker stopped sending heartbeats, now."""
    optuna.storages.fail_stale_trials(study)
