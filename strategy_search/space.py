"""Search spaces: which components are in and the ranges of their parameters, read from YAML.

Code owns what can be built (the registries); a space file owns what is searched. Parameter
names are namespaced by slot and component (``model.lightgbm.num_leaves``), so every Optuna
parameter name has exactly one distribution and define-by-run conditional spaces stay valid.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model, model_validator

from strategy_search.combinations import allowed, conflicts
from strategy_search.components.registry import BuildContext, missing_extra
from strategy_search.errors import SpaceError, StrategyError
from strategy_search.slots import MODEL, Slot, all_slots, get_slot, slot_names
from strategy_search.strategy import Strategy

__all__ = ["SearchSpace", "SpaceError", "builtin_space_names", "load_space", "parse_space", "settable_params"]


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid")
    log: bool = False

    @model_validator(mode="after")
    def _check_bounds(self) -> _Range:
        if self.low > self.high:  # type: ignore[attr-defined]
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")  # type: ignore[attr-defined]
        if self.log and self.low <= 0:  # type: ignore[attr-defined]
            raise ValueError(f"a log range needs low > 0; got low={self.low}")  # type: ignore[attr-defined]
        return self


class IntRange(_Range):
    type: Literal["int"]
    low: int
    high: int
    step: int = 1

    def suggest(self, trial: Any, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log, step=self.step)

    def contains(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high


class FloatRange(_Range):
    type: Literal["float"]
    low: float
    high: float

    def suggest(self, trial: Any, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def contains(self, value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["categorical"]
    choices: list[bool | int | float | str | None] = Field(min_length=1)

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_categorical(name, self.choices)

    def contains(self, value: Any) -> bool:
        return value in self.choices


Searched = Annotated[IntRange | FloatRange | Choice, Field(discriminator="type")]
_SEARCHED = TypeAdapter(Searched)
SEARCHED_TYPES = (IntRange, FloatRange, Choice)


def _param_spec(value: Any, path: str, errors: list[tuple[str, str]]) -> Any:
    """A mapping is a searched range; anything else is a fixed value set on the component."""
    if not isinstance(value, Mapping):
        return value
    try:
        return _SEARCHED.validate_python(value)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"][1:] if "[" not in str(p))
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "union_tag_invalid":
                message = f"type must be one of int, float, categorical; got {value.get('type')!r}"
            errors.append((f"{path}.{where}" if where else path, message))
        return None


class _PortfolioBase(BaseModel):
    """A known-strong strategy evaluated before the sampler takes over. Parameters left out
    keep the component's own defaults (they are not sampled)."""

    model_config = ConfigDict(extra="forbid")
    name: str

    def strategy(self) -> Strategy:
        return Strategy.from_dict(self.model_dump(exclude={"name"}))

    def key(self, slot: str) -> str:
        return self.strategy().key(slot)

    def flat_params(self) -> dict[str, Any]:
        return self.strategy().flat_params()


@functools.cache
def _file_models(slots: tuple[Slot, ...]) -> tuple[type[_PortfolioBase], type[BaseModel]]:
    """The pydantic models of a portfolio entry and of a space file, one field per slot."""
    entry_fields: dict[str, Any] = {}
    for slot in slots:
        entry_fields[slot.name] = (str, ...) if slot.neutral is None else (str, slot.neutral)
    for slot in slots:
        entry_fields[f"{slot.name}_params"] = (dict[str, Any], Field(default_factory=dict))
    entry = create_model("PortfolioEntry", __base__=_PortfolioBase, **entry_fields)
    sections: dict[str, Any] = {}
    for slot in slots:
        default = Field(min_length=1) if slot.neutral is None else Field(default_factory=_neutral_only(slot))
        sections[slot.section] = (dict[str, dict[str, Any] | None], default)
    space_file = create_model(
        "SpaceFile",
        # Unknown top-level keys are reported by parse_space together with every other problem.
        __config__=ConfigDict(extra="ignore"),
        description=(str, ""),
        portfolio=(list[entry], Field(default_factory=list)),  # type: ignore[valid-type]
        **sections,
    )
    return entry, space_file


