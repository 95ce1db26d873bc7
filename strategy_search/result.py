"""What a search found, read from its stored study: :class:`SearchResult`, the leaderboard, and
:func:`load_result` (any process rebuilds the same result from storage)."""

from __future__ import annotations

import copy
import os
import warnings
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from strategy_search.answer import Answer, StoredTrials
from strategy_search.calibration import Calibration
from strategy_search.data import DataProfile
from strategy_search.do_nothing import DoNothingComparison
from strategy_search.ensemble import TrialEnsemble
from strategy_search.errors import NoStoredScores
from strategy_search.explain import FeatureImportance
from strategy_search.export import export_model, rule_for_task
from strategy_search.prepared import PreparedData, data_fingerprint
from strategy_search.ranking import best_first
from strategy_search.scoring import REPORTED, CVResult
from strategy_search.settings import SearchSettings
from strategy_search.slots import slot_names
from strategy_search.storage import open_storage
from strategy_search.strategy import Bagging, Ensemble, Strategy, build_classifier
from strategy_search.study_budget import FINISHED, never_ran, stale_reasons
from strategy_search.summary import STATE_WORDS, Member, SearchSummary, Timings
from strategy_search.thresholds import ThresholdRule
from strategy_search.trial_record import StudyAttr, TrialRecord, study_attr
from strategy_search.trial_scores import check_fingerprint
from strategy_search.unfit_models import retired_model

__all__ = ["AnswerModel", "SearchResult", "leaderboard", "load_result"]

AnswerModel = Any  # ThresholdedClassifier | ClassWeightedClassifier, fitted (strategy.build_classifier)


