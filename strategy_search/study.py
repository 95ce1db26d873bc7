"""A study's life: the only module that creates an Optuna study. Create or open it (checked
against the data and its stored fingerprint), queue the portfolio and write the budget, run
trials until the budget is reached (one process, or one of several workers on a database
server), and finish it: the answer computed from what the trials stored, then stored."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from strategy_search.answer import Answer, StoredTrials, choose_answer
from strategy_search.data import plain
from strategy_search.errors import DataError, SearchFailed, StorageError
from strategy_search.fidelity import ETA, plan_fidelities
from strategy_search.masking import mask_secrets
from strategy_search.objective import Objective, report_failure
from strategy_search.optuna_internals import queued_params, storage_of
from strategy_search.parallel import TaskRunner
from strategy_search.prepared import (
    PreparedData,
    check_task_settings,
    data_fingerprint,
    scoring_plan,
    too_many_rows,
)
from strategy_search.result import SearchResult
from strategy_search.settings import SearchSettings
from strategy_search.shared_table import shared as shared_table
from strategy_search.stopping import BudgetGuard, FailFast, StopAtBudget
from strategy_search.storage import is_server_storage, open_storage
from strategy_search.study_budget import FINISHED, Budget, RetryStaleTrial, fail_stale, no_place_left, running
from strategy_search.study_holder import hold_sqlite_study
from strategy_search.task import Task
from strategy_search.trial_loop import run_trials
from strategy_search.trial_record import (
    StudyAttr,
    TrialRecord,
    close_as_interrupted,
    portfolio_attrs,
    set_study_attr,
    study_attr,
)
from strategy_search.trial_scores import check_fingerprint, storage_url, store_of

__all__ = [
    "Callback",
    "create_study",
    "finish_study",
    "open_checked_study",
    "open_study",
    "quiet_optuna",
    "work_on_study",
]

Callback = Callable[[optuna.Study, FrozenTrial], None]

# TPE starts modelling after this many finished trials; the portfolio counts towards it.
TPE_STARTUP_TRIALS = 10


def _sampler(seed: int) -> optuna.samplers.BaseSampler:
    """TPE with Optuna's constant liar (its default): another worker's running trials count as
    bad ones, so workers on one study do not all propose the same strategy."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # multivariate + group models the conditional space (parameters that exist only for
        # some models) jointly instead of as independent 1-D densities.
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, n_startup_trials=TPE_STARTUP_TRIALS)


def _pruner(settings: SearchSettings) -> optuna.pruners.BasePruner:
    if not settings.prunable:
        return optuna.pruners.NopPruner()
    # Compare running CV means only after two folds, and only once enough trials are known.
    return optuna.pruners.MedianPruner(n_startup_trials=TPE_STARTUP_TRIALS, n_warmup_steps=1)


def create_study(
    settings: SearchSettings,
    *,
    storage: Any = None,
    study_name: str | None = None,
    worker: int = 0,
    new: bool = False,
) -> optuna.Study:
    """Create the study, or open it when it exists (``new``: refuse an existing name with
    ``optuna.exceptions.DuplicatedStudyError``; the storage's unique name makes that atomic, so
    two processes never share a study they each meant to create). ``worker`` numbers one of
    several workers on a shared study: its sampler gets its own seed and the constant liar."""
    return optuna.create_study(
        storage=open_storage(storage, heartbeat_interval=settings.heartbeat_interval),
        study_name=study_name,
        load_if_exists=study_name is not None and not new,
        directions=["maximize"] * len(settings.metrics),
        sampler=_sampler(settings.seed + 1000 * worker),
        pruner=_pruner(settings),
    )


def check_study_task(study: optuna.Study, task: Task) -> None:
    """Record the data's task on a new study; refuse to resume a study made for another task
    (its trials' strategies, decisions and class codes would not mean the same)."""
    stored = study_attr(study, StudyAttr.TASK)
    if stored is None:
        if not study.trials:
            set_study_attr(study, StudyAttr.TASK, plain(task.to_dict()))
        return
    if Task.from_dict(stored) != task:
        raise DataError(
            f"Study {study.study_name!r} was searched on a {stored['kind']} target with classes {stored['classes']}; "
            f"this data's target is {task.kind} with classes {list(task.classes)}. Resume it on the same data, or "
            "start a new study (without --resume)."
        )


def check_study_fingerprint(study: optuna.Study, data: PreparedData, settings: SearchSettings) -> None:
    """Record what a new study's scores depend on; refuse to add to one made on something else."""
    current = data_fingerprint(data, settings)
    stored = study_attr(study, StudyAttr.FINGERPRINT)
    if stored is None and not study.trials:
        set_study_attr(study, StudyAttr.FINGERPRINT, current)
        return
    check_fingerprint(stored, current, study_name=study.study_name)


def open_checked_study(
    data: PreparedData,
    settings: SearchSettings,
    *,
    storage: Any,
    study_name: str | None,
    worker: int = 0,
    new: bool = False,
) -> optuna.Study:
    """The study (created when it does not exist), checked against the data: the settings must
    mean something for its task, and a stored study must have been made for the same task and
    fingerprint (a new one records them). Every way into a study goes through these checks:
    :func:`open_study`, and the command line before it starts a study's MLflow run."""
    check_task_settings(settings, data)
    study = create_study(settings, storage=storage, study_name=study_name, worker=worker, new=new)
    check_study_task(study, data.task)
    check_study_fingerprint(study, data, settings)
    return study


