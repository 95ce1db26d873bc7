"""MLflow tracking of a search: the only module that imports mlflow for runs.

``import strategy_search`` never loads this module (MLflow takes seconds to import); the CLI
imports it only when a search is tracked. The MLflow *model* format lives in
:mod:`strategy_search.mlflow_model`; :class:`ClassifierModel` is re-exported here because the
model code of folders exported by strategy-search 0.1 imports it from this module.

Run layout, per search:

* a PARENT run (tag ``strategy_search.kind=search``) with the search settings as params, the
  config file (``config.yaml``), the data profile (``data_profile.json``,
  ``class_distribution.png``), and after :meth:`SearchTracker.finish` the metrics of the
  search's answer (its ensemble, or the best trial when that one won) as ``best_<metric>``,
  plus tags ``best_trial_number`` and ``best_trial_run_id`` (the best single trial) and
  ``ensemble_trial_numbers`` when the answer is an ensemble;
* one NESTED child run per finished trial (COMPLETE -> FINISHED, PRUNED -> KILLED,
  FAIL -> FAILED), named ``trial-<number>``, tagged ``trial_number`` and ``state``, with the
  strategy's params (``model``, ``resampler``, ``weighting``, ``objective`` and namespaced
  hyperparameters such as ``model.lightgbm.num_leaves``), every metric's CV mean under its own
  name and its std as ``<metric>_std``, and the per-fold values as ONE metric per name,
  ``fold_<metric>`` (and ``fold_threshold``), logged with ``step`` = fold index: the MLflow UI
  then draws one fold chart per metric instead of listing folds x metrics keys.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.parse
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import optuna
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID
from mlflow.utils.validation import (
    MAX_ENTITIES_PER_BATCH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAM_VAL_LENGTH,
    MAX_PARAMS_TAGS_PER_BATCH,
    MAX_TAG_VAL_LENGTH,
)
from optuna.trial import FrozenTrial, TrialState

from strategy_search._version import __version__
from strategy_search.background_writer import BackgroundWriter
from strategy_search.data import DataProfile
from strategy_search.errors import NoCompletedTrial, TrackingError, TrackingUnavailable
from strategy_search.masking import mask_secrets
from strategy_search.mlflow_model import ClassifierModel
from strategy_search.plots import class_distribution_figure, search_figures
from strategy_search.result import SearchResult
from strategy_search.run_contents import (
    MetricValue,
    class_metric_values,
    metric_values,
    profile_params,
    trial_metric_values,
    trial_params,
    trial_run_name,
    trial_tags,
)
from strategy_search.sqlite_files import artifact_folder_notes, sqlite_file, sqlite_store_lock, store_write_problem
from strategy_search.study_budget import never_ran
from strategy_search.trial_record import TrialRecord

__all__ = ["ClassifierModel", "SearchTracker", "TrackingUnavailable", "check_reachable", "find_search_run"]

KIND_TAG = "strategy_search.kind"
ANSWER_TAG = "in_answer"  # on the child runs of the answer's trials
# A pruned trial ended as the search meant it to (its scores so far are logged): FINISHED, its
# `state` tag and name say pruned. KILLED would show the failure mark in the UI.
TRIAL_STATUS = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "FINISHED", TrialState.FAIL: "FAILED"}
# Without it MLflow 3's UI opens an experiment on its GenAI (traces) pages.
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
TERMINAL_STATUSES = ("FINISHED", "FAILED", "KILLED")


# -- value conversion -------------------------------------------------------------------------
def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    return str(value)


def _clip(text: str, limit: int) -> str:
    # MLflow rejects longer values; keep the head, which names the problem (fail_reason).
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _param(key: str, value: Any) -> Param:
    return Param(key, _clip(mask_secrets(_text(value)), MAX_PARAM_VAL_LENGTH))


def _tag(key: str, value: Any) -> RunTag:
    return RunTag(key, _clip(mask_secrets(_text(value)), MAX_TAG_VAL_LENGTH))


def _millis(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _batches(
    metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> Iterator[tuple[list[Metric], list[Param], list[RunTag]]]:
    """Chunks within MLflow's per-request limits; a normal trial fits in one."""
    metrics, params, tags = list(metrics), list(params), list(tags)
    while metrics or params or tags:
        p, params = params[:MAX_PARAMS_TAGS_PER_BATCH], params[MAX_PARAMS_TAGS_PER_BATCH:]
        t, tags = tags[:MAX_PARAMS_TAGS_PER_BATCH], tags[MAX_PARAMS_TAGS_PER_BATCH:]
        room = min(MAX_METRICS_PER_BATCH, MAX_ENTITIES_PER_BATCH - len(p) - len(t))
        m, metrics = metrics[:room], metrics[room:]
        yield m, p, t


