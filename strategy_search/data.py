"""Input checks and the facts about a table that the pipeline and the search space depend on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from strategy_search.column_types import infinite_cells, typed_columns
from strategy_search.errors import DataError
from strategy_search.task import Task, label_order

__all__ = ["DataError", "DataProfile", "FeatureSchema", "Task", "check_features", "encode_target", "profile"]


@dataclass(frozen=True)
class FeatureSchema:
    """Which input columns are numeric and which categorical, in their original order."""

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical

    @classmethod
    def infer(cls, X: pd.DataFrame) -> FeatureSchema:
        numeric, categorical = [], []
        for name, dtype in X.dtypes.items():
            if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
                numeric.append(str(name))
            else:
                categorical.append(str(name))
        return cls(tuple(numeric), tuple(categorical))

    def to_dict(self) -> dict[str, list[str]]:
        return {"numeric": list(self.numeric), "categorical": list(self.categorical)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSchema:
        return cls(tuple(data.get("numeric", ())), tuple(data.get("categorical", ())))


@dataclass(frozen=True)
class DataProfile:
    """What the search needs to know about a table to propose only strategies that can run.

    ``task`` says binary or multi-class (a binary profile made without one is
    ``(negative_label, positive_label)``). For a multi-class target ``positive_label`` and
    ``negative_label`` are None and ``n_positive`` counts the rows of the smallest class
    (:attr:`smallest_class_size`, the name to use when both kinds are meant)."""

    n_rows: int
    n_positive: int
    schema: FeatureSchema
    positive_label: Any
    negative_label: Any
    class_counts: dict[str, int] = field(default_factory=dict)
    # Facts worth a look that do not stop a search (constant or duplicated columns, ID-like
    # columns, duplicated rows), each one sentence naming the columns.
    notes: tuple[str, ...] = ()
    constant_columns: tuple[str, ...] = ()
    id_like_columns: tuple[str, ...] = ()
    task: Task | None = None

    def __post_init__(self) -> None:
        if self.task is None:
            object.__setattr__(self, "task", Task((self.negative_label, self.positive_label)))

    @property
    def the_task(self) -> Task:
        assert self.task is not None  # set in __post_init__
        return self.task

    @property
    def multiclass(self) -> bool:
        return self.the_task.multiclass

    @property
    def smallest_class_size(self) -> int:
        return min(self.class_counts.values()) if self.class_counts else self.n_positive

    @property
    def has_categorical(self) -> bool:
        return bool(self.schema.categorical)

    @property
    def imbalance_ratio(self) -> float:
        """Negatives per positive; for a multi-class target, rows of the largest class per row
        of the smallest."""
        if self.multiclass:
            counts = list(self.class_counts.values())
            return max(counts) / max(min(counts), 1)
        return (self.n_rows - self.n_positive) / max(self.n_positive, 1)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["schema"] = self.schema.to_dict()
        out["positive_label"] = plain(self.positive_label)
        out["negative_label"] = plain(self.negative_label)
        out["notes"] = list(self.notes)
        if self.multiclass:
            out["task"] = plain(self.the_task.to_dict())
        else:
            out.pop("task")  # a binary profile reads as it always has
        return out


def plain(value: Any) -> Any:
    """YAML/JSON-safe data: numpy scalars become Python ones, tuples lists, mapping keys
    strings, paths strings."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PurePath):
        return str(value)
    return value


