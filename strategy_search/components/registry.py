"""The generic registry: components of one kind, each a factory plus tags that say what it can do.

Rules about what may be combined are read from the tags (:mod:`strategy_search.combinations`),
never from if-chains on keys, so adding a component is one registry entry plus its ranges in a
search-space YAML.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from strategy_search.errors import MissingExtraError, UnknownComponentError

T = TypeVar("T")

# The tag every kind of component may carry; combinations.py reads it.
BINARY_ONLY = {"binary_only": "works on two-class targets only; never offered for a multi-class target"}
# A tag every kind of component may carry: how its cost grows (combinations.py reads it).
QUADRATIC_IN_ROWS = {
    "quadratic_in_rows": "its cost grows with the square of the training rows (pairwise distances, a kernel "
    "SVM); left out when the folds train on more rows than the search's expensive_row_limit"
}

# The optional install extras (pyproject's optional-dependencies), each as the module whose
# presence says it is installed and the library's name for messages.
EXTRAS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"deep": ("torch", "PyTorch"), "catboost": ("catboost", "CatBoost")}
)
# A tag every kind of component may carry: the extra it needs (space.py refuses a space that
# offers it where the extra is missing).
NEEDS_EXTRA = {
    "needs_extra": "the optional install extra it needs (pip install 'strategy-search[<extra>]'); a search "
    "space offering it is refused, with how to install it, where that extra is missing"
}


def missing_extra(extra: str) -> MissingExtraError | None:
    """The error to raise when ``extra`` is not installed; None when it is."""
    module, library = EXTRAS[extra]
    return MissingExtraError(extra, library) if importlib.util.find_spec(module) is None else None


def require_extra(extra: str) -> None:
    """Raise :class:`MissingExtraError` (how to install it) unless ``extra`` is installed."""
    error = missing_extra(extra)
    if error is not None:
        raise error


@dataclass(frozen=True)
class BuildContext:
    """What a factory may need to know about the data it will be fitted on.

    ``categorical_indices`` are column positions in the preprocessed matrix (categorical codes
    come first), ``n_features`` is that matrix's width.
    """

    random_state: int = 0
    n_features: int = 0
    categorical_indices: tuple[int, ...] = ()

    @property
    def has_categorical(self) -> bool:
        return bool(self.categorical_indices)

    @property
    def all_categorical(self) -> bool:
        return self.has_categorical and len(self.categorical_indices) == self.n_features


@dataclass(frozen=True)
class Component(Generic[T]):
    """One registered building block.

    ``factory(context)`` returns an object with default settings (None for a slot's "do
    nothing" choice); searched parameters are then applied with ``set_params`` (sklearn's nested
    ``a__b`` names included), which is why every parameter name in a search space must be a real
    parameter of the built object.
    """

    key: str
    factory: Callable[[BuildContext], T]
    description: str = ""
    tags: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", MappingProxyType(dict(self.tags)))

    def tag(self, name: str, default: Any = False) -> Any:
        return self.tags.get(name, default)


class Registry(Generic[T]):
    """An ordered collection of components of one kind.

    ``tags`` maps every tag a component of this kind may carry to what it means; a component
    with any other tag is refused, so a misspelt or forgotten tag cannot silently do nothing.
    """

    def __init__(self, kind: str, *, tags: Mapping[str, str] | None = None) -> None:
        self.kind = kind
        self.tags: Mapping[str, str] = MappingProxyType(dict(tags or {}))
        self._components: dict[str, Component[T]] = {}

    def register(self, component: Component[T]) -> Component[T]:
        if component.key in self._components:
            raise ValueError(f"{self.kind} {component.key!r} is already registered.")
        unknown = sorted(set(component.tags) - set(self.tags))
        if unknown:
            raise ValueError(
                f"{self.kind} {component.key!r} has unknown tags {unknown}; "
                f"tags of {self.kind}s: {sorted(self.tags) or 'none'}."
            )
        self._components[component.key] = component
        return component

    def get(self, key: str) -> Component[T]:
        try:
            return self._components[key]
        except KeyError:
            raise UnknownComponentError(
                f"Unknown {self.kind} {key!r}. Registered {self.kind}s: {', '.join(self._components)}."
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self._components

    def __iter__(self) -> Iterator[Component[T]]:
        return iter(self._components.values())

    def keys(self) -> list[str]:
        return list(self._components)

    def __len__(self) -> int:
        return len(self._components)
