"""Writes tests/golden/export-v0.1.0/ and its expected scores: a model folder exported by the
engine at the version named in the folder, committed so later versions must still load and
score it identically (tests/test_golden_export.py). Rerun only to add a NEW golden folder for
a new format; never overwrite an old one.

    python tests/golden/make_golden_export.py tests/golden/export-vX.Y.Z
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from strategy_search.data import profile
from strategy_search.export import export_model
from strategy_search.strategy import build_classifier, strategy_from_dict


def golden_data() -> tuple[pd.DataFrame, pd.Series]:
    """120 rows, 15 % positives, a categorical column and missing values: every preprocessing
    branch (imputation, ordinal codes via the text step, one-hot) ends up in the pipeline."""
    rng = np.random.default_rng(2024)
    n = 120
    y = (rng.random(n) < 0.15).astype(int)
    X = pd.DataFrame(rng.normal(size=(n, 3)) + y[:, None], columns=["a", "b", "c"])
    X.loc[rng.choice(n, 8, replace=False), "b"] = np.nan
    X["shade"] = np.where(y == 1, rng.choice(["red", "blue"], n), rng.choice(["green", "blue"], n))
    return X, pd.Series(np.where(y == 1, "yes", "no"), name="target")


ENSEMBLE = {
    "members": [
        {
            "model": "lightgbm",
            "resampler": "smote",
            "weighting": "balanced",
            "objective": "focal",
            "model_params": {"n_estimators": 15, "num_leaves": 7},
            "resampler_params": {"k_neighbors": 3},
            "objective_params": {"gamma": 1.5, "alpha": 0.4},
            "threshold": 0.5,
            "seed": 0,
        },
        {
            "model": "logistic_regression",
            "resampler": "random_under",
            "weighting": "effective_number",
            "model_params": {"C": 0.5},
            "threshold": 0.5,
            "seed": 0,
        },
        {
            "model": "random_forest",
            "resampler": "noise",
            "model_params": {"n_estimators": 10, "max_depth": 4},
            "threshold": 0.5,
            "seed": 0,
        },
    ],
    "weights": [2.0, 1.0, 1.0],
    "threshold": 0.37,
}


def main(out: Path) -> None:
    X, y = golden_data()
    y01 = (y == "yes").to_numpy(dtype=int)
    data_profile = profile(X, y01, "yes", "no")
    strategy = strategy_from_dict(ENSEMBLE)
    classifier = build_classifier(strategy, data_profile.schema, positive_label="yes").fit(X, y)
    export_model(
        classifier=classifier,
        strategy=strategy,
        profile=data_profile,
        metrics={"pr_auc": 0.5},
        metrics_std={"pr_auc": 0.1},
        X=X,
        out_dir=out,
        source={"note": "golden export for tests/test_golden_export.py"},
    )
    scores = classifier.predict_proba(X)[:, 1]
    pd.DataFrame({"score": scores, "prediction": classifier.predict(X)}).to_csv(
        out.parent / f"{out.name}.expected.csv", index=False, float_format="%.17g"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
