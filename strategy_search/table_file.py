"""Data files: which formats a table is read from and written as, and reading one with errors
that name the file and say what to do."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from strategy_search.column_types import DEFAULT_NA_VALUES
from strategy_search.errors import ConfigError

__all__ = [
    "DATA_SUFFIXES",
    "DELIMITERS",
    "OUTPUT_SUFFIXES",
    "data_file_problem",
    "data_suffix",
    "guess_delimiter",
    "read_table",
]

DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet")
# The table formats predictions can be written as, by the output file's name.
OUTPUT_SUFFIXES = (".csv", ".parquet")
# The CSV delimiters a header row is read with when data.sep is not set.
DELIMITERS = (",", ";", "\t", "|")


def data_suffix(path: Path, suffixes: tuple[str, ...] = DATA_SUFFIXES) -> str | None:
    """The one of ``suffixes`` that ``path``'s name ends with (``.csv.gz`` included), or None."""
    name = path.name.lower()
    return next((s for s in sorted(suffixes, key=len, reverse=True) if name.endswith(s)), None)


def data_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a data file, before reading it (None when it may be one)."""
    if not path.exists():
        return f"data file {path} not found; fix data.path (relative paths start at the config file's folder)"
    if not path.is_file():
        return f"{path} is not a file; data.path must name a .csv, .csv.gz or .parquet file"
    if data_suffix(path) is None:
        return f"got {path.name!r}; must be a {', '.join(DATA_SUFFIXES)} file (convert the data to one of them)"
    return None


def guess_delimiter(header: str) -> str:
    """The CSV delimiter a header row uses: the most frequent of ``DELIMITERS`` in it (a comma
    when none is there: a one-column file)."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_frame(
    path: Path, suffix: str, *, na_values: Sequence[str], sep: str | None
) -> tuple[pd.DataFrame, list[str]]:
    """The table and, for CSV, its raw header row (pandas renames a repeated name to "name.1")."""
    if suffix == ".parquet":
        return pd.read_parquet(path), []
    with path.open("rb") as first:
        gzipped = first.read(2) == b"\x1f\x8b"
    if suffix == ".csv" and gzipped:
        raise ValueError(f"{path.name} is gzip-compressed; name it {path.name}.gz (or decompress it)")
    compressed: dict[str, Any] = {"compression": "gzip"} if suffix == ".csv.gz" else {}
    if sep is None:
        opener: Any = gzip.open if suffix == ".csv.gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as text:
            sep = guess_delimiter(text.readline())
    frame = pd.read_csv(path, sep=sep, na_values=list(na_values), **compressed)
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, sep=sep, **compressed).iloc[0].tolist()
    return frame, header


def read_table(
    path: Path, source: str | Path, *, na_values: Sequence[str] = DEFAULT_NA_VALUES, sep: str | None = None
) -> pd.DataFrame:
    """The table in ``path``: CSV cells in ``na_values`` (beside pandas' own markers) are missing;
    ``sep`` is the CSV delimiter (None: guessed from the header row, :func:`guess_delimiter`)."""

    def fail(message: str) -> ConfigError:
        return ConfigError(source, [("data.path", message)])

    problem = data_file_problem(path)
    if problem:
        raise fail(problem)
    suffix = str(data_suffix(path))
    try:
        frame, header = _read_frame(path, suffix, na_values=na_values, sep=sep)
    except pd.errors.EmptyDataError:
        raise fail(f"data file {path} is empty; it needs a header row and data rows") from None
    except Exception as exc:
        raise fail(f"cannot read {path} as {suffix}: {type(exc).__name__}: {exc}") from None
    if frame.empty:
        raise fail(f"data file {path} has no data rows")
    names = header or [str(c) for c in frame.columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise fail(f"duplicate column names {duplicated} in {path}; rename them so each column is unique")
    frame.columns = [str(c) for c in frame.columns]
    return frame
