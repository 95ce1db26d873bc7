"""A Strategy is plain data; :func:`build_pipeline` is the only place estimators are made."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder, StandardScaler

from strategy_search.combinations import incompatibilities
from strategy_search.components.registry import BuildContext, Component
from strategy_search.data import FeatureSchema, plain
from strategy_search.errors import StrategyError
from strategy_search.estimators.classifiers.ensemble import AveragedClassifier
from strategy_search.estimators.classifiers.weighting import WeightedClassifier
from strategy_search.estimators.decision.bagged import FoldBaggedClassifier
from strategy_search.estimators.decision.thresholded import ClassWeightedClassifier, ThresholdedClassifier
from strategy_search.estimators.pipeline import WeightedPipeline
from strategy_search.estimators.preprocessing.centred import CentredFloat32
from strategy_search.estimators.preprocessing.one_hot import OneHotCodes
from strategy_search.estimators.samplers.adaptive import AdaptiveSampler
from strategy_search.slots import MODEL, all_slots, get_slot
from strategy_search.task import Decision, Task, as_decision

MISSING_CATEGORY = "__missing__"
# Beyond this many levels the rarest levels of a categorical column share one code.
MAX_CATEGORY_LEVELS = 64
_SCALARS = ("threshold", "seed")


@dataclass(frozen=True)
class Strategy:
    """Component keys, their parameters and the decision threshold (multi-class: per-class
    weights): everything needed to rebuild the scored pipeline. ``choices`` maps each slot
    (:mod:`strategy_search.slots`) to a component key; ``params`` maps it to sklearn
    ``set_params`` names of that component.

    Build one with :meth:`of` (``Strategy.of(model="lightgbm", resampler="smote")``) or
    :meth:`from_dict`; slots left out take their neutral choice.
    """

    choices: Mapping[str, str]
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    threshold: Decision = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", as_decision(self.threshold))

    @classmethod
    def of(cls, **fields_: Any) -> Strategy:
        """``Strategy.of(model=..., resampler=..., model_params={...}, threshold=...)``."""
        return cls.from_dict(fields_)

    @property
    def model(self) -> str:
        return self.choices[MODEL]

    def key(self, slot: str) -> str:
        """The component chosen for ``slot`` (its neutral choice when the strategy predates the slot)."""
        found = self.choices.get(slot)
        return found if found is not None else str(get_slot(slot).neutral)

    def params_for(self, slot: str) -> dict[str, Any]:
        return dict(self.params.get(slot) or {})

    def with_threshold(self, threshold: Decision) -> Strategy:
        return replace(self, threshold=as_decision(threshold))

    def to_dict(self) -> dict[str, Any]:
        """The stored form (``strategy.yaml``, trial attributes): ``model``, ``resampler``, ...,
        then ``model_params``, ``resampler_params``, ..., ``threshold`` and ``seed``."""
        slots = all_slots()
        out: dict[str, Any] = {s.name: self.key(s.name) for s in slots}
        out.update({f"{s.name}_params": plain(self.params_for(s.name)) for s in slots})
        out.update(threshold=plain(self.threshold), seed=int(self.seed))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Strategy:
        slots = all_slots()
        known = [s.name for s in slots] + [f"{s.name}_params" for s in slots] + list(_SCALARS)
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise StrategyError(f"Unknown strategy fields {unknown}; allowed: {known}.")
        if not data.get(MODEL):
            raise StrategyError(f"A strategy needs a model; got fields {sorted(data)}.")
        choices = {s.name: str(data.get(s.name) or s.neutral) for s in slots}
        params = {s.name: dict(data.get(f"{s.name}_params") or {}) for s in slots}
        scalars = {k: data[k] for k in _SCALARS if k in data}
        return cls(choices, params, **scalars)

    def flat_params(self) -> dict[str, Any]:
        """Namespaced parameters as in a search space (``model.lightgbm.n_estimators``)."""
        flat: dict[str, Any] = {}
        for slot in all_slots():
            key = self.key(slot.name)
            flat[slot.name] = key
            for name, value in self.params_for(slot.name).items():
                flat[f"{slot.name}.{key}.{name}"] = value
        return flat

    def describe(self) -> str:
        parts = [slot.describe(self.key(slot.name)) for slot in all_slots()]
        return " + ".join(p for p in parts if p)


@dataclass(frozen=True)
class Ensemble:
    """Several scored strategies whose probabilities are averaged with ``weights``, plus the
    ensemble's own decision threshold. Plain data like :class:`Strategy`."""

    members: tuple[Strategy, ...]
    weights: tuple[float, ...]
    threshold: Decision = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", as_decision(self.threshold))
        if not self.members or len(self.weights) != len(self.members):
            raise StrategyError(
                f"An ensemble needs one weight per member and at least one member; got "
                f"{len(self.members)} members and {len(self.weights)} weights."
            )

    @property
    def shares(self) -> tuple[float, ...]:
        """Each member's weight as a share of the total (they sum to 1)."""
        total = sum(self.weights)
        return tuple(w / total for w in self.weights)

    def with_threshold(self, threshold: Decision) -> Ensemble:
        return replace(self, threshold=as_decision(threshold))

    def to_dict(self) -> dict[str, Any]:
        return {
            "members": [m.to_dict() for m in self.members],
            "weights": [float(w) for w in self.weights],
            "threshold": plain(self.threshold),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ensemble:
        unknown = sorted(set(data) - {"members", "weights", "threshold"})
        if unknown:
            raise StrategyError(f"Unknown ensemble fields {unknown}; allowed: ['members', 'threshold', 'weights'].")
        members = tuple(Strategy.from_dict(m) for m in data["members"])
        return cls(members, tuple(float(w) for w in data["weights"]), as_decision(data.get("threshold", 0.5)))

    def describe(self) -> str:
        parts = [f"{share:.2f} x {m.describe()}" for m, share in zip(self.members, self.shares, strict=True)]
        return f"ensemble of {len(self.members)}: " + "; ".join(parts)


def strategy_from_dict(data: Mapping[str, Any]) -> Strategy | Ensemble:
    """A :class:`Strategy` or :class:`Ensemble` from its ``to_dict()`` form."""
    return Ensemble.from_dict(data) if "members" in data else Strategy.from_dict(data)


def _as_text(frame: Any) -> Any:
    # Mixed-type object columns (numbers and strings) cannot be ordinal-encoded as they are.
    return pd.DataFrame(frame).astype(str)


def _preprocessor(schema: FeatureSchema, *, impute_numeric: bool) -> ColumnTransformer:
    # Scaling for every model: distance-based samplers (SMOTE, ENN, NearMiss) need it and trees
    # are indifferent. StandardScaler passes NaN through when imputation is skipped.
    # Float32 from the start halves every copy the imputer and scaler make (centred.py).
    numeric_steps: list[Any] = [CentredFloat32(), StandardScaler()]
    if impute_numeric:
        numeric_steps.insert(1, SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY, keep_empty_features=True),
        FunctionTransformer(_as_text, feature_names_out="one-to-one"),
        OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            max_categories=MAX_CATEGORY_LEVELS,
            dtype=np.float32,
        ),
    )
    # Categorical codes come first so samplers can be told their column indices up front.
    return ColumnTransformer(
        [
            ("categorical", categorical, list(schema.categorical)),
            ("numeric", make_pipeline(*numeric_steps), list(schema.numeric)),
        ],
        remainder="drop",
        sparse_threshold=0.0,
    )


