"""The commands that search: ``run`` (in this process, or ``--workers N`` processes on one
study), ``worker`` (one of several processes on a study in a database server) and ``finish``
(the answer of a study its workers searched). The study is created, opened and checked by
:mod:`strategy_search.study`; the tracker closes its MLflow parent run when a search stops
early (:meth:`~strategy_search.tracking.SearchTracker.closing`); these commands say what
happened and how to go on."""

from __future__ import annotations

import argparse
import itertools
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import optuna
from rich.markup import escape

from strategy_search.cli.arguments import CommandTable, at_least_one
from strategy_search.cli.console import console, print_data_summary, say
from strategy_search.cli.exits import EXIT_INTERRUPTED, search_failed
from strategy_search.cli.finished_search import overrun_text, print_finished_search
from strategy_search.cli.inputs import STUDY_NAME_TAG, prepared
from strategy_search.config import RunConfig, load_config
from strategy_search.errors import SearchFailed, UsageError
from strategy_search.masking import mask_secrets
from strategy_search.prepared import PreparedData, scoring_plan
from strategy_search.progress import ProgressCallback, failures_to, progress_bar
from strategy_search.result import SearchResult
from strategy_search.search import run_search, run_worker
from strategy_search.settings import SearchSettings
from strategy_search.storage import latest_study_name, require_shared_storage, require_writable
from strategy_search.study import finish_study, open_checked_study, open_study
from strategy_search.study_budget import never_ran
from strategy_search.trial_record import StudyAttr, set_study_attr, study_attr

__all__ = ["add_parsers", "cmd_finish", "cmd_run", "cmd_worker"]

CONFIG_NAME_TAG = "strategy_search.config_name"


def add_parsers(commands: CommandTable) -> None:
    commands.add(
        "run", "run a strategy search and log every trial to MLflow", cmd_run, config=True, options=_run_options
    )
    commands.add(
        "worker",
        "join the config's latest study (PostgreSQL) and run trials until its budget is reached; start as "
        "many as you like, on any machine that reaches the database",
        cmd_worker,
        config=True,
        options=_worker_options,
    )
    commands.add(
        "finish",
        "choose the answer of the config's latest study from its stored trials and close its MLflow run",
        cmd_finish,
        config=True,
        options=_finish_options,
    )


def _run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--resume", action="store_true", help="continue the latest search of this config up to its budget")
    run.add_argument(
        "--workers",
        type=at_least_one,
        default=1,
        metavar="N",
        help="run N worker processes on the study (needs search.storage on PostgreSQL)",
    )


def _worker_options(worker: argparse.ArgumentParser) -> None:
    worker.add_argument("--create", action="store_true", help="start a new study first (budget, portfolio, MLflow run)")
    worker.add_argument("--study", metavar="NAME", help="join this study instead of the config's latest")
    worker.add_argument(
        "--index", type=at_least_one, metavar="K", help="this worker's number >= 1 (its sampler seed; default random)"
    )


def _finish_options(finish: argparse.ArgumentParser) -> None:
    finish.add_argument("--study", metavar="NAME", help="finish this study instead of the config's latest")


# -- run ----------------------------------------------------------------------------------------
def _split_text(data: PreparedData, settings: SearchSettings) -> str | None:
    """A grouped or time-ordered or weighted CV, described with its folds (None for the usual
    stratified unweighted one)."""
    if data.split_by(settings).kind == "stratified" and data.weights is None:
        return None
    plan = scoring_plan(data, settings)
    text = plan.describe() + (f", {len(np.unique(data.groups))} groups" if data.groups is not None else "")
    if data.weights is not None:
        shares = np.bincount(data.codes, weights=data.weights) / data.weights.sum()
        labels = data.task.classes
        text += (
            ": " + ", ".join(f"{labels[k]!r} {share:.1%}" for k, share in enumerate(shares)) + " of the total weight"
        )
    return text


def cmd_run(args: argparse.Namespace) -> int:
    started, started_at = time.monotonic(), time.time()  # the timeout counts reading the table too
    config = load_config(args.config, overrides=args.set)
    data = prepared(config)
    if args.workers > 1:
        return _run_with_workers(args, config, data, started_at=started_at)
    settings = config.settings()
    study, tracker, study_name, parent = _start_study(args, config, data, resume=args.resume)
    print_data_summary(data.profile, split=_split_text(data, settings))
    done = len([t for t in study.trials if t.state.is_finished()])
    verb = "resuming" if args.resume else "starting"
    console.print(f"{verb} study [bold]{escape(study_name)}[/] ({done} trials done) - MLflow run {parent}")
    _raise_on_sigterm()

    def search() -> SearchResult:
        with failures_to(console), progress_bar(console) as progress:
            callback = ProgressCallback(
                progress, settings=settings, total=settings.n_trials, already_done=done, show_tracebacks=args.debug
            )
            return run_search(
                data,
                settings,
                callbacks=[tracker, callback],
                storage=config.storage_url,
                study_name=study_name,
                started=started_at,
            )

    try:
        result = tracker.closing(search, study=study)
    except SearchFailed as exc:
        return search_failed(exc)
    except KeyboardInterrupt:
        return _interrupted(args, study_name)
    tracker.finish(result)
    print_finished_search(result, config=args.config, parent=parent)
    overrun = overrun_text(result, elapsed=time.monotonic() - started)
    if overrun:
        say("note", overrun)
    return 0


