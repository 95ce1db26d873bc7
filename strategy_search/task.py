"""The learning task, decided once from the target: binary or multi-class, and its classes.

Every module that behaves differently for the two asks a :class:`Task` (carried by the data
profile) instead of looking at the labels again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Kind = Literal["binary", "multiclass"]
# How scores become a predicted class: a binary task's threshold on the positive score, a
# multi-class task's weight per class (the largest weighted probability wins).
Decision = float | tuple[float, ...]


def as_decision(value: Any) -> Decision:
    """A stored threshold (a number) or per-class weights (a list) as a :data:`Decision`."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(float(v) for v in value)
    return float(value)


@dataclass(frozen=True)
class Task:
    """The classes in code order: rows are labelled ``0 .. n_classes - 1`` inside the engine
    and ``classes[code]`` outside it. A binary task is ``(negative, positive)``: code 1 is the
    positive class, and a model's score is its probability. A multi-class task keeps the
    labels' sorted order, and a model's scores are one probability column per class."""

    classes: tuple[Any, ...]

    def __post_init__(self) -> None:
        if len(self.classes) < 2:
            raise ValueError(f"A task needs at least two classes; got {list(self.classes)}.")

    @property
    def kind(self) -> Kind:
        return "multiclass" if len(self.classes) > 2 else "binary"

    @property
    def multiclass(self) -> bool:
        return len(self.classes) > 2

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def labels(self, codes: Sequence[int] | np.ndarray) -> np.ndarray:
        """The user's labels of class codes."""
        return np.asarray(self.classes, dtype=object)[np.asarray(codes, dtype=int)]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "classes": list(self.classes)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Task:
        return cls(tuple(data["classes"]))


def label_order(value: Any) -> tuple[int, float, str, str]:
    """Sort key of class labels: numbers in numeric order, then text ("10" after "9", and
    mixed labels still sort). A total order: labels that read as the same number ("1", "01")
    are told apart by their type and text. Multi-class codes follow it."""
    try:
        return 0, float(value), type(value).__name__, str(value)
    except (TypeError, ValueError):
        return 1, 0.0, type(value).__name__, str(value)


def ordered_classes(labels: Any) -> list[Any]:
    """The distinct labels in code order (:func:`label_order`): the one ordering the search and
    the deployed classifier share."""
    return sorted(set(np.asarray(labels, dtype=object).tolist()), key=label_order)


def predict_classes(probabilities: Any, weights: Any) -> np.ndarray:
    """Class codes from probability columns: the largest weighted probability (ties: the
    lower code). The one multi-class decision rule, in the search and in deployment."""
    return np.argmax(np.asarray(probabilities, dtype=float) * np.asarray(weights, dtype=float), axis=1)


def all_class_columns(trained: Any, probabilities: Any, n_classes: int) -> np.ndarray:
    """One probability column per class code ``0 .. n_classes - 1``, in code order, from a
    model trained on codes ``trained`` (its ``classes_``): a class its training rows lacked
    gets a column of 0."""
    probabilities = np.asarray(probabilities, dtype=float)
    trained = np.asarray(trained, dtype=int)
    if probabilities.shape[1] == n_classes and (trained == np.arange(n_classes)).all():
        return probabilities
    full = np.zeros((len(probabilities), n_classes))
    if len(trained) == 1:
        # Trained on one class (a resampler left no other): some models (scikit-learn's
        # HistGradientBoostingClassifier) still give two columns; that class is certain.
        full[:, trained[0]] = 1.0
        return full
    full[:, trained] = probabilities
    return full


def class_scores(probabilities: np.ndarray, task_or_n_classes: Task | int) -> np.ndarray:
    """What the engine calls a model's scores: the positive-class column of a binary model's
    ``predict_proba``, the whole matrix of a multi-class one."""
    n_classes = task_or_n_classes if isinstance(task_or_n_classes, int) else task_or_n_classes.n_classes
    probabilities = np.asarray(probabilities, dtype=float)
    return probabilities[:, 1] if n_classes == 2 else probabilities
