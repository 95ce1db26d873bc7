"""Every use of Optuna's private API, in one place, for the Optuna releases ``pyproject.toml``
admits (``tests/test_optuna_internals.py`` checks each one on the installed release).

Two things the engine needs have no public API in Optuna:

* a study's storage (the score table lives in the same database, and a shared study must know
  it is on a server): ``Study._storage``, and the cache ``_CachedStorage`` wraps around an RDB
  storage (``_backend``);
* running trials outside ``Study.optimize`` (:mod:`strategy_search.trial_loop` asks for the
  next trial while the current one fits): ``Study.stop()`` works only inside an optimisation
  loop (``_thread_local.in_optimize_loop``, ``_stop_flag``), and the heartbeat that lets a
  dead worker's trial be retried is started by ``optimize``'s own helpers;
* the parameters a queued trial was given (``enqueue_trial`` keeps them in the trial's
  ``fixed_params`` system attribute until it draws them), so the retry of a trial that died
  before drawing them all replays the queued ones too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import optuna
from optuna.storages._heartbeat import BaseHeartbeatThread, get_heartbeat_thread, is_heartbeat_enabled
from optuna.trial import FrozenTrial, TrialState

__all__ = [
    "BaseHeartbeatThread",
    "backend_of",
    "heartbeat_enabled",
    "optimize_loop",
    "queued_params",
    "start_heartbeat",
    "still_running",
    "stop_requested",
    "storage_of",
]


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage a study lives in."""
    return study._storage


def backend_of(storage: Any) -> Any:
    """The storage under Optuna's cache (the ``RDBStorage`` or ``InMemoryStorage`` itself)."""
    return getattr(storage, "_backend", storage)


@contextlib.contextmanager
def optimize_loop(study: optuna.Study, *, reset_stop: bool = True) -> Iterator[None]:
    """Let ``study.stop()`` be called on this thread, as inside ``Study.optimize`` (the flag is
    thread-local: the thread that asks for trials enters it too)."""
    study._thread_local.in_optimize_loop = True
    if reset_stop:
        study._stop_flag = False
    try:
        yield
    finally:
        study._thread_local.in_optimize_loop = False


def enter_optimize_loop(study: optuna.Study) -> None:
    """On a helper thread that runs trials for the current loop: ``study.stop()`` allowed."""
    study._thread_local.in_optimize_loop = True


def stop_requested(study: optuna.Study) -> bool:
    """Whether a callback or the objective called ``study.stop()``."""
    return bool(study._stop_flag)


def heartbeat_enabled(study: optuna.Study) -> bool:
    return bool(is_heartbeat_enabled(study._storage))


def start_heartbeat(study: optuna.Study, trial: optuna.Trial) -> BaseHeartbeatThread:
    """The trial's heartbeat thread, started (a no-op thread when the storage has none)."""
    heartbeat = get_heartbeat_thread(trial._trial_id, study._storage)
    heartbeat.start()
    return heartbeat


def still_running(study: optuna.Study, trial: optuna.Trial) -> bool:
    """Whether the storage still has ``trial`` running (nobody told it yet)."""
    return study._storage.get_trial(trial._trial_id).state == TrialState.RUNNING


def queued_params(trial: FrozenTrial) -> dict[str, Any]:
    """The parameters ``enqueue_trial`` gave ``trial`` (empty for a trial that was not queued)."""
    return dict(trial.system_attrs.get("fixed_params", {}))