class SearchResult:
    """What a search found. ``leaderboard`` has one row per trial, best first; the answer
    (:attr:`best_strategy`) is what :meth:`export` deploys and :attr:`model` predicts with."""

    def __init__(self, *, trials: StoredTrials, answer: Answer):
        self.trials, self.answer = trials, answer
        self.study, self.data, self.settings = trials.study, trials.data, trials.settings

    def __repr__(self) -> str:
        counts = self.summary.counts
        shown = ", ".join(f"{self.best_scores[m]:.4f} {m}" for m in self.settings.metrics if m in self.best_scores)
        done = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
        return f"<SearchResult study={self.study.study_name!r}: {self.summary.answer} ({shown}); trials: {done}>"

    @property
    def store(self) -> Any:
        return self.trials.store

    @property
    def plan(self) -> Any:
        """The search's folds (:class:`~strategy_search.trial_scores.ScoringPlan`)."""
        return self.trials.plan

    def stored_cvs(self, trial_numbers: list[int]) -> dict[int, CVResult]:
        return self.trials.cvs(trial_numbers)

    @property
    def profile(self) -> DataProfile:
        return self.data.profile

    @property
    def left_out(self) -> dict[str, str]:
        """Components the table's size ruled out of the search ("slot key" -> why)."""
        return dict(study_attr(self.study, StudyAttr.LEFT_OUT, {}))

    @property
    def ensemble(self) -> TrialEnsemble | None:
        """The ensemble the search chose as its answer (member ``trials``, ``weights``,
        ``threshold``, ``metrics``, ``metrics_std``), or None when its answer is the best trial."""
        return self.answer.ensemble

    def answer_cv(self) -> CVResult | None:
        return self.answer.cv(self.trials)

    @property
    def oof_scores(self) -> np.ndarray | None:
        """The answer's out-of-fold scores (one per row, from the search's CV; multi-class: a
        row of class probabilities), rebuilt from the stored trial scores; None when they are
        not stored (a study searched by an older version keeps them in a study attribute)."""
        cv = self.answer_cv()
        if cv is not None:
            return cv.oof
        legacy = study_attr(self.study, StudyAttr.ANSWER_OOF)
        if not legacy or list(legacy["trials"]) != self.answer_trials:
            return None
        return np.asarray(legacy["scores"], dtype=float)

    @property
    def do_nothing(self) -> DoNothingComparison | None:
        """The answer against doing nothing about the imbalance (:mod:`strategy_search.do_nothing`)."""
        return self.answer.do_nothing

    def completed_trials(self) -> list[FrozenTrial]:
        return self.trials.completed()

    @property
    def best_trial(self) -> FrozenTrial:
        """The completed trial with the best primary metric."""
        return self.trials.best()

    @property
    def pareto_front(self) -> list[FrozenTrial]:
        return list(self.study.best_trials) if self.settings.multi_objective else [self.best_trial]

    def strategy_of(self, trial: FrozenTrial) -> Strategy:
        """The strategy the trial scored, replayed from its parameters (Optuna ``FixedTrial``)."""
        return self.trials.strategy_of(trial)

    @property
    def best_strategy(self) -> Strategy | Ensemble:
        """The search's answer, plain data: the :attr:`ensemble` of its best trials, or the best
        trial's strategy when that one is clearly better than their ensemble."""
        return self.answer.strategy(self.trials)

    @property
    def answer_trials(self) -> list[int]:
        """The trial numbers behind :attr:`best_strategy`."""
        return self.answer.trial_numbers(self.trials)

    @property
    def best_scores(self) -> dict[str, float]:
        """CV means of :attr:`best_strategy`."""
        ensemble = self.ensemble
        return dict(ensemble.metrics if ensemble else TrialRecord.of(self.best_trial).metrics)

    @property
    def best_class_metrics(self) -> dict[str, list[float]]:
        """Multi-class: each class's CV metrics of :attr:`best_strategy` (``pr_auc``, ``f1``,
        ... each a list in class-code order); empty for a binary target."""
        ensemble = self.ensemble
        return dict(ensemble.class_metrics if ensemble else TrialRecord.of(self.best_trial).class_metrics)

    @property
    def best_scores_std(self) -> dict[str, float]:
        ensemble = self.ensemble
        return dict(ensemble.metrics_std if ensemble else TrialRecord.of(self.best_trial).metrics_std)

    @property
    def leaderboard(self) -> pd.DataFrame:
        return leaderboard(self.study, primary_metric=self.settings.primary_metric)

    @cached_property
    def summary(self) -> SearchSummary:
        """The finished search in one record, which the console, the report, the model card
        and the MLflow tags all render."""
        return _summarize(self)

    @property
    def calibration(self) -> Calibration | None:
        """The map from the answer's scores to the probabilities it reports, fitted on its
        out-of-fold scores (None: calibration off, or not recorded for this answer)."""
        return self.answer.calibration_for(self.trials)

    @property
    def feature_importance(self) -> FeatureImportance | None:
        """The answer's permutation importance, measured out of fold (:mod:`strategy_search.explain`;
        None: not recorded for this answer)."""
        return self.answer.importance_for(self.trials)

    @property
    def bagging(self) -> Bagging | None:
        """The search's CV split, when the answer deployed is its fold models (the ``answer``
        setting ``bagged``); None when it is refitted on all rows: ``refit``, or a time-ordered
        CV, whose every split scores a model trained on all rows before its block, which a refit
        on all rows is for the rows to come (its fold models would deploy the oldest rows'
        models: on a drifting table they score far below the refit, tests/test_splits.py)."""
        if self.settings.answer != "bagged" or self.plan.split_by.kind == "time":
            return None
        return Bagging(self.plan.requested_folds, self.plan.repeats, self.settings.seed, self.plan.split_by.kind)

    @cached_property
    def model(self) -> AnswerModel:
        """The answer as deployed, fitted once: its fold models on the search's splits (or one
        model on all rows, :attr:`bagging`), its probabilities calibrated (:attr:`calibration`),
        ``predict`` applying the tuned decision, on the user's own labels."""
        calibration = self.calibration
        classifier = build_classifier(
            self.best_strategy,
            self.profile.schema,
            positive_label=self.profile.positive_label,
            task=self.data.task,
            bagging=self.bagging,
            calibration=None if calibration is None else calibration.map_params(),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_params = self.plan.split_by.fit_params() if self.bagging is not None else {}
            if self.data.weights is not None:
                fit_params["sample_weight"] = self.data.weights
            return classifier.fit(self.data.X, self.data.y, **fit_params)

    def best_pipeline(self) -> AnswerModel:
        """:attr:`model` (fitted once; kept for earlier code that called this)."""
        return self.model

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.model.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.model.predict(X))

    def export(
        self,
        out_dir: str | os.PathLike[str],
        *,
        threshold: ThresholdRule | str | None = None,
        source: dict[str, Any] | None = None,
    ) -> Path:
        """Write the answer (:attr:`model`) as a model folder (MLflow model, ``strategy.yaml``,
        model card) at ``out_dir``, replacing an earlier export there.

        ``threshold`` (a rule such as ``"precision>=0.9"``) re-picks the decision threshold on
        the answer's stored out-of-fold scores instead of the search's own rule; ``source``
        adds lines to the model card's "Source" (where the model came from)."""
        oof = self.oof_scores
        multiclass = self.profile.multiclass
        rule = self.settings.threshold if threshold is None else rule_for_task(threshold, multiclass=multiclass)
        classifier = self.model
        if threshold is not None:
            if oof is None:
                raise NoStoredScores(
                    "The study keeps no out-of-fold scores for its answer, so the threshold cannot be re-picked "
                    "without a new search: run it again (or `run --resume`) with this version."
                )
            classifier = copy.deepcopy(classifier)  # the cached model keeps the search's own decision
            classifier.threshold = rule.choose(self.data.codes, oof, self.data.weights)
        return export_model(
            classifier=classifier,
            strategy=self.best_strategy,
            profile=self.profile,
            metrics=self.best_scores,
            metrics_std=self.best_scores_std,
            X=self.data.X,
            out_dir=Path(out_dir),
            source={"study": self.study.study_name, "trials": self.answer_trials, **(source or {})},
            oof=None if oof is None else (oof, self.data.codes, self.data.weights),
            threshold_rule=rule,
            class_metrics=self.best_class_metrics,
            do_nothing=self.do_nothing,
            summary=self.summary,
            calibration=self.calibration,
            importance=self.feature_importance,
        )


