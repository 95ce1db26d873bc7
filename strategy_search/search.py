"""The public front of the engine: :func:`search` runs (or resumes) a search in this process;
:func:`run_search` and :func:`run_worker` are what the command line runs, one process or one
of several workers on a shared study. What a study does over its life is in
:mod:`strategy_search.study`; what a search found, in :mod:`strategy_search.result`."""

from __future__ import annotations

import contextlib
import functools
import os
import time as _time
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from strategy_search.errors import SearchFailed, SettingsError, StorageError, UsageError
from strategy_search.prepared import PreparedData, prepare_data
from strategy_search.result import SearchResult, leaderboard, load_result
from strategy_search.settings import DEFAULT_ENSEMBLE_SIZE, SearchSettings, settings_doc
from strategy_search.space import SearchSpace
from strategy_search.storage import latest_study_name, open_storage, require_shared_storage, require_writable
from strategy_search.study import Callback, finish_study, open_study, quiet_optuna, work_on_study
from strategy_search.thresholds import ThresholdRule

__all__ = [
    "SearchFailed",
    "SearchResult",
    "SearchSettings",
    "StorageError",
    "leaderboard",
    "load_result",
    "load_search",
    "run_search",
    "run_worker",
    "search",
]


_SEARCH_DOC = """Search for the best imbalance strategy for ``(X, y)``.

Parameters
----------
X : pandas.DataFrame
    Feature table: numeric, categorical or string columns; NaN allowed.
y : array-like
    Target of two or more classes. With two, the positive class is the minority unless
    ``positive_label`` names it; with more, every class is scored against the others.
{settings}
positive_label : optional
    The label of the positive class of a binary target (default: the minority).
groups : array-like, optional
    A group per row (a customer, a patient): the CV splits, the threshold folds inside each
    training part and the deployed fold models keep each group's rows on one side (stratified
    group K-fold), so a score is one on groups the model never saw. Not a column of ``X``.
time : array-like, optional
    A date, time or ordered number per row: the CV chains forward in time (each validation
    block later than every training row of its split, ``cv_gap`` rows between), and the
    threshold is chosen on the latest rows of each training part. Not a column of ``X``; at
    most one of ``groups`` and ``time``.
sample_weight : array-like, optional
    A weight per row of ``X`` (a number >= 0: what the row's mistakes cost, e.g. a fraud's
    amount). Every fit that takes ``sample_weight`` gets them (multiplied with the class
    weighting), and every metric and threshold counts weights instead of rows; models that
    cannot take them are left out of the space.
storage : str or optuna.storages.BaseStorage, optional
    Optuna storage (a URL such as ``sqlite:///optuna.db``, or an object); with
    ``study_name``, an existing study is resumed. Default: in memory.
study_name : str, optional
    The study's name in ``storage``.
callbacks : sequence of callables
    Optuna callbacks ``(study, frozen_trial) -> None``, run after each trial.
progress : bool
    Draw the command line's progress bar on stderr, and one line per failed trial.
tracking_uri : str, optional
    Log the search to MLflow as the command line does (a parent run, a child run per
    trial), e.g. ``sqlite:///mlflow.db``.
experiment : str, optional
    The MLflow experiment (default ``strategy-search``); needs ``tracking_uri``.

Returns
-------
SearchResult
    The leaderboard, the answer (``best_strategy``, ``model``), and ``export``.
"""


def search(
    X: pd.DataFrame,
    y: Any,
    *,
    space: str | os.PathLike[str] | Mapping[str, Any] | SearchSpace = "default",
    metric: str | Sequence[str] = ("pr_auc",),
    n_trials: int | None = None,
    timeout: float | None = None,
    seed: int = 0,
    cv_folds: int = 5,
    cv_repeats: int | str = 1,
    cv_gap: int = 0,
    threshold_folds: int = 1,
    threshold: str | ThresholdRule = "best_f1",
    n_jobs: int | None = None,
    pruning: bool = True,
    fidelity: str = "auto",
    expensive_row_limit: int = 30_000,
    ensemble_size: int = DEFAULT_ENSEMBLE_SIZE,
    answer: str = "bagged",
    calibration: str = "auto",
    heartbeat_interval: int = 30,
    positive_label: Any = None,
    groups: Any = None,
    time: Any = None,
    sample_weight: Any = None,
    storage: Any = None,
    study_name: str | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    tracking_uri: str | None = None,
    experiment: str | None = None,
) -> SearchResult:
    if experiment is not None and tracking_uri is None:
        raise SettingsError(
            f"experiment={experiment!r} was given without tracking_uri, so nothing would be logged; pass "
            "tracking_uri as well (e.g. tracking_uri='sqlite:///mlflow.db'), or leave experiment out."
        )
    given, started = locals(), _time.time()  # the timeout counts the data checks too
    checked = SearchSettings.create(**{f.name: given[f.name] for f in fields(SearchSettings)})
    data = prepare_data(
        X, y, positive_label=positive_label, settings=checked, groups=groups, time=time, sample_weight=sample_weight
    )
    require_writable(storage)
    with contextlib.ExitStack() as stack:
        observers = list(callbacks)
        if progress:
            observers.append(_progress_callback(stack, checked))
        run = functools.partial(run_search, data, checked, storage=storage, study_name=study_name, started=started)
        if tracking_uri is None:
            return run(callbacks=observers)
        from strategy_search.tracking import SearchTracker

        tracker = SearchTracker(tracking_uri=tracking_uri, experiment=experiment or "strategy-search")
        return tracker.track(
            lambda: run(callbacks=[*observers, tracker]),
            run_name=study_name or "search",
            params=checked.as_params(),
            profile=data.profile,
        )


