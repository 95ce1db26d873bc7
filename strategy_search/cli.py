"""The ``strategy-search`` command line: run, validate, export, report, predict, ui, inspect, spaces.

User mistakes (config, data, arguments) print what is wrong and exit 2, without a traceback
unless ``--debug`` is given. MLflow is imported only by the commands that track or export.
"""

from __future__ import annotations

import argparse
import errno
import os
import secrets
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from strategy_search.config import RunConfig, load_config, load_table, missing_store, read_table, validate_config
from strategy_search.data import check_features, encode_classes, profile
from strategy_search.errors import ConfigError, SearchFailed, SpaceError, StrategySearchError, UsageError
from strategy_search.masking import mask_secrets
from strategy_search.model_folder import read_strategy_file
from strategy_search.prepared import PreparedData, check_task_settings, prepare_data
from strategy_search.progress import ProgressCallback, failures_to, progress_bar, shown_metrics
from strategy_search.result import SearchResult, load_result
from strategy_search.scoring import METRIC_LABELS
from strategy_search.search import run_search, run_worker
from strategy_search.slots import all_slots
from strategy_search.storage import latest_study_name, require_shared_storage
from strategy_search.study import check_study_fingerprint, check_study_task, create_study, finish_study, open_study
from strategy_search.study_budget import never_ran
from strategy_search.thresholds import ThresholdRule, format_decision, threshold_warning
from strategy_search.trial_record import StudyAttr, TrialRecord, set_study_attr, study_attr

console = Console(stderr=True, soft_wrap=True)


def _say(kind: str, text: str) -> None:
    """``kind: text`` on stderr; ``text`` (column names, labels, messages) is never read as
    rich markup, so brackets in it print as they are."""
    console.print(f"[yellow]{kind}[/]: {escape(mask_secrets(text))}", highlight=False)


def _stdout_console() -> Console:
    # Piped output (CI logs, files) is not squeezed into rich's default 80 columns.
    plain = Console()
    return plain if plain.is_terminal else Console(width=140)


EXIT_USAGE = 2
STUDY_NAME_TAG = "strategy_search.study_name"


# -- run --------------------------------------------------------------------------------------
def _prepared(config: RunConfig) -> PreparedData:
    X, y = load_table(config)
    return prepare_data(X, y, positive_label=config.data.positive_label)


