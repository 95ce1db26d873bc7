"""Opening the Optuna storage a search lives in, and what a URL says about it (a server that
several workers share, or a SQLite file that one process holds)."""

from __future__ import annotations

import warnings
from typing import Any

import optuna

from strategy_search.errors import StorageError
from strategy_search.masking import mask_secrets
from strategy_search.sqlite_files import sqlite_store_lock, store_write_problem
from strategy_search.study_budget import RetryStaleTrial
from strategy_search.trial_record import StudyAttr, summary_attr
from strategy_search.trial_scores import storage_url

__all__ = ["is_server_storage", "latest_study_name", "open_storage", "require_shared_storage", "require_writable"]


def require_writable(storage: Any) -> None:
    """Refuse, before any work, an Optuna storage URL whose SQLite file or folder cannot be
    written, naming the path and the cause (SQLite's own error names neither); a server URL or
    an object passes (its errors name the server)."""
    problem = store_write_problem(storage) if isinstance(storage, str) else None
    if problem:
        raise StorageError(f"Cannot write the Optuna storage: {problem}.")


def require_shared_storage(storage: Any, *, what: str) -> None:
    """Refuse a storage that several processes cannot share (SQLite, memory) for ``what``."""
    if not is_server_storage(storage):
        raise StorageError(
            f"{what} needs a database server that several processes can share; search.storage is "
            f"{mask_secrets(str(storage_url(storage)))} (SQLite locks the whole file for every write). Set "
            "search.storage to PostgreSQL, e.g. postgresql://user:${PGPASSWORD}@host/optuna "
            '(see README, "Scaling out").'
        )


def is_server_storage(storage: Any) -> bool:
    """A database server (PostgreSQL, MySQL), which several workers can share; not SQLite or memory."""
    url = storage_url(storage)
    return url is not None and not url.startswith("sqlite")


def open_storage(storage: Any, *, heartbeat_interval: int | None = None) -> Any:
    """An RDB storage opened (and checked) now, so a damaged file or an unreachable database
    is reported before any work, never silently replaced. On a database server, with
    ``heartbeat_interval``, a trial whose worker stopped beating for three intervals is failed
    and retried once (:mod:`strategy_search.study_budget`)."""
    if not isinstance(storage, str):
        return storage
    heartbeat: dict[str, Any] = {}
    if heartbeat_interval is not None and is_server_storage(storage):
        heartbeat = {
            "heartbeat_interval": heartbeat_interval,
            "grace_period": 3 * heartbeat_interval,
            "heartbeat_stale_trial_callback": RetryStaleTrial(),
        }
    try:
        with warnings.catch_warnings(), sqlite_store_lock(storage):
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat_interval
            return optuna.storages.RDBStorage(storage, **heartbeat)
    except Exception as exc:
        raise StorageError(
            f"Cannot open the Optuna storage {mask_secrets(storage)}: {type(exc).__name__}: "
            f"{mask_secrets(str(exc).splitlines()[0])}. {_storage_hint(storage, exc)}"
        ) from None


def _storage_hint(storage: str, exc: Exception) -> str:
    if isinstance(exc, ImportError):
        extra = " (pip install 'strategy-search[postgres]')" if storage.startswith("postgres") else ""
        return f"The database driver for this URL is not installed{extra}."
    if storage.startswith("sqlite"):
        return (
            "If it is a damaged file, move it away (its studies cannot be resumed) or point "
            "search.storage at another one."
        )
    return "Check that the database server is running and reachable, and the user name and password."


def latest_study_name(storage: Any, *, config_name: str) -> str | None:
    """The most recently created study that ran the config named ``config_name`` (by its
    ``created_at`` attribute: a study whose trials have not started yet counts too)."""
    summaries = [
        s
        for s in optuna.get_all_study_summaries(storage=open_storage(storage), include_best_trial=False)
        if summary_attr(s, StudyAttr.CONFIG_NAME) == config_name
    ]
    if not summaries:
        return None

    def created(s: Any) -> tuple[float, bool, float, str]:
        started = s.datetime_start.timestamp() if s.datetime_start is not None else 0.0
        return (
            float(summary_attr(s, StudyAttr.CREATED_AT, started)),
            s.datetime_start is not None,
            started,
            s.study_name,
        )

    return max(summaries, key=created).study_name
