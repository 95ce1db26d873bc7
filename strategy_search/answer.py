"""The search's answer, computed from what the study stored, then stored on it.

:class:`StoredTrials` is a study's trials as the search left them (ranked, their fold scores
from the score store, their strategies replayed from their parameters); :func:`choose_answer`
picks the answer from them (an ensemble of the best trials or the best one alone,
:mod:`strategy_search.ensemble`) and compares it with doing nothing about the imbalance
(:mod:`strategy_search.do_nothing`) and fits the calibration of its probabilities on its
out-of-fold scores (:mod:`strategy_search.calibration`); :meth:`Answer.store` writes it on the study, where
:meth:`Answer.from_study` reads it in any other process. Data flows one way: computed, stored,
read; the process that computed the answer hands it on as it was stored.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from strategy_search.calibration import Calibration, choose_calibration
from strategy_search.do_nothing import (
    COMPARED,
    DoNothingComparison,
    compare_folds,
    do_nothing_strategy,
    is_untreated,
    untreated_strategy,
)
from strategy_search.ensemble import TrialEnsemble, average_cv, clearly_better, select_ensemble
from strategy_search.errors import NoCompletedTrial
from strategy_search.explain import (
    FeatureImportance,
    FoldImportanceTask,
    expected_importance_seconds,
    fold_importance,
    importance_of,
)
from strategy_search.parallel import TaskRunner
from strategy_search.prepared import PreparedData, scoring_plan
from strategy_search.ranking import best_first
from strategy_search.scoring import CVResult, score_pipeline
from strategy_search.settings import SearchSettings
from strategy_search.shared_table import shared as shared_table
from strategy_search.slots import MODEL, get_slot
from strategy_search.strategy import Ensemble, Strategy, build_pipeline
from strategy_search.study_budget import AFTER_TRIALS_SHARE, Budget, never_ran
from strategy_search.trial_record import StudyAttr, TrialRecord, metric_of, set_study_attr, study_attr
from strategy_search.trial_scores import ScoreStore, ScoringPlan, decode_scores, store_of

__all__ = ["Answer", "StoredTrials", "choose_answer"]

# A study finished after its search's timeout (``finish`` of workers' study) gives the
# do-nothing CV and the importance 10 % of that timeout, at least this long.
DO_NOTHING_MIN_SECONDS = 30.0


class StoredTrials:
    """A study's trials as stored: ranked by the primary metric, with their fold scores and
    the strategies their parameters replay to. Everything here is read from storage."""

    def __init__(self, *, study: optuna.Study, data: PreparedData, settings: SearchSettings):
        self.study, self.data, self.settings = study, data, settings
        self.store: ScoreStore = store_of(study)
        self._plan: ScoringPlan | None = None

    @property
    def plan(self) -> ScoringPlan:
        """The search's folds, rebuilt from the data and the settings."""
        if self._plan is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # fewer folds than asked: the search said so already
                self._plan = scoring_plan(self.data, self.settings)
        return self._plan

    def cvs(self, trial_numbers: Sequence[int]) -> dict[int, CVResult]:
        """The CV results of these trials from the score store (trials without stored scores
        are left out), exactly as the search computed them."""
        payloads = self.store.get(trial_numbers)
        return {n: decode_scores(payloads[n], self.plan, self.settings) for n in trial_numbers if n in payloads}

    def completed(self) -> list[FrozenTrial]:
        return self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))

    def ranked(self) -> list[FrozenTrial]:
        """The completed trials, best first (:func:`strategy_search.ranking.best_first`)."""
        metric = self.settings.primary_metric
        return sorted(self.completed(), key=lambda t: best_first(metric_of(t, metric), t.number))

    def best(self) -> FrozenTrial:
        """The completed trial with the best primary metric (for a Pareto search: the best
        primary metric on the Pareto front, which is the same trial)."""
        completed = self.completed()
        if not completed:
            raise self._no_completed_trial()
        metric = self.settings.primary_metric
        return min(completed, key=lambda t: best_first(metric_of(t, metric), t.number))

    def _no_completed_trial(self) -> NoCompletedTrial:
        """Why there is no answer: the states and failures seen, and whether the timeout came first."""
        started = [t for t in self.study.trials if t.state != TrialState.WAITING and not never_ran(t)]
        reasons = sorted({TrialRecord.of(t).fail_reason or t.state.name for t in started})[:5]
        text = f"No trial completed; reasons seen: {reasons}" if started else "No trial completed: none had started"
        timeout = self.settings.timeout
        if timeout is not None and Budget.of(self.study).ended_by_timeout(len(started)):
            text += (
                f". The timeout ({timeout:g} s) ended the search before a trial could finish: "
                "give search.timeout more time"
            )
        return NoCompletedTrial(text)

    def strategy_of(self, trial: FrozenTrial, *, params: Mapping[str, Any] | None = None) -> Strategy:
        """Replay the trial's parameters (or ``params``) through the space (Optuna
        ``FixedTrial``): the strategy that was scored, rebuilt from its recorded parameters alone."""
        profile = self.data.profile
        params = trial.params if params is None else params
        strategy = self.settings.space.suggest(
            optuna.trial.FixedTrial(dict(params)),
            has_categorical=profile.has_categorical,
            multiclass=profile.multiclass,
            seed=self.settings.seed,
            only=set(params),
            weighted_rows=self.data.weights is not None,
        )
        threshold = TrialRecord.of(trial).threshold
        return strategy if threshold is None else strategy.with_threshold(threshold)  # None: never scored


