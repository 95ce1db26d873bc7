"""The fitted classifier on disk, in skops format, loaded only through an allowlist held here.

Pickle runs whatever code a file names while it loads. skops instead lists the types a file
would create; :func:`read_classifier` refuses the file unless every one of them is on
:data:`TRUSTED_TYPES`, which lives in this module and never comes from the file itself. On
top, the export records the file's SHA-256 in ``strategy.yaml`` and :func:`read_classifier`
compares it. That catches a file damaged or replaced on its own; someone who can write the
folder can rewrite the checksum too, so against tampering the allowlist is the defence.

Adding a component that creates a new type means adding that type's name here; the
conformance suite (``tests/test_components.py``) saves every registered component and fails
with the names to add.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import skops.io as sio

from strategy_search.errors import ExportError, UntrustedModelError

__all__ = ["TRUSTED_TYPES", "UntrustedModelError", "read_classifier", "write_classifier"]

# Types beyond skops' own defaults (plain sklearn estimators, numpy arrays, builtins) that the
# engine's pipelines contain. Exact names: a prefix rule would also admit helpers that run code.
TRUSTED_TYPES: tuple[str, ...] = (
    "collections.OrderedDict",
    "imblearn.combine._smote_enn.SMOTEENN",
    "imblearn.combine._smote_tomek.SMOTETomek",
    "imblearn.ensemble._easy_ensemble.EasyEnsembleClassifier",
    "imblearn.ensemble._forest.BalancedRandomForestClassifier",
    "imblearn.ensemble._weight_boosting.RUSBoostClassifier",
    "imblearn.over_sampling._adasyn.ADASYN",
    "imblearn.over_sampling._random_over_sampler.RandomOverSampler",
    "imblearn.over_sampling._smote.base.SMOTE",
    "imblearn.over_sampling._smote.base.SMOTEN",
    "imblearn.over_sampling._smote.base.SMOTENC",
    "imblearn.over_sampling._smote.cluster.KMeansSMOTE",
    "imblearn.over_sampling._smote.filter.BorderlineSMOTE",
    "imblearn.over_sampling._smote.filter.SVMSMOTE",
    "imblearn.pipeline.Pipeline",
    "imblearn.under_sampling._prototype_selection._edited_nearest_neighbours.EditedNearestNeighbours",
    "imblearn.under_sampling._prototype_selection._nearmiss.NearMiss",
    "imblearn.under_sampling._prototype_selection._random_under_sampler.RandomUnderSampler",
    "imblearn.under_sampling._prototype_selection._tomek_links.TomekLinks",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "numpy.dtype",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.tree._tree.Tree",
    "strategy_search.estimators.adaptive.AdaptiveSampler",
    "strategy_search.estimators.adaptive.TargetRatio",
    "strategy_search.estimators.ensemble.AveragedClassifier",
    "strategy_search.estimators.one_hot.OneHotCodes",
    "strategy_search.estimators.cgan.ConditionalGANOverSampler",
    "strategy_search.estimators.anomaly.AnomalyDetectorClassifier",
    "strategy_search.estimators.centred.CentredFloat32",
    "strategy_search.estimators.focal.FocalLossClassifier",
    "strategy_search.estimators.focal._FocalObjective",
    "strategy_search.estimators.focal._SoftmaxFocalObjective",
    "strategy_search.estimators.gmm.GaussianMixtureOverSampler",
    "strategy_search.estimators.noise.GaussianNoiseOverSampler",
    "strategy_search.estimators.self_paced.BalanceCascadeClassifier",
    "strategy_search.estimators.self_paced.SelfPacedEnsembleClassifier",
    "strategy_search.estimators.smote_nc.ChunkedSMOTENC",
    "strategy_search.estimators.thresholded.ClassWeightedClassifier",
    "strategy_search.estimators.thresholded.ThresholdedClassifier",
    "strategy_search.estimators.torch_mlp.TorchMLPClassifier",
    "strategy_search.estimators.weighting.BalancedWeighting",
    "strategy_search.estimators.weighting.CustomWeighting",
    "strategy_search.estimators.weighting.EffectiveNumberWeighting",
    "strategy_search.estimators.weighting.WeightedClassifier",
    "strategy_search.strategy._as_text",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
)


def untrusted_types(data: bytes) -> list[str]:
    """Types in a skops payload that neither skops' defaults nor :data:`TRUSTED_TYPES` cover."""
    trusted = set(TRUSTED_TYPES)
    return sorted(t for t in sio.get_untrusted_types(data=data) if t not in trusted)


def sha256_of(path: Path) -> str:
    return _sha256(Path(path).read_bytes())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_classifier(classifier: Any, path: Path) -> str:
    """Save ``classifier`` at ``path``; returns the file's SHA-256.

    Refuses (``ValueError``) a classifier holding a type off the allowlist, so such a model
    fails at export rather than when someone tries to load it."""
    data = sio.dumps(classifier)
    unknown = untrusted_types(data)
    if unknown:
        raise ExportError(
            f"The fitted classifier holds types that the safe model format does not allow: {unknown}. "
            "If a new component brought them, add them to strategy_search.safe_model.TRUSTED_TYPES."
        )
    Path(path).write_bytes(data)
    return _sha256(data)


def read_classifier(path: Path, *, expected_sha256: str | None) -> Any:
    """Load a classifier written by :func:`write_classifier`.

    ``expected_sha256`` is the checksum recorded at export (``None`` skips that check, for
    model folders written without one, such as MLflow's own copy of the artifact)."""
    path = Path(path)
    data = path.read_bytes()
    if expected_sha256 is not None and _sha256(data) != expected_sha256:
        raise UntrustedModelError(
            f"{path} was changed after export: its SHA-256 does not match the one recorded in "
            "strategy.yaml. Refusing to load it; export the model again from its search."
        )
    try:
        unknown = untrusted_types(data)
    except Exception as error:  # skops raises assorted errors on files it cannot parse
        raise UntrustedModelError(f"{path} is not a readable strategy-search model file ({error}).") from error
    if unknown:
        raise UntrustedModelError(
            f"{path} names types that strategy-search does not trust: {unknown}. Refusing to load "
            "it: a model file can only hold the engine's own pipeline types. Export the model again "
            "from its search."
        )
    return sio.loads(data, trusted=list(TRUSTED_TYPES))
