"""The search settings: one definition, from which everything else is derived.

Each field of :class:`SearchSettings` carries its documentation, its check, the text that says
what it allows, and where it lives in a run config. `strategy_search.search`
takes the fields as keyword arguments, the run config's ``search`` and ``cv`` sections are
built from them (:mod:`strategy_search.config`), and :meth:`SearchSettings.as_params` is what
MLflow records: a new setting is one field here.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any

from strategy_search.errors import SettingsError, StrategySearchError
from strategy_search.fidelity import AUTO_MIN_ROWS, FIDELITY_CHOICES
from strategy_search.scoring import METRICS, THRESHOLD_FREE, check_metrics
from strategy_search.space import SearchSpace, builtin_space_names, load_space
from strategy_search.thresholds import RULE_FORMS, ThresholdRule

# With no budget at all, a search stops after this many trials or seconds, whichever comes first.
DEFAULT_N_TRIALS = 100
DEFAULT_TIMEOUT = 600.0
# The search's answer may average strategies drawn from this many of its best trials (ensemble.py).
DEFAULT_ENSEMBLE_SIZE = 8
# What the search deploys (the `answer` setting) and how it calibrates it (`calibration`).
ANSWER_CHOICES = ("bagged", "refit")
CALIBRATION_CHOICES = ("auto", "none")


@dataclass(frozen=True)
class SettingSpec:
    """What a setting's field knows about itself.

    ``check`` turns a user's value into the stored one or raises ValueError; ``allowed`` says
    what may be given (every error message quotes it); ``config`` is the run-config key
    (``section.key``); ``param`` turns the stored value into an MLflow param.
    """

    doc: str
    allowed: str
    check: Callable[[Any], Any]
    config: str
    param: Callable[[Any], Any] = lambda value: value


def setting(default: Any, **spec: Any) -> Any:
    return field(default=default, metadata={"setting": SettingSpec(**spec)})


def spec_of(f: Field[Any]) -> SettingSpec:
    return f.metadata["setting"]


def _integer(low: int, *, optional: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if optional and value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"not an integer >= {low}")
        return value

    return check


def _integer_setting(default: int | None, low: int, *, doc: str, config: str, optional: bool = False) -> Any:
    allowed = f"an integer >= {low}" + (" or null" if optional else "")
    return setting(default, doc=doc, allowed=allowed, check=_integer(low, optional=optional), config=config)


def _repeats(value: Any) -> int | str:
    return "auto" if value == "auto" else _integer(1)(value)


def _positive_seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError("not a number of seconds > 0")
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not true or false")
    return value


def _fidelity(value: Any) -> str:
    # YAML reads a bare on / off as true / false.
    value = {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value
    return _choice(FIDELITY_CHOICES)(value)


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"not one of {', '.join(choices)}")
        return str(value)

    return check


def _space(value: Any) -> SearchSpace:
    if not isinstance(value, str | os.PathLike | Mapping | SearchSpace):
        raise ValueError("not a space name, path or mapping")
    return load_space(value)


def _workers(value: Any) -> int:
    return _integer(1, optional=True)(value) or os.cpu_count() or 1


@dataclass(frozen=True, kw_only=True)
class SearchSettings:
    """Everything that decides what a search does, apart from the data. Build it with
    :meth:`create`, which checks every value and reports all mistakes at once."""

    space: SearchSpace = setting(
        "default",
        doc="Built-in space name, a YAML path (relative paths in a config start at its folder) or a parsed mapping.",
        allowed=f"a built-in space ({', '.join(builtin_space_names())}), a path to a .yaml space file or a "
        "parsed space (a mapping)",
        check=_space,
        config="search.space",
        param=lambda space: space.name,
    )
    metric: tuple[str, ...] = setting(
        ("pr_auc",),
        doc="Primary metric to maximise, or several for a Pareto search (e.g. ['pr_auc', 'f1']).",
        allowed=f"one of {', '.join(METRICS)}, or a list of 2+ distinct ones for a Pareto search",
        check=check_metrics,
        config="search.metric",
        param=list,
    )
    n_trials: int | None = _integer_setting(
        None,
        1,
        optional=True,
        doc=f"Trials in total (a resumed study counts its finished trials). With neither n_trials nor "
        f"timeout: {DEFAULT_N_TRIALS} trials or {DEFAULT_TIMEOUT:.0f} s, whichever ends first.",
        config="search.n_trials",
    )
    timeout: float | None = setting(
        None,
        doc="Wall-clock seconds for this call, from its data checks to its answer: the trials end a tenth "
        "of it early to leave that time for choosing the answer and what follows.",
        allowed="a number of seconds > 0 or null",
        check=_positive_seconds,
        config="search.timeout",
    )
    seed: int = _integer_setting(0, 0, doc="Seed of the sampler, the folds and every component.", config="search.seed")
    cv_folds: int = _integer_setting(
        5, 2, doc="Stratified cross-validation folds (fewer when the minority class is smaller).", config="cv.folds"
    )
    cv_repeats: int | str = setting(
        1,
        doc="Repeats of the K-fold split, each with other folds; auto: as many (at most 3) as bring the "
        "validated rows of the smallest class to about 100 (one on tables of over 20,000 rows), since with a "
        "small minority one split's score is mostly the luck of its folds.",
        allowed="an integer >= 1 or auto",
        check=_repeats,
        config="cv.repeats",
    )
    cv_gap: int = _integer_setting(
        0,
        0,
        doc="Time-ordered CV only (cv.time, or search's time=): rows left out between each training part and "
        "the later rows it is validated on, so that a model is judged as it would be deployed some time after "
        "its data.",
        config="cv.gap",
    )
    threshold_folds: int = _integer_setting(
        1,
        0,
        doc="How each fold's decision threshold is chosen on its training part: 1 a stratified holdout of a "
        "third of it, K >= 2 inner K-fold out-of-fold scores, 0 none (threshold 0.5).",
        config="search.threshold_folds",
    )
    threshold: ThresholdRule = setting(
        "best_f1",
        doc="How the decision threshold is picked, on each fold's training part during the search and on the "
        f"out-of-fold scores for the deployed model: {RULE_FORMS}. A multi-class target takes best_f1 "
        "(per-class weights with the best macro F1) or argmax.",
        allowed=RULE_FORMS,
        check=ThresholdRule.parse,
        config="search.threshold",
        param=str,
    )
    n_jobs: int = setting(
        None,
        doc="Worker processes for CV fits (null: all cores). With 1, fits run in this process and the time "
        "budget is only checked between fits.",
        allowed="an integer >= 1 (worker processes) or null for all cores",
        check=_workers,
        config="search.n_jobs",
    )
    pruning: bool = setting(
        True,
        doc="Stop a trial after a few folds when its running mean is below the median of earlier trials "
        "(threshold-free primary metrics only).",
        allowed="true or false",
        check=_flag,
        config="search.pruning",
    )
    fidelity: str = setting(
        "auto",
        doc="Multi-fidelity search (strategy_search.fidelity): trials are first scored with each fold's training "
        "part subsampled (all rows of the rarest class kept) and continue to the full CV only when in the top "
        f"third. auto: on when a fold trains on {AUTO_MIN_ROWS:,}+ rows; on; off. Needs a threshold-free primary "
        "metric, one objective and pruning on.",
        allowed=", ".join(FIDELITY_CHOICES),
        check=_fidelity,
        config="search.fidelity",
    )
    expensive_row_limit: int = _integer_setting(
        30_000,
        1,
        doc="Components whose cost grows with the square of the rows (tag quadratic_in_rows: SVM-SMOTE, "
        "Tomek links, ENN and their combinations) are left out of the search, with the reason logged, when a "
        "fold trains on more rows than this.",
        config="search.expensive_row_limit",
    )
    ensemble_size: int = setting(
        DEFAULT_ENSEMBLE_SIZE,
        doc="The answer is an ensemble drawn from this many of the best trials unless the best trial alone "
        "is clearly better (strategy_search.ensemble); 1 turns it off, and a Pareto search never ensembles.",
        allowed="an integer >= 1 (how many of the best trials an ensemble may draw from; 1 for none)",
        check=_integer(1),
        config="search.ensemble_size",
    )
    answer: str = setting(
        "bagged",
        doc="What is deployed: bagged, the answer's fold models from the search's CV (refitted on the same "
        "splits) averaged, so the deployed scores are those its threshold was chosen on (K x repeats fits); "
        "refit, the answer fitted once on all rows (one fit; its scores may sit on another scale than the "
        "threshold's).",
        allowed=", ".join(ANSWER_CHOICES),
        check=_choice(ANSWER_CHOICES),
        config="search.answer",
    )
    calibration: str = setting(
        "auto",
        doc="How the answer's predict_proba is calibrated (strategy_search.calibration): auto, the map with the "
        "lowest cross-validated log-loss on the answer's out-of-fold scores (none, sigmoid or isotonic; "
        "multi-class: none or temperature); none, the model's own probabilities. Predictions never change: "
        "the threshold applies to the model's own scores.",
        allowed=", ".join(CALIBRATION_CHOICES),
        check=_choice(CALIBRATION_CHOICES),
        config="search.calibration",
    )

    heartbeat_interval: int = _integer_setting(
        30,
        1,
        doc="Seconds between a worker's heartbeats on a database server (PostgreSQL): a trial whose worker "
        "sent none for three intervals is failed and retried once. SQLite studies take one worker and no "
        "heartbeat.",
        config="search.heartbeat_interval",
    )

    def __post_init__(self) -> None:
        # Every value is checked (and normalised: a space name becomes the loaded space), and
        # every mistake reported at once.
        problems = []
        for f in fields(self):
            value = getattr(self, f.name)
            try:
                object.__setattr__(self, f.name, spec_of(f).check(value))
            except StrategySearchError:
                raise  # already says what is wrong, where (a space file's own errors, with key paths)
            except (ValueError, TypeError):
                problems.append(f"{f.name} must be {spec_of(f).allowed}; got {value!r}")
        if problems:
            raise SettingsError("Invalid search settings:\n  " + "\n  ".join(problems))
        if self.n_trials is None and self.timeout is None:
            object.__setattr__(self, "n_trials", DEFAULT_N_TRIALS)
            object.__setattr__(self, "timeout", DEFAULT_TIMEOUT)

    @classmethod
    def create(cls, **values: Any) -> SearchSettings:
        """Checked settings from keyword arguments (defaults for the ones left out); a
        :class:`~strategy_search.errors.SettingsError` lists every mistake at once."""
        known = [f.name for f in fields(cls)]
        unknown = [name for name in values if name not in known]
        if unknown:
            raise SettingsError(f"Unknown search setting(s) {unknown}; settings: {', '.join(known)}.")
        return cls(**values)

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.metric

    @property
    def primary_metric(self) -> str:
        return self.metric[0]

    @property
    def multi_objective(self) -> bool:
        return len(self.metric) > 1

    @property
    def ensembling(self) -> bool:
        """A Pareto search has no single order to rank members by, so it never ensembles."""
        return self.ensemble_size > 1 and not self.multi_objective

    @property
    def prunable(self) -> bool:
        """Pruning needs one objective (an Optuna rule) known before a fold's inner threshold
        fits, i.e. a threshold-free primary metric."""
        return self.pruning and not self.multi_objective and self.primary_metric in THRESHOLD_FREE

    def as_params(self) -> dict[str, Any]:
        """Every setting as an MLflow param (plus ``primary_metric``, which the UI sorts by)."""
        params = {f.name: spec_of(f).param(getattr(self, f.name)) for f in fields(self)}
        params["primary_metric"] = self.primary_metric
        return params


def settings_doc(cls: type[SearchSettings] = SearchSettings, *, indent: str = "") -> str:
    """The settings as numpydoc parameters (``name : optional`` and its text, wrapped), each
    line starting with ``indent``: :func:`strategy_search.search.search` lists them so."""
    lines = []
    for f in fields(cls):
        spec = spec_of(f)
        default = f.default if not isinstance(f.default, tuple) else list(f.default)
        lines.append(f"{indent}{f.name} : optional")
        text = f"{spec.doc} Allowed: {spec.allowed}. Default: {default!r}."
        lines += [f"{indent}    {line}" for line in textwrap.wrap(text, width=88)]
    return "\n".join(lines) + "\n"
