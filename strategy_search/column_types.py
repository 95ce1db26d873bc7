"""What each column of a user's table is, read as a user would read it.

pandas types a column by its worst cell: one ``?`` or ``abc`` among 1,000 numbers makes the
whole column text, which the search would then encode as a category with one level per distinct
number; a date column becomes a category with one level per day; a trailing delimiter in a CSV
file adds an empty column named ``Unnamed: N`` that a model would then require at predict time.
:func:`typed_columns` fixes the first and the last, with a note that names the column, and
refuses dates with a hint (a model learns nothing from a date as text). The same reading runs
for the search's table (CLI and Python API alike) and, for the columns the model reads as
numbers, for the rows given to ``predict`` (:func:`numeric_cells`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from strategy_search.errors import DataError

__all__ = [
    "DEFAULT_NA_VALUES",
    "MOSTLY_NUMERIC_SHARE",
    "infinite_cells",
    "numeric_cells",
    "stray_cells_note",
    "typed_columns",
]

# Missing-value markers read as missing on top of pandas' own ("", "NA", "NaN", "null", ...):
# "?" is the marker of the KEEL and UCI repositories' files. `data.na_values` replaces this list.
DEFAULT_NA_VALUES = ("?",)
# A text column is read as numeric when at least this share of its non-missing cells are numbers.
MOSTLY_NUMERIC_SHARE = 0.9
# A text column is a date column when at least this share of its non-missing cells look like one.
DATE_SHARE = 0.9
_DATE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?\s*$"
)
_UNNAMED = re.compile(r"^Unnamed: \d+$")
_SHOWN_VALUES = 5
# The first rows a column's kind is probed on before all of it is parsed (a big table's text columns).
_PROBE_ROWS = 1000


def typed_columns(X: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``X`` with empty unnamed columns dropped and mostly numeric text columns read as numbers
    (the other cells missing), and a note for each change; refuses date columns
    (:class:`DataError`, naming them)."""
    notes: list[str] = []
    empty = [c for c in X.columns if _UNNAMED.match(str(c)) and X[c].isna().all()]
    if empty:
        X = X.drop(columns=empty)
        notes.append(
            f"dropped empty column(s) without a name: {empty} (a delimiter at the end of each line of a CSV "
            "file makes one)"
        )
    text = [c for c in X.columns if _is_text(X[c])]
    dates = [c for c in text if _looks_like_dates(X[c])] + [c for c in X.columns if _is_datetime(X[c])]
    if dates:
        examples = {c: str(X[c].dropna().iloc[0]) for c in dates if X[c].notna().any()}
        raise DataError(
            f"Column(s) {dates} hold dates (e.g. {examples}); read as a category, a date has one level per "
            "day, which tells a model nothing about new rows. Turn each into numbers a model can use (days since "
            "an event, the month, the weekday) or drop it (data.drop in a config)."
        )
    converted = {}
    for column in text:
        if not _mostly_numeric(X[column].dropna().iloc[:_PROBE_ROWS]):
            continue  # a text column (the common case), told from the first rows without parsing them all
        numbers = pd.to_numeric(X[column], errors="coerce")
        present = X[column].notna()
        if present.any() and numbers[present].notna().mean() >= MOSTLY_NUMERIC_SHARE:
            converted[column] = numbers
            note = stray_cells_note(column, X[column][present & numbers.isna()])
            notes.append(note or f"column {column!r} holds numbers written as text: read as numeric")
    if converted:
        X = X.assign(**converted)
    return X, notes


def numeric_cells(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A column the model reads as numbers: its cells as numbers (the others missing) and the
    cells that were present but not numbers."""
    if not _is_text(values):
        return values, values.iloc[:0]
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers, values[values.notna() & numbers.isna()]


def infinite_cells(frame: pd.DataFrame, columns: Iterable[str]) -> dict[str, int]:
    """How many +/-inf cells each of ``columns`` holds, for the columns that hold any (training
    refuses them, and so does ``predict``: no model saw such a value)."""
    counts = {c: int(np.isinf(frame[c].to_numpy(dtype=float, na_value=np.nan)).sum()) for c in columns}
    return {c: n for c, n in counts.items() if n}


def stray_cells_note(
    column: str, stray: pd.Series, *, hint: str = "list such markers in data.na_values, or fix the cells"
) -> str | None:
    """One sentence naming the cells of a numeric ``column`` that are not numbers and became
    missing values, ending with what to do (None when there are none)."""
    if stray.empty:
        return None
    counts = stray.astype(str).value_counts()
    shown = ", ".join(f"{value!r}: {n}" for value, n in counts.head(_SHOWN_VALUES).items())
    more = f" and {len(counts) - _SHOWN_VALUES} more values" if len(counts) > _SHOWN_VALUES else ""
    return (
        f"column {column!r} is numeric but {len(stray)} cell(s) are not numbers ({shown}{more}): they are read "
        f"as missing values ({hint})"
    )


def _is_text(values: pd.Series) -> bool:
    """A column of text as a file reader makes one (a user's categorical dtype, or Python
    objects that are not strings, are left as they are)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return False
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        return True
    present = values.dropna()
    return bool(pd.api.types.is_object_dtype(values.dtype) and all(isinstance(v, str) for v in _sample(present)))


def _is_datetime(values: pd.Series) -> bool:
    return bool(pd.api.types.is_datetime64_any_dtype(values))


def _mostly_numeric(values: pd.Series) -> bool:
    return bool(len(values)) and bool(pd.to_numeric(values, errors="coerce").notna().mean() >= MOSTLY_NUMERIC_SHARE)


def _looks_like_dates(values: pd.Series) -> bool:
    present = values.dropna()
    if present.empty or present.iloc[:_PROBE_ROWS].astype(str).str.match(_DATE).mean() < DATE_SHARE:
        return False
    return bool(present.astype(str).str.match(_DATE).mean() >= DATE_SHARE)


def _sample(values: pd.Series, n: int = 100) -> Iterable[object]:
    return values.iloc[np.linspace(0, len(values) - 1, min(n, len(values))).astype(int)]
