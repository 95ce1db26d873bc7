"""The feature table handed to worker processes once per search, not once per fit.

A fit sent to a worker process carries its data with it; sending the whole table with every
fold fit pickles and copies it tens of times per trial (240 MB each time for a million rows of
30 float64 columns). Instead the table is written once to a file beside the search and a fit
carries a :class:`TableRef`: each worker process loads the file the first time it sees it,
with its numeric arrays memory-mapped (``joblib.load(mmap_mode="r")``), so the workers share
one copy of the pages through the operating system's file cache and read only the rows their
fits take.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd


@dataclass(frozen=True)
class TableRef:
    """Where a shared table lies; small to pickle. :meth:`load` gives the table (read-only)."""

    path: str
    n_rows: int

    def load(self) -> pd.DataFrame:
        return _load(self.path)

    def __len__(self) -> int:
        return self.n_rows


# One table per worker at a time: a search shares one, and the next search's file replaces it.
@functools.lru_cache(maxsize=1)
def _load(path: str) -> pd.DataFrame:
    return joblib.load(path, mmap_mode="r")


Table = pd.DataFrame | TableRef


def rows(table: Table, index: object) -> pd.DataFrame:
    """Rows ``index`` (positions) of a table, shared or not."""
    frame = table.load() if isinstance(table, TableRef) else table
    return frame.iloc[index]  # type: ignore[call-overload]


@contextlib.contextmanager
def shared(X: pd.DataFrame, *, share: bool) -> Iterator[Table]:
    """``X`` as the worker processes should get it while the block runs: a :class:`TableRef`
    to a file removed afterwards (``share``), else ``X`` itself (fits in this process)."""
    if not share:
        yield X
        return
    folder = Path(tempfile.mkdtemp(prefix="strategy-search-table-"))
    try:
        path = folder / "X.joblib"
        joblib.dump(X, path)
        give_back_freed_memory()  # what profiling and writing the table left, before the workers start
        yield TableRef(str(path), len(X))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@functools.cache
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # another C library (musl): nothing to trim
        return None


def give_back_freed_memory() -> None:
    """Hand the memory a finished fit freed back to the operating system. glibc keeps freed
    heap pages for reuse (and, after a large array is freed, serves arrays of that size from the
    heap), so a worker process would otherwise hold its largest fit's memory for the rest of the
    search, on top of whatever the other workers are fitting."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
