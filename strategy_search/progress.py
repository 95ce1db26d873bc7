"""What a person watching a search sees: a progress line and one line per failed trial.

Used by the command line and by ``search(..., progress=True)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from strategy_search.masking import mask_secrets
from strategy_search.scoring import METRIC_LABELS
from strategy_search.settings import SearchSettings
from strategy_search.trial_record import TrialRecord


def shown_metrics(settings: SearchSettings) -> tuple[str, ...]:
    """The metrics the progress line and the leaderboard show: the search's own, then F1 (what
    the threshold is tuned for) when the search does not already rank by it."""
    return settings.metrics + (() if "f1" in settings.metrics else ("f1",))


class ProgressCallback:
    """Optuna callback drawing trial n/N, elapsed time and the best trial's metrics so far
    (best by the search's primary metric). With ``show_tracebacks``, a failed trial's full
    traceback is printed too (the one-line reason always is, by :func:`failures_to`)."""

    def __init__(
        self,
        progress: Progress,
        *,
        settings: SearchSettings,
        total: int | None,
        already_done: int,
        show_tracebacks: bool = False,
    ):
        self.progress, self.settings, self.show_tracebacks = progress, settings, show_tracebacks
        self.task = progress.add_task("searching", total=total, completed=already_done, best="")
        self.best: dict[str, float] = {}

    def __call__(self, study: Any, trial: Any) -> None:
        record = TrialRecord.of(trial)
        metrics = record.metrics
        primary = self.settings.primary_metric
        if trial.state.name == "COMPLETE" and metrics.get(primary, -1) > self.best.get(primary, -1):
            self.best = metrics
        if trial.state.name == "FAIL" and self.show_tracebacks and record.traceback:
            self.progress.console.print(escape(mask_secrets(record.traceback)), highlight=False)
        shown = "  ".join(f"{METRIC_LABELS[m]} {self.best[m]:.4f}" for m in shown_metrics(self.settings) if self.best)
        self.progress.update(self.task, advance=1, best=f"best {shown}" if shown else "")


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]trial"),
        MofNCompleteColumn(),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[best]}"),
        console=console,
        transient=False,
    )


class _ConsoleHandler(logging.Handler):
    def __init__(self, console: Console):
        super().__init__(logging.WARNING)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        kind = "warning" if record.levelno >= logging.WARNING else "note"
        self.console.print(f"[yellow]{kind}[/]: {escape(mask_secrets(record.getMessage()))}", highlight=False)


@contextmanager
def failures_to(console: Console) -> Iterator[None]:
    """While inside, the engine's warnings (one line per failed trial) print on ``console``,
    above a running progress bar, instead of Python's bare last-resort output."""
    logger = logging.getLogger("strategy_search")
    handler = _ConsoleHandler(console)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