def _one_hot(n_categorical: int) -> OneHotCodes:
    # Sparse when mostly zeros (the default threshold, 30 % non-zero): up to 65 columns per
    # category, dense, cost over a gigabyte per fit on a million rows.
    return OneHotCodes(n_categorical=n_categorical)


# The slots build_pipeline knows how to build; a new slot needs its step here.
_BUILT_SLOTS = (MODEL, "resampler", "weighting", "objective")


def _configured(component: Component[Any], context: BuildContext, params: Mapping[str, Any]) -> Any:
    built = component.factory(context)
    if built is not None and params:
        built.set_params(**params)
    return built


def build_pipeline(strategy: Strategy | Ensemble, schema: FeatureSchema) -> Any:
    """Preprocessing -> resampler -> model, for labels coded 0/1 (1 = positive); for an
    :class:`Ensemble`, one such pipeline per member, probabilities averaged.

    An imbalanced-learn Pipeline applies the resampler in ``fit`` only, so validation and
    prediction rows are never resampled; its ``fit`` takes ``sample_weight`` (row weights,
    carried through the resampler: :mod:`strategy_search.estimators.pipeline`).
    """
    if isinstance(strategy, Ensemble):
        members = [build_pipeline(member, schema) for member in strategy.members]
        return AveragedClassifier(members, weights=list(strategy.weights))
    _check_buildable(strategy, schema)
    component = {slot.name: slot.component(strategy.key(slot.name)) for slot in all_slots()}
    n_categorical = len(schema.categorical)
    context = BuildContext(
        random_state=strategy.seed,
        n_features=len(schema.columns),
        categorical_indices=tuple(range(n_categorical)),
    )
    model_c, resampler_c = component[MODEL], component["resampler"]
    impute = not (model_c.tag("handles_nan") and resampler_c.tag("handles_nan"))
    steps: list[tuple[str, Any]] = [("preprocess", _preprocessor(schema, impute_numeric=impute))]
    resampler = _configured(resampler_c, context, strategy.params_for("resampler"))
    if resampler is not None:
        steps.append(("resample", AdaptiveSampler(resampler)))
    if n_categorical and model_c.tag("needs_one_hot"):
        steps.append(("encode", _one_hot(n_categorical)))
    steps.append(("model", _model(strategy, component, context)))
    return WeightedPipeline(steps)


