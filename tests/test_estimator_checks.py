"""The engine's own estimators pass scikit-learn's estimator checks, and its samplers
imbalanced-learn's sampler checks: they behave like any estimator a user would put in a pipeline.
Which estimators, and with what settings, comes from ``conformance`` (the registries and the
``strategy_search.estimators`` sub-packages), never from a list here."""

from __future__ import annotations

from typing import Any

import conformance
import pytest
from imblearn.utils.estimator_checks import check_param_validation as check_sampler_param_validation
from imblearn.utils.estimator_checks import parametrize_with_checks as parametrize_with_sampler_checks
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from strategy_search.estimators.classifiers.anomaly import AnomalyDetectorClassifier
from strategy_search.estimators.classifiers.focal import FocalLossClassifier
from strategy_search.estimators.classifiers.torch_mlp import TorchMLPClassifier
from strategy_search.estimators.decision.bagged import FoldBaggedClassifier
from strategy_search.estimators.decision.thresholded import ThresholdedClassifier
from strategy_search.estimators.pipeline import WeightedPipeline
from strategy_search.estimators.samplers.smote_nc import ChunkedSMOTENC


def _expected_failures(estimator: Any) -> dict[str, str]:
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
    if isinstance(estimator, FoldBaggedClassifier):
        reason = "its folds are drawn over rows, so a row of weight 2 is not two copies of it (each fold's fit is)"
        return {
            "check_sample_weight_equivalence_on_dense_data": reason,
            "check_sample_weight_equivalence_on_sparse_data": reason,
        }
    if isinstance(estimator, WeightedPipeline):
        in_place = "a pipeline fits the steps it was given (scikit-learn's and imbalanced-learn's Pipeline do too)"
        counts = "its resampler balances row counts, so a row of weight 2 is not two copies of it"
        return {
            "check_estimators_overwrite_params": in_place,
            "check_dont_overwrite_parameters": in_place,
            "check_sample_weight_equivalence_on_dense_data": counts,
            "check_sample_weight_equivalence_on_sparse_data": counts,
            "check_supervised_y_2d": "the steps get y as it is given, as in imbalanced-learn's Pipeline",
        }
    if isinstance(estimator, ChunkedSMOTENC):
        # As upstream's SMOTE-NC (imbalanced-learn leaves it out of its own checks); the search
        # builds SMOTE-N for a table with no numeric column.
        return {"check_samplers_string": "SMOTE-NC needs a numeric column; the check's table is text only"}
    return {}


@parametrize_with_checks(conformance.our_estimators(samplers=False), expected_failed_checks=_expected_failures)
def test_estimator_passes_scikit_learn_checks(estimator, check):
    check(estimator)


@parametrize_with_sampler_checks(conformance.our_estimators(samplers=True), expected_failed_checks=_expected_failures)
def test_sampler_passes_imbalanced_learn_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator_class, reason", conformance.estimators_missing_an_extra())
def test_an_estimator_needing_a_missing_extra_is_checked_where_it_is_installed(estimator_class, reason):
    pytest.skip(f"{estimator_class.__name__}: {reason}")


@pytest.mark.parametrize("estimator", conformance.every_estimator())
def test_every_parameter_has_a_constraint_checked_when_fitting(estimator):
    """One way to check parameters: each is in ``_parameter_constraints`` and a value it does
    not allow is refused, naming it, before anything is fitted."""
    name = type(estimator).__name__
    if hasattr(estimator, "fit_resample"):
        check_sampler_param_validation(name, estimator)
    elif hasattr(estimator, "fit"):
        check_param_validation(name, estimator)
    else:  # a class weighting: its sample_weight is its fit
        assert set(estimator._parameter_constraints) == set(estimator.get_params()), name
        for param in estimator.get_params():
            with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of {name} must be"):
                clone(estimator).set_params(**{param: object()}).sample_weight([0, 1, 1])
