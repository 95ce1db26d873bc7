"""Search spaces: which components are in and the ranges of their parameters, read from YAML.

Code owns what can be built (the registries); a space file owns what is searched. Parameter
names are namespaced by slot and component (``model.lightgbm.num_leaves``), so every Optuna
parameter name has exactly one distribution and define-by-run conditional spaces stay valid.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from strategy_search.compat import objective_allowed, resampler_allowed, weighting_allowed
from strategy_search.components import BuildContext, Component, all_registries
from strategy_search.strategy import SLOTS, Strategy

# The four registries, keyed by the section name used in space files.
SECTIONS = {"model": "models", "resampler": "resamplers", "weighting": "weightings", "objective": "objectives"}


class SpaceError(ValueError):
    """A search space is invalid. ``errors`` lists every problem as ``(key path, message)``."""

    def __init__(self, source: str, errors: list[tuple[str, str]]):
        self.source, self.errors = source, errors
        lines = "\n".join(f"  {path}: {message}" for path, message in errors)
        super().__init__(f"Invalid search space {source} ({len(errors)} error(s)):\n{lines}")


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
    choices: list[Union[None, bool, int, float, str]] = Field(min_length=1)

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_categorical(name, self.choices)

    def contains(self, value: Any) -> bool:
        return value in self.choices


Searched = Annotated[Union[IntRange, FloatRange, Choice], Field(discriminator="type")]
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


class PortfolioEntry(BaseModel):
    """A known-strong strategy evaluated before the sampler takes over. Parameters left out
    keep the component's own defaults (they are not sampled)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    model: str
    resampler: str = "none"
    weighting: str = "none"
    objective: str = "logloss"
    model_params: dict[str, Any] = Field(default_factory=dict)
    resampler_params: dict[str, Any] = Field(default_factory=dict)
    weighting_params: dict[str, Any] = Field(default_factory=dict)
    objective_params: dict[str, Any] = Field(default_factory=dict)

    def flat_params(self) -> dict[str, Any]:
        return Strategy(**self.model_dump(exclude={"name"})).flat_params()


