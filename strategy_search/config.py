"""Run configs: one YAML file that says what to search, on which data, and where results go.

A config is checked completely before any work starts and every mistake is reported at once,
with its key path, the value given and what is allowed: a typo then costs one edit instead of
one failed (and possibly long) run per mistake. Files are read with ``yaml.safe_load`` only, so
a config can never construct arbitrary Python objects.
"""

from __future__ import annotations

import difflib
import os
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from strategy_search.column_types import DEFAULT_NA_VALUES
from strategy_search.config_table import Errors, load_data
from strategy_search.errors import ConfigError, DataError, SpaceError
from strategy_search.masking import register_secret
from strategy_search.prepared import task_setting_problems
from strategy_search.settings import SearchSettings, spec_of
from strategy_search.space import builtin_space_names, load_space
from strategy_search.sqlite_files import sqlite_file
from strategy_search.table_file import DELIMITERS, data_file_problem

DEFAULT_STORAGE = "sqlite:///optuna.db"
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
SPACE_SUFFIXES = (".yaml", ".yml")


def _field(default: Any = ..., *, allowed: str, **kwargs: Any) -> Any:
    """A field whose every error reads 'got <value>; must be <allowed>': users need to know what
    to write, not which pydantic check failed."""
    return Field(default, json_schema_extra={"allowed": allowed}, **kwargs)


def _base(info: ValidationInfo) -> Path:
    """The folder relative paths start from: the config file's (passed as validation context)."""
    return Path((info.context or {}).get("base", ".")).resolve()


def _resolve_space(value: str, base: Path) -> str:
    """Built-in names stay names; anything else is a file path relative to ``base``."""
    return value if value in builtin_space_names() else str((base / value).resolve())


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Section):
    path: Path = _field(allowed="a path to a .csv, .csv.gz or .parquet file")
    target: str = _field(allowed="the name of the target column", min_length=1)
    positive_label: StrictBool | StrictInt | StrictFloat | StrictStr | None = _field(
        None,
        allowed="one of the target's values (a number or a string), or null for the minority class; "
        "two-class targets only",
    )
    drop: list[str] = _field(default_factory=list, allowed="a list of column names")
    na_values: list[StrictStr] = _field(
        default_factory=lambda: list(DEFAULT_NA_VALUES),
        allowed='a list of cell texts read as missing beside pandas\' own ("", NA, NaN, null, ...), e.g. ["?", "-"]',
    )
    sep: StrictStr | None = _field(
        None,
        allowed=f"a CSV delimiter such as {', '.join(map(repr, DELIMITERS))}, or null to guess it from the header row",
        min_length=1,
    )
    weight: StrictStr | None = _field(
        None,
        min_length=1,
        allowed="the name of a column of row weights (a number >= 0 per row: what a row's mistakes cost), or null",
    )

    @field_validator("target", "drop", "weight", mode="before")
    @classmethod
    def _numbers_as_names(cls, value: Any) -> Any:
        # CSV headers are text: `target: 8` names the column "8".
        def name(v: Any) -> Any:
            return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

        return [name(v) for v in value] if isinstance(value, list) else name(value)

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: Path, info: ValidationInfo) -> Path:
        return (_base(info) / value.expanduser()).resolve()


class _SearchSection(_Section):
    """The ``search`` section: the settings whose config key starts with ``search.`` (added by
    :func:`_settings_section`), plus where the study is stored."""

    storage: StrictStr | None = _field(None, min_length=1, allowed="an Optuna storage URL or null")

    @field_validator("space", mode="before", check_fields=False)
    @classmethod
    def _locate(cls, value: Any, info: ValidationInfo) -> Any:
        # A path relative to the config file's folder; whether the file is a valid space is
        # checked by load_config, which reports each of the space's own errors under its key path.
        if not isinstance(value, str):
            raise ValueError("not a space name or path")
        return _resolve_space(value, _base(info))


def _settings_section(
    section: str,
    base: type[_Section],
    *,
    own_checks: tuple[str, ...] = (),
    settings: type[SearchSettings] = SearchSettings,
) -> Any:
    """A config section model with one field per setting whose config key is ``section.<key>``;
    each value goes through the setting's own check (unless ``base`` checks it: ``own_checks``),
    and an error quotes its ``allowed`` text."""
    section_fields: dict[str, Any] = {}
    validators: dict[str, Any] = {}
    for f in fields(settings):
        spec = spec_of(f)
        where, _, key = spec.config.partition(".")
        if where != section:
            continue
        section_fields[key] = (Any, _field(f.default, allowed=spec.allowed))
        if key not in own_checks:
            validators[f"_check_{key}"] = field_validator(key, mode="after")(_checker(spec.check))
    return create_model(f"{section.title()}Config", __base__=base, __validators__=validators, **section_fields)


