"""The fitted classifier on disk, in skops format, loaded only through an allowlist held here.

Pickle runs whatever code a file names while it loads. skops instead lists the types a file
would create; :func:`read_classifier` refuses the file unless every one of them is on
:data:`TRUSTED_TYPES`, which lives in this module and never comes from the file itself. On
top, the export records the file's SHA-256 in ``strategy.yaml`` and :func:`read_classifier`
compares it. That catches a file damaged or replaced on its own; someone who can write the
folder can rewrite the checksum too, so against tampering the allowlist is the defence.

Adding a component that creates a new type means adding that type's name here; the
conformance suite (``tests/test_components.py``) saves every registered component and fails
with the names to add. Moving one of the engine's own types to another module means adding
its old module to :data:`MOVED_MODULES`, so that files written before the move still load.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import skops.io as sio

from strategy_search.errors import ExportError, UntrustedModelError

__all__ = ["MOVED_MODULES", "TRUSTED_TYPES", "UntrustedModelError", "read_classifier", "write_classifier"]

# Types beyond skops' own defaults (plain sklearn estimators, numpy arrays, builtins) that the
# engine's pipelines contain. Exact names: a prefix rule would also admit helpers that run code.
TRUSTED_TYPES: tuple[str, ...] = (
    # A CatBoost model is its parameters and its own binary model format, read by CatBoost (no pickle).
    "catboost.core.CatBoostClassifier",
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
    "strategy_search.estimators.classifiers.anomaly.AnomalyDetectorClassifier",
    "strategy_search.estimators.classifiers.ensemble.AveragedClassifier",
    "strategy_search.estimators.classifiers.focal.FocalLossClassifier",
    "strategy_search.estimators.classifiers.focal._FocalObjective",
    "strategy_search.estimators.classifiers.focal._SoftmaxFocalObjective",
    "strategy_search.estimators.classifiers.self_paced.BalanceCascadeClassifier",
    "strategy_search.estimators.classifiers.self_paced.SelfPacedEnsembleClassifier",
    "strategy_search.estimators.classifiers.torch_mlp.TorchMLPClassifier",
    "strategy_search.estimators.classifiers.weighting.BalancedWeighting",
    "strategy_search.estimators.classifiers.weighting.CustomWeighting",
    "strategy_search.estimators.classifiers.weighting.EffectiveNumberWeighting",
    "strategy_search.estimators.classifiers.weighting.WeightedClassifier",
    "strategy_search.estimators.decision.bagged.FoldBaggedClassifier",
    "strategy_search.estimators.decision.thresholded.ClassWeightedClassifier",
    "strategy_search.estimators.decision.thresholded.ThresholdedClassifier",
    "strategy_search.estimators.pipeline.WeightedPipeline",
    "strategy_search.estimators.preprocessing.centred.CentredFloat32",
    "strategy_search.estimators.preprocessing.one_hot.OneHotCodes",
    "strategy_search.estimators.samplers.adaptive.AdaptiveSampler",
    "strategy_search.estimators.samplers.adaptive.TargetRatio",
    "strategy_search.estimators.samplers.cgan.ConditionalGANOverSampler",
    "strategy_search.estimators.samplers.gmm.GaussianMixtureOverSampler",
    "strategy_search.estimators.samplers.noise.GaussianNoiseOverSampler",
    "strategy_search.estimators.samplers.smote_nc.ChunkedSMOTENC",
    "strategy_search.strategy._as_text",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
)

# The modules the engine's own estimators lived in before they were grouped by kind, and where
# they are now. A skops file names every type by the module it was written from, and skops
# imports exactly that module; a file written before the move is read with these names
# replaced (before the allowlist is consulted), so old exports load with no stand-in modules
# left at the old paths and no old names on the allowlist.
MOVED_MODULES: Mapping[str, str] = MappingProxyType(
    {
        f"strategy_search.estimators.{module}": f"strategy_search.estimators.{kind}.{module}"
        for kind, modules in {
            "samplers": ("adaptive", "cgan", "gmm", "noise", "smote_nc"),
            "classifiers": ("anomaly", "ensemble", "focal", "self_paced", "torch_mlp", "weighting"),
            "decision": ("thresholded",),
            "preprocessing": ("centred", "one_hot"),
        }.items()
        for module in modules
    }
)
_SCHEMA = "schema.json"  # the skops archive's description of every object and its type


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
        data = _with_current_modules(data)
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


def _with_current_modules(data: bytes) -> bytes:
    """A skops payload with every type of a moved module (:data:`MOVED_MODULES`) named by the
    module it is in now; ``data`` itself when it names none (anything written since the move)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read(_SCHEMA))
        if not _rename_moved_modules(schema):
            return data
        renamed = io.BytesIO()
        with zipfile.ZipFile(renamed, "w") as copy:
            for entry in archive.infolist():
                copy.writestr(entry, json.dumps(schema) if entry.filename == _SCHEMA else archive.read(entry))
    return renamed.getvalue()


def _rename_moved_modules(node: Any) -> bool:
    """Rename moved modules in a skops schema, in place; whether any was renamed. Each object's
    type is a node's ``__module__`` and ``__class__``; the test for a string keeps a user's dict
    that happens to have a ``__module__`` key (stored as a node, not a string) as it is."""
    renamed = False
    if isinstance(node, dict):
        module = node.get("__module__")
        if isinstance(module, str) and module in MOVED_MODULES:
            node["__module__"] = MOVED_MODULES[module]
            renamed = True
        children: Any = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return False
    for child in children:
        renamed = _rename_moved_modules(child) or renamed
    return renamed
