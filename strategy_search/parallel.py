"""Runs independent tasks (CV folds) in worker processes that can be stopped mid-task.

Worker processes, rather than threads, let a time budget be honoured even while one slow
model is fitting: when the deadline passes the workers are killed and the next call starts
fresh ones.

Several jobs (one per trial) can be in flight at once: the search starts the next trial's
job before it waits for the current one, so the workers fit while this process samples the
next strategy and records the last result. Results are handed over in a fixed order, whatever
the order the workers finish in, so the search stays reproducible.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Literal

from joblib.externals.loky import get_reusable_executor

from strategy_search.errors import SettingsError

Stopped = Literal["pruned", "deadline"] | None

# Each worker fits single-threaded models; keep BLAS/OpenMP from oversubscribing the cores.
_WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Tasks queued beyond one per worker: a worker that finishes starts the next task at once,
# even while this process is busy sampling or recording instead of submitting. (More would
# waste more fits on pruned trials, which cannot be cancelled once submitted.)
_QUEUED_AHEAD = 1
# How often a worker checks that the search's process is still there (:func:`_die_with_parent`).
PARENT_POLL_SECONDS = 0.5


class Job:
    """One call's tasks: started by :meth:`TaskRunner.start`, its results collected by
    :meth:`finish`. ``on_result(index, result)`` sees the results in task order (in
    :meth:`finish`, never earlier) and returns False to stop early (pruning)."""

    def __init__(
        self,
        runner: TaskRunner,
        fn: Callable[[Any], Any],
        tasks: Sequence[Any],
        on_result: Callable[[int, Any], bool],
        deadline: float | None,
    ):
        self.runner, self.fn, self.tasks, self.on_result, self.deadline = runner, fn, tasks, on_result, deadline
        self.submitted = 0
        self.arrived: dict[int, tuple[Any, BaseException | None]] = {}
        self.results: list[Any] = []
        self.stopped: Stopped = None
        self.closed = False

    @property
    def wants_workers(self) -> bool:
        return not self.closed and self.submitted < len(self.tasks)

    def finish(self) -> tuple[list[Any], Stopped]:
        """Wait for this job's results (handing each to ``on_result`` in order); re-raises the
        first failed task's error. Other jobs' tasks keep running meanwhile."""
        try:
            return self.runner._finish(self)
        finally:
            self.closed = True


class TaskRunner:
    """Run ``fn(task)`` for each task; results are handed to ``on_result`` in task order.

    ``on_result(index, result)`` returns False to stop early (pruning). ``n_jobs=1`` runs in
    this process, where the deadline is only checked between tasks and a job's tasks run when
    it is finished.
    """

    def __init__(self, *, n_jobs: int = 1):
        if n_jobs < 1:
            raise SettingsError(f"n_jobs must be >= 1; got {n_jobs}.")
        self.n_jobs = n_jobs
        self._jobs: list[Job] = []  # started and not closed, oldest first: the oldest gets workers first
        self._in_flight: dict[Future, tuple[Job, int]] = {}
        self._executor: Any = None
        # The search starts the next trial's job on another thread while this one collects.
        self._lock = threading.RLock()

    def run(
        self,
        fn: Callable[[Any], Any],
        tasks: Sequence[Any],
        *,
        on_result: Callable[[int, Any], bool] = lambda i, r: True,
        deadline: float | None = None,
    ) -> tuple[list[Any], Stopped]:
        return self.start(fn, tasks, on_result=on_result, deadline=deadline).finish()

    def start(
        self,
        fn: Callable[[Any], Any],
        tasks: Sequence[Any],
        *,
        on_result: Callable[[int, Any], bool] = lambda i, r: True,
        deadline: float | None = None,
    ) -> Job:
        job = Job(self, fn, tasks, on_result, deadline)
        if deadline is not None and time.monotonic() >= deadline:
            # Past the deadline (another job's wait just killed the workers): starting fresh
            # workers only to kill them again would cost seconds of imports.
            job.stopped, job.closed = "deadline", True
        elif self.n_jobs > 1:
            with self._lock:
                self._jobs.append(job)
                try:
                    self._submit()
                except BaseException:
                    job.closed = True
                    raise
        return job

    def _finish(self, job: Job) -> tuple[list[Any], Stopped]:
        if self.n_jobs == 1:
            return self._run_here(job)
        while job.stopped is None and len(job.results) < len(job.tasks):
            with self._lock:
                if job.closed:
                    raise RuntimeError("this job was closed; its results are gone")
                self._submit()
            if not self._hand_over(job):
                self._wait(job.deadline)
        return job.results, job.stopped

    @staticmethod
    def _run_here(job: Job) -> tuple[list[Any], Stopped]:
        for index, task in enumerate(job.tasks):
            if job.deadline is not None and time.monotonic() >= job.deadline:
                return job.results, "deadline"
            job.results.append(job.fn(task))
            if not job.on_result(index, job.results[-1]):
                return job.results, "pruned"
        return job.results, None

    def _hand_over(self, job: Job) -> bool:
        """Give ``job`` its next arrived results, in order; whether it got any (or stopped)."""
        handed = False
        while job.stopped is None and len(job.results) in job.arrived:
            result, error = job.arrived.pop(len(job.results))
            if error is not None:
                job.closed = True
                raise error
            job.results.append(result)
            handed = True
            if not job.on_result(len(job.results) - 1, result):
                job.stopped = "pruned"
        return handed or job.stopped is not None

    def _submit(self) -> None:
        # At most n_jobs + _QUEUED_AHEAD tasks are in flight, so stopping early never needs
        # Future.cancel() (which races with loky's result thread); a stopped job just submits
        # nothing more.
        self._jobs = [j for j in self._jobs if not j.closed]
        while len(self._in_flight) < self.n_jobs + _QUEUED_AHEAD:
            job = next((j for j in self._jobs if j.wants_workers), None)
            if job is None:
                return
            if not self._in_flight:
                # The same executor while it is healthy; a new one after a kill or a crash.
                self._executor = get_reusable_executor(
                    max_workers=self.n_jobs, env=_WORKER_ENV, timeout=300, initializer=_start_worker
                )
            try:
                future = self._executor.submit(job.fn, job.tasks[job.submitted])
            except BrokenProcessPool as broken:
                # A worker died (out of memory, a crash in native code): the tasks in flight
                # fail with that error, and the next submission gets fresh workers.
                self._fail_in_flight(broken)
                continue
            self._in_flight[future] = (job, job.submitted)
            job.submitted += 1

    def _wait(self, deadline: float | None) -> None:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        with self._lock:
            watched = list(self._in_flight)
        if not watched:
            return  # nothing running (the caller's results have all arrived)
        done, _ = wait(watched, timeout=timeout, return_when=FIRST_COMPLETED)
        with self._lock:
            if not done:
                self._kill()
                return
            for future in done:
                if future not in self._in_flight:
                    continue  # a kill meanwhile dropped it
                job, index = self._in_flight.pop(future)
                error = future.exception()
                job.arrived[index] = (None if error else future.result(), error)

    def _fail_in_flight(self, error: BaseException) -> None:
        for job, index in self._in_flight.values():
            job.arrived[index] = (None, error)
        self._in_flight.clear()
        self._executor = None

    def _kill(self) -> None:
        """The deadline passed: kill the running fits. Every job in flight loses its running
        tasks; all share the one deadline."""
        # Shut down this very executor: asking loky for "the" executor with other arguments
        # would wait for the running fits instead of killing them.
        if self._executor is not None:
            _shutdown_killing(self._executor)
        self._executor = None
        self._in_flight.clear()
        for job in self._jobs:
            if job.stopped is None:
                job.stopped = "deadline"
            job.closed = True


def _shutdown_killing(executor: Any) -> None:
    """Kill ``executor``'s workers now. loky's manager thread, told to kill, drops the queued
    tasks but not their ids in its id queue, then looks one of those up: a KeyError traceback
    from its thread in the middle of the search's output (seen once in a few hundred kills).
    Emptying that queue first (nothing else submits meanwhile: the runner's lock is held) leaves
    it nothing to look up; the dropped tasks' futures still get loky's shutdown error."""
    ids = getattr(executor, "_work_ids", None)
    if ids is not None:
        with contextlib.suppress(queue.Empty):
            while True:
                ids.get_nowait()
    executor.shutdown(wait=False, kill_workers=True)


def _start_worker() -> None:
    _quiet_worker_stderr()
    _die_with_parent(os.getppid())


def _die_with_parent(parent: int) -> None:
    """End this worker soon after ``parent`` (the search's process) is gone, however it went: a
    ``kill -9`` of the search runs no clean-up, and its workers (hundreds of MB each) would go on
    fitting for nobody. A daemon thread watches for the worker being handed to another parent;
    Linux's parent-death signal is not used, as it fires when the *thread* that started the
    worker ends, and loky starts workers from a thread of its own."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="strategy-search-parent-watch", daemon=True).start()


def _quiet_worker_stderr() -> None:
    """Native libraries write straight to a worker's stderr (LightGBM's "[LightGBM] [Fatal]
    ..." before it raises), which would land in the middle of the progress bar, once per fold.
    Every failure in a worker comes back to the search as its exception, so nothing is lost."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
