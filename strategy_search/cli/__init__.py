"""The ``strategy-search`` command line: run, worker, finish, validate, export, report, ui,
predict, inspect, spaces. This module builds the parser from each group of commands and runs
the one asked for.

User mistakes (config, data, arguments) print what is wrong and exit 2, without a traceback
unless ``--debug`` is given. MLflow is imported only by the commands that track or export.

The groups: :mod:`~strategy_search.cli.search_commands` (run, worker, finish),
:mod:`~strategy_search.cli.stored_commands` (export, report, predict) and
:mod:`~strategy_search.cli.look_commands` (validate, inspect, spaces, ui). What they share:
:mod:`~strategy_search.cli.arguments` (the command table, argument types),
:mod:`~strategy_search.cli.inputs` (what commands read), :mod:`~strategy_search.cli.console`
and :mod:`~strategy_search.cli.finished_search` (what they print), and
:mod:`~strategy_search.cli.exits` (exit codes and error messages).
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Sequence

from strategy_search.cli import look_commands, search_commands, stored_commands
from strategy_search.cli.arguments import CommandTable
from strategy_search.cli.console import show_warning
from strategy_search.cli.exits import handle
from strategy_search.cli.inputs import STUDY_NAME_TAG

__all__ = ["STUDY_NAME_TAG", "build_parser", "main"]

DESCRIPTION = (
    "strategy-search: find the best imbalance strategy (resampler, class weighting, objective, model, "
    "hyperparameters and decision threshold) for a table where one class is rare. Every command "
    "accepts --debug (full tracebacks), before or after the command name."
)

# The order `strategy-search --help` lists the commands in: a search's life, then the rest.
HELP_ORDER = ("run", "worker", "finish", "validate", "export", "report", "ui", "predict", "inspect", "spaces")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strategy-search", description=DESCRIPTION)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    commands = CommandTable()
    for group in (search_commands, stored_commands, look_commands):
        group.add_parsers(commands)
    commands.attach(parser, order=HELP_ORDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        return handle(args)


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