def leaderboard_columns() -> list[str]:
    """The leaderboard's columns, in order (a study with no trial that ran has them too)."""
    described = ["threshold", "duration_s", "portfolio", "fidelity", "fail_reason", "params"]
    return ["trial", "state", *slot_names(), *REPORTED, *(f"{m}_std" for m in REPORTED), *described]


def leaderboard(study: optuna.Study, *, primary_metric: str = "pr_auc") -> pd.DataFrame:
    """One row per trial that ran, best first: its strategy's slots, CV metrics, decision,
    duration and why it stopped or failed (:func:`leaderboard_columns`)."""
    rows: list[dict[str, Any]] = []
    stale = stale_reasons(study.get_trials(deepcopy=False))
    for trial in study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING)):
        if never_ran(trial):
            continue
        record = TrialRecord.of(trial)
        row = {"trial": trial.number, "state": trial.state.name}
        row.update({slot: record.strategy.get(slot) for slot in slot_names()})
        row.update({m: record.metrics.get(m, np.nan) for m in REPORTED})
        row.update({f"{m}_std": record.metrics_std.get(m, np.nan) for m in REPORTED})
        row.update(
            {
                "threshold": np.nan if record.threshold is None else record.threshold,
                "duration_s": np.nan if record.duration_seconds is None else record.duration_seconds,
                "portfolio": record.portfolio,
                "fidelity": record.fidelity if record.fidelity is not None else _complete_fidelity(trial),
                "fail_reason": record.fail_reason or record.stopped or stale.get(trial.number),
                "params": {k: v for k, v in trial.params.items() if k.count(".") >= 2},
            }
        )
        rows.append(row)
    rows.sort(key=lambda r: (r["state"] != "COMPLETE", *best_first(r[primary_metric], r["trial"])))
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=leaderboard_columns())


