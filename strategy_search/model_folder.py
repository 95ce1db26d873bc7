"""An export folder's own files, without MLflow: the strategy file, the classifier's checksum,
and scoring a frame with a loaded classifier.

:mod:`strategy_search.mlflow_model` reads and writes the MLflow part of the folder and
:mod:`strategy_search.export` writes whole folders; both build on this module, never the
other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from strategy_search.data import FeatureSchema
from strategy_search.errors import ExportError, UntrustedModelError
from strategy_search.estimators.decision.thresholded import ClassWeightedClassifier

STRATEGY_FILE = "strategy.yaml"


def score_column(label: Any) -> str:
    """The output column of a multi-class model's probability of class ``label``."""
    return f"score_{label}"


def score_frame(classifier: Any, X: pd.DataFrame) -> pd.DataFrame:
    """``score`` (positive-class probability, calibrated when the classifier is) and
    ``prediction`` (label at the classifier's threshold, on the scores it was chosen on) for
    each row of ``X``, on ``X``'s index. A multi-class model gives one ``score_<class>`` column
    per class and ``prediction``, the class with the largest weighted probability."""
    probabilities, labels = classifier.proba_and_labels(X)
    if isinstance(classifier, ClassWeightedClassifier):
        columns = {score_column(c): probabilities[:, i] for i, c in enumerate(classifier.classes_)}
        return pd.DataFrame({**columns, "prediction": labels}, index=X.index)
    return pd.DataFrame({"score": np.asarray(probabilities[:, 1], dtype=float), "prediction": labels}, index=X.index)


def read_strategy_file(model_dir: Path) -> dict[str, Any]:
    path = Path(model_dir) / STRATEGY_FILE
    if not path.is_file():
        raise ExportError(
            f"{model_dir} is not a strategy-search export folder: {STRATEGY_FILE} is missing; "
            "create one with `strategy-search export CONFIG`."
        )
    return yaml.safe_load(path.read_text())


def recorded_sha256(model_dir: Path, meta: Mapping[str, Any] | None = None) -> str:
    """The classifier checksum the export recorded in ``strategy.yaml``; a folder without one
    is refused (:class:`~strategy_search.errors.UntrustedModelError`)."""
    meta = read_strategy_file(model_dir) if meta is None else meta
    recorded = (meta.get("model_file") or {}).get("sha256")
    if not recorded:
        raise UntrustedModelError(
            f"{model_dir}/{STRATEGY_FILE} records no model checksum (model_file.sha256): it was not "
            "written by this version's export, or was edited. Export the model again from its search."
        )
    return str(recorded)


def expected_columns(meta: Mapping[str, Any]) -> list[str]:
    """The input columns an exported model needs, from its parsed ``strategy.yaml``."""
    return list(FeatureSchema.from_dict(meta["schema"]).columns)
