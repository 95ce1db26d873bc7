"""The search driver: the only module that creates an Optuna study.

A trial proposes a strategy from the search space, scores it by stratified CV and records
everything the leaderboard, trackers and export need as trial attributes. Observers are plain
Optuna callbacks ``(study, trial) -> None``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from strategy_search.data import (
    DataProfile,
    check_features,
    check_usable_features,
    encode_classes,
    plain,
    profile,
)
from strategy_search.do_nothing import COMPARED, DoNothingComparison, compare_folds, do_nothing_strategy
from strategy_search.ensemble import TrialEnsemble, average_cv, clearly_better, select_ensemble
from strategy_search.errors import (
    DataError,
    NoCompletedTrial,
    NoStoredScores,
    SearchFailed,
    SettingsError,
    StorageError,
)
from strategy_search.fidelity import ETA, Fidelities, plan_fidelities
from strategy_search.masking import mask_secrets
from strategy_search.parallel import TaskRunner
from strategy_search.ranking import best_first
from strategy_search.scoring import METRICS, THRESHOLD_FREE, CVResult, PendingCV, score_pipeline, start_cv
from strategy_search.settings import SearchSettings, settings_doc
from strategy_search.shared_table import Table
from strategy_search.shared_table import shared as shared_table
from strategy_search.slots import MODEL, get_slot, slot_names
from strategy_search.strategy import Ensemble, Strategy, build_classifier, build_pipeline
from strategy_search.study_budget import (
    BUDGET_ATTR,
    FINISHED,
    SURPLUS_ATTR,
    Budget,
    RetryStaleTrial,
    StopAtBudget,
    fail_stale,
    is_surplus,
    never_ran,
    no_place_left,
    running,
    stale_reasons,
)
from strategy_search.task import Task
from strategy_search.thresholds import ThresholdRule
from strategy_search.trial_loop import run_trials
from strategy_search.trial_scores import (
    FINGERPRINT_ATTR,
    ScoreStore,
    ScoringPlan,
    check_fingerprint,
    decode_scores,
    encode_scores,
    fingerprint,
    storage_url,
    store_of,
)

__all__ = ["SearchFailed", "SearchResult", "SearchSettings", "StorageError", "leaderboard", "search"]

Callback = Callable[[optuna.Study, FrozenTrial], None]

# TPE starts modelling after this many finished trials; the portfolio counts towards it.
TPE_STARTUP_TRIALS = 10
# When this many trials have finished and every one failed, the setup (not the strategies) is
# broken: the search stops and says why instead of repeating the error up to the budget.
FAIL_FAST_TRIALS = 5
ENSEMBLE_ATTR = "ensemble"
DO_NOTHING_ATTR = "do_nothing"
# The do-nothing CV runs after the search, for at most 10 % of its timeout (at least this long).
DO_NOTHING_MIN_SECONDS = 30.0
# The components the table's size ruled out ("slot key" -> why), for the output and MLflow.
LEFT_OUT_ATTR = "left_out"
ANSWER_OOF_ATTR = "answer_oof"


@dataclass
class PreparedData:
    """The checked table: ``codes`` are the target's class codes (0/1 for a binary target, 1 =
    positive); ``profile.task`` maps them back to labels."""

    X: pd.DataFrame
    y: pd.Series
    codes: np.ndarray
    profile: DataProfile

    @property
    def task(self) -> Task:
        return self.profile.the_task


def prepare_data(X: Any, y: Any, *, positive_label: Any = None) -> PreparedData:
    X = check_features(X).reset_index(drop=True)
    y = pd.Series(y).reset_index(drop=True)
    if len(X) != len(y):
        raise DataError(f"X has {len(X)} rows but y has {len(y)}; they must match.")
    codes, task = encode_classes(y, positive_label=positive_label)
    data_profile = profile(X, codes, task)
    check_usable_features(data_profile)
    return PreparedData(X, y, codes, data_profile)


def task_setting_problems(settings: SearchSettings, task: Task) -> list[tuple[str, str]]:
    """Settings that have no meaning for the data's task, as ``(setting, why)``."""
    problem = settings.threshold.multiclass_problem() if task.multiclass else None
    return [("threshold", problem)] if problem else []


def check_task_settings(settings: SearchSettings, task: Task) -> None:
    """Refuse, before any work, settings that have no meaning for the data's task."""
    problems = task_setting_problems(settings, task)
    if problems:
        raise SettingsError("; ".join(f"{name}: {why}" for name, why in problems) + ".")


