"""The search driver: the only module that creates an Optuna study.

A trial proposes a strategy from the search space, scores it by stratified CV and records
everything the leaderboard, trackers and export need as trial attributes. Observers are plain
Optuna callbacks ``(study, trial) -> None``.
"""

from __future__ import annotations

import math
import os
from collections import Counter
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from strategy_search.data import DataProfile, check_features, encode_target, profile
from strategy_search.ensemble import select_ensemble
from strategy_search.masking import mask_secrets
from strategy_search.parallel import TaskRunner
from strategy_search.scoring import METRICS, THRESHOLD_FREE, CVResult, cross_validate, cv_splits, effective_folds
from strategy_search.space import SearchSpace, load_space
from strategy_search.strategy import Ensemble, Strategy, build_classifier, build_pipeline

Callback = Callable[[optuna.Study, FrozenTrial], None]

DEFAULT_N_TRIALS = 100
DEFAULT_TIMEOUT = 600.0
# TPE starts modelling after this many finished trials; the portfolio counts towards it.
TPE_STARTUP_TRIALS = 10
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
# When this many trials have finished and every one failed, the setup (not the strategies) is
# broken: the search stops and says why instead of repeating the error up to the budget.
FAIL_FAST_TRIALS = 5
# The search's answer may average strategies drawn from this many of its best trials (ensemble.py).
DEFAULT_ENSEMBLE_SIZE = 8
ENSEMBLE_ATTR = "ensemble"


class SearchFailed(RuntimeError):
    """No trial could be scored. ``reasons`` counts each distinct failure reason."""

    def __init__(self, study: optuna.Study, reasons: dict[str, int]):
        self.study, self.reasons = study, reasons
        listed = "\n".join(f"  {count} x {reason}" for reason, count in reasons.items())
        super().__init__(f"All {sum(reasons.values())} trials failed; stopped early. Reasons:\n{listed}")


class StorageError(RuntimeError):
    """The Optuna storage cannot be opened (unreachable server, damaged file)."""


@dataclass(frozen=True)
class SearchSettings:
    """Everything that decides what a search does, apart from the data."""

    space: SearchSpace
    metrics: tuple[str, ...] = ("pr_auc",)
    n_trials: int | None = None
    timeout: float | None = None
    seed: int = 0
    cv_folds: int = 5
    cv_repeats: int = 1
    threshold_folds: int = 1
    n_jobs: int = 1
    pruning: bool = True
    ensemble_size: int = DEFAULT_ENSEMBLE_SIZE

    @property
    def primary_metric(self) -> str:
        return self.metrics[0]

    @property
    def multi_objective(self) -> bool:
        return len(self.metrics) > 1

    @property
    def ensembling(self) -> bool:
        """A Pareto search has no single order to rank members by, so it never ensembles."""
        return self.ensemble_size > 1 and not self.multi_objective


@dataclass
class PreparedData:
    X: pd.DataFrame
    y: pd.Series
    y01: np.ndarray
    profile: DataProfile


def prepare_data(X: Any, y: Any, *, positive_label: Any = None) -> PreparedData:
    X = check_features(X).reset_index(drop=True)
    y = pd.Series(y).reset_index(drop=True)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}; they must match.")
    y01, positive, negative = encode_target(y, positive_label)
    return PreparedData(X, y, y01, profile(X, y01, positive, negative))


def _check_metrics(metric: str | Sequence[str]) -> tuple[str, ...]:
    metrics = (metric,) if isinstance(metric, str) else tuple(metric)
    unknown = [m for m in metrics if m not in METRICS]
    if not metrics or unknown or len(set(metrics)) != len(metrics):
        raise ValueError(f"metric must be one or more distinct names from {list(METRICS)}; got {metric!r}.")
    return metrics


def _check_budget(n_trials: int | None, timeout: float | None) -> tuple[int | None, float | None]:
    if n_trials is None and timeout is None:
        return DEFAULT_N_TRIALS, DEFAULT_TIMEOUT
    if n_trials is not None and (not isinstance(n_trials, int) or n_trials < 1):
        raise ValueError(f"n_trials must be a positive integer or None; got {n_trials!r}.")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None; got {timeout!r}.")
    return n_trials, timeout


