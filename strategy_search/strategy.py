"""A Strategy is plain data; :func:`build_pipeline` is the only place estimators are made."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd
from imblearn.pipeline import Pipeline
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from strategy_search.compat import incompatibilities
from strategy_search.components import BuildContext
from strategy_search.components.models import MODELS
from strategy_search.components.objectives import OBJECTIVES
from strategy_search.components.resamplers import RESAMPLERS
from strategy_search.components.weightings import WEIGHTINGS
from strategy_search.data import FeatureSchema, plain
from strategy_search.estimators.adaptive import AdaptiveSampler
from strategy_search.estimators.ensemble import AveragedClassifier
from strategy_search.estimators.thresholded import ThresholdedClassifier
from strategy_search.estimators.weighting import WeightedClassifier

SLOTS = ("model", "resampler", "weighting", "objective")
MISSING_CATEGORY = "__missing__"
# Beyond this many levels the rarest levels of a categorical column share one code.
MAX_CATEGORY_LEVELS = 64


@dataclass(frozen=True)
class Strategy:
    """Component keys, their parameters and the decision threshold: everything needed to rebuild
    the scored pipeline. Parameter dicts hold sklearn ``set_params`` names of each component."""

    model: str
    resampler: str = "none"
    weighting: str = "none"
    objective: str = "logloss"
    model_params: dict[str, Any] = field(default_factory=dict)
    resampler_params: dict[str, Any] = field(default_factory=dict)
    weighting_params: dict[str, Any] = field(default_factory=dict)
    objective_params: dict[str, Any] = field(default_factory=dict)
    threshold: float = 0.5
    seed: int = 0

    def params_for(self, slot: str) -> dict[str, Any]:
        return getattr(self, f"{slot}_params")

    def with_threshold(self, threshold: float) -> Strategy:
        return replace(self, threshold=float(threshold))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Strategy:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown strategy fields {unknown}; allowed: {sorted(known)}.")
        return cls(**data)

    def flat_params(self) -> dict[str, Any]:
        """Namespaced parameters as in a search space (``model.lightgbm.n_estimators``)."""
        flat: dict[str, Any] = {}
        for slot in SLOTS:
            key = getattr(self, slot)
            flat[slot] = key
            for name, value in self.params_for(slot).items():
                flat[f"{slot}.{key}.{name}"] = value
        return flat

    def describe(self) -> str:
        parts = [self.model]
        if self.objective != "logloss":
            parts.append(f"{self.objective} loss")
        if self.resampler != "none":
            parts.append(self.resampler)
        if self.weighting != "none":
            parts.append(f"{self.weighting} weights")
        return " + ".join(parts)


@dataclass(frozen=True)
class Ensemble:
    """Several scored strategies whose probabilities are averaged with ``weights``, plus the
    ensemble's own decision threshold. Plain data like :class:`Strategy`."""

    members: tuple[Strategy, ...]
    weights: tuple[float, ...]
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if not self.members or len(self.weights) != len(self.members):
            raise ValueError(
                f"An ensemble needs one weight per member and at least one member; got "
                f"{len(self.members)} members and {len(self.weights)} weights."
            )

    @property
    def shares(self) -> tuple[float, ...]:
        """Each member's weight as a share of the total (they sum to 1)."""
        total = sum(self.weights)
        return tuple(w / total for w in self.weights)

    def with_threshold(self, threshold: float) -> Ensemble:
        return replace(self, threshold=float(threshold))

    def to_dict(self) -> dict[str, Any]:
        return {
            "members": [m.to_dict() for m in self.members],
            "weights": [float(w) for w in self.weights],
            "threshold": float(self.threshold),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ensemble:
        unknown = sorted(set(data) - {"members", "weights", "threshold"})
        if unknown:
            raise ValueError(f"Unknown ensemble fields {unknown}; allowed: ['members', 'threshold', 'weights'].")
        members = tuple(Strategy.from_dict(m) for m in data["members"])
        return cls(members, tuple(float(w) for w in data["weights"]), float(data.get("threshold", 0.5)))

    def describe(self) -> str:
        parts = [f"{share:.2f} x {m.describe()}" for m, share in zip(self.members, self.shares)]
        return f"ensemble of {len(self.members)}: " + "; ".join(parts)


def strategy_from_dict(data: dict[str, Any]) -> Strategy | Ensemble:
    """A :class:`Strategy` or :class:`Ensemble` from its ``to_dict()`` form."""
    return Ensemble.from_dict(data) if "members" in data else Strategy.from_dict(data)


def _as_text(frame: Any) -> Any:
    # Mixed-type object columns (numbers and strings) cannot be ordinal-encoded as they are.
    return pd.DataFrame(frame).astype(str)


def _preprocessor(schema: FeatureSchema, *, impute_numeric: bool) -> ColumnTransformer:
    # Scaling for every model: distance-based samplers (SMOTE, ENN, NearMiss) need it and trees
    # are indifferent. StandardScaler passes NaN through when imputation is skipped.
    numeric_steps = [StandardScaler()]
    if impute_numeric:
        numeric_steps.insert(0, SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY, keep_empty_features=True),
        FunctionTransformer(_as_text, feature_names_out="one-to-one"),
        OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            max_categories=MAX_CATEGORY_LEVELS,
            dtype=np.float64,
        ),
    )
    # Categorical codes come first so samplers can be told their column indices up front.
    return ColumnTransformer(
        [("categorical", categorical, list(schema.categorical)), ("numeric", make_pipeline(*numeric_steps), list(schema.numeric))],
        remainder="drop",
        sparse_threshold=0.0,
    )