@dataclass(frozen=True)
class Answer:
    """The ensemble the search chose (None: the best trial answers alone), its comparison
    with doing nothing and the calibration of its probabilities (each None when not recorded,
    e.g. a study of an older version; the calibration also when the settings turn it off)."""

    ensemble: TrialEnsemble | None
    do_nothing: DoNothingComparison | None
    calibration: AnswerCalibration | None = None
    importance: FeatureImportance | None = None

    @classmethod
    def from_study(cls, study: optuna.Study, settings: SearchSettings) -> Answer:
        ensemble = study_attr(study, StudyAttr.ENSEMBLE)
        do_nothing = study_attr(study, StudyAttr.DO_NOTHING)
        calibration = study_attr(study, StudyAttr.CALIBRATION)
        importance = study_attr(study, StudyAttr.IMPORTANCE)
        return cls(
            TrialEnsemble.from_attr(ensemble) if ensemble and settings.ensembling else None,
            DoNothingComparison.from_attr(do_nothing) if do_nothing else None,
            AnswerCalibration.from_attr(calibration) if calibration and settings.calibration != "none" else None,
            FeatureImportance.from_attr(importance) if importance else None,
        )

    def store(self, study: optuna.Study, settings: SearchSettings) -> None:
        if settings.ensembling:  # without ensembling the study has no ensemble to speak of
            set_study_attr(study, StudyAttr.ENSEMBLE, None if self.ensemble is None else self.ensemble.to_attr())
        if self.do_nothing is not None:
            set_study_attr(study, StudyAttr.DO_NOTHING, self.do_nothing.to_attr())
        if self.calibration is not None:
            set_study_attr(study, StudyAttr.CALIBRATION, self.calibration.to_attr())
        if self.importance is not None:
            set_study_attr(study, StudyAttr.IMPORTANCE, self.importance.to_attr())

    def strategy(self, trials: StoredTrials) -> Strategy | Ensemble:
        """The answer as plain data: the ensemble's strategy, or the best trial's."""
        if self.ensemble is None:
            return trials.strategy_of(trials.best())
        return self.ensemble.strategy(lambda number: trials.strategy_of(trials.study.trials[number]))

    def importance_for(self, trials: StoredTrials) -> FeatureImportance | None:
        """The feature importance measured for this answer's trials (None: none recorded for them)."""
        importance = self.importance
        if importance is None or importance.answer_trials != tuple(self.trial_numbers(trials)):
            return None
        return importance

    def calibration_for(self, trials: StoredTrials) -> Calibration | None:
        """The calibration fitted for this answer's trials (None: none recorded for them)."""
        calibration = self.calibration
        if calibration is None or calibration.answer_trials != tuple(self.trial_numbers(trials)):
            return None
        return calibration.calibration

    def trial_numbers(self, trials: StoredTrials) -> list[int]:
        """The ensemble's members (best first), or the best trial alone."""
        return list(self.ensemble.trials) if self.ensemble is not None else [trials.best().number]

    def cv(self, trials: StoredTrials) -> CVResult | None:
        """The answer's CV (the ensemble's averaged fold scores, or the best trial's), rebuilt
        from the stored trial scores; None when they are not stored (an older version's study)."""
        numbers = self.trial_numbers(trials)
        cvs = trials.cvs(numbers)
        if len(cvs) != len(numbers):
            return None
        if self.ensemble is None:
            return cvs[numbers[0]]
        return average_cv([cvs[n] for n in numbers], list(self.ensemble.weights), trials.data.codes)


