"""Runs independent tasks (CV folds) in worker processes that can be stopped mid-task.

Worker processes, rather than threads, let a time budget be honoured even while one slow
model is fitting: when the deadline passes the workers are killed and the next call starts
fresh ones.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, Literal

from joblib.externals.loky import get_reusable_executor

from strategy_search.errors import SettingsError

Stopped = Literal["pruned", "deadline"] | None

# Each worker fits single-threaded models; keep BLAS/OpenMP from oversubscribing the cores.
_WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class TaskRunner:
    """Run ``fn(task)`` for each task; results are handed to ``on_result`` in task order.

    ``on_result(index, result)`` returns False to stop early (pruning). ``n_jobs=1`` runs in
    this process, where the deadline is only checked between tasks.
    """

    def __init__(self, *, n_jobs: int = 1):
        if n_jobs < 1:
            raise SettingsError(f"n_jobs must be >= 1; got {n_jobs}.")
        self.n_jobs = n_jobs

    def run(
        self,
        fn: Callable[[Any], Any],
        tasks: Sequence[Any],
        *,
        on_result: Callable[[int, Any], bool] = lambda i, r: True,
        deadline: float | None = None,
    ) -> tuple[list[Any], Stopped]:
        if self.n_jobs == 1:
            return self._run_here(fn, tasks, on_result, deadline)
        return self._run_in_workers(fn, tasks, on_result, deadline)

    @staticmethod
    def _run_here(fn, tasks, on_result, deadline) -> tuple[list[Any], Stopped]:
        results: list[Any] = []
        for index, task in enumerate(tasks):
            if deadline is not None and time.monotonic() >= deadline:
                return results, "deadline"
            results.append(fn(task))
            if not on_result(index, results[-1]):
                return results, "pruned"
        return results, None

    def _run_in_workers(self, fn, tasks, on_result, deadline) -> tuple[list[Any], Stopped]:
        # At most n_jobs tasks are in flight, so stopping early never needs Future.cancel()
        # (which races with loky's result thread); a stopped CV just submits nothing more.
        executor = get_reusable_executor(
            max_workers=self.n_jobs, env=_WORKER_ENV, timeout=300, initializer=_quiet_worker_stderr
        )
        in_flight: dict[Future, int] = {}
        finished: dict[int, Any] = {}
        results: list[Any] = []
        next_task = 0
        while len(results) < len(tasks):
            while next_task < len(tasks) and len(in_flight) < self.n_jobs:
                in_flight[executor.submit(fn, tasks[next_task])] = next_task
                next_task += 1
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            done, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:
                # Shut down this very executor: asking loky for "the" executor with other
                # arguments would wait for the running fits instead of killing them.
                executor.shutdown(wait=False, kill_workers=True)
                return results, "deadline"
            for future in done:
                finished[in_flight.pop(future)] = future.result()  # re-raises a task's error
            while len(results) in finished:
                results.append(finished.pop(len(results)))
                if not on_result(len(results) - 1, results[-1]):
                    return results, "pruned"
        return results, None


def _quiet_worker_stderr() -> None:
    """Native libraries write straight to a worker's stderr (LightGBM's "[LightGBM] [Fatal]
    ..." before it raises), which would land in the middle of the progress bar, once per fold.
    Every failure in a worker comes back to the search as its exception, so nothing is lost."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
