"""AutoGluon as a peer in ``compare.py``, run in its own virtual environment.

AutoGluon 1.6 pins pandas < 2.4 while this project runs on pandas 3, so it cannot share the
project's environment: ``compare.py`` starts this script once with the AutoGluon environment's
Python and sends it one outer fold at a time (JSON lines on stdin: the fold's train and test
CSV files and the budget); it answers each with one JSON line (test scores and predictions,
the calibrated threshold, the best model, fit seconds, or the error). ``compare_multiclass.py``
sends multi-class folds the same way (``"problem_type": "multiclass"``, AutoGluon's default
multi-class metric, no threshold: its own ``predict``).

Settings (issue 14): ``TabularPredictor(eval_metric="average_precision")``,
``fit(presets="best_quality", time_limit=budget, dynamic_stacking=False, num_cpus=2)``, then
the F1 threshold calibrated on AutoGluon's own validation data (its out-of-fold predictions
for the bagged best-quality models), ``calibrate_decision_threshold(metric="f1")``.

Make the environment once (CPU-only torch first, so pip does not pick a CUDA build; torch
lets AutoGluon's neural network models run):

    python3.11 -m venv .venv-autogluon
    .venv-autogluon/bin/pip install torch==2.13.0
    .venv-autogluon/bin/pip install "autogluon.tabular[lightgbm,catboost,xgboost]==1.6.3"
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import traceback
import warnings

LABEL = "target"


def fit_one(request: dict) -> dict:
    """One outer fold: a binary request gets minority scores and predictions at the F1-calibrated
    threshold; a multi-class one (``"problem_type": "multiclass"``) gets every class's
    probabilities (columns named by ``classes``) and AutoGluon's own (argmax) predictions."""
    import pandas as pd
    from autogluon.tabular import TabularPredictor

    problem_type = request.get("problem_type", "binary")
    # Class names stay text: a CSV column of digits would otherwise come back as integers.
    dtype = {LABEL: str} if problem_type == "multiclass" else None
    train, test = pd.read_csv(request["train"], dtype=dtype), pd.read_csv(request["test"], dtype=dtype)
    folder = tempfile.mkdtemp(prefix="autogluon-")
    try:
        started = time.perf_counter()
        predictor = TabularPredictor(
            label=LABEL,
            eval_metric=request.get("eval_metric", "average_precision"),
            path=folder,
            verbosity=0,
            problem_type=problem_type,
        )
        predictor.fit(
            train,
            presets="best_quality",
            time_limit=request["budget"],
            dynamic_stacking=False,
            num_cpus=2,
        )
        fitted = time.perf_counter() - started
        features = test.drop(columns=LABEL)
        answer = {"model": str(predictor.model_best), "fit_seconds": fitted}
        if problem_type == "multiclass":
            proba = predictor.predict_proba(features)
            return {
                **answer,
                "classes": [str(c) for c in proba.columns],
                "proba": proba.to_numpy(dtype=float).tolist(),
                "predicted": [str(p) for p in predictor.predict(features)],
            }
        threshold = predictor.calibrate_decision_threshold(metric="f1", verbose=False)
        predictor.set_decision_threshold(threshold)
        scores = predictor.predict_proba(features)[1]
        predicted = predictor.predict(features)
        return {
            **answer,
            "scores": [float(s) for s in scores],
            "predicted": [int(p) for p in predicted],
            "threshold": float(threshold),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    warnings.simplefilter("ignore")
    for line in sys.stdin:
        try:
            answer = fit_one(json.loads(line))
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"[:500], "traceback": traceback.format_exc()[-2000:]}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
