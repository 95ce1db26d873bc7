"""New rows read as the search read its training rows: the one place that checks the rows an
export scores (``strategy-search predict``, :func:`strategy_search.predict_table` and the model
:func:`strategy_search.load_model` returns), so each says the same about the same table.

Columns the model does not use are ignored, a missing one is refused by name; the columns it
reads as numbers are read as training read them (cells that are not numbers are missing);
+/-inf is refused naming the column; :func:`input_notes` says what was ignored or read
specially (unused columns, text cells, all-missing columns, unseen category levels).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import pandas as pd

from strategy_search.column_types import infinite_cells, numeric_cells, stray_cells_note
from strategy_search.data import FeatureSchema
from strategy_search.errors import ExportError
from strategy_search.model_folder import expected_columns

__all__ = ["category_levels", "feature_frame", "input_notes", "read_as_trained", "warn_input_notes"]

# Categorical columns with more levels than this keep none in strategy.yaml (none are noted).
_MAX_RECORDED_LEVELS = 1000


def read_as_trained(meta: Mapping[str, Any], data: pd.DataFrame) -> pd.DataFrame:
    """The model's columns of ``data`` (described by the parsed ``strategy.yaml`` ``meta``), in
    its order, read as training read them."""
    features = feature_frame(data, expected_columns(meta))
    numeric = [c for c in _numeric_columns(meta) if c in features.columns]
    features = features.assign(**{c: _numbers(features[c])[0] for c in numeric})
    counts = infinite_cells(features, numeric)
    if counts:
        raise ExportError(
            f"Column(s) {list(counts)} contain +/-inf (rows: {counts}), which the model never saw in training; "
            "replace it with NaN (scored as missing) or a finite value."
        )
    return features


def feature_frame(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``columns`` of ``data`` (columns named by their string form, as the search names them);
    refused when ``data`` is no data frame or lacks one."""
    if not isinstance(data, pd.DataFrame):
        raise ExportError(f"data must be a pandas DataFrame; got {type(data).__name__}.")
    named = data.rename(columns=str)
    missing = [c for c in columns if c not in named.columns]
    if missing:
        raise ExportError(f"The data lacks column(s) {missing} that the model needs; expected columns: {columns}.")
    return named[columns]


def input_notes(meta: Mapping[str, Any], data: pd.DataFrame) -> list[str]:
    """What scoring ``data`` will ignore or treat specially: unused columns, cells of numeric
    columns that are not numbers, columns with no value, category levels unseen in training."""
    named = data.rename(columns=str)
    expected = expected_columns(meta)
    notes = []
    unused = [c for c in named.columns if c not in set(expected)]
    if unused:
        notes.append(f"columns the model does not use, ignored: {unused}")
    for column in _numeric_columns(meta):
        if column in named.columns:
            note = stray_cells_note(column, _numbers(named[column])[1], hint="as training read such cells")
            notes += [note] if note else []
    empty = [c for c in expected if c in named.columns and len(named) and named[c].isna().all()]
    if empty:
        notes.append(f"columns with no value in any row, scored as missing: {empty}")
    for column, levels in (meta.get("category_levels") or {}).items():
        if column not in named.columns:
            continue
        values = named[column].dropna().astype(str)
        unseen = values[~values.isin(set(levels))]
        if len(unseen):
            shown = sorted(unseen.unique())[:10]
            notes.append(
                f"column {column!r}: {len(unseen)} rows have levels not seen in training {shown}; "
                "they are scored as one unknown level"
            )
    return notes


def warn_input_notes(meta: Mapping[str, Any], data: pd.DataFrame, *, stacklevel: int) -> None:
    """Each of :func:`input_notes` as a ``UserWarning`` (what the Python paths say where the
    command line prints a note), pointing ``stacklevel`` frames up: at the user's call."""
    for note in input_notes(meta, data):
        warnings.warn(note, UserWarning, stacklevel=stacklevel + 1)


def category_levels(X: pd.DataFrame, schema: FeatureSchema) -> dict[str, list[str]]:
    """Each categorical column's training levels (as the encoder sees them: text), for
    :func:`input_notes`; columns with more than ``_MAX_RECORDED_LEVELS`` levels are left out."""
    levels = {}
    for column in schema.categorical:
        values = X[column].dropna().astype(str).unique()
        if len(values) <= _MAX_RECORDED_LEVELS:
            levels[column] = sorted(values)
    return levels


def _numeric_columns(meta: Mapping[str, Any]) -> list[str]:
    return list((meta.get("schema") or {}).get("numeric", ()))


def _numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A column the model reads as numbers, as numbers, and its cells that were not numbers
    (now missing): text as a file reader makes it, and, unlike training's typing, a column of
    Python objects too (numbers with a stray ``"?"`` in a data frame built in Python)."""
    if pd.api.types.is_object_dtype(values.dtype):
        numbers = pd.to_numeric(values, errors="coerce")
        return numbers, values[values.notna() & numbers.isna()]
    return numeric_cells(values)
