"""Local store files: where a ``sqlite:///`` URI's file lies, whether a run can write it and
an experiment's local artifact folder, and one process at a time creating a SQLite store.

A store in a read-only or missing folder is named with its cause before any work (MLflow would
retry for about 100 s, then say ``unable to open database file`` with no path).

MLflow and Optuna create a SQLite store's tables (MLflow through Alembic migrations) when a
process first opens it; two processes opening a new store at once both migrate, and one dies with
a raw SQL error (``table _alembic_tmp_experiments already exists``). An advisory lock on the
folder that holds the file (no lock file left behind) makes the second wait until the first has
created it; stores that are not SQLite files need no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from strategy_search.errors import TrackingError

__all__ = [
    "artifact_folder_notes",
    "folder_write_problem",
    "sqlite_file",
    "sqlite_store_lock",
    "store_write_problem",
]


def sqlite_file(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` URI (None: another kind of store, or SQLite in memory)."""
    if not uri.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(uri).database
    return None if not database or database == ":memory:" else Path(database).resolve()


@contextlib.contextmanager
def sqlite_store_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock on the folder of ``uri``'s SQLite file while the block runs (a
    missing folder or another kind of store: no lock; opening the store reports those)."""
    path = sqlite_file(uri)
    folder = None if path is None else path.parent
    if folder is None or not folder.is_dir():
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def store_write_problem(uri: str) -> str | None:
    """Why a run cannot write the SQLite store ``uri`` names (None: it can, or the store is not
    a SQLite file): a missing folder, or a read-only file or folder (SQLite writes a journal
    beside the file)."""
    path = sqlite_file(uri)
    if path is None:
        return None
    if path.exists() and not os.access(path, os.W_OK):
        return f"the store {path} is read-only; make it writable, or point the URI at a copy you can write"
    return folder_write_problem(path.parent, what=f"the store {path.name}", create_parents=False)


def folder_write_problem(folder: Path, *, what: str, create_parents: bool = True) -> str | None:
    """Why ``what`` cannot be written in ``folder``, which is created when missing (with its
    missing parents too, as MLflow does for artifacts; SQLite creates no folder for its file:
    ``create_parents`` False) if the nearest existing folder above it allows."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return f"{what} needs the folder {folder}, and {existing or folder} is not a folder"
    if not create_parents and existing != folder:
        return f"the folder {folder} for {what} does not exist; create it, or use a path in an existing folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"the folder {existing} for {what} is read-only; make it writable, or use a path in a writable folder"
    return None


def _local_folder(uri: str) -> Path | None:
    """The folder of a local artifact location (a path or a ``file:`` URI; None: elsewhere)."""
    parts = urllib.parse.urlsplit(uri)
    return Path(urllib.parse.unquote(parts.path)) if parts.scheme in ("", "file") and parts.path else None


def artifact_folder_notes(
    artifact_location: str | None, *, experiment: str, tracking_uri: str, expected: str | None
) -> list[str]:
    """Refuse an MLflow experiment whose local artifact folder cannot be written
    (:class:`TrackingError`, before any run is started, so none is left RUNNING); warn when a
    SQLite store's experiment keeps its artifacts elsewhere than ``expected`` (MLflow records
    the folder as an absolute path, so a copied or moved store goes on writing into the
    original's folder)."""
    folder = _local_folder(artifact_location or "")
    if folder is None:
        return []  # a server's or a bucket's artifacts: not ours to check
    problem = folder_write_problem(folder, what=f"the artifacts of MLflow experiment {experiment!r}")
    if problem:
        raise TrackingError(f"Cannot write the search's plots and models: {problem}.")
    database = sqlite_file(tracking_uri)
    if database is None or expected is None or _local_folder(expected) == folder:
        return []
    return [
        f"MLflow experiment {experiment!r} keeps its artifacts in {folder}, not beside its store {database} "
        "(MLflow records the folder as an absolute path when an experiment is made, so a copied or moved store goes "
        "on writing into the original's folder); set tracking.experiment to a new name to keep this store's "
        "artifacts beside it"
    ]