def _start_study(
    args: argparse.Namespace, config: RunConfig, data: PreparedData, *, resume: bool
) -> tuple[optuna.Study, Any, str, str]:
    """Create (or reopen, ``resume``) the config's study and its one MLflow parent run:
    ``(study, tracker, study_name, parent_run_id)``."""
    settings, storage = config.settings(), config.storage_url
    from strategy_search.tracking import SearchTracker

    # Before the study: an unreachable tracking server is reported before any study is stored.
    require_writable(storage)
    tracker = SearchTracker(tracking_uri=config.tracking_uri, experiment=config.experiment_name)
    for note in tracker.notes:
        say("warning", note)
    # Before the parent run: a study refused for other data or another task leaves no run behind.
    if resume:
        study_name = _resumed_study_name(config, storage)
        study = open_checked_study(data, settings, storage=storage, study_name=study_name)
    else:
        study, study_name = _new_study(config, data)
    set_study_attr(study, StudyAttr.CONFIG_NAME, config.name)
    if study_attr(study, StudyAttr.CREATED_AT) is None:
        set_study_attr(study, StudyAttr.CREATED_AT, time.time())
    parent = tracker.start(
        run_name=study_name,
        params=settings.as_params() | {"config.overrides": " ".join(args.set) or "none"},
        tags={
            STUDY_NAME_TAG: study_name,
            CONFIG_NAME_TAG: config.name,
            "strategy_search.storage": mask_secrets(storage),
        },
        profile=data.profile,
        config_path=config.source_path,
        config_text=config.raw_text,
        resume_run_id=study_attr(study, StudyAttr.MLFLOW_PARENT_RUN) if resume else None,
    )
    set_study_attr(study, StudyAttr.MLFLOW_PARENT_RUN, parent)
    return study, tracker, study_name, parent


def _resumed_study_name(config: RunConfig, storage: str) -> str:
    name = latest_study_name(storage, config_name=config.name)
    if name is None:
        raise UsageError(
            f"--resume: no earlier search of config {config.name!r} in storage {storage}; run it once without --resume"
        )
    return name


def new_study_stamp() -> str:
    """The time part of a new study's name (a function, so a test can make two runs collide)."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}"


def _new_study(config: RunConfig, data: PreparedData) -> tuple[optuna.Study, str]:
    """A study of its own for this run, named after the config and the time: a run started in
    the same second as another gets the next free name (``...-2``), never the other's study."""
    base = f"{config.name}-{new_study_stamp()}"
    for attempt in itertools.count(1):
        name = base if attempt == 1 else f"{base}-{attempt}"
        try:
            study = open_checked_study(data, config.settings(), storage=config.storage_url, study_name=name, new=True)
            return study, name
        except optuna.exceptions.DuplicatedStudyError:
            continue
    raise AssertionError("unreachable")


def _raise_on_sigterm() -> None:
    """SIGTERM ends a search the way Ctrl-C does: trial closed, runs KILLED, study kept."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _interrupted(args: argparse.Namespace, study_name: str) -> int:
    say("interrupted", f"study {study_name} is saved; continue it with `strategy-search run {args.config} --resume`")
    return EXIT_INTERRUPTED


# -- several workers ----------------------------------------------------------------------------
def _run_with_workers(args: argparse.Namespace, config: RunConfig, data: PreparedData, *, started_at: float) -> int:
    """``run --workers N``: create the study and its MLflow parent here, start N worker
    processes on it, wait for them, then choose and report the answer."""
    require_shared_storage(config.storage_url, what=f"run --workers {args.workers}")
    study, tracker, study_name, parent = _start_study(args, config, data, resume=args.resume)

    def search() -> list[int]:
        open_study(
            data, config.settings(), storage=config.storage_url, study_name=study_name, create=True, started=started_at
        )
        print_data_summary(data.profile, split=_split_text(data, config.settings()))
        console.print(f"study [bold]{escape(study_name)}[/]: starting {args.workers} workers - MLflow run {parent}")
        return _wait_for(_start_workers(args, config, study_name))

    try:
        codes = tracker.closing(search, study=study)
    except KeyboardInterrupt:
        return _interrupted(args, study_name)
    if any(codes):
        say("warning", f"worker exit codes {codes}; the answer is chosen from the trials they finished")
    return _finish(args, config, data, study_name=study_name, tracker=tracker, parent=parent, within_timeout=True)


def _start_workers(args: argparse.Namespace, config: RunConfig, study_name: str) -> list[subprocess.Popen[bytes]]:
    overrides = [item for pair in (("--set", s) for s in args.set) for item in pair]
    command = [sys.executable, "-m", "strategy_search", "worker", str(config.source_path), *overrides]
    return [subprocess.Popen([*command, "--study", study_name, "--index", str(k)]) for k in range(1, args.workers + 1)]


def _wait_for(workers: list[subprocess.Popen[bytes]]) -> list[int]:
    """The workers' exit codes; on Ctrl-C they are stopped first."""
    try:
        return [w.wait() for w in workers]
    except KeyboardInterrupt:
        for w in workers:
            w.terminate()
        for w in workers:  # their own trials are logged by them; only then are the others missing
            w.wait()
        raise


