"""What the commands print on the console, beyond a finished search's report: ``kind: text``
lines on stderr (notes, warnings, Python warnings shown as messages), the data summary and
notes a search starts with, the threshold warning, and the stdout console tables go to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from strategy_search.masking import mask_secrets
from strategy_search.thresholds import threshold_warning

__all__ = [
    "console",
    "print_data_summary",
    "print_notes",
    "say",
    "show_warning",
    "stdout_console",
    "warn_about_threshold",
]

console = Console(stderr=True, soft_wrap=True)


def say(kind: str, text: str) -> None:
    """``kind: text`` on stderr; ``text`` (column names, labels, messages) is never read as
    rich markup, so brackets in it print as they are."""
    console.print(f"[yellow]{kind}[/]: {escape(mask_secrets(text))}", highlight=False)


def stdout_console() -> Console:
    # Piped output (CI logs, files) is not squeezed into rich's default 80 columns.
    plain = Console()
    return plain if plain.is_terminal else Console(width=140)


def print_data_summary(data_profile: Any, *, split: str | None = None) -> None:
    """The data line and notes; ``split`` (a grouped or time-ordered CV's description) a line after."""
    _print_classes(data_profile)
    if split:
        console.print(escape(f"cv: {split}"), highlight=False)
    print_notes(data_profile)


def _print_classes(data_profile: Any) -> None:
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


def print_notes(data_profile: Any) -> None:
    """The data notes, the same for `run` and `inspect`."""
    for note in data_profile.notes:
        say("note", note)


def warn_about_threshold(threshold: Any) -> None:
    warning = threshold_warning(threshold)
    if warning:
        say("warning", warning)


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` for the commands."""
    # The engine's warnings are messages to the user (folds reduced, a sampler adapted), not
    # code locations; other libraries' warnings keep their origin for bug reports.
    origin = "" if "strategy_search" in filename else f" ({category.__name__} from {Path(filename).name}:{lineno})"
    say("warning", f"{message}{origin}")
