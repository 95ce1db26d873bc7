"""Under-sampling ensembles that choose each member's majority sample from what the ensemble
so far got wrong: self-paced ensemble and balance cascade.

* Liu et al., "Self-paced Ensemble for Highly Imbalanced Massive Data Classification" (ICDE
  2020), Algorithm 1;
* Liu, Wu and Zhou, "Exploratory Undersampling for Class-Imbalance Learning" (IEEE TSMC-B 2009),
  BalanceCascade.

The maintained implementation of both (``imbalanced-ensemble``) pins scikit-learn 1.6, which
this project cannot install beside scikit-learn 1.9, so the algorithms are written here.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.base import _fit_context, clone
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval

from strategy_search.estimators._meta import MinorityScoringClassifier


class _UnderSamplingEnsemble(MinorityScoringClassifier):
    """Members fitted on every minority row plus as many majority rows, chosen by
    :meth:`_fit_members`; probabilities are the members' average. Two classes only."""

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }
    estimator: Any
    n_estimators: int
    random_state: Any

    @_fit_context(prefer_skip_nested_validation=False)  # the member model is the user's
    def fit(self, X: Any, y: Any) -> Any:
        X, y = self._checked(X, y, reset=True)
        codes = self._binary_codes(y)
        rng = check_random_state(self.random_state)
        self.estimators_: list[Any] = []
        self._fit_members(X, codes, rng)
        return self

    def _fit_members(self, X: np.ndarray, codes: np.ndarray, rng: np.random.RandomState) -> None:
        raise NotImplementedError

    def _add_member(self, X: np.ndarray, codes: np.ndarray, rows: np.ndarray, rng: np.random.RandomState) -> Any:
        member = clone(DecisionTreeClassifier() if self.estimator is None else self.estimator)
        if "random_state" in member.get_params():
            member.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
        member.fit(X[rows], (codes[rows] == self.minority_).astype(int))
        self.estimators_.append(member)
        return member

    def _minority_score(self, X: Any) -> np.ndarray:
        return np.mean([_minority_probability(m, X) for m in self.estimators_], axis=0)


class SelfPacedEnsembleClassifier(_UnderSamplingEnsemble):
    """Bag of ``n_estimators`` copies of ``estimator``, each fitted on every minority row and as
    many majority rows, chosen by hardness.

    The first member sees a random sample of the majority. After that, the majority rows are
    cut into ``k_bins`` bins of equal width in *hardness* (the ensemble-so-far's probability of
    the minority class for them: its error on a majority row), and each bin gets a share of the
    sample proportional to ``1 / (mean hardness of the bin + alpha)``, with the self-paced
    factor ``alpha = tan(pi/2 * i / (n_estimators - 1))`` growing from 0 to a very large
    number. At first every bin contributes the same total hardness, so the few hard rows weigh
    as much as the many easy ones without the easy ones being dropped; as alpha grows the bins
    get ever more equal numbers of rows, moving the sample towards the rare hard rows while
    the easy ones stay represented (plain hard-example mining would drop them and overfit
    noise). Probabilities are the members' average. Two classes only.

    Parameters
    ----------
    estimator:
        The member model (default: an unpruned decision tree).
    n_estimators:
        Members in the ensemble.
    k_bins:
        Hardness bins.
    random_state:
        Seed or ``RandomState``.
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **_UnderSamplingEnsemble._parameter_constraints,
        "k_bins": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self, estimator: Any = None, *, n_estimators: int = 20, k_bins: int = 10, random_state: Any = None
    ) -> None:
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.k_bins = k_bins
        self.random_state = random_state

    def _fit_members(self, X: np.ndarray, codes: np.ndarray, rng: np.random.RandomState) -> None:
        minority = np.flatnonzero(codes == self.minority_)
        majority = np.flatnonzero(codes != self.minority_)
        n_drawn = min(len(minority), len(majority))
        hardness_sum = np.zeros(len(majority))
        for i in range(self.n_estimators):
            if i == 0:
                drawn = rng.choice(len(majority), size=n_drawn, replace=False)
            else:
                drawn = self._self_paced_sample(hardness_sum / i, i, n_drawn, rng)
            member = self._add_member(X, codes, np.concatenate([minority, majority[drawn]]), rng)
            hardness_sum += _minority_probability(member, X[majority])

    def _self_paced_sample(self, hardness: np.ndarray, i: int, n_drawn: int, rng: np.random.RandomState) -> np.ndarray:
        """Positions in ``hardness`` (the majority rows) drawn bin by bin (see the class notes)."""
        low, high = float(hardness.min()), float(hardness.max())
        if high - low < 1e-12:  # every row as hard as the others: no bins to weigh
            return rng.choice(len(hardness), size=n_drawn, replace=False)
        edges = np.linspace(low, high, self.k_bins + 1)
        bins = np.clip(np.searchsorted(edges, hardness, side="right") - 1, 0, self.k_bins - 1)
        alpha = np.tan(np.pi / 2 * i / max(self.n_estimators - 1, 1))
        populated = np.unique(bins)
        weights = np.array([1.0 / (hardness[bins == b].mean() + alpha) for b in populated])
        quotas = np.round(weights / weights.sum() * n_drawn).astype(int)
        drawn = []
        for b, quota in zip(populated, quotas, strict=True):
            members = np.flatnonzero(bins == b)
            drawn.append(rng.choice(members, size=min(quota, len(members)), replace=False))
        return np.concatenate(drawn)


class BalanceCascadeClassifier(_UnderSamplingEnsemble):
    """Balance cascade: each member is fitted on every minority row and a random sample of as
    many majority rows from a shrinking pool; after each member, the majority rows it finds
    easiest (lowest probability of the minority class) leave the pool, so that the pool is cut
    by the same factor ``(n_minority / n_majority) ** (1 / (n_estimators - 1))`` each time and
    the last member sees the majority rows that every earlier one found hard. Probabilities
    are the members' average. Two classes only.

    Parameters
    ----------
    estimator:
        The member model (default: an unpruned decision tree).
    n_estimators:
        Members in the ensemble.
    random_state:
        Seed or ``RandomState``.
    """

    def __init__(self, estimator: Any = None, *, n_estimators: int = 10, random_state: Any = None) -> None:
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.random_state = random_state

    def _fit_members(self, X: np.ndarray, codes: np.ndarray, rng: np.random.RandomState) -> None:
        minority = np.flatnonzero(codes == self.minority_)
        pool = np.flatnonzero(codes != self.minority_)
        n_drawn = min(len(minority), len(pool))
        keep = (n_drawn / len(pool)) ** (1.0 / max(self.n_estimators - 1, 1))
        for _ in range(self.n_estimators):
            drawn = rng.choice(pool, size=min(n_drawn, len(pool)), replace=False)
            member = self._add_member(X, codes, np.concatenate([minority, drawn]), rng)
            n_kept = max(n_drawn, round(len(pool) * keep))
            if n_kept < len(pool):
                hardness = _minority_probability(member, X[pool])
                pool = pool[np.argsort(-hardness, kind="stable")[:n_kept]]


def _minority_probability(member: Any, X: np.ndarray) -> np.ndarray:
    """A member's probability of the minority class (its label 1), also when its training
    sample happened to hold one class only."""
    proba = member.predict_proba(X)
    classes = list(member.classes_)
    return proba[:, classes.index(1)] if 1 in classes else np.zeros(len(X))
