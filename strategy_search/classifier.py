"""A scikit-learn classifier whose ``fit`` runs a search: :class:`StrategySearchClassifier`.

It is a thin front over :func:`strategy_search.search` and the :class:`SearchResult` it
returns, for code that expects a scikit-learn estimator (``Pipeline``, ``cross_val_score``,
``clone``, grid searches over the budget).
"""

from __future__ import annotations

import inspect
import os
import re
import textwrap
from collections.abc import Mapping
from dataclasses import fields
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d, validate_data

from strategy_search.errors import NoStoredScores
from strategy_search.fidelity import FIDELITY_CHOICES
from strategy_search.scoring import METRICS
from strategy_search.settings import ANSWER_CHOICES, CALIBRATION_CHOICES, DEFAULT_ENSEMBLE_SIZE, SearchSettings, spec_of
from strategy_search.space import SearchSpace
from strategy_search.thresholds import ThresholdRule

__all__ = ["StrategySearchClassifier"]

# scikit-learn's name for a seed: its checks and tools (set_random_state, grid searches) set it.
_SEED_PARAMETER = "random_state"

_OWN_PARAMETERS = """\
positive_label : object, default=None
    The label of the positive class of a binary target (None: the minority). Multi-class
    targets take none.
storage : str or optuna.storages.BaseStorage, default=None
    Optuna storage of the search (a URL such as ``sqlite:///optuna.db``; None: in memory).
    With ``study_name``, ``fit`` resumes that study, which refuses other data: leave
    ``study_name`` unset where the estimator is fitted on several tables (``cross_val_score``).
study_name : str, default=None
    The study's name in ``storage``.
progress : bool, default=False
    Draw the command line's progress bar on stderr during ``fit``.
tracking_uri : str, default=None
    Log the search to MLflow (a parent run, a run per trial), e.g. ``sqlite:///mlflow.db``.
experiment : str, default=None
    The MLflow experiment (None: ``strategy-search``); needs ``tracking_uri``.
"""

_DOC = """\
A scikit-learn classifier whose ``fit`` searches for the best imbalance strategy.

``fit(X, y)`` runs :func:`strategy_search.search` with the parameters below and keeps its
answer (an ensemble of the best trials' strategies, or the best one) fitted on all rows, with
its tuned decision. ``predict_proba`` gives the answer's class probabilities; ``predict``
applies the tuned threshold (multi-class: per-class weights), so it is *not* the most probable
class; ``score`` is scikit-learn's accuracy of ``predict``. Binary and multi-class targets.

Parameters
----------
{settings}{own}
Attributes
----------
classes_ : ndarray of shape (n_classes,)
    The class labels, sorted; the columns of ``predict_proba`` follow this order.
n_features_in_ : int
    Number of features seen during ``fit``.
feature_names_in_ : ndarray of shape (n_features,)
    The columns seen during ``fit``, when ``X`` was a DataFrame whose column names are all
    strings.
strategy_ : Strategy or Ensemble
    The search's answer, plain data (:attr:`SearchResult.best_strategy`).
threshold_ : float or ndarray of shape (n_classes,)
    The tuned decision: the positive-class probability from which ``predict`` says positive,
    or (multi-class) each class's weight, in ``classes_`` order.
best_scores_ : dict
    Metric name to the answer's cross-validated mean (:attr:`SearchResult.best_scores`).
leaderboard_ : pandas.DataFrame
    One row per trial, best first (:attr:`SearchResult.leaderboard`).
search_result_ : SearchResult
    The whole search (study, out-of-fold scores, summary, ``export``). Pickling the estimator
    leaves it out (it holds the study and the training table); ``save`` needs it.
model_ : ThresholdedClassifier or ClassWeightedClassifier
    The answer fitted on all rows: what ``predict_proba`` and ``predict`` use and ``save``
    writes.
seed_ : int
    The seed the search ran with (``random_state``, or drawn from it).

See Also
--------
strategy_search.search : The search ``fit`` runs.
strategy_search.load_model : Loads a folder written by :meth:`save`.

Notes
-----
``X`` is a pandas DataFrame (numeric, categorical or text columns; NaN allowed) or a numeric
array. Columns whose names are not all strings (a NumPy array's) are named ``x0``, ``x1``, ...
in order: a saved model reads columns of those names. A DataFrame with the fitted columns in
another order is read in the fitted order.

With ``n_trials`` set, no ``timeout`` and an integer ``random_state``, ``fit`` is
reproducible; a time budget makes the number of trials, and so the answer, depend on the
machine (the estimator's ``non_deterministic`` tag says so).
"""


