"""SMOTE-NC in bounded memory makes the rows imbalanced-learn's SMOTE-NC makes."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from imblearn.over_sampling import SMOTENC

import strategy_search.estimators.samplers.smote_nc as smote_nc
from strategy_search.estimators.samplers.smote_nc import ChunkedSMOTENC


def _table(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 400
    y = (rng.random(n) < 0.1).astype(int)
    categories = np.column_stack([rng.integers(0, 7, n), rng.integers(0, 30, n)])
    return np.column_stack([categories, rng.normal(y[:, None], 1.0, (n, 3))]).astype(float), y


@pytest.mark.parametrize("k_neighbors", [1, 5])
def test_the_rows_are_upstreams_in_one_chunk(k_neighbors):
    X, y = _table()
    ours = ChunkedSMOTENC(categorical_features=[0, 1], k_neighbors=k_neighbors, random_state=3).fit_resample(X, y)
    theirs = SMOTENC(categorical_features=[0, 1], k_neighbors=k_neighbors, random_state=3).fit_resample(X, y)
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])


def test_a_chunk_of_one_row_at_a_time_gives_the_same_rows(monkeypatch):
    # With one neighbour the vote has no ties, so no random draw depends on the chunking.
    X, y = _table(1)
    theirs = SMOTENC(categorical_features=[0, 1], k_neighbors=1, random_state=0).fit_resample(X, y)
    monkeypatch.setattr(smote_nc, "CHUNK_BYTES", 1)
    ours = ChunkedSMOTENC(categorical_features=[0, 1], k_neighbors=1, random_state=0).fit_resample(X, y)
    assert len(ours[0]) > len(X)
    np.testing.assert_array_equal(ours[0], theirs[0])


def test_each_new_rows_levels_are_most_frequent_among_its_neighbours(monkeypatch):
    X, y = _table(2)
    monkeypatch.setattr(smote_nc, "CHUNK_BYTES", 64)
    X_new, y_new = ChunkedSMOTENC(categorical_features=[0, 1], k_neighbors=5, random_state=0).fit_resample(X, y)
    made = X_new[len(X) :]
    minority = X[y == 1]
    assert set(y_new[len(X) :]) == {1}
    for column in (0, 1):
        assert set(made[:, column]) <= set(minority[:, column]), "a level no minority row has"


def test_three_classes_give_upstreams_rows_too():
    X, y = _table(3)
    y = np.where((y == 0) & (X[:, 2] > 1.0), 2, y)
    ours = ChunkedSMOTENC(categorical_features=[0, 1], random_state=1).fit_resample(X, y)
    theirs = SMOTENC(categorical_features=[0, 1], random_state=1).fit_resample(X, y)
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])


def test_the_rows_of_classes_not_grown_pass_through_without_copies_on_the_way():
    rng = np.random.default_rng(0)
    n = 100_000
    y = (rng.random(n) < 0.005).astype(int)
    X = np.column_stack([rng.integers(0, 50, (n, 2)), rng.normal(size=(n, 20))]).astype(np.float32)
    sampler = ChunkedSMOTENC(categorical_features=[0, 1], sampling_strategy=0.01, random_state=0)
    tracemalloc.start()
    try:
        X_new, _ = sampler.fit_resample(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert X_new.dtype == np.float32
    # The result itself, about 1.01 x the fold; upstream's sparse copies of every row take over 4 x.
    assert peak < 1.5 * X_new.nbytes
