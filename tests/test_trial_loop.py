"""Overlap: the next trial is asked for and its fits queued while the current one fits, with
results handed over in a fixed order so a seeded search stays reproducible."""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import optuna
import pandas as pd
import pytest

import strategy_search
from strategy_search.parallel import TaskRunner


def _wait_for(marker: Path) -> str:
    """A task that can only finish once another job's task has run beside it."""
    give_up = time.monotonic() + 60
    while not marker.exists():
        if time.monotonic() > give_up:
            return "never saw the other job's task"
        time.sleep(0.01)
    return "saw it"


def _touch(marker: Path) -> str:
    marker.touch()
    return "touched"


def _fail(_: object) -> None:
    raise ValueError("this task fails")


def _square(x: int) -> int:
    return x * x


def test_a_later_jobs_tasks_run_while_an_earlier_job_is_still_running(tmp_path):
    marker = tmp_path / "marker"
    runner = TaskRunner(n_jobs=2)
    first = runner.start(_wait_for, [marker])
    second = runner.start(_touch, [marker])
    # The first job's only task waits for the second job's; it finishes only because the
    # second job's task was given the other worker before the first job was collected.
    assert first.finish() == (["saw it"], None)
    assert second.finish() == (["touched"], None)


def test_results_are_handed_over_in_task_order_and_a_failing_job_leaves_the_other_alone():
    runner = TaskRunner(n_jobs=2)
    seen: list[int] = []
    first = runner.start(_square, list(range(7)), on_result=lambda i, r: seen.append(i) is None)
    failing = runner.start(_fail, [None, None])
    assert first.finish() == ([x * x for x in range(7)], None)
    assert seen == list(range(7))
    with pytest.raises(ValueError, match="this task fails"):
        failing.finish()
    assert runner.run(_square, [3]) == ([9], None)  # the workers are still usable


def test_pruning_one_job_stops_only_its_tasks():
    runner = TaskRunner(n_jobs=2)
    pruned = runner.start(_square, list(range(10)), on_result=lambda i, r: i < 2)
    other = runner.start(_square, [5, 6])
    results, stopped = pruned.finish()
    assert (results, stopped) == ([0, 1, 4], "pruned")
    assert other.finish() == ([25, 36], None)


def _die(_: object) -> None:
    os._exit(1)  # a worker killed for its memory, or a crash in native code


def test_after_a_worker_dies_its_tasks_fail_and_the_next_jobs_get_fresh_workers():
    runner = TaskRunner(n_jobs=2)
    dying = runner.start(_die, [None])
    other = runner.start(_square, list(range(6)))  # in flight when the pool breaks
    with pytest.raises(BrokenProcessPool):
        dying.finish()
    with contextlib.suppress(BrokenProcessPool):  # its tasks may have gone down with the pool
        other.finish()
    assert runner.run(_square, [4, 5]) == ([16, 25], None)
    assert runner.run(_square, [6]) == ([36], None)


def test_a_job_started_after_the_deadline_starts_no_workers():
    runner = TaskRunner(n_jobs=2)
    job = runner.start(_square, [1, 2], deadline=time.monotonic() - 1)
    assert job.finish() == ([], "deadline")
    assert runner._executor is None


def test_the_next_trial_is_asked_for_before_the_current_one_is_told(small_numeric):
    X, y = small_numeric
    trials_at_tell: dict[int, int] = {}

    def record(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        asked = [t for t in study.get_trials(deepcopy=False) if t.state != optuna.trial.TrialState.WAITING]
        trials_at_tell[trial.number] = len(asked)

    strategy_search.search(X, y, n_trials=6, space="fast", cv_folds=3, n_jobs=2, callbacks=[record])
    # When trial k is told, trial k+1 exists already (it was sampled while k's folds fitted);
    # the last one has no successor within the budget.
    assert trials_at_tell == {k: min(k + 2, 6) for k in range(6)}


def test_same_seed_and_budget_give_the_same_trials_with_one_or_two_worker_processes(yeast5):
    X, y = yeast5
    columns = ["trial", "state", "model", "resampler", "weighting", "objective", "pr_auc", "f1", "threshold", "params"]
    # 14 trials: past TPE's 10 start-up trials and the pruner's, so sampling and pruning both
    # depend on which trials were told when each was asked for.
    boards = [
        strategy_search.search(X, y, n_trials=14, seed=3, space="fast", cv_folds=3, n_jobs=n_jobs).leaderboard[columns]
        for n_jobs in (1, 2)
    ]
    pd.testing.assert_frame_equal(boards[0], boards[1])