# -- the objective ----------------------------------------------------------------------------
class _Objective:
    """Scores one strategy per trial and writes its results into the trial's attributes."""

    def __init__(self, data: PreparedData, settings: SearchSettings, runner: TaskRunner, deadline: float | None):
        self.data, self.settings, self.runner, self.deadline = data, settings, runner, deadline
        folds = effective_folds(data.profile.n_positive, settings.cv_folds)
        self.splits = cv_splits(data.y01, folds=folds, repeats=settings.cv_repeats, seed=settings.seed)
        # The best complete CVs of this process by primary metric (scores, not models): the
        # ensemble's candidates, or only the best one when the search does not ensemble.
        self.candidates: dict[int, tuple[float, CVResult]] = {}
        self.pool_size = settings.ensemble_size if settings.ensembling else 1

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        only = trial.user_attrs.get("portfolio_params")
        strategy = self.settings.space.suggest(
            trial, has_categorical=self.data.profile.has_categorical, seed=self.settings.seed, only=only
        )
        trial.set_user_attr("strategy", strategy.to_dict())
        try:
            result = cross_validate(
                build_pipeline(strategy, self.data.profile.schema),
                self.data.X,
                self.data.y01,
                splits=self.splits,
                threshold_folds=self.settings.threshold_folds,
                seed=self.settings.seed,
                runner=self.runner,
                on_fold=self._pruning_reporter(trial),
                deadline=self.deadline,
            )
        except KeyboardInterrupt:
            trial.set_user_attr("fail_reason", "interrupted (Ctrl-C or SIGTERM)")
            raise
        except Exception as exc:
            trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}"[:2000])
            raise
        self._record(trial, strategy, result)
        if result.stopped == "deadline":
            trial.set_user_attr("stopped", "time budget exhausted")
            trial.study.stop()
            raise optuna.TrialPruned("time budget exhausted")
        if result.stopped == "pruned":
            trial.set_user_attr("stopped", "pruned")
            raise optuna.TrialPruned(f"pruned after {len(result.folds)} folds")
        means = result.mean()
        values = tuple(means[m] for m in self.settings.metrics)
        self._keep_candidate(trial.number, values[0], result)
        return values if self.settings.multi_objective else values[0]

    def _pruning_reporter(self, trial: optuna.Trial) -> Callable[[int, dict[str, float]], bool] | None:
        if not _prunable(self.settings):
            return None
        metric, seen = self.settings.primary_metric, []

        def report(fold: int, metrics: dict[str, float]) -> bool:
            seen.append(metrics[metric])
            trial.report(float(np.nanmean(seen)), step=fold)
            return not trial.should_prune()

        return report

    def _record(self, trial: optuna.Trial, strategy: Strategy, result: CVResult) -> None:
        threshold = result.deployment_threshold(self.data.y01) if result.folds else strategy.threshold
        trial.set_user_attr("strategy", strategy.with_threshold(threshold).to_dict())
        trial.set_user_attr("threshold", threshold)
        trial.set_user_attr("metrics", result.mean())
        trial.set_user_attr("metrics_std", result.std())
        trial.set_user_attr("fold_metrics", [f.metrics for f in result.folds])
        trial.set_user_attr("fold_thresholds", [f.threshold for f in result.folds])
        trial.set_user_attr("fit_seconds", result.fit_seconds)
        notes = {i: f.notes for i, f in enumerate(result.folds) if f.notes}
        if notes:
            trial.set_user_attr("notes", {str(k): v for k, v in notes.items()})

    def _rank(self, number: int) -> tuple[float, int]:
        """Higher is better: the primary metric, then the earlier trial."""
        return self.candidates[number][0], -number

    def _keep_candidate(self, number: int, value: float, result: CVResult) -> None:
        if math.isnan(value):
            return
        self.candidates[number] = (value, result)
        if len(self.candidates) > self.pool_size:
            del self.candidates[min(self.candidates, key=self._rank)]

    @property
    def best_oof(self) -> np.ndarray | None:
        """Out-of-fold scores of this process's best complete trial (None before one)."""
        if not self.candidates:
            return None
        return self.candidates[max(self.candidates, key=self._rank)][1].oof

    def choose_ensemble(self, study: optuna.Study) -> CVResult | None:
        """Choose between an ensemble of this process's best trials and the best one alone
        (ensemble.py), and record the choice on the study, unless an earlier run of the study
        recorded a better ensemble. Returns the chosen ensemble's CV, or None."""
        if not self.settings.ensembling or not self.candidates:
            return None
        metric = self.settings.primary_metric
        choice = select_ensemble(
            [(n, r) for n, (_, r) in self.candidates.items()], self.data.y01,
            metric=metric, pool_size=self.pool_size,
        )
        recorded = study.user_attrs.get(ENSEMBLE_ATTR)
        value = max(v for v, _ in self.candidates.values()) if choice is None else choice.cv.mean()[metric]
        if recorded and recorded["metrics"][metric] >= value:
            return None
        if choice is None:
            if recorded:
                study.set_user_attr(ENSEMBLE_ATTR, None)
            return None
        study.set_user_attr(ENSEMBLE_ATTR, {
            "trials": list(choice.members),
            "weights": list(choice.weights),
            "threshold": choice.cv.deployment_threshold(self.data.y01),
            "metrics": choice.cv.mean(),
            "metrics_std": choice.cv.std(),
        })
        return choice.cv