# numpydoc types of the settings' parameters (a setting missing here: its default's type).
_TYPES = {
    "space": "str, path, mapping or SearchSpace",
    "metric": "str or list of str",
    "n_trials": "int or None",
    "timeout": "float or None",
    "seed": "int, numpy.random.RandomState or None",
    "threshold": "str or ThresholdRule",
    "n_jobs": "int or None",
    "pruning": "bool",
    "fidelity": "{'auto', 'on', 'off'}",
}


def _parameter_doc(name: str, default: Any) -> str:
    """A setting's numpydoc entry, from its own text in :class:`SearchSettings`."""
    spec = spec_of(next(f for f in fields(SearchSettings) if f.name == name))
    # Some settings' texts already say what they allow.
    text = spec.doc if spec.allowed in spec.doc else f"{spec.doc} Allowed: {spec.allowed}."
    if name == "seed":
        text = (
            "The search's ``seed`` (scikit-learn's name for it): the seed of the sampler, the folds and every "
            "component. None (or a RandomState) draws one at each fit, recorded in ``seed_``."
        )
    # The settings' texts speak YAML.
    text = re.sub(r"\bnull\b", "None", text).replace("true or false", "True or False")
    lines = textwrap.wrap(text, width=88, break_on_hyphens=False)
    shown = _SEED_PARAMETER if name == "seed" else name
    kind = _TYPES.get(name, "optional" if default is None else type(default).__name__)
    return f"{shown} : {kind}, default={default!r}\n" + "".join(f"    {line}\n" for line in lines)