def _one_hot(n_categorical: int) -> ColumnTransformer:
    return ColumnTransformer(
        [("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(range(n_categorical)))],
        remainder="passthrough",
        sparse_threshold=0.0,
    )


def _configured(component: Any, context: BuildContext, params: dict[str, Any]) -> Any:
    built = component.factory(context)
    if built is not None and params:
        built.set_params(**params)
    return built


def build_pipeline(strategy: Strategy | Ensemble, schema: FeatureSchema) -> Any:
    """Preprocessing -> resampler -> model, for labels coded 0/1 (1 = positive); for an
    :class:`Ensemble`, one such pipeline per member, probabilities averaged.

    An imbalanced-learn Pipeline applies the resampler in ``fit`` only, so validation and
    prediction rows are never resampled.
    """
    if isinstance(strategy, Ensemble):
        members = [build_pipeline(member, schema) for member in strategy.members]
        return AveragedClassifier(members, weights=list(strategy.weights))
    problems = incompatibilities(
        model=strategy.model,
        resampler=strategy.resampler,
        weighting=strategy.weighting,
        objective=strategy.objective,
        has_categorical=bool(schema.categorical),
    )
    if problems:
        raise ValueError("Strategy cannot be built: " + " ".join(problems))
    model_c, resampler_c = MODELS.get(strategy.model), RESAMPLERS.get(strategy.resampler)
    n_categorical = len(schema.categorical)
    context = BuildContext(
        random_state=strategy.seed,
        n_features=len(schema.columns),
        categorical_indices=tuple(range(n_categorical)),
    )
    impute = not (model_c.tag("handles_nan") and resampler_c.tag("handles_nan"))
    steps: list[tuple[str, Any]] = [("preprocess", _preprocessor(schema, impute_numeric=impute))]
    resampler = _configured(resampler_c, context, strategy.resampler_params)
    if resampler is not None:
        steps.append(("resample", AdaptiveSampler(resampler)))
    if n_categorical and model_c.tag("needs_one_hot"):
        steps.append(("encode", _one_hot(n_categorical)))
    steps.append(("model", _model(strategy, model_c, context)))
    return Pipeline(steps)


def _model(strategy: Strategy, model_c: Any, context: BuildContext) -> Any:
    objective = _configured(OBJECTIVES.get(strategy.objective), context, strategy.objective_params)
    if objective is None:
        model = _configured(model_c, context, strategy.model_params)
    else:
        booster = model_c.tag("margin_factory")(context)
        booster.set_params(**strategy.model_params)
        model = objective.set_params(estimator=booster)
    weighting = _configured(WEIGHTINGS.get(strategy.weighting), context, strategy.weighting_params)
    return model if weighting is None else WeightedClassifier(estimator=model, weighting=weighting)


def build_classifier(strategy: Strategy | Ensemble, schema: FeatureSchema, *, positive_label: Any = 1) -> ThresholdedClassifier:
    """The deployable form: fit on the user's labels, predict with the strategy's threshold."""
    return ThresholdedClassifier(
        build_pipeline(strategy, schema), threshold=strategy.threshold, positive_label=positive_label
    )
