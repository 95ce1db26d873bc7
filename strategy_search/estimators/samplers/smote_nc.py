"""SMOTE-NC in bounded memory.

imbalanced-learn's SMOTE-NC picks each new row's categories by a vote of its neighbours, which
it counts on one dense array of (new rows x neighbours x one-hot columns): on a fold of 533,000
rows with 0.2 % positives and a few hundred category levels that array alone is 7.6 GB. This
subclass counts the same votes a bounded chunk of new rows at a time and writes the winning
levels straight into a sparse one-hot block, so the memory it needs no longer grows with the
product of rows, neighbours and levels. Upstream also encodes every row of the fold; here only
the rows of the classes being grown are. The rows it makes follow the same rule and are the
same rows, with one exception: when the continuous columns' median spread is tiny but not zero
(under about 1e-8), upstream's vote sees every level as tied, levels only other classes have
included, and may give a new row one of those; here such levels have no column to win.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from imblearn.over_sampling import SMOTENC
from imblearn.over_sampling._smote.base import BaseSMOTE
from scipy import sparse
from sklearn.utils import _safe_indexing, check_random_state

# The most bytes one chunk's neighbour votes take.
CHUNK_BYTES = 64 * 2**20


class ChunkedSMOTENC(SMOTENC):
    """:class:`imblearn.over_sampling.SMOTENC` with the same parameters and the same
    generation rule, which makes new rows in chunks whose categorical vote takes at most
    ``CHUNK_BYTES``."""

    def _fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        # Upstream one-hot encodes, stacks and decodes every row of the fold, though only the
        # rows of the classes it grows take part in making new ones (a sparse copy of 533,000
        # rows is over a gigabyte on the way); the other rows pass through as they are.
        grown = [label for label, n_new in self.sampling_strategy_.items() if n_new > 0]
        if not grown:
            return X, y
        taking_part = np.flatnonzero(np.isin(y, grown))
        resampled, labels = super()._fit_resample(_safe_indexing(X, taking_part), y[taking_part])
        new_rows, new_labels = resampled[len(taking_part) :], labels[len(taking_part) :]
        if sparse.issparse(X):
            return sparse.vstack([X, new_rows], format=X.format), np.concatenate([y, new_labels])
        return np.vstack([X, new_rows]), np.concatenate([y, new_labels])

    def _generate_samples(
        self, X: Any, nn_data: Any, nn_num: Any, rows: Any, cols: Any, steps: Any, y_type: Any, y: Any = None
    ) -> Any:
        rng = check_random_state(self.random_state)
        n_continuous = self.continuous_features_.size
        neighbours = nn_data.toarray() if sparse.issparse(nn_data) else np.array(nn_data)
        if math.isclose(self.median_std_[y_type], 0):
            # As upstream: a zero median spread leaves the one-hot block empty; vote on the codes.
            neighbours[:, n_continuous:] = self._X_categorical_minority_encoded
        sizes = [categories.size for categories in self.categorical_encoder_.categories_]
        edges = n_continuous + np.concatenate([[0], np.cumsum(sizes)])
        n_votes = nn_num.shape[1] * neighbours.shape[1] * neighbours.itemsize
        chunk = max(1, CHUNK_BYTES // max(n_votes, 1))
        # The continuous columns are interpolated as plain SMOTE does, a chunk of new rows at a
        # time as well: sparse interpolation holds several copies of the rows it makes.
        continuous_X, continuous_nn = X[:, :n_continuous], nn_data[:, :n_continuous]
        made = []
        for first in range(0, len(rows), chunk):
            part = slice(first, first + chunk)
            continuous = BaseSMOTE._generate_samples(
                self, continuous_X, continuous_nn, nn_num, rows[part], cols[part], steps[part]
            )
            voters = neighbours[nn_num[rows[part]]]
            new_rows, new_cols = [], []
            for start, end in itertools.pairwise(edges):
                winners, levels = _vote(voters[:, :, start:end], rng)
                new_rows.append(winners)
                new_cols.append(start - n_continuous + levels)
            one_hot = sparse.csr_matrix(
                (
                    np.ones(sum(len(r) for r in new_rows), dtype=continuous.dtype),
                    (np.concatenate(new_rows), np.concatenate(new_cols)),
                ),
                shape=(continuous.shape[0], int(edges[-1] - n_continuous)),
            )
            if sparse.issparse(continuous):
                made.append(sparse.hstack([continuous, one_hot], format=X.format, dtype=continuous.dtype))
            else:
                made.append(np.hstack([continuous, one_hot.toarray()]))
        if sparse.issparse(X):
            return sparse.vstack(made, format=X.format)
        return np.vstack(made)


def _vote(voters: Any, rng: np.random.RandomState) -> tuple[Any, Any]:
    """Each new row's most frequent level among its neighbours (ties broken at random), as
    (row, level) pairs."""
    counts = voters.sum(axis=1)
    is_max = np.isclose(counts, counts.max(axis=1, keepdims=True))
    candidates = rng.permutation(np.argwhere(is_max))
    winners, first_seen = np.unique(candidates[:, 0], return_index=True)
    return winners, candidates[first_seen, 1]
