"""Calls run one at a time, in order, on a background thread: the MLflow writes of finished
trials, off the thread that runs the search."""

from __future__ import annotations

import contextvars
import queue
import threading
from typing import Any

from optuna.trial import FrozenTrial

__all__ = ["BackgroundWriter"]


class BackgroundWriter:
    """Runs ``fn(trial)`` calls one at a time, in order, on a daemon thread (started on first
    use, and again if it ever died). Each call runs in a copy of the submitter's context, so it
    masks the secrets the submitter knows (:data:`strategy_search.masking.KNOWN_SECRETS`).
    Errors are kept for the caller's thread to report: warning from this thread could raise
    (warnings as errors) and end it."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[contextvars.Context, Any, FrozenTrial]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._errors: list[tuple[int, BaseException]] = []

    def submit(self, fn: Any, trial: FrozenTrial) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="mlflow-writer", daemon=True)
                self._thread.start()
        self._queue.put((contextvars.copy_context(), fn, trial))

    def drain(self) -> None:
        self._queue.join()

    def cancel_pending(self) -> None:
        """Drop the calls not yet started, then wait for the one running (if any)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            self._queue.task_done()
        self._queue.join()

    def take_errors(self) -> list[tuple[int, BaseException]]:
        with self._lock:
            errors, self._errors = self._errors, []
        return errors

    def _work(self) -> None:
        while True:
            context, fn, trial = self._queue.get()
            try:
                context.run(fn, trial)
            except Exception as exc:
                with self._lock:
                    self._errors.append((trial.number, exc))
            finally:
                self._queue.task_done()