def _close_interrupted(study: optuna.Study, storage: optuna.storages.BaseStorage | None, trials: StoredTrials) -> None:
    """Trials left RUNNING by a process that died (``kill -9``, a crash) are failed with what
    they tried, and each is queued once more with its parameters, as a dead worker's trial is on
    a database server (:class:`~strategy_search.study_budget.RetryStaleTrial`): the retry takes
    its place in the budget, so the killed trial costs none, and an interrupted portfolio
    strategy is still tried. ``storage`` is the study's storage (None: a new in-memory study)."""
    running_trials = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running_trials or storage is None:
        return
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in running_trials:
        close_as_interrupted(storage, study_id, trial.number, strategy=_replayed_strategy(trials, trial))
        study.tell(trial.number, state=TrialState.FAIL)
        RetryStaleTrial()(study, trial)


def _replayed_strategy(trials: StoredTrials, trial: FrozenTrial) -> dict[str, Any] | None:
    """What an interrupted trial was trying, replayed from the parameters it had drawn, or, for a
    queued trial (a portfolio strategy, a retry) killed before it drew them, from the ones it was
    queued with (None: neither tells). The trial loop asks for the next trial while the current
    one fits, so a kill often leaves two RUNNING trials, the second with nothing drawn yet."""
    try:
        return trials.strategy_of(trial, params={**queued_params(trial), **trial.params}).to_dict()
    except Exception:  # a parameter it never drew: the replay cannot tell what it was
        return None


def _enqueue_portfolio(study: optuna.Study, settings: SearchSettings, data: PreparedData) -> None:
    if study.trials:
        return  # a resumed study already ran (or queued) its portfolio
    facts = {
        "has_categorical": data.profile.has_categorical,
        "multiclass": data.task.multiclass,
        "too_many_rows": too_many_rows(data, settings),
        "weighted_rows": data.weights is not None,
    }
    for entry in settings.space.portfolio_for(**facts):
        params = entry.flat_params()
        # Only these are asked for: parameters the entry leaves out keep component defaults.
        study.enqueue_trial(params, user_attrs=portfolio_attrs(entry.name, list(params)))


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
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
    started: float | None = None,
) -> optuna.Study:
    """The study, checked against the data (task, fingerprint). ``create`` (the one process
    that starts or resumes it) queues the portfolio and writes the budget every worker reads,
    its timeout counted from ``started`` (a Unix time: when the call began; default now)."""
    opened = open_storage(storage, heartbeat_interval=settings.heartbeat_interval)
    if not create and study_name is not None:
        try:
            optuna.load_study(study_name=study_name, storage=opened)
        except KeyError:
            raise StorageError(
                f"No study {study_name!r} in {mask_secrets(str(storage_url(opened)))} to join; start it with "
                "`strategy-search run` or `strategy-search worker --create`."
            ) from None
    study = open_checked_study(data, settings, storage=opened, study_name=study_name, worker=worker)
    if create:
        if not is_server_storage(opened):
            hold_sqlite_study(study)  # one process per SQLite study: nobody else's trial is running
            _close_interrupted(study, opened, StoredTrials(study=study, data=data, settings=settings))
        _enqueue_portfolio(study, settings, data)
        left_out = settings.space.left_out_for_size(
            has_categorical=data.profile.has_categorical, multiclass=data.task.multiclass
        )
        set_study_attr(study, StudyAttr.LEFT_OUT, left_out if too_many_rows(data, settings) else {})
        Budget.starting_now(n_trials=settings.n_trials, timeout=settings.timeout, started=started).store(study)
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
    shared = is_server_storage(storage_of(study))
    runner = TaskRunner(n_jobs=settings.n_jobs)
    plan = scoring_plan(data, settings)
    fidelities = plan_fidelities(
        plan.codes, plan.splits, mode=settings.fidelity if settings.prunable else "off", seed=settings.seed
    )
    if fidelities.active:
        study.pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=ETA)
    # With fidelities a trial starts cheap and each rung checks the time for the next
    # (Objective._time_for): a complete trial's duration says nothing about the next one's start.
    guard = BudgetGuard(None if fidelities.active else deadline)
    stopper, fail_fast = StopAtBudget(budget), FailFast()
    with shared_table(data.X, share=runner.n_jobs > 1) as table:
        objective = Objective(
            data,
            settings,
            runner,
            deadline,
            plan=plan,
            store=store_of(study),
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


def _raise_if_nothing_worked(study: optuna.Study) -> None:
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    if finished and all(t.state == TrialState.FAIL for t in finished):
        reasons = Counter(TrialRecord.of(t).fail_reason or "unknown error" for t in finished)
        raise SearchFailed(study, dict(reasons.most_common()))


def finish_study(
    study: optuna.Study, data: PreparedData, settings: SearchSettings, *, within_timeout: bool = False
) -> SearchResult:
    """The search's answer, computed from the study's stored trial scores, stored on it, and
    handed on as stored (refused when the study was searched on other data, another space or
    other CV settings). ``within_timeout``: the call that searched it finishes it, so what comes
    after the trials keeps to the study's timeout (otherwise it gets an allowance of its own)."""
    check_fingerprint(
        study_attr(study, StudyAttr.FINGERPRINT), data_fingerprint(data, settings), study_name=study.study_name
    )
    _raise_if_nothing_worked(study)
    trials = StoredTrials(study=study, data=data, settings=settings)
    finish_by = Budget.of(study).monotonic_finish_by() if within_timeout else None
    answer = choose_answer(trials, stored=Answer.from_study(study, settings), finish_by=finish_by)
    answer.store(study, settings)
    return SearchResult(trials=trials, answer=answer)