# -- the result -------------------------------------------------------------------------------
class SearchResult:
    """What a search found. ``leaderboard`` has one row per trial, best first."""

    def __init__(self, *, study: optuna.Study, data: PreparedData, settings: SearchSettings,
                 oof_scores: np.ndarray | None):
        self.study, self.data, self.settings = study, data, settings
        self.oof_scores = oof_scores

    @property
    def profile(self) -> DataProfile:
        return self.data.profile

    @property
    def ensemble(self) -> dict[str, Any] | None:
        """The ensemble the search chose as its answer (member ``trials``, ``weights``,
        ``threshold``, ``metrics``, ``metrics_std``), or None when its answer is the best trial."""
        if not self.settings.ensembling:
            return None
        return self.study.user_attrs.get(ENSEMBLE_ATTR) or None

    def _completed(self) -> list[FrozenTrial]:
        return [t for t in self.study.trials if t.state == TrialState.COMPLETE]

    @property
    def best_trial(self) -> FrozenTrial:
        """The completed trial with the best primary metric (for a Pareto search: the best
        primary metric on the Pareto front, which is the same trial)."""
        completed = self._completed()
        if not completed:
            reasons = {t.user_attrs.get("fail_reason", t.state.name) for t in self.study.trials}
            raise RuntimeError(f"No trial completed; reasons seen: {sorted(reasons)[:5]}")
        primary = self.settings.primary_metric
        return max(completed, key=lambda t: (t.user_attrs["metrics"][primary], -t.number))

    @property
    def pareto_front(self) -> list[FrozenTrial]:
        return list(self.study.best_trials) if self.settings.multi_objective else [self.best_trial]

    def strategy_of(self, trial: FrozenTrial) -> Strategy:
        """Replay the trial's parameters through the space (Optuna ``FixedTrial``): the
        strategy that was scored, rebuilt from its recorded parameters alone."""
        strategy = self.settings.space.suggest(
            optuna.trial.FixedTrial(trial.params),
            has_categorical=self.profile.has_categorical,
            seed=self.settings.seed,
            only=set(trial.params),
        )
        return strategy.with_threshold(trial.user_attrs["threshold"])

    @property
    def best_strategy(self) -> Strategy | Ensemble:
        """The search's answer, plain data: the :attr:`ensemble` of its best trials, or the best
        trial's strategy when that one is clearly better than their ensemble."""
        ensemble = self.ensemble
        if ensemble is None:
            return self.strategy_of(self.best_trial)
        members = tuple(self.strategy_of(self.study.trials[n]) for n in ensemble["trials"])
        return Ensemble(members, tuple(ensemble["weights"]), ensemble["threshold"])

    @property
    def answer_trials(self) -> list[int]:
        """The trial numbers behind :attr:`best_strategy`: the ensemble's members (best first),
        or the best trial alone."""
        ensemble = self.ensemble
        return list(ensemble["trials"]) if ensemble is not None else [self.best_trial.number]

    @property
    def best_scores(self) -> dict[str, float]:
        """CV means of :attr:`best_strategy`."""
        return dict((self.ensemble or self.best_trial.user_attrs)["metrics"])

    @property
    def best_scores_std(self) -> dict[str, float]:
        return dict((self.ensemble or self.best_trial.user_attrs)["metrics_std"])

    @property
    def leaderboard(self) -> pd.DataFrame:
        return leaderboard(self.study, primary_metric=self.settings.primary_metric)

    def best_pipeline(self) -> Any:
        """The best strategy refitted on all rows: ``predict_proba`` and a ``predict`` that
        applies the tuned threshold, on the user's own labels."""
        classifier = build_classifier(
            self.best_strategy, self.profile.schema, positive_label=self.profile.positive_label
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return classifier.fit(self.data.X, self.data.y)


def leaderboard(study: optuna.Study, *, primary_metric: str = "pr_auc") -> pd.DataFrame:
    rows = []
    for trial in study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING)):
        strategy = trial.user_attrs.get("strategy", {})
        metrics, stds = trial.user_attrs.get("metrics", {}), trial.user_attrs.get("metrics_std", {})
        row = {
            "trial": trial.number,
            "state": trial.state.name,
            "model": strategy.get("model"),
            "resampler": strategy.get("resampler"),
            "weighting": strategy.get("weighting"),
            "objective": strategy.get("objective"),
        }
        row.update({m: metrics.get(m, np.nan) for m in METRICS})
        row.update({f"{m}_std": stds.get(m, np.nan) for m in METRICS})
        row.update({
            "threshold": trial.user_attrs.get("threshold", np.nan),
            "duration_s": trial.duration.total_seconds() if trial.duration else np.nan,
            "portfolio": trial.user_attrs.get("portfolio"),
            "fail_reason": trial.user_attrs.get("fail_reason") or trial.user_attrs.get("stopped"),
            "params": {k: v for k, v in trial.params.items() if k.count(".") >= 2},
        })
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    completed_first = (frame["state"] != "COMPLETE").astype(int)
    order = np.lexsort((frame["trial"], -frame[primary_metric].fillna(-np.inf), completed_first))
    return frame.iloc[order].reset_index(drop=True)


