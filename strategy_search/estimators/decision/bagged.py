"""The search's fold models, deployed: what was scored is what predicts.

A search scores a strategy by fitting it on the training part of every fold of a stratified
(repeated) K-fold split and scoring the rest; the decision threshold is chosen on those
out-of-fold scores. A model refitted on all rows (more rows, a resampler's ratio tuned at 80 %
of them) gives scores on another scale, so that threshold is no longer the one that was best.
:class:`FoldBaggedClassifier` instead refits the same fold models (the same splits, from the
same labels and seed; every component is seeded) and averages their probabilities, as
AutoGluon deploys its bagged fold models. Nothing is kept from the search's own fits: any
process rebuilds the models from the stored strategy and the data alone.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from strategy_search.estimators._meta import checked_input, checked_target, inherit_input_tags
from strategy_search.splits import SplitBy, group_codes, outer_splits
from strategy_search.task import all_class_columns

__all__ = ["FoldBaggedClassifier"]


def _rows(X: Any, index: NDArray[np.intp]) -> Any:
    if hasattr(X, "iloc"):
        return X.iloc[index]
    return X.tocsr()[index] if sparse.issparse(X) else X[index]  # some sparse formats cannot be indexed


class FoldBaggedClassifier(ClassifierMixin, BaseEstimator):
    """Fits a clone of ``estimator`` on the training part of every fold of the search's split
    over the rows it is fitted on (:func:`strategy_search.splits.outer_splits`: ``split``
    stratified, or stratified group K-fold by the ``groups`` given to ``fit``; repeated
    ``n_repeats`` times), no more folds than the smallest class has rows, as the search;
    ``predict_proba`` is the mean of the fold models' probabilities. (A time-ordered search
    deploys no fold models: see :attr:`strategy_search.result.SearchResult.bagging`.)

    The labels are coded ``0 .. K-1`` in sorted order before splitting, so fitted on a
    search's class codes (and groups) the splits are exactly the search's.
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "n_splits": [Interval(Integral, 2, None, closed="left")],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "split": [StrOptions({"stratified", "group"})],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        n_splits: int = 5,
        n_repeats: int = 1,
        random_state: int = 0,
        split: str = "stratified",
    ):
        self.estimator = estimator
        self.n_splits = n_splits
        self.n_repeats = n_repeats
        self.random_state = random_state
        self.split = split

    def __sklearn_tags__(self) -> Any:
        return inherit_input_tags(super().__sklearn_tags__(), [self.estimator])

    @_fit_context(prefer_skip_nested_validation=False)  # the pipeline is the user's
    def fit(
        self, X: Any, y: ArrayLike, groups: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> FoldBaggedClassifier:
        X = checked_input(self, X, reset=True)
        y = checked_target(self, y)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        check_consistent_length(X, y, weights)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"FoldBaggedClassifier needs two classes or more; got 1 class: {self.classes_.tolist()}.")
        # As fold_counts.effective_folds: no more folds than the smallest class has rows, and two at least.
        self.n_splits_ = max(min(self.n_splits, int(np.bincount(codes).min())), 2)
        splits = outer_splits(
            codes, folds=self.n_splits_, repeats=self.n_repeats, seed=self.random_state, by=self._split_by(groups)
        )
        self.estimators_ = [
            clone(self.estimator).fit(_rows(X, train), codes[train], **_weights_of(weights, train))
            for train, _ in splits
        ]
        return self

    def _split_by(self, groups: ArrayLike | None) -> SplitBy:
        if self.split == "stratified":
            return SplitBy()
        if groups is None:
            raise ValueError("split='group' needs fit(X, y, groups=...): one group per row of X.")
        return SplitBy(groups=group_codes(groups))

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self, "estimators_")
        X = checked_input(self, X, reset=False)
        n_classes = len(self.classes_)  # fitted: check_is_fitted passed
        total = np.zeros((X.shape[0], n_classes))
        for model in self.estimators_:
            total += all_class_columns(model.classes_, model.predict_proba(X), n_classes)
        return total / len(self.estimators_)

    def predict(self, X: Any) -> NDArray[Any]:
        probabilities = self.predict_proba(X)  # checks that it is fitted before classes_ is read
        return self.classes_[np.argmax(probabilities, axis=1)]


def _weights_of(weights: NDArray[np.float64] | None, rows: NDArray[np.intp]) -> dict[str, Any]:
    """The fit parameters of a fold model: its rows' weights, when there are any."""
    return {} if weights is None else {"sample_weight": weights[rows]}
