"""A run config's table, read as the search reads it: the feature table and target it names
(``data.drop`` columns, and a ``cv.groups`` or ``cv.time`` column, removed), checked with every
column mistake reported at once under its key path, and prepared as the search's data."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from strategy_search.data import (
    class_count_problem,
    describe_counts,
    find_label,
    multiclass_positive_label_problem,
)
from strategy_search.errors import ConfigError, DataError, WeightError
from strategy_search.prepared import PreparedData, prepare_data
from strategy_search.splits import group_codes, time_key
from strategy_search.table_file import read_table

__all__ = ["Errors", "TableConfig", "load_data", "load_table"]

# Mistakes found in a config, each with the key path it belongs to ("data.target", "cv.groups").
Errors = list[tuple[str, str]]


class TableConfig(Protocol):
    """What reading the table takes of a run config (:class:`strategy_search.config.RunConfig`,
    which imports this module): its ``data`` and ``cv`` sections, its file and its settings."""

    @property
    def data(self) -> Any: ...

    @property
    def cv(self) -> Any: ...

    @property
    def source_path(self) -> Path | None: ...

    def settings(self) -> Any: ...


# -- data ------------------------------------------------------------------------------------
def load_table(config: TableConfig) -> tuple[pd.DataFrame, pd.Series]:
    """The feature table and target the config names, ``data.drop`` columns (and a ``cv.groups``
    or ``cv.time`` column) removed.

    Raises :class:`ConfigError` (key paths ``data.*``, ``cv.*``) when the file or its columns do
    not match the config, or the target is not a column of two or more classes (holding
    ``positive_label`` when one is given).
    """
    X, y, _, _ = _checked_table(config)
    return X, y


def load_data(config: TableConfig, *, check_settings: bool = False) -> PreparedData:
    """The config's table as the search's prepared data (with its groups or time order), with
    every check the search makes of it (``check_settings``: and of the settings, so a mistake is
    refused before any store is opened)."""
    X, y, split_values, weights = _checked_table(config)
    cv, groups, time = config.cv, None, None
    try:
        if cv.groups is not None:
            groups = group_codes(split_values, name=cv.groups)
        if cv.time is not None:
            time = time_key(split_values, name=cv.time)
    except DataError as exc:
        key = "cv.groups" if cv.groups else "cv.time"
        raise ConfigError(config.source_path or "<config>", [(key, str(exc))]) from None
    try:
        return prepare_data(
            X,
            y,
            positive_label=config.data.positive_label,
            settings=config.settings() if check_settings else None,
            groups=groups,
            time=time,
            split_column=cv.split_column,
            sample_weight=weights,
            weight_column=config.data.weight,
        )
    except WeightError as exc:
        raise ConfigError(config.source_path or "<config>", [("data.weight", str(exc))]) from None


def _checked_table(config: TableConfig) -> tuple[pd.DataFrame, pd.Series, pd.Series | None, pd.Series | None]:
    source = config.source_path or "<config>"
    frame = read_table(config.data.path, source, na_values=config.data.na_values, sep=config.data.sep)
    errors = _column_errors(config, frame)
    data = config.data
    if data.target in frame.columns:
        errors += _target_errors(frame[data.target], data.target, data.positive_label)
    if errors:
        raise ConfigError(source, errors)
    split = config.cv.split_column
    not_features = list(dict.fromkeys([*data.drop, data.target, *(c for c in (split, data.weight) if c)]))
    return (
        frame.drop(columns=not_features),
        frame[data.target],
        None if split is None else frame[split],
        None if data.weight is None else frame[data.weight],
    )


def _column_errors(config: TableConfig, frame: pd.DataFrame) -> Errors:
    """Every column the config names that the file lacks, or that cannot be what it is asked to be."""
    data, path = config.data, config.data.path
    available = f"available columns: {', '.join(map(str, frame.columns))}"
    errors: Errors = []
    if data.target not in frame.columns:
        errors.append(("data.target", f"got {data.target!r}; no such column in {path}; {available}"))
    missing = [c for c in data.drop if c not in frame.columns]
    if missing:
        errors.append(("data.drop", f"got {missing}; no such column(s) in {path}; {available}"))
    for key in ("groups", "time"):
        column = getattr(config.cv, key)
        if column is not None and column not in frame.columns:
            errors.append((f"cv.{key}", f"got {column!r}; no such column in {path}; {available}"))
        elif column is not None and column == data.target:
            errors.append((f"cv.{key}", f"names the target column {column!r}; name another column"))
    if config.cv.groups is not None and config.cv.time is not None:
        errors.append(
            (
                "cv.time",
                f"cv.groups ({config.cv.groups!r}) and cv.time ({config.cv.time!r}) were both given; the splits "
                "keep one of them apart: give one",
            )
        )
    errors += _weight_column_errors(config, frame, available)
    split = config.cv.split_column
    kept = frame.shape[1] - len(set(data.drop) | ({c for c in (split, data.weight) if c in frame.columns}))
    if data.target in data.drop:
        errors.append(("data.drop", f"drops the target column {data.target!r}; remove it from data.drop"))
    elif not missing and data.target in frame.columns and kept < 2:
        if data.drop or split:
            errors.append(("data.drop", f"no feature columns would be left in {path}; drop fewer columns"))
        else:
            only = f"{path} has no column but the target {data.target!r}"
            errors.append(("data.path", f"{only}; a classifier needs feature columns beside it"))
    return errors


def _weight_column_errors(config: TableConfig, frame: pd.DataFrame, available: str) -> Errors:
    column = config.data.weight
    if column is None:
        return []
    if column not in frame.columns:
        return [("data.weight", f"got {column!r}; no such column in {config.data.path}; {available}")]
    if column == config.data.target or column == config.cv.split_column:
        what = "target" if column == config.data.target else "CV split"
        return [("data.weight", f"names the {what} column {column!r}; name a column of row weights")]
    return []


def _target_errors(y: pd.Series, target: str, positive_label: Any) -> Errors:
    errors: Errors = []
    n_missing = int(y.isna().sum())
    if n_missing:
        errors.append(("data.target", f"column {target!r} has {n_missing} missing value(s); drop those rows"))
    counts = y.value_counts()
    problem = class_count_problem(counts)
    if problem:
        errors.append(("data.target", f"column {target!r} {problem}"))
    if positive_label is not None and len(counts) > 2:
        errors.append(("data.positive_label", multiclass_positive_label_problem(positive_label, counts)))
    elif positive_label is not None and find_label(counts.index, positive_label) is None:
        errors.append(
            (
                "data.positive_label",
                f"got {positive_label!r}; must be one of the target's classes ({describe_counts(counts)})"
                + (_YAML_BOOLEAN_HINT if isinstance(positive_label, bool) else ""),
            )
        )
    return errors


# YAML 1.1 (PyYAML) reads an unquoted yes/no/on/off/true/false as a boolean.
_YAML_BOOLEAN_HINT = (
    '; YAML reads an unquoted yes, no, on, off, true or false as a boolean: quote the label, e.g. positive_label: "yes"'
)
