"""Classifiers. Every factory pins ``n_jobs=1``: parallelism comes from scoring folds in
separate worker processes, which scales better on small tables and keeps runs reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from imblearn.ensemble import BalancedRandomForestClassifier, EasyEnsembleClassifier, RUSBoostClassifier
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    IsolationForest,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import LocalOutlierFactor
from sklearn.svm import OneClassSVM
from sklearn.tree import DecisionTreeClassifier
from xgboost import XGBClassifier, XGBRegressor

from strategy_search.components.registry import (
    BINARY_ONLY,
    NEEDS_EXTRA,
    QUADRATIC_IN_ROWS,
    BuildContext,
    Component,
    Registry,
    require_extra,
)
from strategy_search.estimators.classifiers.anomaly import AnomalyDetectorClassifier
from strategy_search.estimators.classifiers.self_paced import BalanceCascadeClassifier, SelfPacedEnsembleClassifier
from strategy_search.estimators.classifiers.torch_mlp import TorchMLPClassifier

MODELS: Registry[Any] = Registry(
    "model",
    tags={
        **BINARY_ONLY,
        **NEEDS_EXTRA,
        **QUADRATIC_IN_ROWS,
        "supports_sample_weight": "fit accepts sample_weight, so class weightings and row weights (data.weight) can "
        "be used",
        "handles_nan": "fits on NaN, so imputation may be skipped (if the resampler allows)",
        "needs_one_hot": "categorical codes are one-hot encoded for it (linear models)",
        "balances_itself": "the slots it balances classes in itself (each bootstrap is balanced), "
        "so only their do-nothing choice is offered",
        "untreated_twin": "the model this one is without its own balancing, with the same parameters (the "
        "do-nothing attribution's untreated members)",
        "margin_factory": "builds the boosting regressor that custom objectives (focal loss) train",
        "anomaly_detector": "an outlier detector fitted on the rows as they are (the minority class is the "
        "anomaly): no resampler, weighting or custom loss, and never averaged with classifiers in an ensemble",
    },
)


def _lightgbm_kwargs(c: BuildContext) -> dict[str, Any]:
    # subsample_freq=1 makes a searched `subsample` take effect; with subsample=1 it is a no-op.
    return {"random_state": c.random_state, "n_jobs": 1, "verbose": -1, "subsample_freq": 1}


def _xgboost_kwargs(c: BuildContext) -> dict[str, Any]:
    return {"random_state": c.random_state, "n_jobs": 1, "tree_method": "hist", "verbosity": 0}


def _catboost(c: BuildContext) -> Any:
    """CatBoost with every searched parameter set (its ``get_params`` lists only those given),
    one thread, seeded, silent and writing no ``catboost_info`` folder. Imported here, when
    built: CatBoost is the optional ``catboost`` extra."""
    require_extra("catboost")
    from catboost import CatBoostClassifier

    return CatBoostClassifier(
        n_estimators=300,
        learning_rate=0.1,
        depth=6,
        l2_leaf_reg=3.0,
        # Its own class weights, searched as a model parameter; "None" leaves them to the weighting slot.
        auto_class_weights="None",
        random_seed=c.random_state,
        thread_count=1,
        logging_level="Silent",
        allow_writing_files=False,
    )


def _anomaly_detector(
    key: str, detector: Callable[[], Any], max_rows: int, description: str, *, needs_one_hot: bool = False
) -> Component[Any]:
    """An outlier detector as a model: fitted on at most ``max_rows`` rows, never resampled,
    weighted or averaged with classifiers (the ``anomaly_detector`` tag)."""
    return Component(
        key,
        lambda c: AnomalyDetectorClassifier(detector(), max_rows=max_rows, random_state=c.random_state),
        description,
        {"anomaly_detector": True, "binary_only": True, "needs_one_hot": needs_one_hot},
    )


def _under_sampling_ensemble(key: str, ensemble: Callable[..., Any], description: str) -> Component[Any]:
    """A hardness-guided under-sampling ensemble of decision trees: it balances each member's
    sample itself, so no resampler or weighting is offered with it; two classes only."""
    return Component(
        key,
        lambda c: ensemble(DecisionTreeClassifier(), random_state=c.random_state),
        description,
        {"balances_itself": ("resampler", "weighting"), "binary_only": True},
    )


_ENTRIES = [
    Component(
        "logistic_regression",
        lambda c: LogisticRegression(max_iter=2000, random_state=c.random_state),
        "L2-regularised logistic regression on scaled, one-hot encoded features.",
        {"supports_sample_weight": True, "needs_one_hot": True},
    ),
    Component(
        "random_forest",
        lambda c: RandomForestClassifier(random_state=c.random_state, n_jobs=1),
        "Random forest.",
        {"supports_sample_weight": True, "handles_nan": True},
    ),
    Component(
        "extra_trees",
        lambda c: ExtraTreesClassifier(random_state=c.random_state, n_jobs=1),
        "Extremely randomised trees.",
        {"supports_sample_weight": True, "handles_nan": True},
    ),
    Component(
        "hist_gradient_boosting",
        lambda c: HistGradientBoostingClassifier(random_state=c.random_state, early_stopping=False),
        "scikit-learn histogram gradient boosting.",
        {"supports_sample_weight": True, "handles_nan": True},
    ),
    Component(
        "xgboost",
        lambda c: XGBClassifier(**_xgboost_kwargs(c)),
        "XGBoost gradient boosting (hist).",
        {
            "supports_sample_weight": True,
            "handles_nan": True,
            "margin_factory": lambda c: XGBRegressor(base_score=0.0, **_xgboost_kwargs(c)),
        },
    ),
    Component(
        "lightgbm",
        lambda c: LGBMClassifier(**_lightgbm_kwargs(c)),
        "LightGBM gradient boosting.",
        {
            "supports_sample_weight": True,
            "handles_nan": True,
            "margin_factory": lambda c: LGBMRegressor(**_lightgbm_kwargs(c)),
        },
    ),
    Component(
        "catboost",
        _catboost,
        # Categorical codes reach it as float32 numbers, like the other boosters: CatBoost's
        # cat_features take integers or strings only, so native categoricals need a wrapper.
        "CatBoost gradient boosting (symmetric trees), with its own class weights "
        "(auto_class_weights) or the weighting slot's sample weights; the `catboost` extra.",
        {"supports_sample_weight": True, "handles_nan": True, "needs_extra": "catboost"},
    ),
    Component(
        "balanced_random_forest",
        lambda c: BalancedRandomForestClassifier(
            random_state=c.random_state, n_jobs=1, sampling_strategy="all", replacement=True, bootstrap=False
        ),
        "Random forest whose trees each see a balanced bootstrap.",
        # Untreated, it is a random forest with the same parameters (the do-nothing attribution).
        {
            "balances_itself": ("resampler", "weighting"),
            "untreated_twin": "random_forest",
            "supports_sample_weight": True,
        },
    ),
    Component(
        "easy_ensemble",
        lambda c: EasyEnsembleClassifier(random_state=c.random_state, n_jobs=1),
        "Bag of AdaBoost learners on balanced bootstraps.",
        {"balances_itself": ("resampler", "weighting")},
    ),
    Component(
        "rus_boost",
        lambda c: RUSBoostClassifier(random_state=c.random_state),
        "AdaBoost with random undersampling at each round.",
        # Its stumps, fitted on a balanced sample, predict two classes at most: on a multi-class
        # table where one class dominates their error exceeds SAMME's 1 - 1/K and the fit fails.
        {"balances_itself": ("resampler", "weighting"), "binary_only": True, "supports_sample_weight": True},
    ),
    _under_sampling_ensemble(
        "self_paced_ensemble",
        SelfPacedEnsembleClassifier,
        "Self-paced ensemble (Liu et al. 2020): trees on balanced samples that favour the majority rows the "
        "ensemble finds hard, less so as it grows.",
    ),
    _anomaly_detector(
        "isolation_forest",
        IsolationForest,
        20_000,
        "Isolation forest fitted on the majority rows (or all rows): the minority as the anomaly.",
    ),
    _anomaly_detector(
        "local_outlier_factor",
        lambda: LocalOutlierFactor(novelty=True),
        10_000,
        "Local outlier factor (novelty mode) on at most 10,000 majority rows (or all rows).",
        needs_one_hot=True,
    ),
    _anomaly_detector(
        "one_class_svm",
        OneClassSVM,
        5_000,
        "One-class SVM (RBF kernel) on at most 5,000 majority rows (or all rows): a kernel SVM's cost grows "
        "with the square of its rows, so the sample bounds it.",
        needs_one_hot=True,
    ),
    _under_sampling_ensemble(
        "balance_cascade",
        BalanceCascadeClassifier,
        "Balance cascade (Liu, Wu and Zhou 2009): trees on balanced samples from a majority pool that drops "
        "the rows each tree found easiest.",
    ),
    Component(
        "torch_mlp",
        lambda c: TorchMLPClassifier(random_state=c.random_state),
        "PyTorch MLP (CPU) trained with focal, class-balanced or weighted cross-entropy loss, early stopping on "
        "an inner split; saved and predicting as NumPy arrays.",
        {"supports_sample_weight": True, "needs_one_hot": True, "needs_extra": "deep"},
    ),
]

for _entry in _ENTRIES:
    MODELS.register(_entry)