def _neutral_only(slot: Slot) -> Any:
    return lambda: {slot.neutral: {}}


@dataclass(frozen=True)
class SearchSpace:
    """A validated space. ``components[slot][key][param] -> spec`` (a range or a fixed value)."""

    name: str
    components: Mapping[str, Mapping[str, Mapping[str, Any]]]
    portfolio: tuple[_PortfolioBase, ...] = ()
    description: str = ""

    def keys(self, slot: str) -> list[str]:
        return list(self.components[slot])

    def to_plain(self) -> dict[str, Any]:
        """The space as plain data (ranges as dicts), e.g. to tell two spaces apart."""

        def plain_spec(spec: Any) -> Any:
            return spec.model_dump() if isinstance(spec, BaseModel) else spec

        components = {
            slot: {key: {p: plain_spec(v) for p, v in params.items()} for key, params in keys.items()}
            for slot, keys in self.components.items()
        }
        return {"components": components, "portfolio": [entry.model_dump() for entry in self.portfolio]}

    # -- sampling ---------------------------------------------------------------------------
    def suggest(
        self,
        trial: Any,
        *,
        has_categorical: bool,
        multiclass: bool = False,
        seed: int = 0,
        only: Collection[str] | None = None,
        too_many_rows: bool = False,
        weighted_rows: bool = False,
    ) -> Strategy:
        """Define-by-run: ask ``trial`` for a strategy this data (categorical columns, a
        multi-class target) can run.

        ``only``: names of the parameters to ask for; the others keep component defaults
        (portfolio trials, and replaying a finished trial with ``optuna.trial.FixedTrial``).
        ``too_many_rows``: leave out components tagged ``quadratic_in_rows``; ``weighted_rows``
        (``data.weight``): models that cannot take row weights.
        """
        facts = {
            "has_categorical": has_categorical,
            "multiclass": multiclass,
            "too_many_rows": too_many_rows,
            "weighted_rows": weighted_rows,
        }
        models = [m for m in self.keys(MODEL) if allowed(get_slot(MODEL), m, m, **facts)]
        if not models:
            why = (
                "take row weights (data.weight): add one that does (e.g. lightgbm)"
                if weighted_rows and not multiclass
                else "be used on a multi-class target: add a multi-class model (e.g. lightgbm)"
            )
            raise StrategyError(f"No model in space {self.name!r} ({self.keys(MODEL)}) can {why}.")
        model_key = self._choose(trial, MODEL, models)
        chosen = {MODEL: model_key}
        for slot in all_slots():
            if slot.name == MODEL:
                continue
            usable = [k for k in self.keys(slot.name) if allowed(slot, k, model_key, **facts)]
            every_model = [k for k in self.keys(slot.name) if any(allowed(slot, k, m, **facts) for m in models)]
            if not usable:
                raise StrategyError(f"No {slot.name} in space {self.name!r} can be used with model {model_key!r}.")
            # One name per set of choices: a name whose choices changed between trials would
            # be a "dynamic value space" for Optuna.
            name = slot.name if usable == every_model else f"{slot.name}.{model_key}"
            chosen[slot.name] = self._choose(trial, name, usable)
        params = {slot: self._suggest_params(trial, slot, key, only, multiclass) for slot, key in chosen.items()}
        return Strategy(chosen, params, seed=seed)

    @staticmethod
    def _choose(trial: Any, name: str, choices: list[str]) -> str:
        if len(choices) == 1:
            return choices[0]
        return trial.suggest_categorical(name, choices)

    def _suggest_params(
        self, trial: Any, slot: str, key: str, only: Collection[str] | None, multiclass: bool
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        skipped = get_slot(slot).component(key).tag("binary_only_params", ()) if multiclass else ()
        for param, spec in self.components[slot][key].items():
            name = f"{slot}.{key}.{param}"
            if param in skipped:
                continue
            if not isinstance(spec, SEARCHED_TYPES):
                params[param] = spec
            elif only is None or name in only:
                params[param] = spec.suggest(trial, name)
        return params

    def portfolio_for(
        self,
        *,
        has_categorical: bool,
        multiclass: bool = False,
        too_many_rows: bool = False,
        weighted_rows: bool = False,
    ) -> list[_PortfolioBase]:
        """Portfolio entries whose components are in this space and can run on this data."""
        usable = []
        facts = {
            "has_categorical": has_categorical,
            "multiclass": multiclass,
            "too_many_rows": too_many_rows,
            "weighted_rows": weighted_rows,
        }
        for entry in self.portfolio:
            keys = {slot.name: entry.key(slot.name) for slot in all_slots()}
            if any(keys[slot] not in self.components[slot] for slot in keys):
                continue
            if all(allowed(s, keys[s.name], keys[MODEL], **facts) for s in all_slots()):
                usable.append(entry)
        return usable

    def left_out_for_size(self, *, has_categorical: bool, multiclass: bool = False) -> dict[str, str]:
        """The components of this space that a table too big for them (``too_many_rows``) leaves
        out, as ``"slot key"`` -> why; the ones the data rules out anyway are not listed."""
        facts = {"has_categorical": has_categorical, "multiclass": multiclass}
        model_slot = get_slot(MODEL)
        models = [m for m in self.keys(MODEL) if allowed(model_slot, m, m, **facts)]
        left_out = {}
        for slot in all_slots():
            for key in self.keys(slot.name):
                usable = [m for m in models if allowed(slot, key, m, **facts)]
                if usable and not any(allowed(slot, key, m, **facts, too_many_rows=True) for m in usable):
                    model = model_slot.component(usable[0])
                    why = conflicts(slot, slot.component(key), model, **facts, too_many_rows=True)
                    left_out[f"{slot.name} {key}"] = why[0]
        return left_out


# -- loading ---------------------------------------------------------------------------------
def _builtin_folder() -> Any:
    """Installed wheels carry the spaces inside the package; a source checkout has them at the
    repository's top level (``search_spaces/``)."""
    packaged = resources.files("strategy_search") / "search_spaces"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "search_spaces"


def builtin_space_names() -> list[str]:
    return sorted(p.name[: -len(".yaml")] for p in _builtin_folder().iterdir() if p.name.endswith(".yaml"))


def load_space(space: str | os.PathLike[str] | Mapping[str, Any] | SearchSpace) -> SearchSpace:
    """A built-in name (``"default"``, ``"fast"``), a path to a YAML file, or an already parsed mapping."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, Mapping):
        return parse_space(space, name="<mapping>")
    text_path = Path(space)
    if text_path.suffix in (".yaml", ".yml") or text_path.exists():
        if not text_path.is_file():
            raise SpaceError(str(text_path), [("", "file not found")])
        data = _read_yaml(text_path.read_text(), str(text_path))
        return parse_space(data, name=str(text_path), folder=text_path.parent)
    names = builtin_space_names()
    if str(space) not in names:
        raise SpaceError(str(space), [("", f"not a built-in space ({', '.join(names)}) nor a .yaml file")])
    text = (_builtin_folder() / f"{space}.yaml").read_text()
    return parse_space(_read_yaml(text, str(space)), name=str(space), folder=_builtin_folder())


def _with_portfolio_file(data: Mapping[str, Any], folder: Any, name: str) -> Mapping[str, Any]:
    """``portfolio: FILE`` (a path relative to the space file's folder) stands for the
    ``portfolio`` list of that file: a learned portfolio (``benchmarks/portfolio.py``) is
    regenerated by its script without touching the ranges beside it."""
    reference = data.get("portfolio")
    if not isinstance(reference, str):
        return data
    path = (folder if folder is not None else Path.cwd()) / reference
    where = f"portfolio ({reference!r}, read as {path})"
    if not path.is_file():
        raise SpaceError(name, [(where, "file not found; give a list of entries or the path of a portfolio file")])
    loaded = _read_yaml(path.read_text(), str(path))
    if not isinstance(loaded, Mapping) or not isinstance(loaded.get("portfolio"), list):
        raise SpaceError(name, [(where, "a portfolio file holds one key, portfolio, with a list of entries")])
    return {**data, "portfolio": loaded["portfolio"]}


def _read_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpaceError(source, [("", f"not valid YAML: {exc}")]) from None


def _location(loc: Iterable[Any]) -> str:
    return ".".join(str(p) for p in loc)


def parse_space(data: Any, *, name: str, folder: Any = None) -> SearchSpace:
    """Validate a parsed space file; every problem is reported at once with its key path.
    ``folder``: where a ``portfolio: FILE`` reference is looked up (default: the working
    directory)."""
    if not isinstance(data, Mapping):
        raise SpaceError(name, [("", f"expected a mapping of sections; got {type(data).__name__}")])
    data = _with_portfolio_file(data, folder, name)
    slots = all_slots()
    _, space_file = _file_models(slots)
    allowed_sections = set(space_file.model_fields)
    errors: list[tuple[str, str]] = [
        (str(key), f"unknown section; allowed: {', '.join(sorted(allowed_sections))}")
        for key in data
        if key not in allowed_sections
    ]
    try:
        parsed: Any = space_file.model_validate(data)
    except ValidationError as exc:
        errors += [(_location(e["loc"]), e["msg"]) for e in exc.errors()]
        raise SpaceError(name, errors) from None
    components = {
        slot.name: {
            key: {p: _param_spec(v, f"{slot.section}.{key}.{p}", errors) for p, v in (params or {}).items()}
            for key, params in getattr(parsed, slot.section).items()
        }
        for slot in slots
    }
    errors += _component_errors(components)
    space = SearchSpace(
        name=name, components=components, portfolio=tuple(parsed.portfolio), description=parsed.description
    )
    if not errors:
        errors += _portfolio_errors(space)
    if errors:
        raise SpaceError(name, errors)
    return space


def _component_errors(components: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[tuple[str, str]]:
    errors = []
    for slot in all_slots():
        for key, params in components[slot.name].items():
            path = f"{slot.section}.{key}"
            if key not in slot.registry:
                errors.append((path, f"unknown {slot.name} {key!r}; registered: {', '.join(slot.registry.keys())}"))
                continue
            extra = slot.component(key).tag("needs_extra", None)
            missing = missing_extra(extra) if extra else None
            if missing is not None:
                errors.append((path, str(missing)))
                continue
            valid = settable_params(slot.name, key)
            for param in params:
                if param not in valid:
                    errors.append(
                        (
                            f"{path}.{param}",
                            f"not a parameter of {slot.name} {key!r}; valid: {', '.join(sorted(valid)) or 'none'}",
                        )
                    )
    return errors


def settable_params(slot: str, key: str) -> set[str]:
    """Names ``set_params`` accepts on the object a component builds (nested ones included)."""
    component = get_slot(slot).component(key)
    built = component.factory(BuildContext(n_features=2))
    if built is None:
        return set()
    names = set(built.get_params(deep=True))
    margin = component.tag("margin_factory", None)
    if margin is not None:
        # A custom objective trains the margin booster instead, with the same parameters.
        names &= set(margin(BuildContext()).get_params(deep=True))
    if slot != MODEL and "estimator" in built.get_params(deep=False):
        # A wrapper in another slot (such as focal loss) gets its estimator from the model
        # slot: only its own parameters are this slot's.
        names = set(built.get_params(deep=False)) - {"estimator"}
    return names


def _portfolio_errors(space: SearchSpace) -> list[tuple[str, str]]:
    errors = []
    for i, entry in enumerate(space.portfolio):
        path = f"portfolio.{i}"
        for slot in slot_names():
            key = entry.key(slot)
            if key not in space.components[slot]:
                # Allowed: a trimmed space simply skips entries it cannot express.
                continue
            specs = space.components[slot][key]
            for param, value in getattr(entry, f"{slot}_params").items():
                spec = specs.get(param)
                if spec is None:
                    errors.append((f"{path}.{slot}_params.{param}", f"not searched for {slot} {key!r} in this space"))
                elif isinstance(spec, SEARCHED_TYPES) and not spec.contains(value):
                    errors.append((f"{path}.{slot}_params.{param}", f"value {value!r} is outside {spec.model_dump()}"))
    return errors