def _summarize(result: SearchResult, reasons_shown: int = 3) -> SearchSummary:
    trials = [t for t in result.study.get_trials(deepcopy=False) if not never_ran(t)]
    states = Counter(t.state.name for t in trials)
    stale = stale_reasons(trials)
    reasons = Counter(
        TrialRecord.of(t).fail_reason or stale.get(t.number, "unknown error")
        for t in trials
        if t.state == TrialState.FAIL
    )
    best, answer, primary = result.best_trial, result.best_strategy, result.settings.primary_metric
    ensemble = result.ensemble
    members: tuple[Member, ...] = ()
    if ensemble is not None and isinstance(answer, Ensemble):
        members = tuple(
            Member(n, float(share), member.describe(), TrialRecord.of(result.study.trials[n]).metric(primary))
            for n, share, member in zip(ensemble.trials, answer.shares, answer.members, strict=True)
        )
    return SearchSummary(
        study=result.study.study_name,
        answer=answer.describe(),
        decision=answer.threshold,
        threshold_rule=str(result.settings.threshold),
        metrics=tuple(result.settings.metrics),
        scores=result.best_scores,
        scores_std=result.best_scores_std,
        best_trial=best.number,
        best_score=TrialRecord.of(best).metric(primary),
        members=members,
        counts={word: states[state] for state, word in STATE_WORDS.items()},
        failures=tuple(reasons.most_common(reasons_shown)),
        not_fitted=_not_fitted(result.study, trials),
        left_out=result.left_out,
        timings=_timings(trials),
        do_nothing=result.do_nothing,
        classes=tuple(str(c) for c in result.profile.the_task.classes) if result.profile.multiclass else (),
        cv=result.plan.describe(),
    )


def _not_fitted(study: optuna.Study, trials: list[FrozenTrial]) -> dict[str, str]:
    """The model families the search stopped fitting after their trials failed, with why."""
    failed = sorted({str(TrialRecord.of(t).strategy.get("model")) for t in trials if t.state == TrialState.FAIL})
    return {model: reason for model in failed if (reason := retired_model(study, model)) is not None}


def _timings(trials: list[FrozenTrial]) -> Timings | None:
    started = [t.datetime_start for t in trials if t.datetime_start is not None]
    if not started:
        return None
    first = min(started)
    last = max((t.datetime_complete for t in trials if t.datetime_complete), default=first)
    durations = [t.duration.total_seconds() for t in trials if t.duration is not None]
    return Timings(
        started=first.isoformat(timespec="seconds"),
        ended=last.isoformat(timespec="seconds"),
        wall_seconds=(last - first).total_seconds(),
        median_trial_seconds=float(np.median(durations)) if durations else None,
        fit_seconds=sum(TrialRecord.of(t).fit_seconds or 0.0 for t in trials),
    )


def _complete_fidelity(trial: FrozenTrial) -> float:
    return 1.0 if trial.state == TrialState.COMPLETE else np.nan


def load_result(data: PreparedData, settings: SearchSettings, *, storage: Any, study_name: str) -> SearchResult:
    """A finished (or interrupted) search's result from its stored study, e.g. to export it:
    refused when the study was searched on other data, another space or other CV settings."""
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage))
    check_fingerprint(
        study_attr(study, StudyAttr.FINGERPRINT), data_fingerprint(data, settings), study_name=study.study_name
    )
    return SearchResult(
        trials=StoredTrials(study=study, data=data, settings=settings), answer=Answer.from_study(study, settings)
    )
