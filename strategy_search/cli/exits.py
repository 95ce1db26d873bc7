"""How a command ends when something goes wrong: the exit codes, and the one message printed
instead of a traceback (which only ``--debug`` shows): a user's mistake says what is wrong and
exits 2; a full disk says what was kept and how to go on; any other error is named, exit 1."""

from __future__ import annotations

import argparse
import errno
import sys

from strategy_search.errors import SearchFailed, StrategySearchError
from strategy_search.masking import mask_secrets

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "handle", "search_failed"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # what a shell reports for a process stopped by Ctrl-C


def handle(args: argparse.Namespace) -> int:
    """Run the parsed command; its exit code."""
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


def search_failed(exc: SearchFailed) -> int:
    """A search in which every trial failed: the reasons, exit 1, and no traceback even under
    ``--debug`` (the progress lines showed each trial's own)."""
    print(f"error: {mask_secrets(str(exc))}", file=sys.stderr)
    return 1


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