def _check_buildable(strategy: Strategy, schema: FeatureSchema) -> None:
    problems = incompatibilities(
        {slot.name: strategy.key(slot.name) for slot in all_slots()}, has_categorical=bool(schema.categorical)
    )
    problems += [
        f"slot {slot.name!r} has no build step yet, so only its neutral choice {slot.neutral!r} can be built; "
        f"got {strategy.key(slot.name)!r}."
        for slot in all_slots()
        if slot.name not in _BUILT_SLOTS and strategy.key(slot.name) != slot.neutral
    ]
    if problems:
        raise StrategyError("Strategy cannot be built: " + " ".join(problems))


def _model(strategy: Strategy, component: Mapping[str, Component[Any]], context: BuildContext) -> Any:
    objective = _configured(component["objective"], context, strategy.params_for("objective"))
    if objective is None:
        model = _configured(component[MODEL], context, strategy.params_for(MODEL))
    else:
        booster = component[MODEL].tag("margin_factory")(context)
        booster.set_params(**strategy.params_for(MODEL))
        model = objective.set_params(estimator=booster)
    weighting = _configured(component["weighting"], context, strategy.params_for("weighting"))
    return model if weighting is None else WeightedClassifier(estimator=model, weighting=weighting)


@dataclass(frozen=True)
class Bagging:
    """The search's CV split, for deploying its fold models
    (:class:`~strategy_search.estimators.decision.bagged.FoldBaggedClassifier`): ``folds``
    folds (fewer when the smallest class is smaller), ``repeats`` times, ``seed``; ``split``
    says how (stratified, or group: the fold models' ``fit`` takes ``groups=``)."""

    folds: int
    repeats: int
    seed: int
    split: str = "stratified"

    def to_dict(self) -> dict[str, Any]:
        plain: dict[str, Any] = {"folds": self.folds, "repeats": self.repeats, "seed": self.seed}
        if self.split != "stratified":  # an export made before grouped splits has no such key
            plain["split"] = self.split
        return plain

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bagging:
        return cls(int(data["folds"]), int(data["repeats"]), int(data["seed"]), str(data.get("split", "stratified")))

    @classmethod
    def of(cls, bag: FoldBaggedClassifier) -> Bagging:
        return cls(bag.n_splits, bag.n_repeats, bag.random_state, bag.split)

    def bag(self, pipeline: Any) -> FoldBaggedClassifier:
        return FoldBaggedClassifier(
            pipeline, n_splits=self.folds, n_repeats=self.repeats, random_state=self.seed, split=self.split
        )


def build_classifier(
    strategy: Strategy | Ensemble,
    schema: FeatureSchema,
    *,
    positive_label: Any = 1,
    task: Task | None = None,
    bagging: Bagging | None = None,
    calibration: Mapping[str, Any] | None = None,
) -> ThresholdedClassifier | ClassWeightedClassifier:
    """The deployable form: fit on the user's labels, predict with the strategy's threshold
    (a multi-class ``task``: its per-class weights). With ``bagging``, the model is the average
    of the search's fold models (refitted on the same splits); without, one model fitted on all
    rows. ``calibration`` (:meth:`strategy_search.calibration.Calibration.to_attr`) maps the
    scores to the probabilities ``predict_proba`` reports; the decision stays on the scores."""
    pipeline = build_pipeline(strategy, schema)
    probability_map = None if calibration is None else dict(calibration)
    if bagging is not None:
        pipeline = bagging.bag(pipeline)
    if task is not None and task.multiclass:
        weights = strategy.threshold if isinstance(strategy.threshold, tuple) else None
        return ClassWeightedClassifier(pipeline, class_weights=weights, calibration=probability_map)
    if isinstance(strategy.threshold, tuple):
        raise StrategyError(
            f"A two-class model needs one threshold; the strategy has per-class weights {list(strategy.threshold)}."
        )
    return ThresholdedClassifier(
        pipeline, threshold=strategy.threshold, positive_label=positive_label, calibration=probability_map
    )