def _class_doc() -> str:
    parameters = inspect.signature(StrategySearchClassifier).parameters
    names = {f.name: _SEED_PARAMETER if f.name == "seed" else f.name for f in fields(SearchSettings)}
    # A setting not (yet) a parameter is left out here, not an import error: a test names it.
    settings = "".join(
        _parameter_doc(setting, parameters[name].default) for setting, name in names.items() if name in parameters
    )
    return _DOC.format(settings=settings, own=_OWN_PARAMETERS)


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python one (the settings refuse numpy integers and booleans, which
    grid searches over ``np.arange`` give)."""
    return value.item() if isinstance(value, np.generic) else value


class StrategySearchClassifier(ClassifierMixin, BaseEstimator):
    # The docstring (_class_doc, after the class) is written from each setting's own text in
    # SearchSettings, as search()'s is: a setting's documentation has one source.

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        # Types and ranges; the settings' own checks (SearchSettings) judge the rest in fit (space
        # and metric names, threshold rules), with the engine's messages.
        "space": [str, os.PathLike, Mapping, SearchSpace],
        "metric": [StrOptions(set(METRICS)), list, tuple],
        "n_trials": [Interval(Integral, 1, None, closed="left"), None],
        "timeout": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
        "cv_folds": [Interval(Integral, 2, None, closed="left")],
        "cv_repeats": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "cv_gap": [Interval(Integral, 0, None, closed="left")],
        "threshold_folds": [Interval(Integral, 0, None, closed="left")],
        "threshold": [str, ThresholdRule],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), None],
        "pruning": ["boolean"],
        "fidelity": [StrOptions(set(FIDELITY_CHOICES))],
        "expensive_row_limit": [Interval(Integral, 1, None, closed="left")],
        "ensemble_size": [Interval(Integral, 1, None, closed="left")],
        "answer": [StrOptions(set(ANSWER_CHOICES))],
        "calibration": [StrOptions(set(CALIBRATION_CHOICES))],
        "heartbeat_interval": [Interval(Integral, 1, None, closed="left")],
        "positive_label": "no_validation",  # any label; fit says when it is not a class of y
        "storage": "no_validation",  # a URL or an Optuna storage object, opened by the search
        "study_name": [str, None],
        "progress": ["boolean"],
        "tracking_uri": [str, None],
        "experiment": [str, None],
    }

    def __init__(
        self,
        *,
        space: Any = "default",
        metric: Any = "pr_auc",
        n_trials: int | None = None,
        timeout: float | None = None,
        random_state: Any = 0,
        cv_folds: int = 5,
        cv_repeats: int | str = 1,
        cv_gap: int = 0,
        threshold_folds: int = 1,
        threshold: Any = "best_f1",
        n_jobs: int | None = None,
        pruning: bool = True,
        fidelity: str = "auto",
        expensive_row_limit: int = 30_000,
        ensemble_size: int = DEFAULT_ENSEMBLE_SIZE,
        answer: str = "bagged",
        calibration: str = "auto",
        heartbeat_interval: int = 30,
        positive_label: Any = None,
        storage: Any = None,
        study_name: str | None = None,
        progress: bool = False,
        tracking_uri: str | None = None,
        experiment: str | None = None,
    ):
        self.space = space
        self.metric = metric
        self.n_trials = n_trials
        self.timeout = timeout
        self.random_state = random_state
        self.cv_folds = cv_folds
        self.cv_repeats = cv_repeats
        self.cv_gap = cv_gap
        self.threshold_folds = threshold_folds
        self.threshold = threshold
        self.n_jobs = n_jobs
        self.pruning = pruning
        self.fidelity = fidelity
        self.expensive_row_limit = expensive_row_limit
        self.ensemble_size = ensemble_size
        self.answer = answer
        self.calibration = calibration
        self.heartbeat_interval = heartbeat_interval
        self.positive_label = positive_label
        self.storage = storage
        self.study_name = study_name
        self.progress = progress
        self.tracking_uri = tracking_uri
        self.experiment = experiment

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # A time budget decides how many trials run, so the answer depends on the machine's speed;
        # a seed drawn at each fit gives another search each time.
        tags.non_deterministic = (
            self.n_trials is None or self.timeout is not None or not isinstance(self.random_state, Integral)
        )
        tags.input_tags.allow_nan = True  # every strategy's pipeline imputes
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: Any, y: Any, groups: Any = None, time: Any = None, sample_weight: Any = None
    ) -> StrategySearchClassifier:
        """Search for the best strategy for ``(X, y)`` and fit its answer on all rows.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            The features: a DataFrame may hold categorical and text columns, an array must
            be numeric; NaN is allowed.
        y : array-like of shape (n_samples,)
            The target: two or more classes.
        groups : array-like of shape (n_samples,), optional
            A group per row: the CV keeps each group on one side of every split (as
            scikit-learn's ``groups``), so the scores are on groups the model never saw.
        time : array-like of shape (n_samples,), optional
            A date, time or ordered number per row: the CV chains forward in time
            (``cv_gap`` rows between training and validation rows). Not with ``groups``.
        sample_weight : array-like of shape (n_samples,), optional
            A weight >= 0 per row: every fit, metric and threshold counts weights instead
            of rows (models that cannot take them are left out).

        Returns
        -------
        StrategySearchClassifier
            This estimator, fitted.
        """
        frame = self._frame(X, reset=True)
        labels = _checked_target(y, type(self).__name__)
        check_consistent_length(frame, labels)
        # Imported at fit, so that importing this module does not load the search driver.
        from strategy_search.search import search

        self.seed_ = self._seed()
        result = search(
            frame, labels, groups=groups, time=time, sample_weight=sample_weight, **self._search_arguments()
        )
        self._keep(result, classes=np.unique(labels))
        return self

    def _search_arguments(self) -> dict[str, Any]:
        arguments = {name: _plain(value) for name, value in self.get_params(deep=False).items()}
        del arguments[_SEED_PARAMETER]
        return {**arguments, "seed": self.seed_}

    def _seed(self) -> int:
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _keep(self, result: Any, *, classes: NDArray[Any]) -> None:
        """The fitted attributes, from the search's result."""
        self.search_result_ = result
        self.model_ = result.best_pipeline()
        self.strategy_ = result.best_strategy
        self.leaderboard_ = result.leaderboard
        self.best_scores_ = dict(result.best_scores)
        self.classes_ = classes
        # The answer's columns are in the engine's class order (a binary task: negative, then
        # positive, whichever of the two sorts first); scikit-learn's scorers read sorted order.
        engine_order = list(self.model_.classes_)
        self._proba_columns = np.array([engine_order.index(label) for label in classes.tolist()])
        decision = self.model_.threshold
        if len(classes) == 2:
            self.threshold_: float | NDArray[np.float64] = float(decision)
        else:
            self.threshold_ = np.asarray(decision, dtype=float)[self._proba_columns]

    def _frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        """``X`` as the DataFrame the search reads, with ``n_features_in_`` and
        ``feature_names_in_`` recorded at fit (``reset``) and checked at predict."""
        if isinstance(X, pd.DataFrame):
            fitted = getattr(self, "feature_names_in_", None)
            if not reset and fitted is not None and set(X.columns) == set(fitted):
                X = X[list(fitted)]  # the same columns in another order are the same data
            # Checked as a table, not converted: its text and categorical columns stay as they are.
            validate_data(self, X, reset=reset, skip_check_array=True)
            frame = X
        else:
            frame = pd.DataFrame(validate_data(self, X, reset=reset, dtype="numeric", ensure_all_finite="allow-nan"))
        if reset:
            names = getattr(self, "feature_names_in_", None)
            self._columns = [str(c) for c in names] if names is not None else [f"x{i}" for i in range(frame.shape[1])]
        if list(frame.columns) != self._columns:
            frame = frame.set_axis(self._columns, axis=1)
        return frame

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """The answer's class probabilities.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Rows with the features seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            One column per class, in ``classes_`` order.
        """
        check_is_fitted(self)
        probabilities = np.asarray(self.model_.predict_proba(self._frame(X, reset=False)), dtype=np.float64)
        return probabilities[:, self._proba_columns]

    def predict(self, X: Any) -> NDArray[Any]:
        """The class of each row at the tuned decision (``threshold_``).

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Rows with the features seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``: binary, the positive class where its probability is at
            least ``threshold_``; multi-class, the class of largest weighted probability.
        """
        check_is_fitted(self)
        return np.asarray(self.model_.predict(self._frame(X, reset=False)))

    def save(self, path: str | os.PathLike[str], *, threshold: str | None = None) -> Path:
        """Write the model folder that ``strategy-search predict`` reads.

        It is what :meth:`SearchResult.export` (and ``strategy-search export``) writes and
        :func:`strategy_search.load_model` loads (as its ``classifier``): ``model_`` itself (the
        answer fitted on all rows in ``fit``, not fitted again), its ``strategy.yaml``, model
        card and out-of-fold scores. Only this estimator is saved: steps before it in a
        ``Pipeline`` are not, so the folder reads the features as this estimator received them
        (named ``x0``, ``x1``, ... when they were an array).

        Parameters
        ----------
        path : str or os.PathLike
            The folder; an earlier export there is replaced.
        threshold : str, optional
            A threshold rule (``"precision>=0.9"``, ...) to pick the saved decision with, on
            the answer's out-of-fold scores, instead of the search's own.

        Returns
        -------
        pathlib.Path
            The folder written.
        """
        check_is_fitted(self)
        result = getattr(self, "search_result_", None)
        if result is None:
            raise NoStoredScores(
                f"This {type(self).__name__} was unpickled, which leaves its search out (search_result_), so it "
                "cannot be saved as a model folder: save() before pickling, or fit it again."
            )
        return Path(result.export(path, threshold=threshold))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        # The search holds the study, its stored scores and the training table: heavy, and its
        # search space is not picklable. The fitted answer is all that predicting needs.
        state.pop("search_result_", None)
        return state


StrategySearchClassifier.__doc__ = _class_doc()


def _checked_target(y: Any, name: str) -> NDArray[Any]:
    """``y`` as a 1-d array of labels, refused in scikit-learn's words when it is missing,
    continuous or of one class."""
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    labels = column_or_1d(y, warn=True)
    check_classification_targets(labels)
    if len(np.unique(labels)) < 2:
        raise ValueError(f"{name} needs at least two classes in y; got 1 class: {np.unique(labels).tolist()}.")
    return labels
