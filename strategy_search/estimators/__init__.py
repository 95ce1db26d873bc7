"""Small scikit-learn / imbalanced-learn compatible estimators the strategies are built from."""

from strategy_search.estimators.focal import FocalLossClassifier, focal_grad_hess, focal_loss
from strategy_search.estimators.noise import GaussianNoiseOverSampler
from strategy_search.estimators.thresholded import ThresholdedClassifier
from strategy_search.estimators.weighting import (
    BalancedWeighting,
    CustomWeighting,
    EffectiveNumberWeighting,
    WeightedClassifier,
)

__all__ = [
    "BalancedWeighting",
    "CustomWeighting",
    "EffectiveNumberWeighting",
    "FocalLossClassifier",
    "GaussianNoiseOverSampler",
    "ThresholdedClassifier",
    "WeightedClassifier",
    "focal_grad_hess",
    "focal_loss",
]