@dataclass(frozen=True)
class AnswerCalibration:
    """The calibration fitted on the out-of-fold scores of the answer of ``answer_trials``."""

    answer_trials: tuple[int, ...]
    calibration: Calibration

    def to_attr(self) -> dict[str, Any]:
        return {"answer_trials": list(self.answer_trials), **self.calibration.to_attr()}

    @classmethod
    def from_attr(cls, data: Mapping[str, Any]) -> AnswerCalibration:
        return cls(tuple(int(n) for n in data["answer_trials"]), Calibration.from_attr(data))


def choose_answer(trials: StoredTrials, *, stored: Answer, finish_by: float | None = None) -> Answer:
    """The answer for the study's trials now. ``stored`` (what the study holds) is kept where it
    still holds: the ensemble of a study whose trials stored no scores, the do-nothing
    comparison and the calibration of the same answer. ``finish_by`` (monotonic) is the end of
    the search's own timeout when the answer is chosen within it (None: chosen later, as
    ``finish`` does). The result is as :meth:`Answer.from_study` will read it."""
    ensemble = _choose_ensemble(trials, stored=stored.ensemble)
    if ensemble is not None:
        ensemble = TrialEnsemble.from_attr(ensemble.to_attr())
    answer = Answer(ensemble, None)
    if not trials.completed():
        return answer  # no answer to compare (the search says why)
    numbers = tuple(answer.trial_numbers(trials))
    deadline = after_trials_deadline(trials.settings.timeout, finish_by=finish_by)
    do_nothing = _kept_or_new(
        stored.do_nothing,
        numbers,
        lambda: DoNothingComparison.from_attr(_do_nothing_comparison(trials, answer, deadline).to_attr()),
    )
    calibration = _kept_or_new(stored.calibration, numbers, lambda: _calibration(trials, answer))
    importance = _kept_or_new(
        stored.importance,
        numbers,
        lambda: FeatureImportance.from_attr(_importance(trials, answer, deadline).to_attr()),
    )
    return Answer(ensemble, do_nothing, calibration, importance)


class _OfAnswer(Protocol):
    @property
    def answer_trials(self) -> Sequence[int]: ...


_Part = TypeVar("_Part", bound=_OfAnswer)


def _kept_or_new(stored: _Part | None, numbers: tuple[int, ...], compute: Callable[[], _Part | None]) -> _Part | None:
    """``stored`` where it was worked out for the answer of trials ``numbers`` (its
    ``answer_trials``); otherwise ``compute()``, as the study will read it back."""
    if stored is not None and tuple(stored.answer_trials) == numbers:
        return stored
    return compute()


def _calibration(trials: StoredTrials, answer: Answer) -> AnswerCalibration | None:
    """The calibration of the answer's probabilities, fitted on its out-of-fold scores (None:
    turned off, or the scores are not stored)."""
    cv = answer.cv(trials)
    if trials.settings.calibration == "none" or cv is None:
        return None
    chosen = choose_calibration(trials.data.codes, cv.oof, seed=trials.settings.seed, groups=trials.data.groups)
    return AnswerCalibration.from_attr(AnswerCalibration(tuple(answer.trial_numbers(trials)), chosen).to_attr())


def _choose_ensemble(trials: StoredTrials, *, stored: TrialEnsemble | None) -> TrialEnsemble | None:
    """An ensemble of the study's best trials, or None when the best one alone is clearly
    better (:func:`strategy_search.ensemble.select_ensemble`), from the stored fold scores."""
    settings = trials.settings
    if not settings.ensembling:
        return None
    metric = settings.primary_metric
    ranked = [t for t in trials.ranked() if not math.isnan(metric_of(t, metric))]
    # An anomaly detector's scores are no probabilities: it may answer alone, never in an average.
    classifiers = [t for t in ranked if not _is_detector(t)]
    pool = trials.cvs([t.number for t in classifiers[: settings.ensemble_size]])
    if not pool:
        return stored  # trials from a version that stored no scores: keep what that version recorded
    choice = select_ensemble(list(pool.items()), trials.data.codes, metric=metric, pool_size=settings.ensemble_size)
    if choice is not None and choice.cv is not None and _is_detector(ranked[0]):
        detector = trials.cvs([ranked[0].number]).get(ranked[0].number)
        if detector is not None and clearly_better(detector, choice.cv, metric):
            return None  # the best trial, the detector, answers
    return choice


def _is_detector(trial: FrozenTrial) -> bool:
    return bool(get_slot(MODEL).component(TrialRecord.of(trial).model).tag("anomaly_detector"))


