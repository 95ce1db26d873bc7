"""Every error the engine raises on purpose, under one base class.

Each also keeps the built-in parent a caller may already catch (``ValueError`` for bad input,
``RuntimeError`` for a search that could not run, ...). The command line has one handler for
:class:`StrategySearchError`: it prints the message, without a traceback, and exits with the
error's ``exit_code``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# (key path, message) pairs; an empty key path means the file or object itself.
Problems = list[tuple[str, str]]


class StrategySearchError(Exception):
    """Base class: a problem the engine detected and can explain; never a bug."""

    #: What the command line exits with: 2 for a mistake the user can fix, 1 for a failure.
    exit_code = 2


class DataError(StrategySearchError, ValueError):
    """The data cannot be used as given; the message says which column or value and what to do."""


class WeightError(DataError):
    """The rows' weights (``data.weight``, ``sample_weight=``) cannot be used."""


class _ProblemList(StrategySearchError, ValueError):
    """Several problems at once, each as ``(key path, message)``."""

    kind = "input"

    def __init__(self, source: str | Path, errors: Sequence[tuple[str, str]]):
        self.source, self.errors = str(source), list(errors)
        lines = "\n".join(f"  {path}: {message}" if path else f"  {message}" for path, message in self.errors)
        super().__init__(f"Invalid {self.kind} {self.source} ({len(self.errors)} error(s)):\n{lines}")


class ConfigError(_ProblemList):
    """A run config (or the data it names) cannot be used."""

    kind = "config"


class SpaceError(_ProblemList):
    """A search space is invalid."""

    kind = "search space"


class SettingsError(StrategySearchError, ValueError):
    """A search setting has a value it cannot take (the message names it, the value and what is allowed)."""


class StrategyError(StrategySearchError, ValueError):
    """A strategy that cannot be built: unknown fields, or components that cannot be combined."""


class UnknownComponentError(StrategySearchError, KeyError):
    """A component key that no registry holds."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class ExportError(StrategySearchError, ValueError):
    """A folder that is not a strategy-search export, or cannot be written as one."""


class UntrustedModelError(ExportError):
    """A model file that is not what the engine wrote: changed since export, or naming types
    outside the allowlist."""


class StorageError(StrategySearchError, RuntimeError):
    """The Optuna storage cannot be opened (unreachable server, damaged file)."""


class TrackingUnavailable(StrategySearchError, ConnectionError):
    """The MLflow tracking server does not answer."""


class TrackingError(StrategySearchError, ValueError):
    """The tracking store does not hold what was asked for (experiment, search run)."""


class UsageError(StrategySearchError):
    """A command-line mistake the user can fix."""


class SearchFailed(StrategySearchError, RuntimeError):
    """No trial could be scored. ``reasons`` counts each distinct failure reason."""

    exit_code = 1

    def __init__(self, study: Any, reasons: Mapping[str, int]):
        self.study, self.reasons = study, dict(reasons)
        listed = "\n".join(f"  {count} x {reason}" for reason, count in self.reasons.items())
        super().__init__(f"All {sum(self.reasons.values())} trials failed; stopped early. Reasons:\n{listed}")


class NoStoredScores(StrategySearchError, LookupError):
    """A stored search lacks what a command needs from it (e.g. its answer's out-of-fold scores)."""


class NoCompletedTrial(StrategySearchError, RuntimeError):
    """A search has no completed trial to answer with."""

    exit_code = 1


class MissingExtraError(StrategySearchError, ImportError):
    """A component needs an optional install extra that is not installed."""

    def __init__(self, extra: str, library: str):
        self.extra = extra
        super().__init__(
            f"{library} is not installed; it comes with the optional {extra!r} extra: "
            f"pip install 'strategy-search[{extra}]' (the README's Install section says how to get a CPU-only build)."
        )
