"""Numeric columns go float32 without losing the detail of large values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from strategy_search.data import FeatureSchema
from strategy_search.estimators.preprocessing.centred import CentredFloat32
from strategy_search.strategy import _preprocessor


def _epoch_seconds(n_rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "seen_at": 1_700_000_000 + rng.integers(0, 1000, n_rows),  # int64 epoch seconds
            "amount_cents": rng.integers(100_000_000, 100_050_000, n_rows).astype(float),
            "ratio": rng.random(n_rows).astype(np.float32),
        }
    )


def test_large_values_keep_every_distinct_value():
    frame = _epoch_seconds()
    centred = CentredFloat32().fit_transform(frame)
    assert centred.dtype == np.float32
    for j, column in enumerate(frame.columns):
        assert len(np.unique(centred[:, j])) == frame[column].nunique(), column
    # Cast as they are, epoch seconds fall into 128-second steps.
    assert len(np.unique(frame["seen_at"].to_numpy(np.float32))) < frame["seen_at"].nunique() / 10


def test_scaled_values_match_float64_scaling():
    frame = _epoch_seconds()
    expected = StandardScaler().fit_transform(frame.to_numpy(np.float64))
    scaled = StandardScaler().fit_transform(CentredFloat32().fit_transform(frame))
    np.testing.assert_allclose(scaled, expected, atol=1e-5)


def test_missing_values_stay_missing_and_an_empty_column_centres_on_zero():
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0, 5.0], "b": [np.nan] * 4, "c": pd.array([1, None, 2, 2], "Int64")})
    encoder = CentredFloat32().fit(frame)
    np.testing.assert_array_equal(encoder.centre_, [3.0, 0.0, 2.0])
    centred = encoder.transform(frame)
    np.testing.assert_array_equal(np.isnan(centred), frame.isna().to_numpy())
    assert list(encoder.get_feature_names_out()) == ["a", "b", "c"]


@pytest.mark.parametrize("impute", [True, False])
def test_the_preprocessor_keeps_large_values_apart(impute):
    frame = _epoch_seconds()
    schema = FeatureSchema(numeric=tuple(frame.columns), categorical=())
    encoded = _preprocessor(schema, impute_numeric=impute).fit_transform(frame)
    assert encoded.dtype == np.float32
    assert len(np.unique(encoded[:, 0])) == frame["seen_at"].nunique()