def _treats_nothing_itself(trial: FrozenTrial) -> bool:
    """Whether the trial's model can be run as "doing nothing": not one that balances the
    classes itself, and not an anomaly detector."""
    model = get_slot(MODEL).component(TrialRecord.of(trial).model)
    return not (model.tag("balances_itself") or model.tag("anomaly_detector"))


def _importance(trials: StoredTrials, answer: Answer, deadline: float | None) -> FeatureImportance:
    """The answer's permutation importance on its fold models' own validation parts (the search's
    first CV repeat; :mod:`strategy_search.explain`), by ``deadline`` (what is left of the
    allowance after the search)."""
    numbers = tuple(answer.trial_numbers(trials))
    settings, data, plan = trials.settings, trials.data, trials.plan
    runner = TaskRunner(n_jobs=settings.n_jobs)
    fit_seconds = sum(_expected_seconds(trials.study.trials[n], 1) for n in numbers) / max(plan.repeats, 1)
    expected = expected_importance_seconds(fit_seconds, n_columns=data.X.shape[1], n_jobs=runner.n_jobs)
    left = None if deadline is None else deadline - time.monotonic()
    if left is not None and expected > left:
        why = f"it would take about {_seconds(expected)}, more than the {_seconds(left)} left after the trials"
        return FeatureImportance(numbers, skipped=why)
    pipeline = build_pipeline(answer.strategy(trials), data.profile.schema)
    n_classes = data.task.n_classes
    with shared_table(data.X, share=runner.n_jobs > 1) as table:
        tasks = [
            FoldImportanceTask(
                pipeline, table, data.codes, train, validation, n_classes, settings.seed + i, data.weights
            )
            for i, (train, validation) in enumerate(plan.splits[: plan.folds])
        ]
        found, stopped = runner.start(fold_importance, tasks, deadline=deadline).finish()
    if stopped or len(found) < len(tasks):
        return FeatureImportance(numbers, skipped="it did not finish in the time left after the trials")
    return importance_of(numbers, [str(c) for c in data.X.columns], found)


def after_trials_deadline(timeout: float | None, *, finish_by: float | None) -> float | None:
    """When the do-nothing comparison and the importance must have ended (monotonic; None: no
    limit). Within the search's own timeout (``finish_by``, monotonic): half-way through the
    share the trials left (:data:`~strategy_search.study_budget.AFTER_TRIALS_SHARE`), so that the
    figures and the logging get the other half. A study finished later (its workers done long
    ago) gets :func:`do_nothing_allowance` from now."""
    if timeout is not None and finish_by is not None:
        return finish_by - AFTER_TRIALS_SHARE / 2 * timeout
    allowance = do_nothing_allowance(timeout)
    return None if allowance is None else time.monotonic() + allowance


def do_nothing_allowance(timeout: float | None) -> float | None:
    """Seconds the do-nothing comparison (the baseline and the untreated members) and the
    importance may run when a study of a search with this ``timeout`` is finished after its
    timeout: 10 % of it, at least ``DO_NOTHING_MIN_SECONDS`` (None: no timeout, no limit)."""
    return None if timeout is None else max(DO_NOTHING_MIN_SECONDS, 0.1 * timeout)


