"""OneHotCodes gives the matrix scikit-learn's one-hot ColumnTransformer gives, in bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder

import strategy_search.estimators.preprocessing.one_hot as one_hot
from strategy_search.estimators.preprocessing.one_hot import OneHotCodes


def _codes_and_numbers(n_rows: int, *, levels: tuple[int, ...], seed: int, dtype: type = np.float64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = [rng.integers(-1, n, n_rows) for n in levels]
    numbers = rng.normal(size=(n_rows, 3))
    numbers[::5, 1] = 0.0  # zeros a sparse matrix does not store
    return np.column_stack([*codes, numbers]).astype(dtype)


def _reference(n_categorical: int) -> ColumnTransformer:
    return ColumnTransformer(
        [("one_hot", OneHotEncoder(handle_unknown="ignore"), list(range(n_categorical)))],
        remainder="passthrough",
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_matrix_equals_scikit_learns_including_levels_never_seen(dtype):
    train = _codes_and_numbers(500, levels=(4, 30), seed=0, dtype=dtype)
    new = _codes_and_numbers(200, levels=(9, 40), seed=1, dtype=dtype)  # levels fit never saw
    ours, theirs = OneHotCodes(n_categorical=2).fit(train), _reference(2).fit(train)
    for rows in (train, new):
        mine, reference = ours.transform(rows), theirs.transform(rows)
        assert sparse.issparse(mine) and sparse.issparse(reference)
        assert mine.dtype == dtype
        assert mine.shape == reference.shape
        assert (mine != reference).nnz == 0
        assert mine.nnz == reference.nnz  # no stored zeros
    assert list(ours.get_feature_names_out()[:2]) == ["x0_-1", "x0_0"]


def test_a_mostly_non_zero_result_is_dense_as_scikit_learns_is():
    rows = _codes_and_numbers(300, levels=(2,), seed=0)  # 4 of 6 columns non-zero per row
    mine, reference = OneHotCodes(n_categorical=1).fit_transform(rows), _reference(1).fit_transform(rows)
    assert isinstance(mine, np.ndarray) and isinstance(reference, np.ndarray)
    np.testing.assert_array_equal(mine, reference)


def test_a_table_past_the_int32_index_range_gets_the_same_matrix(monkeypatch):
    # Built with int64 indices (scipy stores them smaller again when the values allow).
    monkeypatch.setattr(one_hot, "_INT32_MAX", 10)
    rows = _codes_and_numbers(50, levels=(4, 30), seed=0)
    mine = OneHotCodes(n_categorical=2).fit_transform(rows)
    assert (mine != _reference(2).fit_transform(rows)).nnz == 0


def test_missing_codes_are_refused_with_the_columns_named():
    rows = _codes_and_numbers(50, levels=(3, 3), seed=0)
    rows[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"columns \[1\] contain NaN"):
        OneHotCodes(n_categorical=2).fit(rows)
    with pytest.raises(ValueError, match="between 0 and the number of columns"):
        OneHotCodes(n_categorical=9).fit(rows)


def test_encoding_needs_little_more_memory_than_its_result():
    rows = _codes_and_numbers(100_000, levels=(60, 60, 60, 60), seed=0)
    encoder = OneHotCodes(n_categorical=4).fit(rows)
    tracemalloc.start()
    try:
        encoded = encoder.transform(rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    result = encoded.data.nbytes + encoded.indices.nbytes + encoded.indptr.nbytes
    assert peak < 1.3 * result  # scikit-learn's ColumnTransformer peaks at about 3x its result