# -- the driver -------------------------------------------------------------------------------
def _sampler(seed: int) -> optuna.samplers.BaseSampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # multivariate + group models the conditional space (parameters that exist only for
        # some models) jointly instead of as independent 1-D densities.
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, n_startup_trials=TPE_STARTUP_TRIALS
        )


def _prunable(settings: SearchSettings) -> bool:
    """Pruning needs one objective (an Optuna rule) known before a fold's inner threshold
    fits, i.e. a threshold-free primary metric."""
    return settings.pruning and not settings.multi_objective and settings.primary_metric in THRESHOLD_FREE


def _pruner(settings: SearchSettings) -> optuna.pruners.BasePruner:
    if not _prunable(settings):
        return optuna.pruners.NopPruner()
    # Compare running CV means only after two folds, and only once enough trials are known.
    return optuna.pruners.MedianPruner(n_startup_trials=TPE_STARTUP_TRIALS, n_warmup_steps=1)


def _open_storage(storage: Any) -> Any:
    """An RDB storage opened (and checked) now, so a damaged file or an unreachable database
    is reported before any work, never silently replaced."""
    if not isinstance(storage, str):
        return storage
    try:
        return optuna.storages.RDBStorage(storage)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy and drivers raise many types
        raise StorageError(
            f"Cannot open the Optuna storage {mask_secrets(storage)}: {type(exc).__name__}: "
            f"{mask_secrets(str(exc).splitlines()[0])}. {_storage_hint(storage, exc)}"
        ) from None


def _storage_hint(storage: str, exc: Exception) -> str:
    if isinstance(exc, ImportError):
        extra = " (pip install 'strategy-search[postgres]')" if storage.startswith("postgres") else ""
        return f"The database driver for this URL is not installed{extra}."
    if storage.startswith("sqlite"):
        return ("If it is a damaged file, move it away (its studies cannot be resumed) or point "
                "search.storage at another one.")
    return "Check that the database server is running and reachable, and the user name and password."