def _raise_on_sigterm() -> None:
    """SIGTERM ends a search the way Ctrl-C does: trial closed, runs KILLED, study kept."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _start_study(
    args: argparse.Namespace, config: RunConfig, data: PreparedData, *, resume: bool
) -> tuple[Any, Any, str, str]:
    """Create (or reopen, ``resume``) the config's study and its one MLflow parent run:
    ``(study, tracker, study_name, parent_run_id)``."""
    settings = config.settings()
    check_task_settings(settings, data.task)
    storage = config.storage_url
    from strategy_search.tracking import SearchTracker

    tracker = SearchTracker(tracking_uri=config.tracking_uri, experiment=config.experiment_name)
    study_name = _study_name(config, storage, resume=resume)
    study = create_study(settings, storage=storage, study_name=study_name)
    check_study_task(study, data.task)
    check_study_fingerprint(study, data, settings)  # before MLflow is touched: a refusal leaves no run behind
    set_study_attr(study, StudyAttr.CONFIG_NAME, config.name)
    if study_attr(study, StudyAttr.CREATED_AT) is None:
        set_study_attr(study, StudyAttr.CREATED_AT, time.time())
    params = settings.as_params() | {"config.overrides": " ".join(args.set) or "none"}
    parent = tracker.start(
        run_name=study_name,
        params=params,
        tags={
            STUDY_NAME_TAG: study_name,
            "strategy_search.config_name": config.name,
            "strategy_search.storage": mask_secrets(storage),
        },
        profile=data.profile,
        config_path=config.source_path,
        config_text=config.raw_text,
        resume_run_id=study_attr(study, StudyAttr.MLFLOW_PARENT_RUN) if resume else None,
    )
    set_study_attr(study, StudyAttr.MLFLOW_PARENT_RUN, parent)
    return study, tracker, study_name, parent


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config, overrides=args.set)
    data = _prepared(config)
    if args.workers > 1:
        return _run_with_workers(args, config, data)
    settings = config.settings()
    storage = config.storage_url
    study, tracker, study_name, parent = _start_study(args, config, data, resume=args.resume)
    _print_data_summary(data.profile)
    done = len([t for t in study.trials if t.state.is_finished()])
    verb = "resuming" if args.resume else "starting"
    console.print(f"{verb} study [bold]{escape(study_name)}[/] ({done} trials done) - MLflow run {parent}")
    _raise_on_sigterm()
    try:
        with failures_to(console), progress_bar(console) as progress:
            callback = ProgressCallback(
                progress, settings=settings, total=settings.n_trials, already_done=done, show_tracebacks=args.debug
            )
            result = run_search(data, settings, callbacks=[tracker, callback], storage=storage, study_name=study_name)
    except SearchFailed as exc:
        tracker.fail("FAILED", study=study)
        print(f"error: {mask_secrets(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        tracker.fail("KILLED", study=study)
        _say(
            "interrupted", f"study {study_name} is saved; continue it with `strategy-search run {args.config} --resume`"
        )
        return 130
    except BaseException:
        tracker.fail("FAILED", study=study)
        raise
    tracker.finish(result)
    _report(result, args, parent)
    return 0


def _report(result: SearchResult, args: argparse.Namespace, parent: str) -> None:
    _print_left_out(result)
    _print_adaptations(result)
    _print_top(result)
    _print_trial_counts(result)
    _print_answer(result)
    _print_do_nothing(result)
    _warn_about_threshold(result.best_strategy.threshold)
    print(f"MLflow run id: {parent}")
    print(
        f"next: strategy-search export {args.config}   |   strategy-search report {args.config}"
        f"   |   strategy-search ui {args.config}"
    )


# -- several workers --------------------------------------------------------------------------
def _run_with_workers(args: argparse.Namespace, config: RunConfig, data: PreparedData) -> int:
    """``run --workers N``: create the study and its MLflow parent here, start N worker
    processes on it, wait for them, then choose and report the answer."""
    require_shared_storage(config.storage_url, what=f"run --workers {args.workers}")
    settings = config.settings()
    study, tracker, study_name, parent = _start_study(args, config, data, resume=args.resume)
    open_study(data, settings, storage=config.storage_url, study_name=study_name, create=True)
    _print_data_summary(data.profile)
    console.print(f"study [bold]{escape(study_name)}[/]: starting {args.workers} workers - MLflow run {parent}")
    overrides = [item for pair in (("--set", s) for s in args.set) for item in pair]
    command = [sys.executable, "-m", "strategy_search", "worker", str(config.source_path), *overrides]
    workers = [
        subprocess.Popen([*command, "--study", study_name, "--index", str(k)]) for k in range(1, args.workers + 1)
    ]
    try:
        codes = [w.wait() for w in workers]
    except KeyboardInterrupt:
        for w in workers:
            w.terminate()
        for w in workers:  # their own trials are logged by them; only then are the others missing
            w.wait()
        tracker.fail("KILLED", study=study)
        _say(
            "interrupted", f"study {study_name} is saved; continue it with `strategy-search run {args.config} --resume`"
        )
        return 130
    if any(codes):
        _say("warning", f"worker exit codes {codes}; the answer is chosen from the trials they finished")
    return _finish(args, config, data, study_name=study_name, tracker=tracker, parent=parent)


def _finish(
    args: argparse.Namespace, config: RunConfig, data: PreparedData, *, study_name: str, tracker: Any, parent: str
) -> int:
    settings = config.settings()
    study = create_study(settings, storage=config.storage_url, study_name=study_name)
    try:
        result = finish_study(study, data, settings)
    except SearchFailed as exc:
        tracker.fail("FAILED", study=study)
        print(f"error: {mask_secrets(str(exc))}", file=sys.stderr)
        return 1
    tracker.finish(result)
    _report(result, args, parent)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """One worker: join the config's study (``--create``: start a new one) and run trials until
    its budget is reached."""
    config = load_config(args.config, overrides=args.set)
    require_shared_storage(config.storage_url, what="strategy-search worker")
    data = _prepared(config)
    settings = config.settings()
    if args.create:
        _, tracker, study_name, parent = _start_study(args, config, data, resume=False)
    else:
        study_name = args.study or _latest_study(config)
        tracker, parent = _join_parent(config, data, study_name)
    index = args.index if args.index is not None else secrets.randbelow(1_000_000) + 1
    console.print(f"worker {index} on study [bold]{escape(study_name)}[/] - MLflow run {parent}")
    _raise_on_sigterm()
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
    data = _prepared(config)
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


def _print_data_summary(data_profile: Any) -> None:
    if data_profile.multiclass:
        counts = ", ".join(
            f"{label!r}: {n} ({n / data_profile.n_rows:.1%})" for label, n in data_profile.class_counts.items()
        )
        console.print(
            escape(
                f"data: {data_profile.n_rows} rows, {len(data_profile.schema.columns)} features; "
                f"{len(data_profile.class_counts)} classes: {counts}"
            ),
            highlight=False,
        )
        _print_notes(data_profile)
        return
    share = data_profile.n_positive / data_profile.n_rows
    console.print(
        escape(
            f"data: {data_profile.n_rows} rows, {len(data_profile.schema.columns)} features; positive class "
            f"{data_profile.positive_label!r}: {data_profile.n_positive} rows ({share:.1%}), "
            f"negative class {data_profile.negative_label!r}"
        ),
        highlight=False,
    )
    _print_notes(data_profile)


def _print_notes(data_profile: Any) -> None:
    """The data notes, the same for `run` and `inspect`."""
    for note in data_profile.notes:
        _say("note", note)


def _study_name(config: RunConfig, storage: str, *, resume: bool) -> str:
    if resume:
        name = latest_study_name(storage, config_name=config.name)
        if name is None:
            raise UsageError(
                f"--resume: no earlier search of config {config.name!r} in storage {storage}; "
                "run it once without --resume"
            )
        return name
    return f"{config.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def _print_adaptations(result: SearchResult, examples: int = 3) -> None:
    """One line on samplers that had to adapt to small folds (the details are in each trial's
    ``notes`` user attribute and MLflow tag)."""
    trials, changes = set(), []
    for trial in result.study.trials:
        for fold_notes in TrialRecord.of(trial).notes.values():
            for name, change in (fold_notes.get("resampler_adapted") or {}).items():
                trials.add(trial.number)
                if f"{name} {change}" not in changes:
                    changes.append(f"{name} {change}")
    if trials:
        shown = "; ".join(changes[:examples]) + ("; ..." if len(changes) > examples else "")
        _say(
            "note",
            f"the resampler adapted to small folds in {len(trials)} trial(s): {shown}. "
            "Each trial's MLflow run lists its changes in the `notes` tag.",
        )


def _print_left_out(result: SearchResult) -> None:
    left_out = result.left_out
    if left_out:
        _say(
            "note",
            f"left out for the table's size: {', '.join(left_out)} (time that grows with the square of the rows; "
            f"the folds train on more than expensive_row_limit = {result.settings.expensive_row_limit:,} rows)",
        )


def _print_trial_counts(result: SearchResult) -> None:
    """``trials: 17 complete, 2 pruned, 1 failed``, and the most common failure reasons."""
    summary = result.summary
    print(f"trials: {summary.counts_text()}")
    for reason, count in summary.failures:
        print(f"  {count} failed: {mask_secrets(reason)}")


def _print_answer(result: SearchResult) -> None:
    """Which strategy export will deploy, when it is an ensemble rather than the top trial."""
    summary = result.summary
    if summary.is_ensemble:
        print(summary.answer_text(shown_metrics(result.settings)))


def _print_do_nothing(result: SearchResult) -> None:
    """Did treating the imbalance help: the answer against doing nothing, on the same folds."""
    text = result.summary.do_nothing_text()
    if text is not None:
        print(text)


def _print_top(result: SearchResult, n: int = 5) -> None:
    """The best ``n`` completed trials; a Pareto search also shows every front trial, marked."""
    board = result.leaderboard
    front = {t.number for t in result.pareto_front} if result.settings.multi_objective else set()
    table = Table(title=f"Top strategies ({len(board)} trials, metric: {', '.join(result.settings.metrics)})")
    metrics = shown_metrics(result.settings)
    columns = ["rank", "trial", "strategy", *(METRIC_LABELS[m] for m in metrics), "threshold"]
    columns += ["Pareto front"] if front else []
    for column in columns:
        table.add_column(column, justify="left" if column == "strategy" else "right")
    completed = board[board["state"] == "COMPLETE"]
    shown = completed[(completed.index < n) | completed["trial"].isin(front)] if front else completed.head(n)
    for rank, row in zip(shown.index.tolist(), shown.to_dict("records"), strict=True):
        strategy = result.strategy_of(result.study.trials[int(row["trial"])])
        cells = [
            str(rank + 1),
            str(row["trial"]),
            strategy.describe(),
            *(f"{row[m]:.4f} ± {row[f'{m}_std']:.3f}" for m in metrics),
            format_decision(row["threshold"]),
        ]
        table.add_row(*cells, *(["yes" if int(row["trial"]) in front else ""] if front else []))
    _stdout_console().print(table)


# -- validate -----------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    errors = validate_config(args.config, overrides=args.set)
    if not errors:
        print(f"{args.config}: OK")
        return 0
    print(f"{args.config}: {len(errors)} error(s)", file=sys.stderr)
    for key, message in errors:
        print(f"  {key or '(file)'}: {message}", file=sys.stderr)
    return EXIT_USAGE


# -- export / predict -----------------------------------------------------------------------------
def _stored_search(args: argparse.Namespace) -> tuple[RunConfig, dict[str, Any], SearchResult]:
    """The config, the MLflow parent run (``--run-id``, or the latest) and the search's
    result rebuilt from its stored study: what `export` and `report` read."""
    config = load_config(args.config, overrides=args.set)
    data = _prepared(config)
    from strategy_search.tracking import find_search_run

    _require_stores(config, config.tracking_uri, config.storage_url)
    run = find_search_run(tracking_uri=config.tracking_uri, experiment=config.experiment_name, run_id=args.run_id)
    study_name = run["tags"].get(STUDY_NAME_TAG)
    if not study_name:
        raise UsageError(f"MLflow run {run['run_id']} is not a strategy-search search run (no {STUDY_NAME_TAG} tag).")
    return config, run, load_result(data, config.settings(), storage=config.storage_url, study_name=study_name)


def cmd_export(args: argparse.Namespace) -> int:
    from strategy_search.tracking import SearchTracker

    config, run, result = _stored_search(args)
    out_dir = Path(args.out).resolve() if args.out else config.export_dir
    trials = result.answer_trials
    result.export(
        out_dir,
        threshold=args.threshold,
        source={"run_id": run["run_id"], "config_path": str(config.source_path)},
    )
    tracker = SearchTracker(tracking_uri=config.tracking_uri, experiment=config.experiment_name)
    version = tracker.log_model_dir(run["run_id"], out_dir, register_as=config.tracking.register_as)
    what = f"trial {trials[0]}" if len(trials) == 1 else f"an ensemble of trials {', '.join(map(str, trials))}"
    meta = read_strategy_file(out_dir)
    print(f"exported {what} ({result.best_strategy.describe()}) to {out_dir}")
    print(f"threshold {format_decision(meta['threshold'], digits=4)} (rule {meta['threshold_rule']})")
    _warn_about_threshold(meta["threshold"])
    if version is not None:
        print(f"registered as {config.tracking.register_as!r} version {version}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from strategy_search.report import build_report

    config, run, result = _stored_search(args)
    text = build_report(
        result,
        title=f"strategy-search: {config.experiment_name}",
        config_text=mask_secrets(Path(config.source_path).read_text()) if config.source_path else None,
        run_id=run["run_id"],
    )
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({len(text) / 1024:.0f} KiB, self-contained: open it in any browser)")
    return 0


def _warn_about_threshold(threshold: Any) -> None:
    warning = threshold_warning(threshold)
    if warning:
        _say("warning", warning)


def _at_least_one(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}")
    return value


def _threshold_rule(text: str) -> str:
    """argparse type: a threshold rule checked at once, so a typo fails before any work."""
    try:
        return str(ThresholdRule.parse(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _require_stores(config: RunConfig, *uris: str) -> None:
    """Commands that read a search's stores never create them: a missing file is a mistake
    (usually another config, or a store written before paths started at the config's folder)."""
    for uri in uris:
        missing = missing_store(uri)
        if missing is not None:
            raise UsageError(
                f"no search has written {missing} yet (relative store paths start at the config's folder, "
                f"{config.base_folder}); run `strategy-search run {config.source_path}` first"
            )


def _read_data(path: str) -> Any:
    """A data file named on the command line, with the same checks and messages as data.path."""
    try:
        return read_table(Path(path).resolve(), path)
    except ConfigError as exc:
        raise UsageError(exc.errors[0][1]) from None


def cmd_predict(args: argparse.Namespace) -> int:
    from strategy_search.export import input_notes, load_exported, rethreshold, score_table

    data = _read_data(args.data)
    classifier, meta = load_exported(Path(args.model_dir))
    if args.threshold is not None:
        threshold = rethreshold(classifier, Path(args.model_dir), args.threshold)
        _say(
            "note",
            f"threshold {format_decision(threshold, digits=4)} (rule {ThresholdRule.parse(args.threshold)}, on the "
            "model's stored out-of-fold scores) instead of the exported one",
        )
        _warn_about_threshold(threshold)
    predictions = score_table(classifier, meta, data)
    for note in input_notes(meta, data):
        _say("note", note)
    if args.out:
        predictions.to_csv(args.out, index=False)
        print(f"wrote {len(predictions)} predictions to {args.out}", file=sys.stderr)
    else:
        predictions.to_csv(sys.stdout, index=False)
    return 0


# -- ui / inspect / spaces -----------------------------------------------------------------------
def cmd_ui(args: argparse.Namespace) -> int:
    config = load_config(args.config, overrides=args.set)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        _say(
            "warning",
            f"serving on {args.host}: the MLflow UI has no authentication; "
            "anyone who can reach this address can read and change your runs.",
        )
    command = [sys.executable, "-m", "mlflow", "ui", "--host", args.host, "--port", str(args.port)]
    # The store URI goes in the environment, not on the command line: other local users can
    # read a process's arguments (ps), not its environment, and the URI may hold a password.
    _require_stores(config, config.tracking_uri)
    environment = {**os.environ, "MLFLOW_BACKEND_STORE_URI": config.tracking_uri}
    console.print(
        escape(f"MLflow UI for {mask_secrets(config.tracking_uri)} at http://{args.host}:{args.port} (Ctrl-C stops it)")
    )
    from strategy_search.tracking import experiment_id, runs_view_url

    found = experiment_id(tracking_uri=config.tracking_uri, experiment=config.experiment_name)
    if found is not None:
        url = runs_view_url(f"http://{args.host}:{args.port}", found, metric=config.metrics[0])
        console.print(escape(f"this config's trials, best first: {url}"), highlight=False, soft_wrap=True)
    sys.stderr.flush()
    # Become the MLflow UI process, so Ctrl-C and SIGTERM reach the server itself and no
    # orphaned server outlives this command.
    os.execve(sys.executable, command, environment)


def cmd_inspect(args: argparse.Namespace) -> int:
    frame = _read_data(args.data)
    if args.target not in frame.columns:
        raise UsageError(f"no column {args.target!r} in {args.data}; available columns: {', '.join(frame.columns)}")
    X = check_features(frame.drop(columns=[args.target]))
    codes, task = encode_classes(frame[args.target], positive_label=args.positive_label)
    data_profile = profile(X, codes, task)
    _print_profile(frame, args.target, data_profile)
    _print_notes(data_profile)
    from strategy_search.plots import class_distribution_figure

    plot = Path(args.plot or f"{Path(args.data).stem}_class_distribution.png")
    class_distribution_figure(data_profile).savefig(plot)
    print(f"class distribution plot: {plot}")
    return 0


def _print_profile(frame: Any, target: str, data_profile: Any) -> None:
    out = _stdout_console()
    out.print(f"[bold]{len(frame)} rows, {frame.shape[1] - 1} feature columns, target {target!r}[/]")
    counts = Table(title="classes")
    for column in ("class", "role", "rows", "share"):
        counts.add_column(column)
    roles = {str(data_profile.positive_label): "positive", str(data_profile.negative_label): "negative"}
    for label, n in data_profile.class_counts.items():
        role = "class" if data_profile.multiclass else roles[label]
        counts.add_row(label, role, str(n), f"{n / data_profile.n_rows:.1%}")
    out.print(counts)
    out.print(f"imbalance ratio: {data_profile.imbalance_ratio:.1f} : 1")
    columns = Table(title="columns")
    for column in ("column", "kind", "dtype", "missing", "distinct"):
        columns.add_column(column)
    categorical = set(data_profile.schema.categorical)
    for name in data_profile.schema.columns:
        series = frame[name]
        columns.add_row(
            name,
            "categorical" if name in categorical else "numeric",
            str(series.dtype),
            str(int(series.isna().sum())),
            str(series.nunique()),
        )
    out.print(columns)


def cmd_spaces(args: argparse.Namespace) -> int:
    from strategy_search.space import builtin_space_names, load_space

    out = _stdout_console()
    for name in builtin_space_names():
        try:
            space = load_space(name)
        except SpaceError as exc:  # a space of an extra that is not installed here
            reasons = "; ".join(sorted({m for _, m in exc.errors}))
            out.print(f"[bold]{name}[/]: not available: {escape(reasons)}")
            continue
        sizes = ", ".join(f"{len(space.components[s.name])} {s.section}" for s in all_slots())
        out.print(f"[bold]{name}[/]: {space.description} ({sizes}; {len(space.portfolio)} portfolio strategies)")
    for slot in all_slots():
        table = Table(title=slot.section)
        table.add_column("key")
        table.add_column("tags")
        table.add_column("description")
        for component in slot.registry:
            tags = ", ".join(_tag_text(k, v) for k, v in component.tags.items() if v) or "-"
            table.add_row(component.key, tags, component.description)
        out.print(table)
    return 0


def _tag_text(name: str, value: Any) -> str:
    if value is True or callable(value):
        return name
    return f"{name}: {', '.join(value)}" if isinstance(value, (list, tuple)) else f"{name}: {value}"


# -- entry point ----------------------------------------------------------------------------------
DESCRIPTION = (
    "strategy-search: find the best imbalance strategy (resampler, class weighting, objective, model, "
    "hyperparameters and decision threshold) for a table where one class is rare. Every command "
    "accepts --debug (full tracebacks), before or after the command name."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strategy-search", description=DESCRIPTION)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    # The same flag after the command name; SUPPRESS keeps it from resetting one given before.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, description=help_text, parents=[common])

    def with_config(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = command(name, help_text)
        sub.add_argument("config", help="run config YAML")
        sub.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY.PATH=VALUE",
            help="override a config value (repeatable), e.g. --set search.n_trials=8",
        )
        return sub

    run = with_config("run", "run a strategy search and log every trial to MLflow")
    run.add_argument("--resume", action="store_true", help="continue the latest search of this config up to its budget")
    run.add_argument(
        "--workers",
        type=_at_least_one,
        default=1,
        metavar="N",
        help="run N worker processes on the study (needs search.storage on PostgreSQL)",
    )
    run.set_defaults(handler=cmd_run)
    worker = with_config(
        "worker",
        "join the config's latest study (PostgreSQL) and run trials until its budget is reached; start as "
        "many as you like, on any machine that reaches the database",
    )
    worker.add_argument("--create", action="store_true", help="start a new study first (budget, portfolio, MLflow run)")
    worker.add_argument("--study", metavar="NAME", help="join this study instead of the config's latest")
    worker.add_argument(
        "--index", type=_at_least_one, metavar="K", help="this worker's number >= 1 (its sampler seed; default random)"
    )
    worker.set_defaults(handler=cmd_worker)
    finish = with_config(
        "finish", "choose the answer of the config's latest study from its stored trials and close its MLflow run"
    )
    finish.add_argument("--study", metavar="NAME", help="finish this study instead of the config's latest")
    finish.set_defaults(handler=cmd_finish)
    with_config("validate", "check a config, its search space and its data without running").set_defaults(
        handler=cmd_validate
    )
    export = with_config(
        "export",
        "fit the search's answer (the ensemble of its best trials, or its best trial) on all rows and write "
        "a model folder (MLflow model, strategy.yaml, model card)",
    )
    export.add_argument("--out", help="output folder (default: export.dir of the config)")
    export.add_argument("--run-id", help="MLflow run id of the search (default: the latest finished one)")
    export.add_argument(
        "--threshold",
        type=_threshold_rule,
        metavar="RULE",
        help="re-pick the threshold on the answer's stored out-of-fold scores (no new search): best_f1, argmax, "
        "'precision>=0.9', 'recall>=0.8' or fn_cost=5; a multi-class model takes best_f1 or argmax "
        "(default: the search's own rule)",
    )
    export.set_defaults(handler=cmd_export)
    report = with_config(
        "report",
        "write one self-contained HTML file about a search (answer, plots, leaderboard, data, settings, timings) "
        "from what it stored",
    )
    report.add_argument("--run-id", help="MLflow run id of the search (default: the latest finished one)")
    report.add_argument("--out", default="report.html", help="the HTML file to write (default: report.html)")
    report.set_defaults(handler=cmd_report)
    ui = with_config("ui", "start the MLflow UI on the config's tracking store")
    ui.add_argument("--port", type=int, default=5000)
    ui.add_argument(
        "--host", default="127.0.0.1", help="bind address (default 127.0.0.1; the UI has no authentication)"
    )
    ui.set_defaults(handler=cmd_ui)

    predict = command(
        "predict",
        "score new rows with an exported model: writes the rows plus `score` (positive-class probability; "
        "a multi-class model: `score_<class>` for each class) and `prediction` (label at the model's threshold)",
    )
    predict.add_argument("model_dir", help="folder written by `strategy-search export`")
    predict.add_argument("data", help=".csv or .parquet file with the feature columns")
    predict.add_argument("--out", help="output CSV (default: standard output)")
    predict.add_argument(
        "--threshold",
        type=_threshold_rule,
        metavar="RULE",
        help="use a threshold picked by RULE on the model's stored out-of-fold scores instead of the exported one: "
        "best_f1, argmax, 'precision>=0.9', 'recall>=0.8' or fn_cost=5 (multi-class: best_f1 or argmax)",
    )
    predict.set_defaults(handler=cmd_predict)

    inspect = command("inspect", "class balance, column types, missing values and data notes of a table")
    inspect.add_argument("data", help=".csv or .parquet file")
    inspect.add_argument("--target", required=True, help="target column")
    inspect.add_argument("--positive-label", default=None, help="positive class (default: the minority)")
    inspect.add_argument("--plot", help="PNG path for the class distribution plot")
    inspect.set_defaults(handler=cmd_inspect)

    command("spaces", "list built-in search spaces and registered components").set_defaults(handler=cmd_spaces)
    return parser


def _quiet_libraries() -> None:
    """Our own progress and summaries say what matters; library INFO chatter hides them."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # A tracking server that goes away mid-search must not stall every trial for minutes of
    # retries: a failed trial log is kept and written again when the search ends.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    # The engine's warnings are messages to the user (folds reduced, a sampler adapted), not
    # code locations; other libraries' warnings keep their origin for bug reports.
    origin = "" if "strategy_search" in filename else f" ({category.__name__} from {Path(filename).name}:{lineno})"
    _say("warning", f"{message}{origin}")


_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _is_disk_full(exc: BaseException) -> bool:
    """A write that failed for lack of space: an OSError, or SQLite's own report of it
    (wrapped by SQLAlchemy in Optuna's and MLflow's stores)."""
    for error in _chain(exc):
        if isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS:
            return True
        if "database or disk is full" in str(error):
            return True
    return False


def _chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


_AFTER_DISK_FULL = {
    "run": "The Optuna and MLflow stores write in transactions, so the study keeps every trial that "
    "finished; free some space and continue with `run --resume`.",
    "export": "The export was staged beside its folder, so an earlier export there is unchanged and "
    "nothing half-written was kept; free some space (or choose another --out) and export again.",
}


def _disk_full_message(exc: BaseException, command: str) -> str:
    where = next((e.filename for e in _chain(exc) if isinstance(e, OSError) and e.filename), None)
    place = f" while writing {where}" if where else ""
    after = _AFTER_DISK_FULL.get(
        command, "Anything this command was writing may be incomplete; free some space and run it again."
    )
    return f"no space left on the device{place}. {after}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return _handle(args)


def _handle(args: argparse.Namespace) -> int:
    try:
        return args.handler(args)
    except StrategySearchError as exc:
        if args.debug:
            raise
        print(f"error: {mask_secrets(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        if args.debug:
            raise
        if _is_disk_full(exc):
            print(f"error: {_disk_full_message(exc, args.command)}", file=sys.stderr)
            return 1
        print(
            f"error: {type(exc).__name__}: {mask_secrets(str(exc))}\n(run with --debug for the full traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