def _finish(
    args: argparse.Namespace,
    config: RunConfig,
    data: PreparedData,
    *,
    study_name: str,
    tracker: Any,
    parent: str,
    within_timeout: bool = False,
) -> int:
    """Choose, report and log the answer of a study its workers searched (``within_timeout``:
    as part of the ``run --workers`` call that started them, which keeps to its timeout)."""
    settings = config.settings()
    # Checked before the run is touched: finishing on other data leaves the run as it was.
    study = open_checked_study(data, settings, storage=config.storage_url, study_name=study_name)
    try:
        result = tracker.closing(
            lambda: finish_study(study, data, settings, within_timeout=within_timeout), study=study
        )
    except SearchFailed as exc:
        return search_failed(exc)
    tracker.finish(result)
    print_finished_search(result, config=args.config, parent=parent)
    return 0


# -- worker / finish ----------------------------------------------------------------------------
def cmd_worker(args: argparse.Namespace) -> int:
    """One worker: join the config's study (``--create``: start a new one) and run trials until
    its budget is reached."""
    config = load_config(args.config, overrides=args.set)
    require_shared_storage(config.storage_url, what="strategy-search worker")
    data = prepared(config)
    settings = config.settings()
    if args.create:
        _, tracker, study_name, parent = _start_study(args, config, data, resume=False)
    else:
        study_name = args.study or _latest_study(config)
        tracker, parent = _join_parent(config, data, study_name)
    index = args.index if args.index is not None else secrets.randbelow(1_000_000) + 1
    console.print(f"worker {index} on study [bold]{escape(study_name)}[/] - MLflow run {parent}")
    _raise_on_sigterm()
    # No tracker.closing here: the parent run is every worker's, closed by whoever finishes.
    study = run_worker(
        data,
        settings,
        storage=config.storage_url,
        study_name=study_name,
        worker=index,
        create=args.create,
        callbacks=[tracker],
    )
    tracker.log_unlogged()
    mine = sum(t.state.is_finished() for t in study.get_trials(deepcopy=False) if not never_ran(t))
    print(
        f"worker {index} done; the study has {mine} finished trials. Choose the answer with "
        f"`strategy-search finish {args.config}` once every worker is done."
    )
    return 0


def cmd_finish(args: argparse.Namespace) -> int:
    """Choose the answer of the config's study from its stored trials and close its MLflow run."""
    config = load_config(args.config, overrides=args.set)
    data = prepared(config)
    study_name = args.study or _latest_study(config)
    tracker, parent = _join_parent(config, data, study_name)
    return _finish(args, config, data, study_name=study_name, tracker=tracker, parent=parent)


def _latest_study(config: RunConfig) -> str:
    name = latest_study_name(config.storage_url, config_name=config.name)
    if name is None:
        raise UsageError(
            f"no search of config {config.name!r} in {mask_secrets(config.storage_url)}; start one with "
            f"`strategy-search run` or `strategy-search worker --create`"
        )
    return name


def _join_parent(config: RunConfig, data: PreparedData, study_name: str) -> tuple[Any, str]:
    """The study's one MLflow parent run, for this process to log its trials under."""
    from strategy_search.tracking import SearchTracker

    try:
        study = optuna.load_study(study_name=study_name, storage=config.storage_url)
    except KeyError:
        raise UsageError(
            f"no study {study_name!r} in {mask_secrets(config.storage_url)}; omit --study to use the config's "
            "latest, or start one with `strategy-search run` or `strategy-search worker --create`"
        ) from None
    parent = study_attr(study, StudyAttr.MLFLOW_PARENT_RUN)
    if parent is None:
        raise UsageError(f"study {study_name!r} has no MLflow parent run; it was not started by strategy-search")
    tracker = SearchTracker(tracking_uri=config.tracking_uri, experiment=config.experiment_name)
    tracker.join(parent, profile=data.profile)
    return tracker, parent
