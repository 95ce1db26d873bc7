"""Small scikit-learn / imbalanced-learn compatible estimators the strategies are built from,
one sub-package per kind:

* ``samplers``: ``fit_resample`` on the training part of a fold (the resample step);
* ``classifiers``: fitted as the model step (models, focal loss, class weighting, averaging);
* ``decision``: a fitted pipeline and the decision applied when predicting (the deployable model);
* ``preprocessing``: transformers of the preprocessing step.

``_meta`` and ``_torch`` hold what several kinds share. The names below were importable from
this package before the sub-packages existed and stay so; a new estimator need not be added.
"""

from strategy_search.estimators.classifiers.focal import FocalLossClassifier, focal_grad_hess, focal_loss
from strategy_search.estimators.classifiers.weighting import (
    BalancedWeighting,
    CustomWeighting,
    EffectiveNumberWeighting,
    WeightedClassifier,
)
from strategy_search.estimators.decision.thresholded import ThresholdedClassifier
from strategy_search.estimators.samplers.noise import GaussianNoiseOverSampler

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