# -- the objective ----------------------------------------------------------------------------
class _Objective:
    """Scores one strategy per trial, writes its results into the trial's attributes and its
    fold scores into the study's score store (what the answer is chosen from)."""

    def __init__(
        self,
        data: PreparedData,
        settings: SearchSettings,
        runner: TaskRunner,
        deadline: float | None,
        *,
        plan: ScoringPlan,
        store: ScoreStore,
        budget: Budget,
        shared: bool,
        table: Table,
        fidelities: Fidelities,
    ):
        self.data, self.settings, self.runner, self.deadline = data, settings, runner, deadline
        self.plan, self.store, self.budget, self.shared = plan, store, budget, shared
        self.table, self.fidelities = table, fidelities
        self.splits = plan.splits
        self.too_many_rows = too_many_rows(data, settings)
        self.strategies: dict[int, Strategy] = {}  # of the trials in flight
        self.sent_straight_to_full = False

    def start(self, trial: optuna.Trial) -> Callable[[], float | tuple[float, ...]]:
        """Suggest the trial's strategy and queue its CV fits (:mod:`strategy_search.trial_loop`
        calls this while the previous trial's fits run); the function returned waits for them."""
        if self.shared and is_surplus(trial.study, trial, self.budget):
            # Another worker asked for the budget's last trial at the same moment.
            trial.set_user_attr(SURPLUS_ATTR, "the budget was reached when this trial was asked for; not run")
            trial.study.stop()
            raise optuna.TrialPruned("budget reached")
        only = trial.user_attrs.get("portfolio_params")
        strategy = self.settings.space.suggest(
            trial,
            has_categorical=self.data.profile.has_categorical,
            multiclass=self.data.task.multiclass,
            seed=self.settings.seed,
            only=only,
            too_many_rows=self.too_many_rows,
        )
        self.strategies[trial.number] = strategy
        # Until a trial completes there is no answer: the first one goes straight to the full CV
        # (successive halving would promote it anyway, as the only one at each rung).
        climb = self.fidelities.active and (self.sent_straight_to_full or _any_complete(trial.study))
        self.sent_straight_to_full = self.sent_straight_to_full or self.fidelities.active
        try:
            pipeline = build_pipeline(strategy, self.data.profile.schema)
            pending = self._start_rung(trial, pipeline, 0 if climb else len(self.fidelities.fractions))
        except Exception as exc:
            self._failed(trial, exc)
            raise
        if climb:
            return lambda: self._climb(trial, strategy, pipeline, pending)
        if self.fidelities.active:
            trial.set_user_attr("fidelity", 1.0)
        return lambda: self._finish(trial, strategy, pending)

    def _start_rung(self, trial: optuna.Trial, pipeline: Any, rung: int) -> PendingCV:
        """Start the CV of fidelity ``rung`` (the full CV: ``len(fidelities.fractions)``)."""
        low = rung < len(self.fidelities.fractions)
        return start_cv(
            pipeline,
            self.table,
            self.data.codes,
            splits=self.fidelities.splits[rung] if low else self.splits,
            threshold_folds=0 if low else self.settings.threshold_folds,
            seed=self.settings.seed,
            runner=self.runner,
            on_fold=None if self.fidelities.active else self._pruning_reporter(trial),
            deadline=self.deadline,
            threshold_rule=self.settings.threshold,
        )

    def _climb(
        self, trial: optuna.Trial, strategy: Strategy, pipeline: Any, pending: PendingCV
    ) -> float | tuple[float, ...]:
        """Multi-fidelity (:mod:`strategy_search.fidelity`): score the subsampled rungs one
        after the other, stopping where the pruner or the deadline says so, then the full CV."""
        fractions, metric = self.fidelities.fractions, self.settings.primary_metric
        rungs: list[dict[str, float]] = []
        for rung, fraction in enumerate(fractions):
            result = self._wait(trial, pending)
            self._check_deadline(trial, strategy, result)
            means = result.mean()  # a rung chooses no threshold: only the threshold-free metrics mean something
            rungs.append({"fraction": fraction, **{m: means[m] for m in THRESHOLD_FREE if m in means}})
            trial.set_user_attr("rung_metrics", rungs)
            trial.set_user_attr("fidelity", fraction)
            trial.report(float(means[metric]), step=self.fidelities.step(rung))
            following = fractions[rung + 1] if rung + 1 < len(fractions) else 1.0
            if trial.should_prune():
                self._stop_at_rung(trial, strategy, f"pruned at fidelity {fraction:.3g}")
            elif not self._time_for(result, fraction, following) and _any_complete(trial.study):
                self._stop_at_rung(trial, strategy, f"fidelity {following:.3g} would not finish before the deadline")
            try:
                pending = self._start_rung(trial, pipeline, rung + 1)
            except Exception as exc:
                self._failed(trial, exc)
                raise
        trial.set_user_attr("fidelity", 1.0)
        return self._finish(trial, strategy, pending)

    def _time_for(self, result: CVResult, fraction: float, following: float) -> bool:
        """Whether the next rung can finish before the deadline, predicted from this rung's fit
        time scaled by the rows (and the full CV's threshold fits, on two thirds of each part)."""
        if self.deadline is None:
            return True
        scale = following / fraction
        if following == 1.0 and self.settings.threshold_folds:
            scale *= 1 + 2 / 3 if self.settings.threshold_folds == 1 else 2
        predicted = result.fit_seconds * scale / self.runner.n_jobs
        return time.monotonic() + predicted <= self.deadline

    def _stop_at_rung(self, trial: optuna.Trial, strategy: Strategy, why: str) -> None:
        self.strategies.pop(trial.number, None)
        trial.set_user_attr("strategy", strategy.to_dict())
        trial.set_user_attr("stopped", why)
        raise optuna.TrialPruned(why)

    def _check_deadline(self, trial: optuna.Trial, strategy: Strategy, result: CVResult) -> None:
        if result.stopped == "deadline":
            trial.set_user_attr("strategy", strategy.to_dict())
            trial.set_user_attr("stopped", "time budget exhausted")
            self.strategies.pop(trial.number, None)
            trial.study.stop()
            raise optuna.TrialPruned("time budget exhausted")

    def _wait(self, trial: optuna.Trial, pending: PendingCV) -> CVResult:
        try:
            return pending.result()
        except KeyboardInterrupt as interrupt:
            self.interrupted(trial, interrupt)
            raise
        except Exception as exc:
            self._failed(trial, exc)
            raise

    def _finish(self, trial: optuna.Trial, strategy: Strategy, pending: PendingCV) -> float | tuple[float, ...]:
        result = self._wait(trial, pending)
        self.strategies.pop(trial.number, None)
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
        self.store.put(trial.number, encode_scores(result))
        return values if self.settings.multi_objective else values[0]

    def _failed(self, trial: optuna.Trial, exc: Exception) -> None:
        self.interrupted(trial, exc)
        trial.set_user_attr("traceback", _traceback_text(exc))

    def interrupted(self, trial: optuna.Trial, error: BaseException) -> None:
        """Why ``trial`` ended without scores, with what it tried (a complete trial's strategy
        is written with its scores: one write per trial, not two)."""
        strategy = self.strategies.pop(trial.number, None)
        if strategy is not None:
            trial.set_user_attr("strategy", strategy.to_dict())
        reason = "interrupted (Ctrl-C or SIGTERM)" if isinstance(error, KeyboardInterrupt) else failure_reason(error)
        trial.set_user_attr("fail_reason", reason)

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
        threshold = result.deployment_threshold(self.data.codes) if result.folds else strategy.threshold
        trial.set_user_attr("strategy", strategy.with_threshold(threshold).to_dict())
        trial.set_user_attr("threshold", plain(threshold))
        trial.set_user_attr("metrics", result.mean())
        class_metrics = result.class_metrics()
        if class_metrics:
            trial.set_user_attr("class_metrics", class_metrics)
        trial.set_user_attr("metrics_std", result.std())
        trial.set_user_attr("fold_metrics", [f.metrics for f in result.folds])
        trial.set_user_attr("fold_thresholds", [f.threshold for f in result.folds])
        trial.set_user_attr("fit_seconds", result.fit_seconds)
        notes = {i: f.notes for i, f in enumerate(result.folds) if f.notes}
        if notes:
            trial.set_user_attr("notes", {str(k): v for k, v in notes.items()})


