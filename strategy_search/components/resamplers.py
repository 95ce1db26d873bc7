"""Resamplers (imbalanced-learn samplers and our own), run on training folds only."""

from __future__ import annotations

from typing import Any

from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.over_sampling import (
    ADASYN,
    SMOTE,
    SMOTEN,
    SVMSMOTE,
    BorderlineSMOTE,
    KMeansSMOTE,
    RandomOverSampler,
)
from imblearn.under_sampling import EditedNearestNeighbours, NearMiss, RandomUnderSampler, TomekLinks
from sklearn.cluster import MiniBatchKMeans

from strategy_search.components.registry import (
    BINARY_ONLY,
    NEEDS_EXTRA,
    QUADRATIC_IN_ROWS,
    BuildContext,
    Component,
    Registry,
)
from strategy_search.estimators.samplers.cgan import ConditionalGANOverSampler
from strategy_search.estimators.samplers.gmm import GaussianMixtureOverSampler
from strategy_search.estimators.samplers.noise import GaussianNoiseOverSampler
from strategy_search.estimators.samplers.smote_nc import ChunkedSMOTENC

RESAMPLERS: Registry[Any] = Registry(
    "resampler",
    tags={
        **BINARY_ONLY,
        **NEEDS_EXTRA,
        **QUADRATIC_IN_ROWS,
        # smote, smote_enn and smote_tomek switch to SMOTE-NC / SMOTE-N instead and stay available.
        "numeric_only": "interpolates between rows, so categorical codes would be corrupted; not "
        "offered when the data has categorical columns",
        "handles_nan": "accepts NaN, so imputation may be skipped before it",
    },
)


def _smote_for(context: BuildContext) -> Any:
    """Plain SMOTE, or its variant for categorical codes (SMOTE-NC mixed, SMOTE-N all nominal)."""
    if context.all_categorical:
        return SMOTEN(random_state=context.random_state)
    if context.has_categorical:
        return ChunkedSMOTENC(categorical_features=list(context.categorical_indices), random_state=context.random_state)
    return SMOTE(random_state=context.random_state)


def _kmeans_smote(context: BuildContext) -> Any:
    # A small-data friendly default: fewer, larger clusters and a permissive balance threshold;
    # with imbalanced-learn's defaults KMeans-SMOTE often finds no usable cluster.
    return KMeansSMOTE(
        kmeans_estimator=MiniBatchKMeans(n_clusters=4, n_init=3, random_state=context.random_state),
        cluster_balance_threshold=0.05,
        random_state=context.random_state,
    )


_ENTRIES = [
    Component("none", lambda c: None, "No resampling.", {"handles_nan": True}),
    Component(
        "random_over",
        lambda c: RandomOverSampler(random_state=c.random_state),
        "Duplicate random minority rows.",
        {"handles_nan": True},
    ),
    Component("smote", _smote_for, "SMOTE (SMOTE-NC / SMOTE-N with categorical columns).", {}),
    Component(
        "borderline_smote",
        lambda c: BorderlineSMOTE(random_state=c.random_state),
        "SMOTE on minority rows near the class border.",
        {"numeric_only": True},
    ),
    Component(
        "svm_smote",
        lambda c: SVMSMOTE(random_state=c.random_state),
        "SMOTE guided by an SVM's support vectors.",
        {"numeric_only": True, "quadratic_in_rows": True},
    ),
    Component(
        "adasyn",
        lambda c: ADASYN(random_state=c.random_state),
        "Adaptive synthetic sampling: more samples where the minority is hard to learn.",
        {"numeric_only": True},
    ),
    Component(
        "kmeans_smote",
        _kmeans_smote,
        "SMOTE inside k-means clusters with enough minority rows.",
        {"numeric_only": True},
    ),
    Component(
        "noise",
        lambda c: GaussianNoiseOverSampler(
            categorical_features=list(c.categorical_indices) or None, random_state=c.random_state
        ),
        "Gaussian jitter of copied minority rows (data augmentation).",
        {},
    ),
    Component(
        "gmm",
        lambda c: GaussianMixtureOverSampler(
            categorical_features=list(c.categorical_indices) or None, random_state=c.random_state
        ),
        "New minority rows drawn from a Gaussian mixture fitted to the minority rows of the training part "
        "(categorical values copied from real rows of the same mixture component).",
        {},
    ),
    Component(
        "cgan",
        lambda c: ConditionalGANOverSampler(
            categorical_features=list(c.categorical_indices) or None, random_state=c.random_state
        ),
        "New minority rows from a small conditional GAN (PyTorch) trained on the minority rows of the training "
        "part, conditioned on the class and a real row's categorical values (which the new row keeps).",
        {"needs_extra": "deep"},
    ),
    Component(
        "random_under",
        lambda c: RandomUnderSampler(random_state=c.random_state),
        "Drop random majority rows.",
        {"handles_nan": True},
    ),
    Component("tomek", lambda c: TomekLinks(), "Remove majority rows of Tomek links.", {"quadratic_in_rows": True}),
    Component(
        "enn",
        lambda c: EditedNearestNeighbours(),
        "Edited nearest neighbours: remove majority rows misclassified by their neighbours.",
        {"quadratic_in_rows": True},
    ),
    Component(
        "near_miss",
        lambda c: NearMiss(),
        "NearMiss undersampling: keep majority rows closest to the minority.",
        {},
    ),
    Component(
        "smote_enn",
        lambda c: SMOTEENN(smote=_smote_for(c), enn=EditedNearestNeighbours(), random_state=c.random_state),
        "SMOTE then ENN cleaning.",
        {"quadratic_in_rows": True},
    ),
    Component(
        "smote_tomek",
        lambda c: SMOTETomek(smote=_smote_for(c), tomek=TomekLinks(), random_state=c.random_state),
        "SMOTE then Tomek-link cleaning.",
        {"quadratic_in_rows": True},
    ),
]

for _entry in _ENTRIES:
    RESAMPLERS.register(_entry)