# -- what a trial logs (run_contents holds the values) ------------------------------------------
def trial_metrics(trial: FrozenTrial, *, classes: Sequence[Any] = ()) -> list[Metric]:
    """A trial's metrics (:func:`strategy_search.run_contents.trial_metric_values`) as MLflow
    entities, stamped with the trial's end."""
    now = _millis(trial.datetime_complete) or int(time.time() * 1000)
    return _entities(trial_metric_values(trial, classes=classes), now)


def _entities(values: Sequence[MetricValue], timestamp: int) -> list[Metric]:
    return [Metric(name, value, timestamp, step) for name, value, step in values]


def _state_counts(result: SearchResult) -> dict[str, int]:
    """Trials by Optuna state (COMPLETE, PRUNED, FAIL), surplus ones included as before."""
    states = [t.state.name for t in result.study.get_trials(deepcopy=False)]
    return {state.name: states.count(state.name) for state in TRIAL_STATUS}


def check_reachable(tracking_uri: str, *, timeout: float = 5.0) -> None:
    """Fail in seconds, naming the URI, when a tracking server is down: MLflow's own client
    would retry with back-off for minutes before saying anything."""
    parts = urllib.parse.urlsplit(tracking_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise TrackingUnavailable(
            f"MLflow tracking server {mask_secrets(tracking_uri)} is unreachable ({exc}); "
            "start it, or set tracking.uri to another server or to a local sqlite:///mlflow.db"
        ) from None


# -- the tracker ------------------------------------------------------------------------------
class SearchTracker:
    """Logs one search to MLflow; pass it to ``search(..., callbacks=[tracker])``.

    Call :meth:`start` before the search, then :meth:`finish` (or :meth:`fail`) after it.
    Every trial becomes a nested child run; :meth:`trial_run_id` maps a trial number to it.
    A logging error does not abort the search: it is reported as a warning and the trial is
    logged again by :meth:`finish`, which also logs trials no callback saw (interrupted ones).
    """

    def __init__(self, *, tracking_uri: str, experiment: str, artifact_location: str | None = None):
        # MLflow prints "View run <name> at: <tracking URI>/..." after every run against a
        # server: the URI may hold credentials, it would print once per trial, and it costs an
        # extra request. MLflow reads this switch only from the environment.
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        check_reachable(tracking_uri)
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment
        problem = store_write_problem(tracking_uri)
        if problem:
            raise TrackingError(f"Cannot write the MLflow store: {problem}.")
        # A new SQLite store is created (migrated) by its first user: one process at a time.
        with sqlite_store_lock(tracking_uri):
            self.client = MlflowClient(tracking_uri)
            expected = artifact_location or _default_artifact_location(tracking_uri)
            self.experiment_id = _ensure_experiment(self.client, experiment, expected)
        made = self.client.get_experiment(self.experiment_id)
        self.notes = artifact_folder_notes(
            made.artifact_location, experiment=made.name, tracking_uri=tracking_uri, expected=expected
        )
        self.parent_run_id: str | None = None
        self._trial_runs: dict[int, str] = {}
        self._unlogged: set[int] = set()  # child run created, its batch not (yet) written
        self._classes: tuple[Any, ...] = ()  # a multi-class task's labels, naming per-class metrics
        self._pending: dict[int, FrozenTrial] = {}  # trials this process queued for logging
        self._writer = BackgroundWriter()

    @property
    def _parent(self) -> str:
        if self.parent_run_id is None:
            raise TrackingError("SearchTracker.start() must be called before the search runs.")
        return self.parent_run_id

    # -- parent run ----------------------------------------------------------------------------
    def start(
        self,
        *,
        run_name: str,
        params: dict[str, Any],
        tags: dict[str, str],
        profile: DataProfile | None = None,
        config_path: Path | None = None,
        config_text: str | None = None,
        resume_run_id: str | None = None,
    ) -> str:
        """Create the parent run (or reopen ``resume_run_id``) and log the search's inputs."""
        if resume_run_id:
            run_id = self._reopen(resume_run_id)
        else:
            run = self.client.create_run(self.experiment_id, run_name=run_name, tags={KIND_TAG: "search"})
            run_id = run.info.run_id
        self.parent_run_id = run_id
        all_params = dict(params)
        if profile is not None:
            all_params.update(profile_params(profile))
            self._classes = profile.the_task.classes if profile.multiclass else ()
        all_tags: dict[str, Any] = {**tags, KIND_TAG: "search", "strategy_search.version": __version__}
        if config_path is not None:
            all_tags["config_path"] = str(config_path)
        self._log_parent_params(all_params, all_tags, resumed=bool(resume_run_id))
        self._log_inputs(profile=profile, config_path=config_path, config_text=config_text)
        return run_id

    def track(
        self,
        search: Callable[[], SearchResult],
        *,
        run_name: str,
        params: dict[str, Any],
        profile: DataProfile | None = None,
        tags: dict[str, str] | None = None,
    ) -> SearchResult:
        """Start the parent run, run ``search`` (this tracker among its callbacks) and close the
        run as the search ended: finished with its answer, KILLED on Ctrl-C, FAILED otherwise."""
        self.start(run_name=run_name, params=params, tags=tags or {}, profile=profile)
        result = self.closing(search)
        self.finish(result)
        return result

    def closing(self, work: Callable[[], Any], *, study: optuna.Study | None = None) -> Any:
        """``work()``, closing the parent run KILLED (Ctrl-C, SIGTERM) or FAILED if it raises
        (``study``: its trials no callback logged are logged first)."""
        try:
            return work()
        except KeyboardInterrupt:
            self.fail("KILLED", study=study)
            raise
        except BaseException:
            self.fail("FAILED", study=study)
            raise

    def join(self, run_id: str, *, profile: DataProfile | None = None) -> None:
        """Log trials under an existing parent run (another process started it and will finish
        it): nothing is written to the parent itself."""
        self._reopen(run_id, running=False)
        self.parent_run_id = run_id
        if profile is not None and profile.multiclass:
            self._classes = profile.the_task.classes

    def _reopen(self, run_id: str, *, running: bool = True) -> str:
        run = _get_run(self.client, run_id)
        if run.info.experiment_id != self.experiment_id:
            raise TrackingError(
                f"Run {run_id} belongs to experiment id {run.info.experiment_id}, not to "
                f"{self.experiment_name!r} (id {self.experiment_id}); cannot resume it here."
            )
        if running:
            self.client.update_run(run_id, status="RUNNING")
        # Trials logged before the interruption keep their child runs; remember them so the
        # best-trial tag can point at them and finish() does not log them twice.
        for number, child in self._logged_children(run_id).items():
            self._trial_runs.setdefault(number, child)
        return run_id

    def _log_parent_params(self, params: dict[str, Any], tags: dict[str, Any], *, resumed: bool) -> None:
        # MLflow params are immutable: a resumed run keeps the first value of a param and
        # records a changed one (e.g. a larger n_trials) as a tag instead.
        existing = self.client.get_run(self._parent).data.params if resumed else {}
        fresh = [_param(k, v) for k, v in params.items() if k not in existing]
        changed = {f"resumed.{k}": v for k, v in params.items() if k in existing and existing[k] != _param(k, v).value}
        all_tags = [_tag(k, v) for k, v in {**tags, **changed}.items()]
        for m, p, t in _batches([], fresh, all_tags):
            self.client.log_batch(self._parent, metrics=m, params=p, tags=t, synchronous=True)

    def _log_inputs(self, *, profile: DataProfile | None, config_path: Path | None, config_text: str | None) -> None:
        if config_text is None and config_path is not None:
            config_text = Path(config_path).read_text()
        if config_text is not None:
            self.client.log_text(self._parent, mask_secrets(config_text), "config.yaml")
        if profile is not None:
            self.client.log_dict(self._parent, profile.to_dict(), "data_profile.json")
            self.client.log_figure(self._parent, class_distribution_figure(profile), "class_distribution.png")

    # -- child runs ----------------------------------------------------------------------------
    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Optuna callback: queue ``trial`` to be logged as a nested child run of the parent.

        A background thread writes it while the next trial runs, so the search never waits on
        the tracking store. Call :meth:`finish` (or :meth:`fail`) at the end: they wait for the
        queue and log again whatever could not be written. Failed writes are reported as
        warnings here, on the caller's thread, at the next trial."""
        if self.parent_run_id is None:
            raise TrackingError("SearchTracker.start() must be called before the search runs.")
        self._report_write_failures()
        if trial.state not in TRIAL_STATUS or never_ran(trial):
            return  # only finished trials have anything to log; a surplus one never ran
        self._pending[trial.number] = trial
        self._writer.submit(self._log_trial, trial)

    def _report_write_failures(self) -> None:
        for number, error in self._writer.take_errors():
            # A tracking hiccup (server down, database locked) must not kill a long search:
            # the trial stays in _unlogged (or has no run yet) and finish() logs it again.
            warnings.warn(
                f"MLflow logging of trial {number} failed ({mask_secrets(str(error))}); retrying at finish().",
                stacklevel=3,
            )

    def log_unlogged(self) -> None:
        """Write again the trials of this process whose logging failed (a worker does this
        before it exits; the process that finishes the study logs the trials nobody logged)."""
        self.flush()
        for number in sorted(self._unlogged):
            trial = self._pending.get(number)
            if trial is not None:
                self._log_trial(trial)

    def flush(self) -> None:
        """Wait until every queued trial has been written or has failed (failures are warned
        about and left for :meth:`finish` to log again)."""
        self._writer.drain()
        self._report_write_failures()

    def _log_trial(self, trial: FrozenTrial) -> None:
        run_id = self._trial_runs.get(trial.number)
        if run_id is None:
            run = self.client.create_run(
                self.experiment_id,
                start_time=_millis(trial.datetime_start),
                run_name=trial_run_name(trial),
                tags={MLFLOW_PARENT_RUN_ID: self._parent, KIND_TAG: "trial", "trial_number": str(trial.number)},
            )
            run_id = self._trial_runs[trial.number] = run.info.run_id
        self._unlogged.add(trial.number)
        params = [_param(k, v) for k, v in trial_params(trial).items()]
        tags = [_tag(k, v) for k, v in trial_tags(trial).items()]
        # One request for the whole trial (more only past MLflow's per-request limits).
        for m, p, t in _batches(trial_metrics(trial, classes=self._classes), params, tags):
            self.client.log_batch(run_id, metrics=m, params=p, tags=t, synchronous=True)
        traceback = TrialRecord.of(trial).traceback
        if traceback:
            self.client.log_text(run_id, mask_secrets(traceback), "traceback.txt")
        end = _millis(trial.datetime_complete) or int(time.time() * 1000)
        self.client.set_terminated(run_id, status=TRIAL_STATUS[trial.state], end_time=end)
        self._unlogged.discard(trial.number)
        self._pending.pop(trial.number, None)

    def trial_run_id(self, number: int) -> str | None:
        """The child run id of trial ``number`` (None if it was not logged by this tracker or,
        for a resumed parent, before; during a search, also while it waits in the queue)."""
        return self._trial_runs.get(number)

    # -- closing -------------------------------------------------------------------------------
    def finish(self, result: SearchResult) -> None:
        """Log trials no callback saw, tag the best trial, and close the parent run."""
        self.flush()
        self._log_missing_trials(result.study)
        try:
            best = result.best_trial
        except NoCompletedTrial as exc:
            self.client.set_tag(self._parent, "fail_reason", _clip(mask_secrets(str(exc)), MAX_TAG_VAL_LENGTH))
            self.client.set_terminated(self._parent, status="FAILED")
            return
        self._tag_best(best, result)
        self._log_figures(result)
        self.client.set_terminated(self._parent, status="FINISHED")

    def _log_figures(self, result: SearchResult) -> None:
        """The search's figures (plots.search_figures) as PNG artifacts of the parent run. A
        figure that cannot be drawn costs a warning, never the search."""
        try:
            figures = search_figures(result)
        except Exception as exc:  # a plot is not worth losing the finished search's run
            warnings.warn(f"The search's plots could not be drawn ({type(exc).__name__}: {exc}).", stacklevel=2)
            return
        figures.pop("class_distribution.png", None)  # logged with the inputs when the search started
        for name, figure in figures.items():
            self.client.log_figure(self._parent, figure, name)

    def _log_missing_trials(self, study: optuna.Study) -> None:
        """Log the trials that have no child run yet: ones a callback never saw (a trial Ctrl-C
        interrupted, a dead worker's trial failed by the heartbeat), never those another worker
        or an earlier run of the study logged."""
        for number, child in self._logged_children(self._parent).items():
            self._trial_runs.setdefault(number, child)
        for trial in study.get_trials(deepcopy=False, states=tuple(TRIAL_STATUS)):
            if never_ran(trial):
                continue
            if trial.number not in self._trial_runs or trial.number in self._unlogged:
                self._log_trial(trial)

    def _logged_children(self, parent: str) -> dict[int, str]:
        """Trial number -> child run id of every trial run already under ``parent`` (whichever
        process or earlier run logged it)."""
        found = {}
        for child in _search_all(self.client, self.experiment_id, f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent}'"):
            number = child.data.tags.get("trial_number")
            if number is not None and number.isdigit():
                found[int(number)] = child.info.run_id
        return found

    def _tag_best(self, best: FrozenTrial, result: SearchResult) -> None:
        best_run = self._trial_runs[best.number]
        earlier = self.client.get_run(self._parent).data.tags  # what a resumed search's earlier run recorded
        previous = earlier.get("best_trial_run_id")
        if previous and previous != best_run:
            self.client.set_tag(previous, "best", "false")  # a resumed search found a better one
        self.client.set_tag(best_run, "best", "true")
        summary = result.summary
        self._mark_answer(set(summary.answer_trials), earlier=earlier.get("answer_trial_numbers", ""))
        # best_* describe the search's answer: the ensemble when it won, else the best trial.
        counts = {f"n_trials_{state.lower()}": n for state, n in _state_counts(result).items()}
        values = metric_values(summary.scores, prefix="best_")
        values += metric_values({"best_threshold": summary.decision, **counts})
        values += [
            (f"best_{name}", value, step)
            for name, value, step in class_metric_values(result.best_class_metrics, summary.decision, self._classes)
        ]
        tags: dict[str, Any] = {**summary.tags(), "best_trial_run_id": best_run}
        if summary.do_nothing is not None:
            for d in summary.do_nothing.differences:
                gains = {f"do_nothing_{d.metric}": d.do_nothing, f"gain_{d.metric}": d.difference}
                values += metric_values({**gains, f"gain_{d.metric}_p_value": d.p_value})
            for d in summary.do_nothing.treatment:  # the treatment's part: against the members untreated
                treatment = {f"untreated_{d.metric}": d.do_nothing, f"treatment_gain_{d.metric}": d.difference}
                values += metric_values({**treatment, f"treatment_gain_{d.metric}_p_value": d.p_value})
        if result.settings.multi_objective:
            tags["pareto_trial_numbers"] = ",".join(str(t.number) for t in result.pareto_front)
        metrics = _entities(values, int(time.time() * 1000))
        for m, p, t in _batches(metrics, [], [_tag(k, v) for k, v in tags.items()]):
            self.client.log_batch(self._parent, metrics=m, params=p, tags=t, synchronous=True)

    def _mark_answer(self, members: set[int], *, earlier: str) -> None:
        """Tag the answer's trials (the ensemble's members, or the best trial) in_answer=true:
        filtering the runs table by it compares exactly what export deploys. Trials an earlier
        run of a resumed search marked (``earlier``) that no longer are get false."""
        before = {int(n) for n in earlier.split(",") if n.isdigit()}
        for number in sorted(members | before):
            run_id = self._trial_runs.get(number)
            if run_id is not None:
                self.client.set_tag(run_id, ANSWER_TAG, "true" if number in members else "false")

    def fail(self, status: str = "KILLED", *, study: optuna.Study | None = None) -> None:
        """Close the parent run after an interruption or error (``KILLED`` or ``FAILED``).

        With ``study``, finished trials no callback logged (the one a Ctrl-C interrupted, which
        Optuna marks FAIL without calling callbacks) are logged first, best effort."""
        if status not in TERMINAL_STATUSES:
            raise TrackingError(f"status must be one of {TERMINAL_STATUSES}; got {status!r}.")
        if self.parent_run_id is None:
            return
        if study is None:
            self._writer.drain()
        else:
            # After Ctrl-C nobody wants to wait for a queue against a slow server: trials not
            # yet started leave the queue and are logged below, once, with the rest.
            self._writer.cancel_pending()
        self._report_write_failures()
        if study is not None:
            try:
                self._log_missing_trials(study)
            except Exception as exc:
                warnings.warn(f"MLflow logging of the remaining trials failed ({exc}).", stacklevel=2)
        self.client.set_terminated(self._parent, status=status)

    # -- models --------------------------------------------------------------------------------
    def log_model_dir(self, run_id: str, model_dir: Path, *, register_as: str | None = None) -> str | None:
        """Log an exported model folder under ``model/`` of ``run_id``; with ``register_as``,
        register it in the Model Registry and return the new version number."""
        model_dir = Path(model_dir)
        if not (model_dir / "MLmodel").is_file():
            raise TrackingError(f"{model_dir} is not an MLflow model folder (no MLmodel file).")
        self.client.log_artifacts(run_id, str(model_dir), "model")
        if register_as is None:
            return None
        try:
            self.client.create_registered_model(register_as)
        except MlflowException as exc:
            if exc.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
        source = f"{self.client.get_run(run_id).info.artifact_uri}/model"
        version = self.client.create_model_version(register_as, source, run_id=run_id)
        return str(version.version)


# -- experiments and runs ---------------------------------------------------------------------
def _default_artifact_location(tracking_uri: str) -> str | None:
    """Artifacts of a new experiment in a local sqlite store go next to the database file
    (MLflow's default is ``./mlruns`` in whatever folder the process happens to run in)."""
    database = sqlite_file(tracking_uri)
    return None if database is None else (database.parent / "mlartifacts").as_uri()


def _ensure_experiment(client: MlflowClient, name: str, artifact_location: str | None) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name, artifact_location=artifact_location, tags=dict([EXPERIMENT_KIND]))
        except MlflowException:
            experiment = client.get_experiment_by_name(name)  # created concurrently
            if experiment is None:
                raise
    if experiment.lifecycle_stage != "active":
        raise TrackingError(
            f"MLflow experiment {name!r} is deleted; restore it (mlflow experiments restore) or use another name."
        )
    if EXPERIMENT_KIND[0] not in experiment.tags:  # created by an earlier version, or by hand
        client.set_experiment_tag(experiment.experiment_id, *EXPERIMENT_KIND)
    return experiment.experiment_id