def choose_ensemble(result: SearchResult) -> None:
    """Choose between an ensemble of the study's best trials and the best one alone
    (ensemble.py), from the fold scores stored for every complete trial (whichever process ran
    it), and record the choice on the study. The same study gives the same choice in any process."""
    settings, study = result.settings, result.study
    if not settings.ensembling:
        return
    metric = settings.primary_metric
    ranked = sorted(
        (t for t in result.completed_trials() if not math.isnan(t.user_attrs.get("metrics", {}).get(metric, np.nan))),
        key=lambda t: best_first(t.user_attrs["metrics"][metric], t.number),
    )
    # An anomaly detector's scores are no probabilities: it may answer alone, never in an average.
    classifiers = [t for t in ranked if not _is_detector(t)]
    pool = result.stored_cvs([t.number for t in classifiers[: settings.ensemble_size]])
    if not pool:
        return  # trials from a version that stored no scores: keep what that version recorded
    choice = select_ensemble(list(pool.items()), result.data.codes, metric=metric, pool_size=settings.ensemble_size)
    if choice is not None and choice.cv is not None and _is_detector(ranked[0]):
        detector = result.stored_cvs([ranked[0].number]).get(ranked[0].number)
        if detector is not None and clearly_better(detector, choice.cv, metric):
            choice = None  # the best trial, the detector, answers
    study.set_user_attr(ENSEMBLE_ATTR, None if choice is None else choice.to_attr())


def _is_detector(trial: FrozenTrial) -> bool:
    return bool(get_slot(MODEL).component(_model_of(trial)).tag("anomaly_detector"))


def _treats_nothing_itself(trial: FrozenTrial) -> bool:
    """Whether the trial's model can be run as "doing nothing": not one that balances the
    classes itself, and not an anomaly detector."""
    model = get_slot(MODEL).component(_model_of(trial))
    return not (model.tag("balances_itself") or model.tag("anomaly_detector"))


def _any_complete(study: optuna.Study) -> bool:
    """Whether some trial has completed (while none has, a trial that may not finish in time
    is still the search's only chance of an answer, so it goes on)."""
    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def compare_to_do_nothing(result: SearchResult) -> None:
    """Cross-validate the do-nothing strategy on the search's folds and record its comparison
    with the answer on the study (:mod:`strategy_search.do_nothing`). A study that has it for
    the same answer keeps it, so any process gets the same comparison."""
    if not result.completed_trials():
        return  # no answer to compare (the search says why)
    stored = result.do_nothing
    if stored is not None and list(stored.answer_trials) == result.answer_trials:
        return
    result.study.set_user_attr(DO_NOTHING_ATTR, _do_nothing_comparison(result).to_attr())


def _do_nothing_comparison(result: SearchResult) -> DoNothingComparison:
    answer_trials = tuple(result.answer_trials)
    metric = result.settings.primary_metric
    ranked = sorted(result.completed_trials(), key=lambda t: best_first(t.user_attrs["metrics"][metric], t.number))
    source = next((t for t in ranked if _treats_nothing_itself(t)), None)
    if source is None:
        why = "every complete trial's model balances the classes itself or is an anomaly detector"
        return DoNothingComparison(answer_trials=answer_trials, skipped=why)
    answer = result.answer_cv()
    if answer is None:
        return DoNothingComparison(answer_trials=answer_trials, skipped="the answer's fold scores are not stored")
    strategy = do_nothing_strategy(result.strategy_of(source))
    settings, data, splits = result.settings, result.data, result.plan.splits
    allowance = None if settings.timeout is None else max(DO_NOTHING_MIN_SECONDS, 0.1 * settings.timeout)
    runner = TaskRunner(n_jobs=settings.n_jobs)
    with shared_table(data.X, share=runner.n_jobs > 1) as table:
        cv = score_pipeline(
            build_pipeline(strategy, data.profile.schema),
            table,
            data.codes,
            splits=splits,
            threshold_folds=0,
            seed=settings.seed,
            runner=runner,
            deadline=None if allowance is None else time.monotonic() + allowance,
            threshold_rule=settings.threshold,
        )
    if cv.stopped or len(cv.folds) < len(splits):
        why = f"its CV did not finish in the {allowance:.0f} s allowed after the search"
        return DoNothingComparison(strategy.to_dict(), source.number, answer_trials, skipped=why)
    folds = {m: answer.metric_values(m) for m in COMPARED}, {m: cv.metric_values(m) for m in COMPARED}
    test_share = float(np.mean([len(validation) / len(train) for train, validation in splits]))
    differences = compare_folds(*folds, test_share=test_share)
    return DoNothingComparison(strategy.to_dict(), source.number, answer_trials, differences, len(splits))