def check_features(X: Any) -> tuple[pd.DataFrame, list[str]]:
    """The feature table with its columns typed as a user reads them
    (:func:`~strategy_search.column_types.typed_columns`) and notes on what that changed;
    refuses what no search can use (:class:`DataError`)."""
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"X must be a pandas DataFrame; got {type(X).__name__}.")
    duplicated = X.columns[X.columns.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(f"Duplicate column names {duplicated}; columns are {list(X.columns)}. Rename them.")
    X, notes = typed_columns(X.rename(columns=str))
    if X.shape[1] == 0:
        raise DataError("X has no feature columns.")
    infinite = list(infinite_cells(X, X.select_dtypes(include=["number"]).columns))
    if infinite:
        raise DataError(f"Columns {infinite} contain +/-inf; replace it with NaN or a finite value.")
    return X, notes


def encode_classes(y: Any, *, positive_label: Any = None) -> tuple[np.ndarray, Task]:
    """The target as class codes and its :class:`Task`. Two classes are coded 0/1 (1 =
    positive, by default the minority); more are coded in their labels' sorted order."""
    labels = _checked_labels(y)
    counts = labels.value_counts()
    problem = class_count_problem(counts)
    if problem:
        raise DataError(f"The target {problem}.")
    if len(counts) <= 2:
        y01, positive, negative = encode_target(labels, positive_label)
        return y01, Task((negative, positive))
    if positive_label is not None:
        raise DataError(multiclass_positive_label_problem(positive_label, counts) + ".")
    classes = sorted(counts.index, key=label_order)
    codes = pd.Categorical(labels, categories=classes).codes.astype(int)
    return codes, Task(tuple(plain(c) for c in classes))


def _checked_labels(y: Any) -> pd.Series:
    labels = pd.Series(y).reset_index(drop=True)
    if labels.isna().any():
        raise DataError(f"The target has {int(labels.isna().sum())} missing values; drop those rows.")
    return labels


def encode_target(y: Any, positive_label: Any = None) -> tuple[np.ndarray, Any, Any]:
    """Return ``(y01, positive_label, negative_label)`` for a two-class target; the positive
    class defaults to the minority."""
    labels = _checked_labels(y)
    counts = labels.value_counts()
    described = describe_counts(counts)
    problem = class_count_problem(counts)
    if problem or len(counts) > 2:
        raise DataError(f"The target {problem or f'has {len(counts)} classes ({described}); two are needed here'}.")
    if positive_label is None:
        # The minority is positive; a tie goes to the larger label so {0, 1} gives 1.
        ordered = sorted(counts.items(), key=lambda kv: (kv[1], -_sort_key(kv[0])))
        positive_label = ordered[0][0]
    found = find_label(counts.index, positive_label)
    if found is None:
        raise DataError(f"positive_label {positive_label!r} is not a target value; the classes are {described}.")
    positive_label = found
    negative_label = next(k for k in counts.index if k != positive_label)
    return (labels == positive_label).to_numpy(dtype=int), plain(positive_label), plain(negative_label)


def describe_counts(counts: pd.Series) -> str:
    return ", ".join(f"{k!r}: {v}" for k, v in counts.items())


def class_count_problem(counts: pd.Series) -> str | None:
    """Why a target with these class counts cannot be searched (None when it can)."""
    if len(counts) == 1:
        return (
            f"has a single class ({describe_counts(counts)}); a classifier needs rows of both classes, "
            "so check the file and the target column"
        )
    fractional = _fractional_labels(counts.index)
    if len(counts) > 2 and fractional:
        return (
            f"holds {len(counts)} distinct numbers, {len(fractional)} of them not whole (e.g. "
            f"{', '.join(f'{v:.4g}' for v in fractional[:3])}): it looks like a quantity to predict (regression), and "
            "this tool classifies; choose the column of class labels, or bin the values into classes first"
        )
    rare = counts[counts < 2]
    if len(rare):
        return (
            f"has classes with a single row ({describe_counts(rare)}; all classes: {describe_counts(counts)}); "
            "cross-validation needs at least 2 rows of every class: drop those rows or merge the class into "
            "a similar one"
        )
    return None


def _fractional_labels(labels: Iterable[Any]) -> list[Any]:
    """The numeric labels that are not whole numbers."""
    return [plain(v) for v in labels if isinstance(v, (float, np.floating)) and not float(v).is_integer()]


# Above this many classes, or below this many rows per class, a target is more likely a count or
# an identifier than a class column: worth a note before a long search.
MANY_CLASSES, FEW_ROWS_PER_CLASS = 20, 10


def target_notes(class_counts: Mapping[str, int], n_rows: int) -> list[str]:
    """Harmless-but-suspicious facts about the target's classes; the search runs regardless."""
    n_classes = len(class_counts)
    if n_classes <= 2 or (n_classes <= MANY_CLASSES and n_rows / n_classes >= FEW_ROWS_PER_CLASS):
        return []
    return [
        f"the target has {n_classes} classes in {n_rows} rows ({n_rows / n_classes:.1f} rows per class on average, "
        f"the smallest {min(class_counts.values())}): each class is scored against the others on a handful of rows, "
        "and every trial fits one model per class; check that the target is a class column, not a count or an "
        "identifier"
    ]


def multiclass_positive_label_problem(positive_label: Any, counts: pd.Series) -> str:
    """Why ``positive_label`` cannot be given for a target of more than two classes."""
    return (
        f"positive_label {positive_label!r} applies to two-class targets; this target has {len(counts)} "
        f"classes ({describe_counts(counts)}), each scored against the others: leave positive_label unset"
    )


def find_label(classes: Iterable[Any], label: Any) -> Any:
    """The class ``label`` names, or None. A label from a YAML file or the command line may be
    text for a numeric class: "1" names the class 1."""
    return next((k for k in classes if k == label or str(k) == str(label)), None)


def _sort_key(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def profile(X: pd.DataFrame, codes: np.ndarray, task: Task, *, notes: Sequence[str] = ()) -> DataProfile:
    """The profile of features ``X`` and a target coded by :func:`encode_classes`; ``notes``
    (what reading the columns changed, :func:`check_features`) come first among its notes."""
    constant, id_like = constant_columns(X), id_like_columns(X)
    counts = np.bincount(np.asarray(codes, dtype=int), minlength=task.n_classes)
    if task.multiclass:
        class_counts = {str(label): int(n) for label, n in zip(task.classes, counts, strict=True)}
        positive, negative, n_positive = None, None, int(counts.min())
    else:
        negative, positive = task.classes
        class_counts = {str(positive): int(counts[1]), str(negative): int(counts[0])}
        n_positive = int(counts[1])
    return DataProfile(
        n_rows=len(X),
        n_positive=n_positive,
        schema=FeatureSchema.infer(X),
        positive_label=positive,
        negative_label=negative,
        class_counts=class_counts,
        notes=(*notes, *data_notes(X, constant=constant, id_like=id_like), *target_notes(class_counts, len(X))),
        constant_columns=tuple(constant),
        id_like_columns=tuple(id_like),
        task=task,
    )


# Above this share of distinct values a text column is more likely an identifier than a category.
ID_LIKE_SHARE = 0.5


def constant_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if X[c].nunique(dropna=False) <= 1]


def id_like_columns(X: pd.DataFrame) -> list[str]:
    """Text columns of mostly distinct values, and unique increasing integer columns: row
    identifiers rather than features (an unseen identifier tells a model nothing)."""
    if len(X) < 20:
        return []
    schema = FeatureSchema.infer(X)
    id_like = [c for c in schema.categorical if X[c].nunique() > ID_LIKE_SHARE * len(X)]
    return id_like + [
        c
        for c in schema.numeric
        if pd.api.types.is_integer_dtype(X[c]) and X[c].is_unique and X[c].is_monotonic_increasing
    ]


def duplicated_columns(X: pd.DataFrame) -> list[str]:
    """Columns identical to an earlier column. Each column is hashed once (linear in the
    table's size; comparing the transposed table cost minutes on 300,000 rows) and only
    columns with equal hashes are compared."""
    first_of: dict[int, list[Any]] = {}
    duplicated = []
    for column in X.columns:
        values = X[column]
        digest = int(pd.util.hash_pandas_object(values, index=False).sum())  # wraps around: a cheap fingerprint
        earlier = first_of.setdefault(digest, [])
        if any(values.equals(X[other]) for other in earlier):
            duplicated.append(column)
        else:
            earlier.append(column)
    return duplicated


def check_usable_features(data_profile: DataProfile) -> None:
    """Refuse a table in which every column is constant or an identifier: a model would be
    handed nothing it can learn from, and every strategy would score like a coin."""
    constant, id_like = list(data_profile.constant_columns), list(data_profile.id_like_columns)
    if set(data_profile.schema.columns) <= set(constant) | set(id_like):
        raise DataError(
            f"No feature column can inform a model: {id_like or 'none'} look like identifiers (mostly unique "
            f"values) and {constant or 'none'} are constant. Add the columns that describe each row, or, if an "
            "identifier-like column really is a feature, give it fewer distinct values (e.g. a prefix or a bucket)."
        )


def data_notes(X: pd.DataFrame, *, constant: list[str] | None = None, id_like: list[str] | None = None) -> list[str]:
    """Harmless-but-suspicious facts about the features; the search runs regardless.
    ``constant`` and ``id_like`` are :func:`constant_columns` and :func:`id_like_columns` when
    the caller has them already."""
    notes = []
    constant = constant_columns(X) if constant is None else constant
    if constant:
        notes.append(f"constant columns (carry no information): {constant}")
    duplicated = duplicated_columns(X)
    if duplicated:
        notes.append(f"columns identical to an earlier column: {duplicated}")
    id_like = id_like_columns(X) if id_like is None else id_like
    if id_like:
        notes.append(
            f"columns that look like identifiers (mostly unique values): {id_like}; "
            "drop them (data.drop) unless they really carry signal"
        )
    n_duplicated_rows = int(X.duplicated().sum())
    if n_duplicated_rows:
        notes.append(f"{n_duplicated_rows} duplicated feature {'row' if n_duplicated_rows == 1 else 'rows'}")
    missing = X.isna().sum()
    missing = missing[missing > 0]
    if len(missing):
        shown = ", ".join(f"{c} ({n})" for c, n in missing.head(10).items())
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        notes.append(
            f"missing values in {shown}{more}: models that handle them natively get them as they are; "
            "for the others they are imputed inside the pipeline, from training folds only"
        )
    return notes
