"""The per-trial objective: suggest a strategy, score it by CV (through the multi-fidelity
rungs when they are on), and record what the leaderboard, trackers and export need
(:mod:`strategy_search.trial_record`) and its fold scores (:mod:`strategy_search.trial_scores`)."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from strategy_search.data import plain
from strategy_search.fidelity import Fidelities
from strategy_search.parallel import TaskRunner
from strategy_search.prepared import PreparedData, too_many_rows
from strategy_search.scoring import THRESHOLD_FREE, CVResult, PendingCV, start_cv
from strategy_search.settings import SearchSettings
from strategy_search.shared_table import Table
from strategy_search.strategy import Strategy, build_pipeline
from strategy_search.study_budget import Budget, is_surplus
from strategy_search.trial_record import (
    TrialRecord,
    record_failure,
    record_fidelity,
    record_rungs,
    record_scores,
    record_stop,
    record_strategy,
    record_surplus,
)
from strategy_search.trial_scores import ScoreStore, ScoringPlan, encode_scores
from strategy_search.unfit_models import retired_model

__all__ = ["Objective", "any_complete", "failure_reason", "report_failure"]

LOGGER = logging.getLogger("strategy_search")
# Enough of a traceback to find the cause; the start of a worker's traceback is its frames.
_MAX_TRACEBACK = 20_000
Values = float | tuple[float, ...]


class Objective:
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

    def start(self, trial: optuna.Trial) -> Callable[[], Values]:
        """Suggest the trial's strategy and queue its CV fits (:mod:`strategy_search.trial_loop`
        calls this while the previous trial's fits run); the function returned waits for them."""
        if self.shared and is_surplus(trial.study, trial, self.budget):
            # Another worker asked for the budget's last trial at the same moment.
            record_surplus(trial, "the budget was reached when this trial was asked for; not run")
            trial.study.stop()
            raise optuna.TrialPruned("budget reached")
        strategy = self.settings.space.suggest(
            trial,
            has_categorical=self.data.profile.has_categorical,
            multiclass=self.data.task.multiclass,
            seed=self.settings.seed,
            only=TrialRecord.of(trial).portfolio_params,
            too_many_rows=self.too_many_rows,
            weighted_rows=self.data.weights is not None,
        )
        retired = retired_model(trial.study, strategy.model)
        if retired is not None:
            record_strategy(trial, strategy.to_dict())
            record_stop(trial, retired)
            raise optuna.TrialPruned(retired)
        self.strategies[trial.number] = strategy
        # Until a trial completes there is no answer: the first one goes straight to the full CV
        # (successive halving would promote it anyway, as the only one at each rung).
        climb = self.fidelities.active and (self.sent_straight_to_full or any_complete(trial.study))
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
            record_fidelity(trial, 1.0)
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
            split_by=self.plan.split_by,
            weights=self.plan.weights,
        )

    def _climb(self, trial: optuna.Trial, strategy: Strategy, pipeline: Any, pending: PendingCV) -> Values:
        """Multi-fidelity (:mod:`strategy_search.fidelity`): score the subsampled rungs one
        after the other, stopping where the pruner or the deadline says so, then the full CV."""
        fractions, metric = self.fidelities.fractions, self.settings.primary_metric
        rungs: list[dict[str, float]] = []
        for rung, fraction in enumerate(fractions):
            result = self._wait(trial, pending)
            self._check_deadline(trial, strategy, result)
            means = result.mean()  # a rung chooses no threshold: only the threshold-free metrics mean something
            rungs.append({"fraction": fraction, **{m: means[m] for m in THRESHOLD_FREE if m in means}})
            record_rungs(trial, rungs, fidelity=fraction)
            trial.report(float(means[metric]), step=self.fidelities.step(rung))
            following = fractions[rung + 1] if rung + 1 < len(fractions) else 1.0
            if trial.should_prune():
                self._stop_at_rung(trial, strategy, f"pruned at fidelity {fraction:.3g}")
            elif not self._time_for(result, fraction, following) and any_complete(trial.study):
                self._stop_at_rung(trial, strategy, f"fidelity {following:.3g} would not finish before the deadline")
            try:
                pending = self._start_rung(trial, pipeline, rung + 1)
            except Exception as exc:
                self._failed(trial, exc)
                raise
        record_fidelity(trial, 1.0)
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
        record_strategy(trial, strategy.to_dict())
        record_stop(trial, why)
        raise optuna.TrialPruned(why)

    def _check_deadline(self, trial: optuna.Trial, strategy: Strategy, result: CVResult) -> None:
        if result.stopped == "deadline":
            record_strategy(trial, strategy.to_dict())
            record_stop(trial, "time budget exhausted")
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

    def _finish(self, trial: optuna.Trial, strategy: Strategy, pending: PendingCV) -> Values:
        result = self._wait(trial, pending)
        self.strategies.pop(trial.number, None)
        self._record(trial, strategy, result)
        if result.stopped == "deadline":
            record_stop(trial, "time budget exhausted")
            trial.study.stop()
            raise optuna.TrialPruned("time budget exhausted")
        if result.stopped == "pruned":
            record_stop(trial, "pruned")
            raise optuna.TrialPruned(f"pruned after {len(result.folds)} folds")
        means = result.mean()
        values = tuple(means[m] for m in self.settings.metrics)
        self.store.put(trial.number, encode_scores(result))
        return values if self.settings.multi_objective else values[0]

    def _failed(self, trial: optuna.Trial, exc: Exception) -> None:
        """A failed trial is an interrupted one plus its traceback."""
        self._close(trial, exc, traceback=_traceback_text(exc))

    def interrupted(self, trial: optuna.Trial, error: BaseException) -> None:
        """Why ``trial`` ended without scores, with what it tried (a complete trial's strategy
        is written with its scores: one write per trial, not two)."""
        self._close(trial, error)

    def _close(self, trial: optuna.Trial, error: BaseException, *, traceback: str | None = None) -> None:
        strategy = self.strategies.pop(trial.number, None)
        if strategy is not None:
            record_strategy(trial, strategy.to_dict())
        reason = "interrupted (Ctrl-C or SIGTERM)" if isinstance(error, KeyboardInterrupt) else failure_reason(error)
        record_failure(trial, reason, traceback=traceback)

    def _pruning_reporter(self, trial: optuna.Trial) -> Callable[[int, dict[str, float]], bool] | None:
        if not self.settings.prunable:
            return None
        metric, seen = self.settings.primary_metric, []

        def report(fold: int, metrics: dict[str, float]) -> bool:
            seen.append(metrics[metric])
            trial.report(float(np.nanmean(seen)), step=fold)
            return not trial.should_prune()

        return report

    def _record(self, trial: optuna.Trial, strategy: Strategy, result: CVResult) -> None:
        threshold = result.deployment_threshold(self.data.codes) if result.folds else strategy.threshold
        notes = {str(i): f.notes for i, f in enumerate(result.folds) if f.notes}
        record_scores(
            trial,
            strategy=strategy.with_threshold(threshold).to_dict(),
            threshold=plain(threshold),
            metrics=result.mean(),
            metrics_std=result.std(),
            class_metrics=result.class_metrics(),
            fold_metrics=[f.metrics for f in result.folds],
            fold_thresholds=[f.threshold for f in result.folds],
            fit_seconds=result.fit_seconds,
            notes=notes,
        )


def any_complete(study: optuna.Study) -> bool:
    """Whether some trial has completed (while none has, a trial that may not finish in time
    is still the search's only chance of an answer, so it goes on)."""
    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


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
        LOGGER.warning("trial %d failed: %s", trial.number, TrialRecord.of(trial).fail_reason or "unknown error")