def _model_of(trial: FrozenTrial) -> str:
    return str(trial.user_attrs["strategy"][MODEL])  # not params: a space with one model never asks


def _recorded_ensemble(study: optuna.Study) -> TrialEnsemble | None:
    stored = study.user_attrs.get(ENSEMBLE_ATTR)
    return TrialEnsemble.from_attr(stored) if stored else None


# -- the result -------------------------------------------------------------------------------
class SearchResult:
    """What a search found. ``leaderboard`` has one row per trial, best first."""

    def __init__(
        self, *, study: optuna.Study, data: PreparedData, settings: SearchSettings, store: ScoreStore | None = None
    ):
        self.study, self.data, self.settings = study, data, settings
        self.store = store if store is not None else store_of(study)
        self._plan: ScoringPlan | None = None

    @property
    def plan(self) -> ScoringPlan:
        """The search's folds, rebuilt from the data and the settings."""
        if self._plan is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # fewer folds than asked: the search said so already
                self._plan = scoring_plan(self.data, self.settings)
        return self._plan

    def stored_cvs(self, trial_numbers: Sequence[int]) -> dict[int, CVResult]:
        """The CV results of these trials from the score store (trials without stored scores
        are left out), exactly as the search computed them."""
        payloads = self.store.get(trial_numbers)
        return {n: decode_scores(payloads[n], self.plan, self.settings) for n in trial_numbers if n in payloads}

    @property
    def profile(self) -> DataProfile:
        return self.data.profile

    @property
    def left_out(self) -> dict[str, str]:
        """Components the table's size ruled out of the search ("slot key" -> why)."""
        return dict(self.study.user_attrs.get(LEFT_OUT_ATTR) or {})

    @property
    def ensemble(self) -> TrialEnsemble | None:
        """The ensemble the search chose as its answer (member ``trials``, ``weights``,
        ``threshold``, ``metrics``, ``metrics_std``), or None when its answer is the best trial."""
        if not self.settings.ensembling:
            return None
        return _recorded_ensemble(self.study)

    def answer_cv(self) -> CVResult | None:
        """The answer's CV (the ensemble's averaged fold scores, or the best trial's), rebuilt
        from the stored trial scores; None when they are not stored (an older version's study)."""
        trials = self.answer_trials
        cvs = self.stored_cvs(trials)
        if len(cvs) != len(trials):
            return None
        ensemble = self.ensemble
        if ensemble is None:
            return cvs[trials[0]]
        return average_cv([cvs[n] for n in trials], list(ensemble.weights), self.data.codes)

    @property
    def oof_scores(self) -> np.ndarray | None:
        """The answer's out-of-fold scores (one per row, from the search's CV; multi-class: a
        row of class probabilities), rebuilt from the stored trial scores; None when they are
        not stored (a study searched by an older version keeps them in a study attribute)."""
        cv = self.answer_cv()
        if cv is not None:
            return cv.oof
        legacy = self.study.user_attrs.get(ANSWER_OOF_ATTR)
        if not legacy or list(legacy["trials"]) != self.answer_trials:
            return None
        return np.asarray(legacy["scores"], dtype=float)

    @property
    def do_nothing(self) -> DoNothingComparison | None:
        """The answer against doing nothing about the imbalance (:mod:`strategy_search.do_nothing`),
        as the search recorded it; None when it was not recorded (an older version's study)."""
        stored = self.study.user_attrs.get(DO_NOTHING_ATTR)
        return DoNothingComparison.from_attr(stored) if stored else None

    def completed_trials(self) -> list[FrozenTrial]:
        return [t for t in self.study.trials if t.state == TrialState.COMPLETE]

    @property
    def best_trial(self) -> FrozenTrial:
        """The completed trial with the best primary metric (for a Pareto search: the best
        primary metric on the Pareto front, which is the same trial)."""
        completed = self.completed_trials()
        if not completed:
            reasons = {t.user_attrs.get("fail_reason", t.state.name) for t in self.study.trials}
            raise NoCompletedTrial(f"No trial completed; reasons seen: {sorted(reasons)[:5]}")
        primary = self.settings.primary_metric
        return min(completed, key=lambda t: best_first(t.user_attrs["metrics"][primary], t.number))

    @property
    def pareto_front(self) -> list[FrozenTrial]:
        return list(self.study.best_trials) if self.settings.multi_objective else [self.best_trial]

    def strategy_of(self, trial: FrozenTrial) -> Strategy:
        """Replay the trial's parameters through the space (Optuna ``FixedTrial``): the
        strategy that was scored, rebuilt from its recorded parameters alone."""
        strategy = self.settings.space.suggest(
            optuna.trial.FixedTrial(trial.params),
            has_categorical=self.profile.has_categorical,
            multiclass=self.profile.multiclass,
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
        return ensemble.strategy(lambda number: self.strategy_of(self.study.trials[number]))

    @property
    def answer_trials(self) -> list[int]:
        """The trial numbers behind :attr:`best_strategy`: the ensemble's members (best first),
        or the best trial alone."""
        ensemble = self.ensemble
        return list(ensemble.trials) if ensemble is not None else [self.best_trial.number]

    @property
    def best_scores(self) -> dict[str, float]:
        """CV means of :attr:`best_strategy`."""
        ensemble = self.ensemble
        return dict(ensemble.metrics if ensemble else self.best_trial.user_attrs["metrics"])

    @property
    def best_class_metrics(self) -> dict[str, list[float]]:
        """Multi-class: each class's CV metrics of :attr:`best_strategy` (``pr_auc``, ``f1``,
        ... each a list in class-code order); empty for a binary target."""
        ensemble = self.ensemble
        return dict(ensemble.class_metrics if ensemble else self.best_trial.user_attrs.get("class_metrics") or {})

    @property
    def best_scores_std(self) -> dict[str, float]:
        ensemble = self.ensemble
        return dict(ensemble.metrics_std if ensemble else self.best_trial.user_attrs["metrics_std"])

    @property
    def leaderboard(self) -> pd.DataFrame:
        return leaderboard(self.study, primary_metric=self.settings.primary_metric)

    def export(
        self,
        out_dir: str | os.PathLike[str],
        *,
        threshold: ThresholdRule | str | None = None,
        source: dict[str, Any] | None = None,
    ) -> Path:
        """Fit the answer on all rows and write it as a model folder (MLflow model,
        ``strategy.yaml``, model card) at ``out_dir``, replacing an earlier export there.

        ``threshold`` (a rule such as ``"precision>=0.9"``) re-picks the decision threshold on
        the answer's stored out-of-fold scores instead of the search's own rule; ``source``
        adds lines to the model card's "Source" (where the model came from)."""
        from strategy_search.export import export_model, rule_for_task

        oof = self.oof_scores
        multiclass = self.profile.multiclass
        rule = self.settings.threshold if threshold is None else rule_for_task(threshold, multiclass=multiclass)
        classifier = self.best_pipeline()
        if threshold is not None:
            if oof is None:
                raise NoStoredScores(
                    "The study keeps no out-of-fold scores for its answer, so the threshold cannot be re-picked "
                    "without a new search: run it again (or `run --resume`) with this version."
                )
            classifier.threshold = rule.choose(self.data.codes, oof)
        return export_model(
            classifier=classifier,
            strategy=self.best_strategy,
            profile=self.profile,
            metrics=self.best_scores,
            metrics_std=self.best_scores_std,
            X=self.data.X,
            out_dir=Path(out_dir),
            source={"study": self.study.study_name, "trials": self.answer_trials, **(source or {})},
            oof=None if oof is None else (oof, self.data.codes),
            threshold_rule=rule,
            class_metrics=self.best_class_metrics,
            do_nothing=self.do_nothing,
        )

    def best_pipeline(self) -> Any:
        """The best strategy refitted on all rows: ``predict_proba`` and a ``predict`` that
        applies the tuned threshold, on the user's own labels."""
        classifier = build_classifier(
            self.best_strategy, self.profile.schema, positive_label=self.profile.positive_label, task=self.data.task
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return classifier.fit(self.data.X, self.data.y)


def leaderboard(study: optuna.Study, *, primary_metric: str = "pr_auc") -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    stale = stale_reasons(study.get_trials(deepcopy=False))
    for trial in study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING)):
        if never_ran(trial):
            continue
        strategy = trial.user_attrs.get("strategy", {})
        metrics, stds = trial.user_attrs.get("metrics", {}), trial.user_attrs.get("metrics_std", {})
        row = {"trial": trial.number, "state": trial.state.name}
        row.update({slot: strategy.get(slot) for slot in slot_names()})
        row.update({m: metrics.get(m, np.nan) for m in METRICS})
        row.update({f"{m}_std": stds.get(m, np.nan) for m in METRICS})
        row.update(
            {
                "threshold": trial.user_attrs.get("threshold", np.nan),
                "duration_s": trial.duration.total_seconds() if trial.duration else np.nan,
                "portfolio": trial.user_attrs.get("portfolio"),
                "fidelity": trial.user_attrs.get("fidelity", 1.0 if trial.state == TrialState.COMPLETE else np.nan),
                "fail_reason": trial.user_attrs.get("fail_reason")
                or trial.user_attrs.get("stopped")
                or stale.get(trial.number),
                "params": {k: v for k, v in trial.params.items() if k.count(".") >= 2},
            }
        )
        rows.append(row)
    rows.sort(key=lambda r: (r["state"] != "COMPLETE", *best_first(r[primary_metric], r["trial"])))
    return pd.DataFrame(rows)


