"""The engine's own estimators pass scikit-learn's estimator checks, and its samplers
imbalanced-learn's sampler checks: they behave like any estimator a user would put in a pipeline."""

from __future__ import annotations

from conftest import without_extra
from imblearn.over_sampling import RandomOverSampler
from imblearn.utils.estimator_checks import parametrize_with_checks as parametrize_with_sampler_checks
from lightgbm import LGBMRegressor
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from strategy_search.estimators.adaptive import AdaptiveSampler
from strategy_search.estimators.anomaly import AnomalyDetectorClassifier
from strategy_search.estimators.centred import CentredFloat32
from strategy_search.estimators.cgan import ConditionalGANOverSampler
from strategy_search.estimators.ensemble import AveragedClassifier
from strategy_search.estimators.focal import FocalLossClassifier
from strategy_search.estimators.gmm import GaussianMixtureOverSampler
from strategy_search.estimators.noise import GaussianNoiseOverSampler
from strategy_search.estimators.one_hot import OneHotCodes
from strategy_search.estimators.self_paced import BalanceCascadeClassifier, SelfPacedEnsembleClassifier
from strategy_search.estimators.thresholded import ClassWeightedClassifier, ThresholdedClassifier
from strategy_search.estimators.torch_mlp import TorchMLPClassifier
from strategy_search.estimators.weighting import EffectiveNumberWeighting, WeightedClassifier

# Tiny boosters: the checks fit on a handful of rows (LightGBM's defaults need more to bin).
_BOOSTER = LGBMRegressor(n_estimators=5, min_child_samples=1, min_data_in_bin=1, verbose=-1)


def _expected_failures(estimator):
    if isinstance(estimator, FocalLossClassifier):
        reason = (
            "histogram bins and min_child_samples count rows, not weights, so a weight of 2 is not "
            "two copies of a row (LightGBM's own estimators are listed for this check too)"
        )
        return {
            "check_sample_weight_equivalence_on_dense_data": reason,
            "check_sample_weight_equivalence_on_sparse_data": reason,
        }
    if isinstance(estimator, TorchMLPClassifier):
        reason = (
            "mini-batches and the early-stopping split are drawn over rows, so a row of weight 2 is not "
            "two copies of it (the loss itself is weighted exactly)"
        )
        return {
            "check_sample_weight_equivalence_on_dense_data": reason,
            "check_sample_weight_equivalence_on_sparse_data": reason,
        }
    if isinstance(estimator, AnomalyDetectorClassifier):
        # It learns one class's rows only (the rare class is what looks unlike them); the check
        # asks for 83 % accuracy on balanced blobs, which only a discriminative model reaches.
        return {"check_classifiers_train": "an anomaly detector is not trained to separate balanced classes"}
    if isinstance(estimator, ThresholdedClassifier) and estimator.threshold != 0.5:
        # Its purpose: predict() applies the tuned threshold, not the most probable class.
        return {"check_classifiers_train": "predict() is not argmax(predict_proba) away from threshold 0.5"}
    return {}


@parametrize_with_checks(
    [
        AveragedClassifier([LogisticRegression(), LogisticRegression(C=0.1)], weights=[2, 1]),
        ThresholdedClassifier(LogisticRegression(), threshold=0.3),
        ClassWeightedClassifier(LogisticRegression()),
        WeightedClassifier(LogisticRegression(), EffectiveNumberWeighting(beta=0.9)),
        FocalLossClassifier(_BOOSTER),
        SelfPacedEnsembleClassifier(n_estimators=5, random_state=0),
        BalanceCascadeClassifier(n_estimators=5, random_state=0),
        AnomalyDetectorClassifier(IsolationForest(n_estimators=10), random_state=0),
        OneHotCodes(n_categorical=1),
        CentredFloat32(),
        *([] if without_extra("deep") else [TorchMLPClassifier(learning_rate=0.01, max_epochs=40, random_state=0)]),
    ],
    expected_failed_checks=_expected_failures,
)
def test_estimator_passes_scikit_learn_checks(estimator, check):
    check(estimator)


@parametrize_with_sampler_checks(
    [
        GaussianNoiseOverSampler(random_state=0),
        GaussianMixtureOverSampler(random_state=0),
        AdaptiveSampler(RandomOverSampler(random_state=0)),
        *([] if without_extra("deep") else [ConditionalGANOverSampler(n_steps=20, random_state=0)]),
    ]
)
def test_sampler_passes_imbalanced_learn_checks(estimator, check):
    check(estimator)
