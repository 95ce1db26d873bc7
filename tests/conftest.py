from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parent.parent / "experiments" / "data"


def load_keel(name: str) -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_csv(DATA / f"{name}.csv")
    return frame.drop(columns="target"), frame["target"]


@pytest.fixture(scope="session")
def yeast5() -> tuple[pd.DataFrame, pd.Series]:
    return load_keel("yeast5")


@pytest.fixture(scope="session")
def small_numeric() -> tuple[pd.DataFrame, pd.Series]:
    """300 rows, 10 % positives, some NaN: small enough to fit every component quickly."""
    rng = np.random.default_rng(0)
    n = 300
    y = (rng.random(n) < 0.1).astype(int)
    X = pd.DataFrame(rng.normal(size=(n, 5)) + y[:, None] * 1.5, columns=[f"x{i}" for i in range(5)])
    X.iloc[rng.choice(n, 20, replace=False), 1] = np.nan
    return X, pd.Series(y, name="target")


@pytest.fixture(scope="session")
def small_mixed(small_numeric) -> tuple[pd.DataFrame, pd.Series]:
    """small_numeric plus a string column (with a missing value) that carries signal."""
    X, y = small_numeric
    X = X.copy()
    rng = np.random.default_rng(1)
    X["colour"] = np.where(
        y.to_numpy() == 1, rng.choice(["red", "blue"], len(y)), rng.choice(["green", "blue"], len(y))
    )
    X.loc[3, "colour"] = None
    return X, y