# -- the driver -------------------------------------------------------------------------------
def _sampler(seed: int) -> optuna.samplers.BaseSampler:
    """TPE with Optuna's constant liar (its default): another worker's running trials count as
    bad ones, so workers on one study do not all propose the same strategy."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # multivariate + group models the conditional space (parameters that exist only for
        # some models) jointly instead of as independent 1-D densities.
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, n_startup_trials=TPE_STARTUP_TRIALS)


def _prunable(settings: SearchSettings) -> bool:
    """Pruning needs one objective (an Optuna rule) known before a fold's inner threshold
    fits, i.e. a threshold-free primary metric."""
    return settings.pruning and not settings.multi_objective and settings.primary_metric in THRESHOLD_FREE


def _pruner(settings: SearchSettings) -> optuna.pruners.BasePruner:
    if not _prunable(settings):
        return optuna.pruners.NopPruner()
    # Compare running CV means only after two folds, and only once enough trials are known.
    return optuna.pruners.MedianPruner(n_startup_trials=TPE_STARTUP_TRIALS, n_warmup_steps=1)


def require_shared_storage(storage: Any, *, what: str) -> None:
    """Refuse a storage that several processes cannot share (SQLite, memory) for ``what``."""
    if not is_server_storage(storage):
        raise StorageError(
            f"{what} needs a database server that several processes can share; search.storage is "
            f"{mask_secrets(str(storage_url(storage)))} (SQLite locks the whole file for every write). Set "
            "search.storage to PostgreSQL, e.g. postgresql://user:${PGPASSWORD}@host/optuna "
            '(see README, "Scaling out").'
        )


def is_server_storage(storage: Any) -> bool:
    """A database server (PostgreSQL, MySQL), which several workers can share; not SQLite or memory."""
    url = storage_url(storage)
    return url is not None and not url.startswith("sqlite")


def _open_storage(storage: Any, *, heartbeat_interval: int | None = None) -> Any:
    """An RDB storage opened (and checked) now, so a damaged file or an unreachable database
    is reported before any work, never silently replaced. On a database server, with
    ``heartbeat_interval``, a trial whose worker stopped beating for three intervals is failed
    and retried once (:mod:`strategy_search.study_budget`)."""
    if not isinstance(storage, str):
        return storage
    heartbeat: dict[str, Any] = {}
    if heartbeat_interval is not None and is_server_storage(storage):
        heartbeat = {
            "heartbeat_interval": heartbeat_interval,
            "grace_period": 3 * heartbeat_interval,
            "heartbeat_stale_trial_callback": RetryStaleTrial(),
        }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat_interval
            return optuna.storages.RDBStorage(storage, **heartbeat)
    except Exception as exc:
        raise StorageError(
            f"Cannot open the Optuna storage {mask_secrets(storage)}: {type(exc).__name__}: "
            f"{mask_secrets(str(exc).splitlines()[0])}. {_storage_hint(storage, exc)}"
        ) from None


def _storage_hint(storage: str, exc: Exception) -> str:
    if isinstance(exc, ImportError):
        extra = " (pip install 'strategy-search[postgres]')" if storage.startswith("postgres") else ""
        return f"The database driver for this URL is not installed{extra}."
    if storage.startswith("sqlite"):
        return (
            "If it is a damaged file, move it away (its studies cannot be resumed) or point "
            "search.storage at another one."
        )
    return "Check that the database server is running and reachable, and the user name and password."


def create_study(
    settings: SearchSettings, *, storage: Any = None, study_name: str | None = None, worker: int = 0
) -> optuna.Study:
    """Create the study, or open it when it exists. ``worker`` numbers one of several workers on
    a shared study: its sampler gets its own seed and the constant liar."""
    return optuna.create_study(
        storage=_open_storage(storage, heartbeat_interval=settings.heartbeat_interval),
        study_name=study_name,
        load_if_exists=study_name is not None,
        directions=["maximize"] * len(settings.metrics),
        sampler=_sampler(settings.seed + 1000 * worker),
        pruner=_pruner(settings),
    )


TASK_ATTR = "task"


def check_study_task(study: optuna.Study, task: Task) -> None:
    """Record the data's task on a new study; refuse to resume a study made for another task
    (its trials' strategies, decisions and class codes would not mean the same)."""
    stored = study.user_attrs.get(TASK_ATTR)
    if stored is None:
        if not study.trials:
            study.set_user_attr(TASK_ATTR, plain(task.to_dict()))
        return
    if Task.from_dict(stored) != task:
        raise DataError(
            f"Study {study.study_name!r} was searched on a {stored['kind']} target with classes {stored['classes']}; "
            f"this data's target is {task.kind} with classes {list(task.classes)}. Resume it on the same data, or "
            "start a new study (without --resume)."
        )


def _close_interrupted(study: optuna.Study, storage: optuna.storages.BaseStorage | None) -> None:
    """Trials left RUNNING by a process that died are marked failed so the budget counts them
    once and a resumed search does not wait on them. ``storage`` is the study's storage (None:
    a new in-memory study, which has none)."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running or storage is None:
        return
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in running:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        storage.set_trial_user_attr(trial_id, "fail_reason", "interrupted")
        study.tell(trial.number, state=TrialState.FAIL)


def load_result(data: PreparedData, settings: SearchSettings, *, storage: Any, study_name: str) -> SearchResult:
    """A finished (or interrupted) search's result from its stored study, e.g. to export it:
    refused when the study was searched on other data, another space or other CV settings."""
    opened = _open_storage(storage)
    study = optuna.load_study(study_name=study_name, storage=opened)
    check_fingerprint(
        study.user_attrs.get(FINGERPRINT_ATTR), data_fingerprint(data, settings), study_name=study.study_name
    )
    return SearchResult(study=study, data=data, settings=settings, store=store_of(study))


def scoring_plan(data: PreparedData, settings: SearchSettings) -> ScoringPlan:
    return ScoringPlan.of(
        data.codes, settings, smallest_class=data.profile.smallest_class_size, multiclass=data.task.multiclass
    )


def data_fingerprint(data: PreparedData, settings: SearchSettings) -> dict[str, str]:
    return fingerprint(data.X, data.codes, data.task, settings.space, settings)


def check_study_fingerprint(study: optuna.Study, data: PreparedData, settings: SearchSettings) -> None:
    """Record what a new study's scores depend on; refuse to add to one made on something else."""
    current = data_fingerprint(data, settings)
    stored = study.user_attrs.get(FINGERPRINT_ATTR)
    if stored is None and not study.trials:
        study.set_user_attr(FINGERPRINT_ATTR, current)
        return
    check_fingerprint(stored, current, study_name=study.study_name)


def latest_study_name(storage: Any, *, config_name: str) -> str | None:
    """The most recently created study that ran the config named ``config_name`` (by its
    ``created_at`` attribute: a study whose trials have not started yet counts too)."""
    summaries = [
        s
        for s in optuna.get_all_study_summaries(storage=_open_storage(storage), include_best_trial=False)
        if s.user_attrs.get("config_name") == config_name
    ]
    if not summaries:
        return None

    def created(s: Any) -> tuple[float, bool, float, str]:
        started = s.datetime_start.timestamp() if s.datetime_start is not None else 0.0
        return (float(s.user_attrs.get("created_at", started)), s.datetime_start is not None, started, s.study_name)

    return max(summaries, key=created).study_name


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
        self.fired = False

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self.deadline is None or trial.state != TrialState.COMPLETE or trial.duration is None:
            return
        self.durations.append(trial.duration.total_seconds())
        recent = self.durations[1:][-5:]
        if recent and time.monotonic() + float(np.median(recent)) > self.deadline:
            self.fired = True
            study.stop()


LOGGER = logging.getLogger("strategy_search")
# Enough of a traceback to find the cause; the start of a worker's traceback is its frames.
_MAX_TRACEBACK = 20_000


def failure_reason(error: BaseException) -> str:
    """One line: the error's type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:500]


def _traceback_text(error: BaseException) -> str:
    text = "".join(traceback.format_exception(error))
    return text if len(text) <= _MAX_TRACEBACK else text[:_MAX_TRACEBACK] + "\n[... cut]"


def report_failure(study: optuna.Study, trial: FrozenTrial) -> None:
    """One warning line per failed trial (the ``strategy_search`` logger), with its reason."""
    if trial.state == TrialState.FAIL:
        LOGGER.warning("trial %d failed: %s", trial.number, trial.user_attrs.get("fail_reason", "unknown error"))


class _FailFast:
    """Stops this process when the first :data:`FAIL_FAST_TRIALS` trials it ran all failed (its
    setup is broken, not the strategies); trials other processes ran do not count."""

    def __init__(self) -> None:
        self.states: list[TrialState] = []
        self.fired = False

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state.is_finished():
            self.states.append(trial.state)
        if len(self.states) >= FAIL_FAST_TRIALS and all(s == TrialState.FAIL for s in self.states):
            self.fired = True
            study.stop()


def _raise_if_nothing_worked(study: optuna.Study) -> None:
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    if finished and all(t.state == TrialState.FAIL for t in finished):
        reasons = Counter(t.user_attrs.get("fail_reason", "unknown error") for t in finished)
        raise SearchFailed(study, dict(reasons.most_common()))


def too_many_rows(data: PreparedData, settings: SearchSettings) -> bool:
    """Whether the folds train on more rows than ``expensive_row_limit`` (components tagged
    ``quadratic_in_rows`` are then left out)."""
    n_rows = len(data.codes)
    return n_rows - n_rows // settings.cv_folds > settings.expensive_row_limit


def _enqueue_portfolio(study: optuna.Study, settings: SearchSettings, data: PreparedData) -> None:
    if study.trials:
        return  # a resumed study already ran (or queued) its portfolio
    facts = {"has_categorical": data.profile.has_categorical, "multiclass": data.task.multiclass}
    for entry in settings.space.portfolio_for(**facts, too_many_rows=too_many_rows(data, settings)):
        params = entry.flat_params()
        # Only these are asked for: parameters the entry leaves out keep component defaults.
        study.enqueue_trial(params, user_attrs={"portfolio": entry.name, "portfolio_params": list(params)})


def search(
    X: pd.DataFrame,
    y: Any,
    *,
    callbacks: Sequence[Callback] = (),
    positive_label: Any = None,
    storage: Any = None,
    study_name: str | None = None,
    progress: bool = False,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    **settings: Any,
) -> SearchResult:
    """Search for the best imbalance strategy for ``(X, y)``.

        Parameters
        ----------
        X, y:
            Feature table (numeric, categorical or string columns; NaN allowed) and a target of
            two or more classes. With two, the positive class is the minority unless
            ``positive_label`` names it; with more, every class is scored against the others.
        callbacks:
            Optuna callbacks ``(study, frozen_trial) -> None`` run after each trial.
        storage, study_name:
            Optuna storage (URL or object) and study name; an existing study is resumed.
        progress:
            Draw the command line's progress bar on stderr, and one line per failed trial.
        tracking_uri, experiment:
            Log the search to MLflow as the command line does (a parent run, a child run per
            trial); ``experiment`` defaults to ``"strategy-search"``.
        **settings:
            Any field of :class:`~strategy_search.settings.SearchSettings`:

    {settings}
    """
    data = prepare_data(X, y, positive_label=positive_label)
    checked = SearchSettings.create(**settings)
    check_task_settings(checked, data.task)
    with contextlib.ExitStack() as stack:
        callbacks = list(callbacks)
        if progress:
            callbacks.append(_progress_callback(stack, checked))
        tracker = None
        if tracking_uri is not None:
            from strategy_search.tracking import SearchTracker

            tracker = SearchTracker(tracking_uri=tracking_uri, experiment=experiment or "strategy-search")
            tracker.start(run_name=study_name or "search", params=checked.as_params(), tags={}, profile=data.profile)
            callbacks.append(tracker)
        try:
            result = run_search(data, checked, callbacks=callbacks, storage=storage, study_name=study_name)
        except BaseException:
            if tracker is not None:
                tracker.fail("FAILED")
            raise
        if tracker is not None:
            tracker.finish(result)
        return result


def _progress_callback(stack: contextlib.ExitStack, settings: SearchSettings) -> Callback:
    from rich.console import Console

    from strategy_search.progress import ProgressCallback, failures_to, progress_bar

    console = Console(stderr=True)
    stack.enter_context(failures_to(console))
    bar = stack.enter_context(progress_bar(console))
    return ProgressCallback(bar, settings=settings, total=settings.n_trials, already_done=0)


assert search.__doc__ is not None
search.__doc__ = search.__doc__.replace("{settings}", settings_doc())


def run_search(
    data: PreparedData,
    settings: SearchSettings,
    *,
    callbacks: Sequence[Callback] = (),
    storage: Any = None,
    study_name: str | None = None,
) -> SearchResult:
    """Run (or resume) a search on prepared data in this process; :func:`search` is the
    friendly front, :func:`run_worker` one of several processes on a shared study."""
    check_task_settings(settings, data.task)
    with _quiet_optuna():
        study = open_study(data, settings, storage=storage, study_name=study_name, create=True)
        work_on_study(study, data, settings, callbacks=callbacks)
    return finish_study(study, data, settings)


def run_worker(
    data: PreparedData,
    settings: SearchSettings,
    *,
    storage: Any,
    study_name: str,
    worker: int,
    create: bool = False,
    callbacks: Sequence[Callback] = (),
) -> optuna.Study:
    """One of several processes on a study in a database server: join the study (``create``:
    make it first, with its budget and portfolio) and run trials until its budget is reached.
    The answer is chosen by whoever calls :func:`finish_study` afterwards."""
    require_shared_storage(storage, what="several workers")
    check_task_settings(settings, data.task)
    with _quiet_optuna():
        study = open_study(data, settings, storage=storage, study_name=study_name, create=create, worker=worker)
        work_on_study(study, data, settings, callbacks=callbacks)
    return study


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    # Optuna warns about a failed trial with its parameters and whole traceback (from a worker
    # process: ~50 lines); report_failure says it in one line and the trial keeps the traceback.
    previous_verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous_verbosity)


def open_study(
    data: PreparedData,
    settings: SearchSettings,
    *,
    storage: Any,
    study_name: str | None,
    create: bool,
    worker: int = 0,
) -> optuna.Study:
    """The study, checked against the data (task, fingerprint). ``create`` (the one process
    that starts or resumes it) queues the portfolio and writes the budget every worker reads."""
    opened = _open_storage(storage, heartbeat_interval=settings.heartbeat_interval)
    if not create and study_name is not None:
        try:
            optuna.load_study(study_name=study_name, storage=opened)
        except KeyError:
            raise StorageError(
                f"No study {study_name!r} in {mask_secrets(str(storage_url(opened)))} to join; start it with "
                "`strategy-search run` or `strategy-search worker --create`."
            ) from None
    study = create_study(settings, storage=opened, study_name=study_name, worker=worker)
    check_study_task(study, data.task)
    check_study_fingerprint(study, data, settings)
    if create:
        if not is_server_storage(opened):
            _close_interrupted(study, opened)  # one process per SQLite study: nobody else's trial is running
        _enqueue_portfolio(study, settings, data)
        left_out = settings.space.left_out_for_size(
            has_categorical=data.profile.has_categorical, multiclass=data.task.multiclass
        )
        study.set_user_attr(LEFT_OUT_ATTR, left_out if too_many_rows(data, settings) else {})
        study.set_user_attr(
            BUDGET_ATTR, Budget.starting_now(n_trials=settings.n_trials, timeout=settings.timeout).to_attr()
        )
        store_of(study).create_table()  # before any worker writes, so none races to create it
    return study


def work_on_study(
    study: optuna.Study, data: PreparedData, settings: SearchSettings, *, callbacks: Sequence[Callback] = ()
) -> None:
    """Run trials until the study's budget (trials counted across all workers, or its deadline)
    is reached, then wait for other workers' running trials: a dead worker's trial is failed by
    the heartbeat and its retry run here."""
    budget = Budget.of(study)
    if budget.n_trials is None and budget.deadline is None:  # a study made before budgets were stored
        budget = Budget.starting_now(n_trials=settings.n_trials, timeout=settings.timeout)
    deadline = budget.monotonic_deadline()
    shared = is_server_storage(study._storage)  # Optuna keeps no public handle on a study's storage
    store = store_of(study)
    runner = TaskRunner(n_jobs=settings.n_jobs)
    plan = scoring_plan(data, settings)
    fidelities = plan_fidelities(
        plan.codes, plan.splits, mode=settings.fidelity if _prunable(settings) else "off", seed=settings.seed
    )
    if fidelities.active:
        study.pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=ETA)
    # With fidelities a trial starts cheap and each rung checks the time for the next
    # (_Objective._time_for): a complete trial's duration says nothing about the next one's start.
    guard = _BudgetGuard(None if fidelities.active else deadline)
    stopper, fail_fast = StopAtBudget(budget), _FailFast()
    with shared_table(data.X, share=runner.n_jobs > 1) as table:
        objective = _Objective(
            data,
            settings,
            runner,
            deadline,
            plan=plan,
            store=store,
            budget=budget,
            shared=shared,
            table=table,
            fidelities=fidelities,
        )
        while not (budget.expired() or guard.fired or fail_fast.fired):
            if no_place_left(study, budget):
                if not shared or not running(study):
                    return
                fail_stale(study)  # a dead worker's trial turns into a queued retry
                time.sleep(min(1.0, settings.heartbeat_interval))
                continue
            run_trials(
                study,
                objective,
                may_start=lambda: not (budget.expired() or no_place_left(study, budget)),
                callbacks=[report_failure, *callbacks, fail_fast, guard, stopper],
            )


def finish_study(study: optuna.Study, data: PreparedData, settings: SearchSettings) -> SearchResult:
    """The search's answer, chosen from the study's stored trial scores and recorded on it
    (refused when the study was searched on other data, another space or other CV settings)."""
    check_fingerprint(
        study.user_attrs.get(FINGERPRINT_ATTR), data_fingerprint(data, settings), study_name=study.study_name
    )
    _raise_if_nothing_worked(study)
    result = SearchResult(study=study, data=data, settings=settings, store=store_of(study))
    choose_ensemble(result)
    compare_to_do_nothing(result)
    return result