def _checker(check: Any) -> Any:
    def validate(cls: Any, value: Any) -> Any:
        return check(value)

    return validate


class _CVSection(_Section):
    """The ``cv`` section: the settings whose config key starts with ``cv.``, plus the column the
    splits keep apart by (groups or time), which is data, not a setting: the Python API takes
    the values themselves (``groups=``, ``time=``)."""

    groups: StrictStr | None = _field(
        None,
        min_length=1,
        allowed="the name of a column of group labels (rows of one group never sit on both sides of a split), or null",
    )
    time: StrictStr | None = _field(
        None,
        min_length=1,
        allowed="the name of a date/time or ordered numeric column (each validation block later than its "
        "training rows), or null",
    )

    @field_validator("groups", "time", mode="before")
    @classmethod
    def _number_as_name(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def split_column(self) -> str | None:
        return self.groups or self.time


if TYPE_CHECKING:  # built at run time from the settings' fields, which type checkers cannot follow
    SearchConfig: TypeAlias = Any
    CVConfig: TypeAlias = Any
else:
    SearchConfig = _settings_section("search", _SearchSection, own_checks=("space",))
    CVConfig = _settings_section("cv", _CVSection)


class TrackingConfig(_Section):
    uri: StrictStr = _field(DEFAULT_TRACKING_URI, min_length=1, allowed="an MLflow tracking URI")
    experiment: StrictStr | None = _field(None, min_length=1, allowed="an MLflow experiment name or null")
    register_as: StrictStr | None = _field(None, min_length=1, allowed="a Model Registry name or null")


class ExportConfig(_Section):
    # None until RunConfig fills in artifacts/<name>, which needs the run's name.
    dir: Path | None = _field(None, allowed="a folder path or null for artifacts/<name>")

    @field_validator("dir")
    @classmethod
    def _absolute(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else (_base(info) / value.expanduser()).resolve()


class RunConfig(_Section):
    """A validated run config; every path in it is absolute."""

    # The name becomes a folder and a study-name prefix, so it must be safe in both.
    name: str = _field(allowed="a name of letters, digits, '.', '_' or '-'", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    data: DataConfig
    search: SearchConfig = Field(default_factory=SearchConfig)
    cv: CVConfig = Field(default_factory=CVConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)

    _source_path: Path | None = PrivateAttr(default=None)
    _raw_text: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _default_export_dir(self, info: ValidationInfo) -> RunConfig:
        if self.export.dir is None:
            self.export.dir = _base(info) / "artifacts" / self.name
        return self

    @property
    def source_path(self) -> Path | None:
        """The absolute path of the config file (None for a config built in code)."""
        return self._source_path

    @property
    def raw_text(self) -> str:
        """The config file's text as written, for logging next to the run."""
        return self._raw_text

    @property
    def export_dir(self) -> Path:
        """Where ``export`` writes by default (``export.dir``, else ``artifacts/<name>`` beside the config)."""
        assert self.export.dir is not None  # filled in by _default_export_dir
        return self.export.dir

    @property
    def experiment_name(self) -> str:
        return self.tracking.experiment or self.name

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.search.metric)

    @property
    def base_folder(self) -> Path:
        """Where relative paths in the config start: the config file's folder (the working
        directory for a config built in code)."""
        return self._source_path.parent if self._source_path is not None else Path.cwd()

    @property
    def storage_url(self) -> str:
        """The Optuna storage; a relative sqlite path starts at the config's folder."""
        return absolute_sqlite(self.search.storage or DEFAULT_STORAGE, base=self.base_folder)

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI; a relative sqlite path starts at the config's folder."""
        return absolute_sqlite(self.tracking.uri, base=self.base_folder)

    def search_kwargs(self) -> dict[str, Any]:
        """Every search setting (:class:`~strategy_search.settings.SearchSettings`) as the config gives it."""
        kwargs = {}
        for f in fields(SearchSettings):
            section, _, key = spec_of(f).config.partition(".")
            kwargs[f.name] = getattr(getattr(self, section), key)
        return kwargs

    def settings(self) -> SearchSettings:
        return SearchSettings.create(**self.search_kwargs())


SQLITE_PREFIX = "sqlite:///"


def absolute_sqlite(uri: str, *, base: Path) -> str:
    """``sqlite:///rel.db`` -> ``sqlite:////<base>/rel.db``; other URIs unchanged.

    Every path in a config starts at the config file's folder, store files included, so a
    command gives the same answer from any working directory; pinning the path once also keeps
    every later use on the same file (MLflow caches one store per URI string).
    """
    if not uri.startswith(SQLITE_PREFIX) or uri.startswith(SQLITE_PREFIX + "/") or uri.endswith(":memory:"):
        return uri
    return SQLITE_PREFIX + str((base / uri[len(SQLITE_PREFIX) :]).resolve())


def missing_store(uri: str) -> Path | None:
    """The file a sqlite URI names when it does not exist yet (None: it exists, or the store is
    a server): commands that only read a store refuse to create an empty one."""
    path = sqlite_file(uri)
    return None if path is None or path.exists() else path


# -- loading ---------------------------------------------------------------------------------
def load_config(path: str | Path, *, overrides: Sequence[str] = ()) -> RunConfig:
    """Read and validate a run config; raise :class:`ConfigError` listing every mistake.

    ``overrides`` are ``key.path=value`` strings (the CLI's ``--set``); each value is parsed as
    YAML, so ``search.n_trials=8`` is an int and ``search.metric=[pr_auc,f1]`` a list.
    Relative paths, in the file or in overrides, are relative to the config file's folder.
    """
    source = Path(path).expanduser().resolve()
    text = _read_text(source)
    raw = _parse_yaml(text, source)
    errors = _apply_overrides(raw, overrides)
    errors += _expand_environment(raw)
    config = None
    try:
        config = RunConfig.model_validate(raw, context={"base": source.parent})
    except ValidationError as exc:
        errors += _describe(exc.errors(), raw)
    errors += _space_errors(raw, source.parent)
    errors += _data_file_errors(raw, source.parent)
    if errors or config is None:
        raise ConfigError(source, errors)
    config._source_path, config._raw_text = source, text
    return config


# Keys whose values may name environment variables as ${NAME}, so credentials in a storage or
# tracking URI can stay out of the config file (the file, not the expanded value, is logged).
EXPANDED_KEYS = (("search", "storage"), ("tracking", "uri"))
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_environment(raw: dict[str, Any]) -> Errors:
    errors: Errors = []
    for section, key in EXPANDED_KEYS:
        block = raw.get(section)
        if not isinstance(block, dict) or not isinstance(block.get(key), str):
            continue
        unset = [name for name in _ENV_REFERENCE.findall(block[key]) if name not in os.environ]
        if unset:
            errors.append(
                (
                    f"{section}.{key}",
                    f"environment variable(s) {unset} are not set; export them or write the value in the config",
                )
            )
            continue
        block[key] = _ENV_REFERENCE.sub(lambda m: _uri_part(os.environ[m.group(1)]), block[key])
    return errors


def _uri_part(value: str) -> str:
    # Percent-encoded, so a password holding @ : / or % stays one URI component; both forms
    # are masked from now on, whatever the variable's name.
    encoded = urllib.parse.quote(value, safe="")
    register_secret(value)
    register_secret(encoded)
    return encoded


def _read_text(source: Path) -> str:
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [("", f"config file not found: {source}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [("", f"cannot read config file {source}: {exc}")]) from None
    if not text.strip():
        raise ConfigError(source, [("", f"config file {source} is empty; it needs at least `name` and `data`")])
    return text


def _parse_yaml(text: str, source: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        line = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise ConfigError(
            source,
            [
                (
                    "",
                    (
                        f"YAML tags that build Python objects (such as !!python/object) are not allowed{line}: "
                        f"{exc.problem}. Configs hold plain values only; remove the tag."
                    ),
                )
            ],
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, [("", f"not valid YAML: {exc}")]) from None
    if raw is None:
        raise ConfigError(source, [("", f"config file {source} is empty; it needs at least `name` and `data`")])
    if not isinstance(raw, dict):
        raise ConfigError(
            source, [("", f"expected a mapping of sections ({_keys(RunConfig)}); got {type(raw).__name__}")]
        )
    return raw


def _apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> Errors:
    errors: Errors = []
    for text in overrides:
        key, sep, value_text = text.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            errors.append(("--set", f"got {text!r}; must be key.path=value, e.g. search.n_trials=8"))
            continue
        if parts[0] not in RunConfig.model_fields:
            errors.append((key, f"unknown section in --set {text!r}; allowed: {_keys(RunConfig)}"))
            continue
        try:
            value = yaml.safe_load(value_text)
        except yaml.YAMLError as exc:
            errors.append((key, f"--set value {value_text!r} is not valid YAML: {exc}"))
            continue
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                errors.append((key, f"cannot set {key} from --set: {part} is {node!r}, not a mapping"))
                break
        else:
            node[parts[-1]] = value
    return errors


def _keys(model: type[BaseModel]) -> str:
    return ", ".join(model.model_fields)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _lookup(raw: Any, names: Sequence[str]) -> Any:
    for name in names:
        raw = raw.get(name) if isinstance(raw, Mapping) else None
    return raw


def _describe(errors: Sequence[Mapping[str, Any]], raw: Mapping[str, Any]) -> Errors:
    """Pydantic errors as ``(key path, message)``, one per key: union members and list items
    of one field would otherwise each report the same mistake."""
    described: dict[str, str] = {}
    for error in errors:
        model: Any = RunConfig
        names: list[str] = []
        field = None
        for part in error["loc"]:
            if model is None or part not in model.model_fields:
                break
            names.append(str(part))
            field = model.model_fields[part]
            model = field.annotation if _is_model(field.annotation) else None
        allowed = ((field.json_schema_extra or {}) if field else {}).get("allowed")
        got = _lookup(raw, names)
        if error["type"] == "extra_forbidden":
            key = str(error["loc"][len(names)])
            names.append(key)
            close = difflib.get_close_matches(key, list(model.model_fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown key{hint}; allowed: {_keys(model)}"
        elif model is not None and len(names) == len(error["loc"]):
            prefix = "required" if error["type"] == "missing" else f"got {got!r}"
            message = f"{prefix}; must be a mapping with keys: {_keys(model)}"
        elif error["type"] == "missing":
            message = f"required; must be {allowed}" if allowed else "required"
        elif allowed:
            message = f"got {got!r}; must be {allowed}"
        else:
            message = f"got {got!r}; {error['msg']}"
        described.setdefault(".".join(names), message)
    return list(described.items())


def _space_errors(raw: Mapping[str, Any], base: Path) -> Errors:
    """Load the space the config names, so a broken space file fails here, not mid-run."""
    search = raw.get("search")
    value = search.get("space", "default") if isinstance(search, Mapping) else "default"
    if not isinstance(value, str) or value in builtin_space_names():
        return []  # a wrong type is reported by validation; built-in spaces are tested
    resolved = Path(_resolve_space(value, base))
    if not resolved.is_file():
        if resolved.suffix not in SPACE_SUFFIXES:
            return [
                (
                    "search.space",
                    f"got {value!r}; must be a built-in space ({', '.join(builtin_space_names())}) "
                    "or a path to a .yaml space file",
                )
            ]
        return [
            (
                "search.space",
                f"got {value!r}; space file {resolved} not found (relative paths start at the config file's folder)",
            )
        ]
    try:
        load_space(resolved)
    except SpaceError as exc:
        return [(f"search.space.{p}" if p else "search.space", f"{m} (in {exc.source})") for p, m in exc.errors]
    return []


def _data_file_errors(raw: Mapping[str, Any], base: Path) -> Errors:
    """A data file that is missing or of the wrong kind, found together with the config's other
    mistakes (reading it is left to :func:`load_table`)."""
    value = _lookup(raw, ["data", "path"])
    if not isinstance(value, str) or not value:
        return []  # a missing or mistyped path is reported by validation
    problem = data_file_problem((base / Path(value).expanduser()).resolve())
    return [("data.path", problem)] if problem else []


def validate_config(path: str | Path, *, overrides: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Every check ``strategy-search validate`` makes: the config, its search space, the data
    file, its columns and the target. Returns all problems found; an empty list means valid.
    User mistakes never raise."""
    return check_config(path, overrides=overrides)[0]


def check_config(path: str | Path, *, overrides: Sequence[str] = ()) -> tuple[list[tuple[str, str]], list[str]]:
    """:func:`validate_config`'s problems and, when there are none, the notes ``run`` prints
    about the data (what reading its columns changed, suspicious columns and classes)."""
    try:
        config = load_config(path, overrides=overrides)
        # The search's own checks on the table (e.g. +/-inf values), so `validate` misses none.
        data = load_data(config)
    except ConfigError as exc:
        return exc.errors, []
    except DataError as exc:
        return [("data", str(exc))], []
    keys = {f.name: spec_of(f).config for f in fields(SearchSettings)}
    problems = [(keys[name], why) for name, why in task_setting_problems(config.settings(), data)]
    return problems, [] if problems else list(data.profile.notes)