def create_study(settings: SearchSettings, *, storage: Any = None, study_name: str | None = None) -> optuna.Study:
    return optuna.create_study(
        storage=_open_storage(storage),
        study_name=study_name,
        load_if_exists=study_name is not None,
        directions=["maximize"] * len(settings.metrics),
        sampler=_sampler(settings.seed),
        pruner=_pruner(settings),
    )


def _close_interrupted(study: optuna.Study) -> None:
    """Trials left RUNNING by a process that died are marked failed so the budget counts them
    once and a resumed search does not wait on them."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(trial._trial_id, "fail_reason", "interrupted")
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)


def load_result(data: PreparedData, settings: SearchSettings, *, storage: Any, study_name: str) -> SearchResult:
    """A finished (or interrupted) search's result from its stored study, e.g. to export it."""
    study = optuna.load_study(study_name=study_name, storage=_open_storage(storage))
    return SearchResult(study=study, data=data, settings=settings, oof_scores=None)


def latest_study_name(storage: Any, *, config_name: str) -> str | None:
    """The most recently started study that ran the config named ``config_name``."""
    summaries = [
        s for s in optuna.get_all_study_summaries(storage=_open_storage(storage), include_best_trial=False)
        if s.user_attrs.get("config_name") == config_name
    ]
    if not summaries:
        return None
    return max(summaries, key=lambda s: (s.datetime_start is not None, s.datetime_start, s._study_id)).study_name


class _BudgetGuard:
    """Ends the search when the next trial would probably not finish within the time budget.

    A trial cut off at the deadline is wasted and its worker processes must be killed, which
    makes the next search start them again (seconds of imports); stopping one typical trial
    early keeps them warm. The estimate is the median duration of the recent completed trials
    of this process, leaving out its first, which also paid for starting the workers (with
    only that one known there is no estimate, and the search goes on).
    """

    def __init__(self, deadline: float | None):
        self.deadline = deadline
        self.durations: list[float] = []

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self.deadline is None or trial.state != TrialState.COMPLETE or trial.duration is None:
            return
        self.durations.append(trial.duration.total_seconds())
        recent = self.durations[1:][-5:]
        if recent and time.monotonic() + float(np.median(recent)) > self.deadline:
            study.stop()


def _stop_when_everything_fails(study: optuna.Study, trial: FrozenTrial) -> None:
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    if len(finished) >= FAIL_FAST_TRIALS and all(t.state == TrialState.FAIL for t in finished):
        study.stop()


def _raise_if_nothing_worked(study: optuna.Study) -> None:
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    if finished and all(t.state == TrialState.FAIL for t in finished):
        reasons = Counter(t.user_attrs.get("fail_reason", "unknown error") for t in finished)
        raise SearchFailed(study, dict(reasons.most_common()))


def _enqueue_portfolio(study: optuna.Study, space: SearchSpace, data: PreparedData) -> None:
    if study.trials:
        return  # a resumed study already ran (or queued) its portfolio
    for entry in space.portfolio_for(has_categorical=data.profile.has_categorical):
        params = entry.flat_params()
        searched = [name for name in params if name.count(".") >= 2] + ["model", "resampler", "weighting", "objective"]
        study.enqueue_trial(params, user_attrs={"portfolio": entry.name, "portfolio_params": searched})