class _SpaceFile(BaseModel):
    # Unknown top-level keys are reported by parse_space together with every other problem.
    model_config = ConfigDict(extra="ignore")
    description: str = ""
    models: dict[str, Optional[dict[str, Any]]] = Field(min_length=1)
    resamplers: dict[str, Optional[dict[str, Any]]] = Field(default_factory=lambda: {"none": {}})
    weightings: dict[str, Optional[dict[str, Any]]] = Field(default_factory=lambda: {"none": {}})
    objectives: dict[str, Optional[dict[str, Any]]] = Field(default_factory=lambda: {"logloss": {}})
    portfolio: list[PortfolioEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class SearchSpace:
    """A validated space. ``components[slot][key][param] -> spec`` (a range or a fixed value)."""

    name: str
    components: Mapping[str, Mapping[str, Mapping[str, Any]]]
    portfolio: tuple[PortfolioEntry, ...] = ()
    description: str = ""
    _registries: Mapping[str, Any] = field(default_factory=all_registries, repr=False, compare=False)

    def keys(self, slot: str) -> list[str]:
        return list(self.components[slot])

    # -- sampling ---------------------------------------------------------------------------
    def suggest(
        self, trial: Any, *, has_categorical: bool, seed: int = 0, only: Collection[str] | None = None
    ) -> Strategy:
        """Define-by-run: ask ``trial`` for a strategy this data can run.

        ``only``: names of the parameters to ask for; the others keep component defaults
        (portfolio trials, and replaying a finished trial with ``optuna.trial.FixedTrial``).
        """
        models = self._registries["model"]
        model_key = self._choose(trial, "model", self.keys("model"))
        model = models.get(model_key)
        chosen = {"model": model_key}
        for slot in ("resampler", "weighting", "objective"):
            allowed = [k for k in self.keys(slot) if self._allowed(slot, k, model, has_categorical)]
            every_model = [
                k for k in self.keys(slot)
                if any(self._allowed(slot, k, models.get(m), has_categorical) for m in self.keys("model"))
            ]
            if not allowed:
                raise ValueError(f"No {slot} in space {self.name!r} can be used with model {model_key!r}.")
            # One name per set of choices: a name whose choices changed between trials would
            # be a "dynamic value space" for Optuna.
            name = slot if allowed == every_model else f"{slot}.{model_key}"
            chosen[slot] = self._choose(trial, name, allowed)
        params = {
            f"{slot}_params": self._suggest_params(trial, slot, chosen[slot], only) for slot in SLOTS
        }
        return Strategy(**chosen, **params, seed=seed)

    def _allowed(self, slot: str, key: str, model: Component, has_categorical: bool) -> bool:
        component = self._registries[slot].get(key)
        if slot == "resampler":
            return resampler_allowed(component, model, has_categorical=has_categorical)
        if slot == "weighting":
            return weighting_allowed(component, model)
        return objective_allowed(component, model)

    @staticmethod
    def _choose(trial: Any, name: str, choices: list[str]) -> str:
        if len(choices) == 1:
            return choices[0]
        return trial.suggest_categorical(name, choices)

    def _suggest_params(self, trial: Any, slot: str, key: str, only: Collection[str] | None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for param, spec in self.components[slot][key].items():
            name = f"{slot}.{key}.{param}"
            if not isinstance(spec, SEARCHED_TYPES):
                params[param] = spec
            elif only is None or name in only:
                params[param] = spec.suggest(trial, name)
        return params

    def portfolio_for(self, *, has_categorical: bool) -> list[PortfolioEntry]:
        """Portfolio entries whose components are in this space and can run on this data."""
        usable = []
        for entry in self.portfolio:
            if any(getattr(entry, slot) not in self.components[slot] for slot in SLOTS):
                continue
            model = self._registries["model"].get(entry.model)
            if all(self._allowed(s, getattr(entry, s), model, has_categorical) for s in SLOTS if s != "model"):
                usable.append(entry)
        return usable


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


def load_space(space: str | Path | Mapping[str, Any] | SearchSpace) -> SearchSpace:
    """A built-in name (``"default"``, ``"fast"``), a path to a YAML file, or an already parsed mapping."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, Mapping):
        return parse_space(space, name="<mapping>")
    text_path = Path(space)
    if text_path.suffix in (".yaml", ".yml") or text_path.exists():
        if not text_path.is_file():
            raise SpaceError(str(text_path), [("", "file not found")])
        return parse_space(_read_yaml(text_path.read_text(), str(text_path)), name=str(text_path))
    names = builtin_space_names()
    if str(space) not in names:
        raise SpaceError(str(space), [("", f"not a built-in space ({', '.join(names)}) nor a .yaml file")])
    text = (_builtin_folder() / f"{space}.yaml").read_text()
    return parse_space(_read_yaml(text, str(space)), name=str(space))


def _read_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpaceError(source, [("", f"not valid YAML: {exc}")]) from None


def _location(loc: Iterable[Any]) -> str:
    return ".".join(str(p) for p in loc)


def parse_space(data: Any, *, name: str) -> SearchSpace:
    """Validate a parsed space file; every problem is reported at once with its key path."""
    if not isinstance(data, Mapping):
        raise SpaceError(name, [("", f"expected a mapping of sections; got {type(data).__name__}")])
    allowed_sections = set(_SpaceFile.model_fields)
    errors: list[tuple[str, str]] = [
        (str(key), f"unknown section; allowed: {', '.join(sorted(allowed_sections))}")
        for key in data if key not in allowed_sections
    ]
    try:
        parsed = _SpaceFile.model_validate(data)
    except ValidationError as exc:
        errors += [(_location(e["loc"]), e["msg"]) for e in exc.errors()]
        raise SpaceError(name, errors) from None
    components = {
        slot: {
            key: {p: _param_spec(v, f"{section}.{key}.{p}", errors) for p, v in (params or {}).items()}
            for key, params in getattr(parsed, section).items()
        }
        for slot, section in SECTIONS.items()
    }
    errors += _component_errors(components)
    space = SearchSpace(name=name, components=components, portfolio=tuple(parsed.portfolio),
                        description=parsed.description)
    if not errors:
        errors += _portfolio_errors(space)
    if errors:
        raise SpaceError(name, errors)
    return space


def _component_errors(components: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[tuple[str, str]]:
    registries, errors = all_registries(), []
    for slot, section in SECTIONS.items():
        registry = registries[slot]
        for key, params in components[slot].items():
            path = f"{section}.{key}"
            if key not in registry:
                errors.append((path, f"unknown {slot} {key!r}; registered: {', '.join(registry.keys())}"))
                continue
            valid = settable_params(slot, key)
            for param in params:
                if param not in valid:
                    errors.append((f"{path}.{param}", f"not a parameter of {slot} {key!r}; valid: {', '.join(sorted(valid)) or 'none'}"))
    return errors


def settable_params(slot: str, key: str) -> set[str]:
    """Names ``set_params`` accepts on the object a component builds (nested ones included)."""
    component = all_registries()[slot].get(key)
    built = component.factory(BuildContext(n_features=2))
    if slot == "model":
        names = set(built.get_params(deep=True))
        margin = component.tag("margin_factory", None)
        return names & set(margin(BuildContext()).get_params(deep=True)) if margin else names
    if slot == "objective" and built is not None:
        return set(built.get_params(deep=False)) - {"estimator"}
    return set() if built is None else set(built.get_params(deep=True))


def _portfolio_errors(space: SearchSpace) -> list[tuple[str, str]]:
    errors = []
    for i, entry in enumerate(space.portfolio):
        path = f"portfolio.{i}"
        for slot in SLOTS:
            key = getattr(entry, slot)
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