def _get_run(client: MlflowClient, run_id: str) -> Any:
    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        raise TrackingError(f"MLflow run {run_id!r} was not found: {exc.message}") from None


def _search_all(
    client: MlflowClient,
    experiment_id: str,
    filter_string: str,
    order_by: list[str] | None = None,
    limit: int | None = None,
) -> Iterable[Any]:
    token = None
    seen = 0
    while True:
        page = client.search_runs(
            [experiment_id], filter_string, max_results=min(limit or 1000, 1000), order_by=order_by, page_token=token
        )
        for run in page:
            yield run
            seen += 1
            if limit is not None and seen >= limit:
                return
        token = page.token
        if not token:
            return


def find_search_run(*, tracking_uri: str, experiment: str, run_id: str | None = None) -> dict[str, Any]:
    """The parent run ``run_id``, or the latest FINISHED search run of ``experiment``.

    Returns ``{"run_id", "run_name", "status", "experiment_id", "artifact_uri", "params", "tags"}``.
    """
    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise TrackingError(f"MLflow experiment {experiment!r} does not exist at {mask_secrets(tracking_uri)}.")
    if run_id is not None:
        run = _get_run(client, run_id)
        if run.info.experiment_id != found.experiment_id or run.data.tags.get(KIND_TAG) != "search":
            raise TrackingError(f"Run {run_id!r} is not a search run of experiment {experiment!r}.")
    else:
        query = f"tags.`{KIND_TAG}` = 'search' and attributes.status = 'FINISHED'"
        runs = list(_search_all(client, found.experiment_id, query, ["attributes.start_time DESC"], limit=1))
        if not runs:
            raise TrackingError(f"Experiment {experiment!r} has no finished search run.")
        run = runs[0]
    return {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "status": run.info.status,
        "experiment_id": run.info.experiment_id,
        "artifact_uri": run.info.artifact_uri,
        "params": dict(run.data.params),
        "tags": dict(run.data.tags),
    }


def experiment_id(*, tracking_uri: str, experiment: str) -> str | None:
    found = MlflowClient(tracking_uri).get_experiment_by_name(experiment)
    return None if found is None else str(found.experiment_id)
