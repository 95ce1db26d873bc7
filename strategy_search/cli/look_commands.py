"""The commands that look without searching: ``validate`` (a config, its space and its data),
``inspect`` (a table, checked as a search checks it), ``spaces`` (the built-in spaces and the
registered components) and ``ui`` (the MLflow UI on a config's tracking store)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from strategy_search.cli.arguments import CommandTable, at_least_one
from strategy_search.cli.console import console, print_notes, say, stdout_console
from strategy_search.cli.exits import EXIT_USAGE
from strategy_search.cli.inputs import read_data, require_stores
from strategy_search.config import check_config, load_config
from strategy_search.errors import SpaceError, UsageError
from strategy_search.masking import mask_secrets
from strategy_search.prepared import prepare_data
from strategy_search.slots import all_slots

__all__ = ["add_parsers", "cmd_inspect", "cmd_spaces", "cmd_ui", "cmd_validate"]


def add_parsers(commands: CommandTable) -> None:
    commands.add("validate", "check a config, its search space and its data without running", cmd_validate, config=True)
    commands.add("ui", "start the MLflow UI on the config's tracking store", cmd_ui, config=True, options=_ui_options)
    commands.add(
        "inspect",
        "class balance, column types, missing values and data notes of a table",
        cmd_inspect,
        options=_inspect_options,
    )
    commands.add("spaces", "list built-in search spaces and registered components", cmd_spaces)


def _ui_options(ui: argparse.ArgumentParser) -> None:
    ui.add_argument("--port", type=int, default=5000)
    ui.add_argument(
        "--host", default="127.0.0.1", help="bind address (default 127.0.0.1; the UI has no authentication)"
    )
    ui.add_argument(
        "--workers",
        type=at_least_one,
        default=1,
        help="server processes (default 1: each imports MLflow, and four, MLflow's default, "
        "take about 30 s to start on 2 cores; one serves a person's browser, a shared server may want more)",
    )


def _inspect_options(inspect: argparse.ArgumentParser) -> None:
    inspect.add_argument("data", help=".csv or .parquet file")
    inspect.add_argument("--target", required=True, help="target column")
    inspect.add_argument("--positive-label", default=None, help="positive class (default: the minority)")
    inspect.add_argument("--plot", help="PNG path for the class distribution plot")


# -- validate -----------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    errors, notes = check_config(args.config, overrides=args.set)
    if not errors:
        for note in notes:
            say("note", note)
        print(f"{args.config}: OK")
        return 0
    print(f"{args.config}: {len(errors)} error(s)", file=sys.stderr)
    for key, message in errors:
        print(f"  {key or '(file)'}: {message}", file=sys.stderr)
    return EXIT_USAGE


# -- ui -----------------------------------------------------------------------------------------
def cmd_ui(args: argparse.Namespace) -> int:
    config = load_config(args.config, overrides=args.set)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        say(
            "warning",
            f"serving on {args.host}: the MLflow UI has no authentication; "
            "anyone who can reach this address can read and change your runs.",
        )
    require_stores(config, config.tracking_uri)
    app = _landing_app()
    command = [sys.executable, "-m", "mlflow", "ui", "--host", args.host, "--port", str(args.port)]
    command += ["--workers", str(args.workers)]
    command += ["--app-name", app] if app else []
    # The store URI goes in the environment, not on the command line: other local users can
    # read a process's arguments (ps), not its environment, and the URI may hold a password.
    environment = {**os.environ, "MLFLOW_BACKEND_STORE_URI": config.tracking_uri}
    base = f"http://{args.host}:{args.port}"
    console.print(
        escape(f"starting the MLflow UI for {mask_secrets(config.tracking_uri)} (Ctrl-C stops it); its link follows")
    )
    lines = [f"MLflow UI at {base}"]
    from strategy_search.mlflow_app import trials_view_url
    from strategy_search.tracking import experiment_id

    found = experiment_id(tracking_uri=config.tracking_uri, experiment=config.experiment_name)
    if found is not None:
        url = trials_view_url(base, found, metric=config.metrics[0], landing_page=app is not None)
        lines.append(f"this config's trials, best first, with their metrics: {url}")
    sys.stdout.flush()
    sys.stderr.flush()
    # The links are printed by a small process that waits until the server answers.
    subprocess.Popen([sys.executable, "-m", "strategy_search.cli.ui_link", f"{base}/health", "300", *lines])
    # Become the MLflow UI process, so Ctrl-C and SIGTERM reach the server itself and no
    # orphaned server outlives this command.
    os.execve(sys.executable, command, environment)


def _landing_app() -> str | None:
    """This package's MLflow app (mlflow_app.py) when it is installed where MLflow finds apps
    (an installed package's entry points); None runs MLflow's plain server."""
    from importlib.metadata import entry_points

    from strategy_search.mlflow_app import APP_NAME

    return APP_NAME if any(e.name == APP_NAME for e in entry_points(group="mlflow.app")) else None


# -- inspect ------------------------------------------------------------------------------------
def cmd_inspect(args: argparse.Namespace) -> int:
    frame = read_data(args.data)
    if args.target not in frame.columns:
        raise UsageError(f"no column {args.target!r} in {args.data}; available columns: {', '.join(frame.columns)}")
    # The search's own preparation, so a table `run` would refuse is refused here too.
    data = prepare_data(frame.drop(columns=[args.target]), frame[args.target], positive_label=args.positive_label)
    _print_profile(frame, args.target, data.profile)
    print_notes(data.profile)
    from strategy_search.plots import class_distribution_figure

    plot = Path(args.plot or f"{Path(args.data).stem}_class_distribution.png")
    class_distribution_figure(data.profile).savefig(plot)
    print(f"class distribution plot: {plot}")
    return 0


def _print_profile(frame: Any, target: str, data_profile: Any) -> None:
    out = stdout_console()
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


# -- spaces -------------------------------------------------------------------------------------
def cmd_spaces(args: argparse.Namespace) -> int:
    from strategy_search.space import builtin_space_names, load_space

    out = stdout_console()
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
