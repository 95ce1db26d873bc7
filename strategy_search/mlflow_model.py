"""The MLflow pyfunc model format of an export folder: the only module that imports MLflow for
models (:mod:`strategy_search.tracking` imports it for runs).

Loading it is what ``mlflow.pyfunc.load_model`` does through the folder's model code, which
names :class:`ClassifierModel`; folders exported before this module existed name it as
``strategy_search.tracking.ClassifierModel``, which stays importable from there.
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.models import Model, infer_signature
from mlflow.pyfunc import PythonModel, save_model

from strategy_search.errors import ExportError
from strategy_search.model_folder import recorded_sha256, score_frame
from strategy_search.safe_model import read_classifier, write_classifier

CLASSIFIER_ARTIFACT = "classifier"
CLASSIFIER_FILE = "classifier.skops"
# Pinned so saving skips MLflow's requirement inference, which re-loads the model in a
# subprocess (seconds). strategy-search itself is listed too: the pipeline is made of its classes,
# so an environment MLflow builds for the model (``mlflow models serve``) needs it installable.
_REQUIREMENTS = (
    "strategy-search",
    "mlflow",
    "skops",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "imbalanced-learn",
    "lightgbm",
    "xgboost",
)


class ClassifierModel(PythonModel):
    """pyfunc wrapper: ``predict`` returns ``score`` (positive-class probability) and
    ``prediction`` (label at the tuned threshold) for each input row; a multi-class model
    returns ``score_<class>`` per class and ``prediction`` (see ``model_folder.score_frame``)."""

    def load_context(self, context: Any) -> None:
        artifact = Path(context.artifacts[CLASSIFIER_ARTIFACT])
        # The artifact sits at <model>/artifacts/<file>; the export's checksum is at <model>.
        self.classifier = read_classifier(artifact, expected_sha256=recorded_sha256(artifact.parent.parent))

    # MLflow reads this type hint: a DataFrame hint means "validate against the saved
    # signature" (Any or no hint makes it warn at import).
    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return score_frame(self.classifier, pd.DataFrame(model_input))


# "Models from code": the model folder gets this script instead of a pickled wrapper object,
# so only the classifier itself is serialised.
_MODEL_CODE = """\
import mlflow.models

from strategy_search.mlflow_model import ClassifierModel

mlflow.models.set_model(ClassifierModel())
"""


def _pip_requirements() -> list[str]:
    pinned = []
    for name in _REQUIREMENTS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            pinned.append(f"{name}=={metadata.version(name)}")
    return pinned


def save_mlflow_model(
    classifier: Any, path: Path, *, input_example: pd.DataFrame, signature_data: pd.DataFrame | None = None
) -> dict[str, str]:
    """Write a fitted classifier as an MLflow pyfunc model folder at ``path`` (which must not
    exist): ``MLmodel``, a signature inferred from the input and the classifier's output, the
    input example, the wrapper's code and the classifier (skops format) under ``artifacts/``.
    Returns the classifier file's ``path`` (relative to the folder) and ``sha256``.

    ``signature_data`` (default: the example) is the table the input schema is inferred from;
    pass the training features so every column that had missing values is marked optional.
    """
    example = input_example
    with tempfile.TemporaryDirectory() as scratch:
        saved, code = Path(scratch) / CLASSIFIER_FILE, Path(scratch) / "model_code.py"
        sha256 = write_classifier(classifier, saved)
        code.write_text(_MODEL_CODE)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow's hint about the integer label output
            schema_source = example if signature_data is None else signature_data
            signature = infer_signature(schema_source, score_frame(classifier, example))
            save_model(
                str(path),
                python_model=str(code),
                artifacts={CLASSIFIER_ARTIFACT: str(saved)},
                signature=signature,
                input_example=example,
                pip_requirements=_pip_requirements(),
            )
    return {"path": _classifier_file(Path(path)).relative_to(Path(path).resolve()).as_posix(), "sha256": sha256}


def _classifier_file(model_dir: Path) -> Path:
    if not (model_dir / "MLmodel").is_file():
        raise ExportError(f"{model_dir} is not an MLflow model folder: MLmodel is missing.")
    spec = Model.load(str(model_dir / "MLmodel"))
    entry = spec.flavors.get("python_function", {}).get("artifacts", {}).get(CLASSIFIER_ARTIFACT)
    if entry is None:
        raise ExportError(f"{model_dir} is not a strategy-search MLflow model (no {CLASSIFIER_ARTIFACT!r} artifact).")
    file = (model_dir / entry["path"]).resolve()
    if not file.is_relative_to(model_dir.resolve()):
        raise ExportError(f"{model_dir}/MLmodel points its classifier outside the folder ({entry['path']!r}).")
    return file


def load_mlflow_model(path: Path, *, expected_sha256: str | None) -> Any:
    """The fitted classifier inside an MLflow model folder written by :func:`save_mlflow_model`,
    checked against the allowlist and, when given, the checksum recorded at export.

    Read straight from the folder (no pyfunc environment checks, no model code run): the caller
    wants the sklearn object, not the pyfunc wrapper."""
    return read_classifier(_classifier_file(Path(path)), expected_sha256=expected_sha256)
