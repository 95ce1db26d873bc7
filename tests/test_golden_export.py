"""Stored contract: a model folder exported by an earlier version still loads and scores the
same. The skops allowlist names classes and functions by module path (including private ones
such as ``strategy_search.strategy._as_text``), and the folder's model code imports
``strategy_search.tracking.ClassifierModel``: moving either silently breaks every old export,
which is what this test catches."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategy_search.export import load_exported, predict_table, rebuild_classifier

GOLDEN = Path(__file__).resolve().parent / "golden"
FOLDERS = sorted(p for p in GOLDEN.iterdir() if p.is_dir() and p.name.startswith("export-"))


def _rows() -> pd.DataFrame:
    import sys

    sys.path.insert(0, str(GOLDEN))
    try:
        from make_golden_export import golden_data
    finally:
        sys.path.remove(str(GOLDEN))
    return golden_data()[0]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_an_old_export_scores_exactly_as_when_it_was_made(folder: Path, tmp_path: Path):
    expected = pd.read_csv(folder.parent / f"{folder.name}.expected.csv")
    copy = tmp_path / folder.name  # loading must not need write access to the folder
    shutil.copytree(folder, copy)
    predictions = predict_table(copy, _rows())
    np.testing.assert_allclose(predictions["score"].to_numpy(), expected["score"].to_numpy(), rtol=0, atol=1e-12)
    assert predictions["prediction"].tolist() == expected["prediction"].tolist()


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_an_old_export_loads_through_mlflow_pyfunc(folder: Path, tmp_path: Path):
    import mlflow.pyfunc

    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    expected = pd.read_csv(folder.parent / f"{folder.name}.expected.csv")
    out = mlflow.pyfunc.load_model(str(copy)).predict(_rows())
    np.testing.assert_allclose(out["score"].to_numpy(), expected["score"].to_numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_an_old_strategy_file_rebuilds_an_unfitted_classifier(folder: Path):
    _, meta = load_exported(folder)
    rows = _rows()
    labels = pd.read_csv(folder.parent / f"{folder.name}.expected.csv")["prediction"]
    refit = rebuild_classifier(meta).fit(rows, labels)
    assert refit.predict_proba(rows).shape == (len(rows), 2)


def test_moved_estimator_modules_are_read_as_where_they_are_now():
    """The golden file names the modules the estimators lived in before they were grouped by
    kind; each such module is gone and its new one exists."""
    import importlib
    import json
    import zipfile

    from strategy_search.safe_model import MOVED_MODULES

    for old, new in MOVED_MODULES.items():
        importlib.import_module(new)
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(old)
    schema = zipfile.ZipFile(GOLDEN / "export-v0.1.0" / "artifacts" / "classifier.skops").read("schema.json").decode()
    named = {module for module in MOVED_MODULES if json.dumps(module) in schema}
    assert "strategy_search.estimators.focal" in named, "the golden export no longer exercises MOVED_MODULES"