def _do_nothing_comparison(trials: StoredTrials, answer: Answer, deadline: float | None) -> DoNothingComparison:
    """Cross-validate the do-nothing strategy on the search's folds against the answer, then the
    answer's own members untreated (the treatment's part, :mod:`strategy_search.do_nothing`)."""
    answer_trials = tuple(answer.trial_numbers(trials))
    source = next((t for t in trials.ranked() if _treats_nothing_itself(t)), None)
    if source is None:
        why = "every complete trial's model balances the classes itself or is an anomaly detector"
        return DoNothingComparison(answer_trials=answer_trials, skipped=why)
    answer_cv = answer.cv(trials)
    if answer_cv is None:
        return DoNothingComparison(answer_trials=answer_trials, skipped="the answer's fold scores are not stored")
    strategy = do_nothing_strategy(trials.strategy_of(source))
    settings, data, splits = trials.settings, trials.data, trials.plan.splits
    runner = TaskRunner(n_jobs=settings.n_jobs)
    expected = _expected_seconds(source, runner.n_jobs)
    left = None if deadline is None else deadline - time.monotonic()
    if left is not None and expected > left:
        # Started, it would only be stopped at the deadline: the time would be spent for nothing.
        why = (
            f"its CV would take about {_seconds(expected)} (as trial {source.number} did), more than the "
            f"{_seconds(left)} left after the trials"
        )
        return DoNothingComparison(strategy.to_dict(), source.number, answer_trials, skipped=why)
    with shared_table(data.X, share=runner.n_jobs > 1) as table:
        cv = _scored(trials, strategy, table, runner, deadline, threshold_folds=0)
        if cv is None:
            why = "its CV did not finish in the time left after the trials"
            return DoNothingComparison(strategy.to_dict(), source.number, answer_trials, skipped=why)
        untreated, how = _untreated_answer_cv(trials, answer, table, runner, deadline)
    folds = {m: answer_cv.metric_values(m) for m in COMPARED}, {m: cv.metric_values(m) for m in COMPARED}
    test_share = float(np.mean([len(validation) / len(train) for train, validation in splits]))
    differences = compare_folds(*folds, test_share=test_share)
    treatment: tuple = ()
    skipped = how if untreated is None else None
    if untreated is not None:
        untreated_folds = {m: untreated.metric_values(m) for m in COMPARED}
        treatment = compare_folds(folds[0], untreated_folds, test_share=test_share)
    return DoNothingComparison(
        strategy.to_dict(),
        source.number,
        answer_trials,
        differences,
        len(splits),
        treatment=treatment,
        untreated_answer="" if untreated is None else how,
        treatment_skipped=skipped,
    )


def _seconds(value: float) -> str:
    """A duration as a short text that does not round a short one to 0 s."""
    value = max(value, 0.0)
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def _expected_seconds(trial: FrozenTrial, n_jobs: int) -> float:
    """How long cross-validating ``trial``'s strategy again takes, from its recorded fits
    (summed over the worker processes)."""
    return (TrialRecord.of(trial).fit_seconds or 0.0) / max(n_jobs, 1)


def _scored(
    trials: StoredTrials,
    strategy: Strategy,
    table: Any,
    runner: TaskRunner,
    deadline: float | None,
    *,
    threshold_folds: int,
) -> CVResult | None:
    """``strategy`` cross-validated on the search's folds (None: the deadline stopped it)."""
    settings, data, splits = trials.settings, trials.data, trials.plan.splits
    cv = score_pipeline(
        build_pipeline(strategy, data.profile.schema),
        table,
        data.codes,
        splits=splits,
        threshold_folds=threshold_folds,
        seed=settings.seed,
        runner=runner,
        deadline=deadline,
        threshold_rule=settings.threshold,
        split_by=trials.plan.split_by,
        weights=trials.plan.weights,
    )
    return None if cv.stopped or len(cv.folds) < len(splits) else cv


def _untreated_answer_cv(
    trials: StoredTrials, answer: Answer, table: Any, runner: TaskRunner, deadline: float | None
) -> tuple[CVResult | None, str]:
    """The answer with every member's treatment removed (same models and parameters, same
    weights, thresholds chosen the same way on the same inner folds), and how it was untreated
    ("" when every member was untreated already); (None, why) when it cannot be scored."""
    numbers = answer.trial_numbers(trials)
    weights = list(answer.ensemble.weights) if answer.ensemble is not None else [1.0]
    stored = trials.cvs(numbers)
    cvs, kept, changed, notes = [], [], [], []
    for number, weight in zip(numbers, weights, strict=True):
        member = trials.strategy_of(trials.study.trials[number])
        untreated = untreated_strategy(member)
        if is_untreated(member):
            cvs.append(stored[number])
        elif untreated is None:
            notes.append(f"trial {number} left out: {member.model} balances the classes itself")
            continue
        else:
            if (
                deadline is not None
                and time.monotonic() + _expected_seconds(trials.study.trials[number], runner.n_jobs) > deadline
            ):
                return None, "the untreated members' CV would not finish in the time left after the trials"
            cv = _scored(trials, untreated, table, runner, deadline, threshold_folds=trials.settings.threshold_folds)
            if cv is None:
                return None, "the untreated members' CV did not finish in the time left after the trials"
            cvs.append(cv)
            changed.append(number)
            if untreated.model != member.model:
                notes.append(f"trial {number}'s {member.model} as {untreated.model}")
        kept.append(weight)
    if not cvs:
        return None, "every member's model balances the classes itself, with no untreated twin"
    untreated_text = f"trial(s) {', '.join(map(str, changed))} without resampling, class weights or focal loss"
    how = [untreated_text] if changed else []
    return average_cv(cvs, kept, trials.data.codes), "; ".join(how + notes)