def search(
    X: pd.DataFrame,
    y: Any,
    *,
    space: str | Any = "default",
    n_trials: int | None = None,
    timeout: float | None = None,
    seed: int = 0,
    cv_folds: int = 5,
    cv_repeats: int = 1,
    metric: str | Sequence[str] = "pr_auc",
    callbacks: Sequence[Callback] = (),
    positive_label: Any = None,
    n_jobs: int | None = None,
    threshold_folds: int = 1,
    pruning: bool = True,
    ensemble_size: int = DEFAULT_ENSEMBLE_SIZE,
    storage: Any = None,
    study_name: str | None = None,
) -> SearchResult:
    """Search for the best imbalance strategy for ``(X, y)``.

    Parameters
    ----------
    X, y:
        Feature table (numeric, categorical or string columns; NaN allowed) and a two-class
        target. The positive class is the minority unless ``positive_label`` names it.
    space:
        Built-in space name (``"default"``, ``"fast"``), a YAML path, or a parsed mapping.
    n_trials, timeout:
        Budget: trials in total (a resumed study counts its finished trials) and wall-clock
        seconds for this call. With neither, 100 trials or 10 minutes, whichever ends first.
    metric:
        Primary metric to maximise, or several for a Pareto search (e.g. ``["pr_auc", "f1"]``).
    callbacks:
        Optuna callbacks ``(study, frozen_trial) -> None`` run after each trial.
    n_jobs:
        Worker processes for CV fits (default: all cores). With 1, fits run in this process
        and the time budget is only checked between fits.
    threshold_folds:
        How each fold's decision threshold is chosen on its training part: 1 (default) a
        stratified holdout of a third of it, K >= 2 inner K-fold out-of-fold scores, 0 none
        (threshold 0.5).
    ensemble_size:
        The answer is an ensemble drawn from this many of the best trials unless the best
        trial alone is clearly better (see ``strategy_search.ensemble``); 1 turns it off, and
        a Pareto search never ensembles.
    storage, study_name:
        Optuna storage (URL or object) and study name; an existing study is resumed.
    """
    settings = make_settings(
        space=space, n_trials=n_trials, timeout=timeout, seed=seed, cv_folds=cv_folds, cv_repeats=cv_repeats,
        metric=metric, n_jobs=n_jobs, threshold_folds=threshold_folds, pruning=pruning,
        ensemble_size=ensemble_size,
    )
    data = prepare_data(X, y, positive_label=positive_label)
    return run_search(data, settings, callbacks=callbacks, storage=storage, study_name=study_name)


def make_settings(
    *,
    space: str | Any = "default",
    n_trials: int | None = None,
    timeout: float | None = None,
    seed: int = 0,
    cv_folds: int = 5,
    cv_repeats: int = 1,
    metric: str | Sequence[str] = "pr_auc",
    n_jobs: int | None = None,
    threshold_folds: int = 1,
    pruning: bool = True,
    ensemble_size: int = DEFAULT_ENSEMBLE_SIZE,
) -> SearchSettings:
    """Validated settings from :func:`search`'s keyword arguments (see there)."""
    n_trials, timeout = _check_budget(n_trials, timeout)
    for name, value, low in (("cv_folds", cv_folds, 2), ("cv_repeats", cv_repeats, 1), ("threshold_folds", threshold_folds, 0),
                            ("ensemble_size", ensemble_size, 1)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")
    return SearchSettings(
        space=load_space(space),
        metrics=_check_metrics(metric),
        n_trials=n_trials,
        timeout=timeout,
        seed=seed,
        cv_folds=cv_folds,
        cv_repeats=cv_repeats,
        threshold_folds=threshold_folds,
        n_jobs=n_jobs or os.cpu_count() or 1,
        pruning=pruning,
        ensemble_size=ensemble_size,
    )


def run_search(
    data: PreparedData,
    settings: SearchSettings,
    *,
    callbacks: Sequence[Callback] = (),
    storage: Any = None,
    study_name: str | None = None,
) -> SearchResult:
    """Run (or resume) a search on prepared data; :func:`search` is the friendly front."""
    started = time.monotonic()
    deadline = None if settings.timeout is None else started + settings.timeout
    previous_verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = create_study(settings, storage=storage, study_name=study_name)
        _close_interrupted(study)
        _enqueue_portfolio(study, settings.space, data)
        objective = _Objective(data, settings, TaskRunner(n_jobs=settings.n_jobs), deadline)
        remaining = None
        if settings.n_trials is not None:
            remaining = settings.n_trials - len(study.get_trials(deepcopy=False, states=FINISHED))
        if remaining is None or remaining > 0:
            study.optimize(
                objective,
                n_trials=remaining,
                timeout=settings.timeout,
                callbacks=[*callbacks, _stop_when_everything_fails, _BudgetGuard(deadline)],
                catch=(Exception,),
                gc_after_trial=False,
            )
    finally:
        optuna.logging.set_verbosity(previous_verbosity)
    _raise_if_nothing_worked(study)
    ensemble_cv = objective.choose_ensemble(study)
    oof = objective.best_oof if ensemble_cv is None else ensemble_cv.oof
    return SearchResult(study=study, data=data, settings=settings, oof_scores=oof)
