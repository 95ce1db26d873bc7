"""Runs a study's trials with the next one asked for while the current one fits.

``Study.optimize`` asks for a trial only after the previous one was told, so the worker
processes sit idle while this process samples the next strategy (TPE costs tens of
milliseconds per trial, more as the study grows), writes trial attributes and logs to MLflow.
Here trial k+1 is asked for on a helper thread, and its fits queued behind trial k's, while
this thread collects trial k's results: the sampling happens while the workers fit trial k,
the bookkeeping of trial k while they fit trial k+1.

The order of events is fixed, whatever the order the workers finish in: trial k+1 is asked
for when trials 0..k-1 are told and trial k is running (the sampler's constant liar sees it as
running), and trial k's pruning checks see the trials told before it. So a search with a given
seed and trial budget proposes and scores the same strategies on every run, with any number
of worker processes; only a time budget (how many trials fit) and timings differ.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import optuna
from optuna.trial import FrozenTrial, TrialState

from strategy_search.optuna_internals import (
    BaseHeartbeatThread,
    enter_optimize_loop,
    heartbeat_enabled,
    optimize_loop,
    start_heartbeat,
    still_running,
    stop_requested,
)

Callback = Callable[[optuna.Study, FrozenTrial], None]
Values = float | Sequence[float]


class SteppedObjective(Protocol):
    def start(self, trial: optuna.Trial) -> Callable[[], Values]:
        """Prepare the trial and start its work; the returned function waits for it and gives
        the trial's value(s) (or raises ``TrialPruned`` / the trial's error)."""
        ...

    def interrupted(self, trial: optuna.Trial, error: BaseException) -> None:
        """The search stopped (Ctrl-C, or ``error`` elsewhere) while ``trial`` was in flight."""
        ...


@dataclass
class _InFlight:
    trial: optuna.Trial
    heartbeat: BaseHeartbeatThread
    finish: Callable[[], Values] | None  # None: the trial failed (or was pruned) before any work
    error: BaseException | None = None


def run_trials(
    study: optuna.Study,
    objective: SteppedObjective,
    *,
    may_start: Callable[[], bool],
    callbacks: Sequence[Callback],
    catch: tuple[type[Exception], ...] = (Exception,),
) -> None:
    """Run trials until ``may_start()`` says no or a callback calls ``study.stop()``; the trial
    in flight then finishes. ``callbacks`` see each trial once told, as in ``Study.optimize``.
    On an error that is not caught (Ctrl-C included) the trials in flight are closed as failed.

    The next trial is asked for on a helper thread while this one collects the current trial's
    results (handing out its remaining fits as workers free up, and checking its pruning), and
    the current trial is told only after that ask returned: the sampler always sees the same
    trials told, however long either side takes."""
    # Study.stop() is allowed only inside an optimisation loop, and our callbacks use it.
    with optimize_loop(study):
        _run(study, objective, may_start=may_start, callbacks=callbacks, catch=catch)


def _run(
    study: optuna.Study,
    objective: SteppedObjective,
    *,
    may_start: Callable[[], bool],
    callbacks: Sequence[Callback],
    catch: tuple[type[Exception], ...],
) -> None:
    untold: list[_InFlight] = []  # asked for and not yet told: what an interruption must close
    current: _InFlight | None = None
    asking: Future[_InFlight] | None = None
    asker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strategy-search-ask")
    try:
        while True:
            may = not stop_requested(study) and may_start()
            asking = asker.submit(_start, study, objective) if may else None
            outcome = _collect(current) if current is not None else None
            try:
                following = asking.result() if asking is not None else None
            except BaseException:
                # The ask failed, or Ctrl-C came while waiting for it (the handler below then
                # closes what it asked for): the current trial's results are in, keep them.
                if current is not None and outcome is not None:
                    _tell(study, current, *outcome, callbacks, catch, untold)
                raise
            if following is not None:
                untold.append(following)
            asking = None
            finished, current = current, None
            if finished is not None and outcome is not None:
                _tell(study, finished, *outcome, callbacks, catch, untold)
            if following is not None and following.finish is None:
                _tell(study, following, following.error, None, callbacks, catch, untold)
            elif following is not None:
                current = following
            if current is None and finished is None and following is None:
                return
    except BaseException as error:
        left = list(untold)
        late = _result(asking)
        if late is not None and late not in left:
            left.append(late)
        for in_flight in left:
            with contextlib.suppress(BaseException):  # close every one, whatever fails for one
                _abandon(study, objective, in_flight, error)
        raise
    finally:
        asker.shutdown(wait=True)


def _result(asking: Future[_InFlight] | None) -> _InFlight | None:
    """The trial an interrupted ask produced (the ask itself always ends quickly)."""
    if asking is None:
        return None
    try:
        return asking.result()
    except BaseException:
        return None


def _start(study: optuna.Study, objective: SteppedObjective) -> _InFlight:
    """On the asking thread: ask for a trial and start it (a trial that fails, or is pruned,
    before any work comes back with its error, to be told by the loop)."""
    enter_optimize_loop(study)  # thread-local: the objective may stop the study
    if heartbeat_enabled(study):
        optuna.storages.fail_stale_trials(study)
    trial = study.ask()
    heartbeat = start_heartbeat(study, trial)
    try:
        return _InFlight(trial, heartbeat, objective.start(trial))
    except BaseException as error:
        if not isinstance(error, Exception):
            objective.interrupted(trial, error)
        return _InFlight(trial, heartbeat, None, error)


def _collect(in_flight: _InFlight) -> tuple[BaseException | None, Values | None]:
    assert in_flight.finish is not None
    try:
        return None, in_flight.finish()
    except BaseException as error:
        return error, None


def _tell(
    study: optuna.Study,
    in_flight: _InFlight,
    error: BaseException | None,
    values: Values | None,
    callbacks: Sequence[Callback],
    catch: tuple[type[Exception], ...],
    untold: list[_InFlight],
) -> None:
    trial = in_flight.trial
    in_flight.heartbeat.join()
    if isinstance(error, optuna.TrialPruned):
        frozen = study.tell(trial, state=TrialState.PRUNED)
    elif error is not None:
        frozen = study.tell(trial, state=TrialState.FAIL)
    else:
        frozen = study.tell(trial, values)
    if in_flight in untold:
        untold.remove(in_flight)
    if error is not None and not isinstance(error, (optuna.TrialPruned, *catch)):
        raise error
    for callback in callbacks:
        callback(study, copy.deepcopy(frozen))


def _abandon(study: optuna.Study, objective: SteppedObjective, in_flight: _InFlight, error: BaseException) -> None:
    """Close a trial the search left (Ctrl-C, SIGTERM, an error elsewhere) as failed, so
    nothing stays running."""
    try:
        objective.interrupted(in_flight.trial, error)
    finally:
        in_flight.heartbeat.join()  # a beating thread would keep the process from exiting
        if still_running(study, in_flight.trial):
            study.tell(in_flight.trial, state=TrialState.FAIL)
