"""Runs independent tasks (CV folds) in worker processes that can be stopped mid-task.

Worker processes, rather than threads, let a time budget be honoured even while one slow
model is fitting: when the deadline passes the workers are killed and the next call starts
fresh ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, Literal

from joblib.externals.loky import get_reusable_executor

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
            raise ValueError(f"n_jobs must be >= 1; got {n_jobs}.")
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
        executor = get_reusable_executor(max_workers=self.n_jobs, env=_WORKER_ENV, timeout=300)
        futures: list[Future] = [executor.submit(fn, task) for task in tasks]
        results: list[Any] = []
        pending = set(futures)
        try:
            while len(results) < len(futures):
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
                if not done:
                    self.kill_workers()
                    return results, "deadline"
                while len(results) < len(futures) and futures[len(results)].done():
                    results.append(futures[len(results)].result())  # re-raises a task's error
                    if not on_result(len(results) - 1, results[-1]):
                        return results, "pruned"
            return results, None
        finally:
            for future in pending:
                future.cancel()

    @staticmethod
    def kill_workers() -> None:
        get_reusable_executor().shutdown(wait=False, kill_workers=True)