def _progress_callback(stack: contextlib.ExitStack, settings: SearchSettings) -> Callback:
    from rich.console import Console

    from strategy_search.progress import ProgressCallback, failures_to, progress_bar

    console = Console(stderr=True)
    stack.enter_context(failures_to(console))
    bar = stack.enter_context(progress_bar(console))
    return ProgressCallback(bar, settings=settings, total=settings.n_trials, already_done=0)


# The settings' part of the docstring comes from their one definition (settings.py).
search.__doc__ = _SEARCH_DOC.replace("{settings}\n", settings_doc())


def run_search(
    data: PreparedData,
    settings: SearchSettings,
    *,
    callbacks: Sequence[Callback] = (),
    storage: Any = None,
    study_name: str | None = None,
    started: float | None = None,
) -> SearchResult:
    """Run (or resume) a search on prepared data in this process, its timeout counted from
    ``started`` (a Unix time; default now); :func:`search` is the friendly front,
    :func:`run_worker` one of several processes on a shared study."""
    with quiet_optuna():
        study = open_study(data, settings, storage=storage, study_name=study_name, create=True, started=started)
        work_on_study(study, data, settings, callbacks=callbacks)
    return finish_study(study, data, settings, within_timeout=True)


def run_worker(
    data: PreparedData,
    settings: SearchSettings,
    *,
    storage: Any,
    study_name: str,
    worker: int,
    create: bool = False,
    callbacks: Sequence[Callback] = (),
) -> optuna.Study:
    """One of several processes on a study in a database server: join the study (``create``:
    make it first, with its budget and portfolio) and run trials until its budget is reached.
    The answer is chosen by whoever calls :func:`~strategy_search.study.finish_study` afterwards."""
    require_shared_storage(storage, what="several workers")
    with quiet_optuna():
        study = open_study(data, settings, storage=storage, study_name=study_name, create=create, worker=worker)
        work_on_study(study, data, settings, callbacks=callbacks)
    return study


def load_search(
    config: str | os.PathLike[str] | None = None,
    *,
    study_name: str | None = None,
    storage: Any = None,
    X: pd.DataFrame | None = None,
    y: Any = None,
    positive_label: Any = None,
    settings: Mapping[str, Any] | None = None,
    groups: Any = None,
    time: Any = None,
    sample_weight: Any = None,
) -> SearchResult:
    """Reopen a stored search (after a kernel restart, on another machine) as the
    :class:`SearchResult` it finished with, rebuilt from its study alone.

    With ``config`` (a run config's path), its data, settings and storage are used, and its
    latest study unless ``study_name`` names one. Without it, give the ``storage`` URL, the
    ``study_name`` (optional when the storage holds one study), the data ``X``, ``y`` (and
    ``positive_label``), the ``settings`` the search was given (a mapping of :func:`search`'s
    setting keywords) and its ``groups`` or ``time`` and ``sample_weight``: the study refuses other data, another
    space or other CV settings."""
    if config is not None:
        from strategy_search.config import load_config
        from strategy_search.config_table import load_data

        loaded = load_config(Path(config))
        data = load_data(loaded)
        name = study_name or latest_study_name(loaded.storage_url, config_name=loaded.name)
        if name is None:
            raise UsageError(f"No search of config {loaded.name!r} is stored; run it first.")
        return load_result(data, loaded.settings(), storage=loaded.storage_url, study_name=name)
    if storage is None or X is None or y is None:
        raise UsageError("load_search needs a config path, or storage=, X= and y= (and the settings the search had).")
    name = study_name or _only_study(storage)
    checked = SearchSettings.create(**dict(settings or {}))
    data = prepare_data(X, y, positive_label=positive_label, groups=groups, time=time, sample_weight=sample_weight)
    return load_result(data, checked, storage=storage, study_name=name)


def _only_study(storage: Any) -> str:
    names = optuna.get_all_study_names(storage=open_storage(storage))
    if len(names) != 1:
        raise UsageError(f"The storage holds {len(names)} studies ({', '.join(names[:5])}); pass study_name=.")
    return names[0]
