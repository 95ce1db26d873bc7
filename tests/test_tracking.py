"""SearchTracker against a real MLflow sqlite store (no mocks): one run per trial, the best
trial tagged, secrets masked, and ``import strategy_search`` free of MLflow."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

import strategy_search
from strategy_search.export import export_model
from strategy_search.prepared import prepare_data
from strategy_search.tracking import (
    SearchTracker,
    _batches,
    find_search_run,
    mask_secrets,
)

FAILING_SPACE = {"models": {"logistic_regression": {"C": -1.0}, "lightgbm": {"n_estimators": 20}}}
CONFIG = "data: train.csv\ntracking_uri: postgresql://alice:hunter2@db.example/mlflow\napi_token: abc123\n"


@pytest.fixture(scope="module")
def small_yeast(yeast5):
    X, y = yeast5
    return X.head(400), y.head(400)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"


def _tracked_search(store: str, experiment: str, X, y, **search_kwargs):
    tracker = SearchTracker(tracking_uri=store, experiment=experiment)
    parent = tracker.start(
        run_name=f"{experiment}-search",
        params={"n_trials": search_kwargs["n_trials"], "space": "x"},
        tags={"owner": "tests"},
        profile=prepare_data(X, y).profile,
        config_text=CONFIG,
    )
    result = strategy_search.search(X, y, cv_folds=3, n_jobs=1, callbacks=[tracker], **search_kwargs)
    tracker.finish(result)
    return tracker, result, parent


@pytest.fixture(scope="module")
def tracked(store, small_yeast):
    X, y = small_yeast
    return _tracked_search(store, "fast", X, y, space="fast", n_trials=5)


@pytest.fixture(scope="module")
def failing(store, small_yeast):
    X, y = small_yeast
    return _tracked_search(store, "failing", X, y, space=FAILING_SPACE, n_trials=4)


def _children(client: MlflowClient, parent: str) -> list:
    experiment = client.get_run(parent).info.experiment_id
    return client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{parent}'")


def test_every_trial_is_a_nested_child_run(store, tracked):
    tracker, result, parent = tracked
    client = MlflowClient(store)
    runs = client.search_runs([tracker.experiment_id])
    assert len(runs) == 6
    children = _children(client, parent)
    assert len(children) == 5
    assert sorted(int(r.data.tags["trial_number"]) for r in children) == [0, 1, 2, 3, 4]
    for run in children:
        trial = result.study.trials[int(run.data.tags["trial_number"])]
        described = strategy_search.Strategy.from_dict(trial.user_attrs["strategy"]).describe()
        suffix = " (pruned)" if trial.state.name == "PRUNED" else ""
        assert run.info.run_name == f"#{trial.number} {described}{suffix}"
        assert run.info.run_id == tracker.trial_run_id(trial.number)
        assert {"model", "resampler", "weighting", "objective"} <= set(run.data.params)
        assert run.data.params["model"] == trial.user_attrs["strategy"]["model"]
        assert {"pr_auc", "f1", "f1_at_0.5", "pr_auc_std", "f1_std", "threshold", "duration_s"} <= set(run.data.metrics)
        assert run.data.metrics["pr_auc"] == pytest.approx(trial.user_attrs["metrics"]["pr_auc"])
        assert run.data.tags["state"] == trial.state.name
        assert run.info.status == "FINISHED"  # pruned ones too: their `state` tag and name say so


def test_namespaced_and_fold_values_are_logged(store, tracked):
    tracker, result, _ = tracked
    client = MlflowClient(store)
    tuned = next(t for t in result.study.trials if any(k.count(".") >= 2 for k in t.params))
    run = client.get_run(tracker.trial_run_id(tuned.number))
    for name, value in tuned.params.items():
        assert run.data.params[name] == str(value)
    history = client.get_metric_history(run.info.run_id, "fold_pr_auc")
    folds = tuned.user_attrs["fold_metrics"]
    assert sorted(m.step for m in history) == list(range(len(folds)))
    assert {m.step: m.value for m in history} == pytest.approx({i: f["pr_auc"] for i, f in enumerate(folds)})
    assert len(client.get_metric_history(run.info.run_id, "fold_threshold")) == len(folds)


def test_parent_run_holds_settings_inputs_and_the_best_trial(store, tracked, tmp_path):
    tracker, result, parent = tracked
    client = MlflowClient(store)
    run = client.get_run(parent)
    assert run.info.status == "FINISHED"
    assert run.data.params["n_trials"] == "5"
    assert run.data.params["data.n_rows"] == "400"
    assert run.data.tags["owner"] == "tests"
    best = result.best_trial
    assert run.data.tags["best_trial_number"] == str(best.number)
    assert run.data.tags["best_trial_run_id"] == tracker.trial_run_id(best.number)
    assert run.data.metrics["best_pr_auc"] == pytest.approx(result.best_scores["pr_auc"])
    assert run.data.metrics["best_f1"] == pytest.approx(result.best_scores["f1"])
    flags = {r.data.tags["trial_number"]: r.data.tags.get("best") for r in _children(client, parent)}
    assert flags.pop(str(best.number)) == "true"
    assert set(flags.values()) == {None}
    names = {a.path for a in client.list_artifacts(parent)}
    assert {"config.yaml", "data_profile.json", "class_distribution.png"} <= names
    config = tmp_path / "config.yaml"
    client.download_artifacts(parent, "config.yaml", str(tmp_path))
    text = config.read_text()
    assert "hunter2" not in text and "abc123" not in text and "alice:***@db.example" in text
    client.download_artifacts(parent, "data_profile.json", str(tmp_path))
    assert json.loads((tmp_path / "data_profile.json").read_text())["n_positive"] == 9


def test_a_failed_trial_is_a_failed_child_run_with_its_reason(store, failing):
    tracker, result, parent = failing
    client = MlflowClient(store)
    failed = [t for t in result.study.trials if t.state == TrialState.FAIL]
    assert failed, "the C=-1 logistic regression should have failed"
    assert len(_children(client, parent)) == len(result.study.trials)
    for trial in failed:
        run = client.get_run(tracker.trial_run_id(trial.number))
        assert run.info.status == "FAILED"
        assert run.data.tags["state"] == "FAIL"
        assert "InvalidParameterError" in run.data.tags["fail_reason"]
        assert run.data.params["model"] == "logistic_regression"
        assert "pr_auc" not in run.data.metrics


def _synthetic_trials() -> list[optuna.trial.FrozenTrial]:
    study = optuna.create_study()
    study.add_trials(
        [
            create_trial(
                state=TrialState.PRUNED,
                params={"model.x.alpha": 0.5},
                distributions={"model.x.alpha": FloatDistribution(0.0, 1.0)},
                user_attrs={
                    "strategy": {
                        "model": "x",
                        "resampler": "none",
                        "weighting": "none",
                        "objective": "logloss",
                        "model_params": {"alpha": 0.5, "note": "n" * 7000},
                    },
                    "metrics": {"pr_auc": 0.4, "f1": float("nan")},
                    "metrics_std": {"pr_auc": 0.1, "f1": float("nan")},
                    "fold_metrics": [{"pr_auc": 0.3, "f1": float("nan")}],
                    "stopped": "pruned",
                },
            ),
            create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": "boom at postgresql://u:pw@h/db"}),
        ]
    )
    return study.trials


def test_pruned_and_empty_trials_are_logged_too(store):
    tracker = SearchTracker(tracking_uri=store, experiment="synthetic")
    tracker.start(run_name="synthetic", params={}, tags={})
    pruned, failed = _synthetic_trials()
    for trial in (pruned, failed):
        tracker(None, trial)
    tracker.flush()  # trials are written on a background thread
    client = MlflowClient(store)
    run = client.get_run(tracker.trial_run_id(pruned.number))
    assert run.info.status == "FINISHED" and run.data.tags["state"] == "PRUNED"
    assert run.info.run_name.endswith("(pruned)")
    assert run.data.metrics["pr_auc"] == 0.4 and "f1" not in run.data.metrics  # NaN skipped
    assert run.data.params["model.x.alpha"] == "0.5"
    assert len(run.data.params["model.x.note"]) == 6000  # clipped to MLflow's limit
    assert run.data.tags["stopped"] == "pruned"
    run = client.get_run(tracker.trial_run_id(failed.number))
    assert run.info.status == "FAILED"
    assert run.data.tags["fail_reason"] == "boom at postgresql://u:***@h/db"
    tracker.fail()
    assert client.get_run(tracker.parent_run_id).info.status == "KILLED"


def test_resume_reopens_the_parent_and_knows_its_trials(store):
    first = SearchTracker(tracking_uri=store, experiment="resumed")
    parent = first.start(run_name="resumable", params={"n_trials": 2}, tags={})
    pruned, _ = _synthetic_trials()
    first(None, pruned)
    first.fail()
    again = SearchTracker(tracking_uri=store, experiment="resumed")
    assert again.start(run_name="ignored", params={"n_trials": 4}, tags={}, resume_run_id=parent) == parent
    client = MlflowClient(store)
    run = client.get_run(parent)
    assert run.info.status == "RUNNING"
    assert run.data.params["n_trials"] == "2" and run.data.tags["resumed.n_trials"] == "4"
    assert again.trial_run_id(pruned.number) == first.trial_run_id(pruned.number)
    again.fail("FAILED")
    with pytest.raises(ValueError, match="cannot resume"):
        SearchTracker(tracking_uri=store, experiment="other").start(
            run_name="x", params={}, tags={}, resume_run_id=parent
        )


def test_find_search_run(store, tracked):
    tracker, _, parent = tracked
    found = find_search_run(tracking_uri=store, experiment="fast")
    assert found["run_id"] == parent and found["params"]["n_trials"] == "5"
    assert found["tags"]["best_trial_run_id"]
    assert find_search_run(tracking_uri=store, experiment="fast", run_id=parent)["run_id"] == parent
    with pytest.raises(ValueError, match="no-such-experiment"):
        find_search_run(tracking_uri=store, experiment="no-such-experiment")
    with pytest.raises(ValueError, match="deadbeef"):
        find_search_run(tracking_uri=store, experiment="fast", run_id="deadbeef")
    with pytest.raises(ValueError, match="is not a search run"):
        find_search_run(tracking_uri=store, experiment="fast", run_id=tracker.trial_run_id(0))


def test_find_search_run_without_a_finished_search(store):
    SearchTracker(tracking_uri=store, experiment="unfinished").start(run_name="x", params={}, tags={})
    with pytest.raises(ValueError, match="'unfinished' has no finished search run"):
        find_search_run(tracking_uri=store, experiment="unfinished")


def test_log_model_dir_logs_and_registers_the_export(store, tracked, small_yeast, tmp_path):
    tracker, result, _ = tracked
    best = result.best_trial
    out = export_model(
        classifier=result.best_pipeline(),
        strategy=result.best_strategy,
        profile=result.profile,
        metrics=result.best_scores,
        metrics_std=best.user_attrs["metrics_std"],
        X=small_yeast[0],
        out_dir=tmp_path / "model",
        source={"run_id": tracker.parent_run_id},
    )
    run_id = tracker.trial_run_id(best.number)
    version = tracker.log_model_dir(run_id, out, register_as="strategy-search-test")
    client = MlflowClient(store)
    assert "model/MLmodel" in {a.path for a in client.list_artifacts(run_id, "model")}
    registered = client.get_model_version("strategy-search-test", version)
    assert registered.run_id == run_id


def test_import_strategy_search_does_not_load_mlflow():
    code = "import sys, strategy_search, strategy_search.export; print('mlflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://user:secret@host/db", "postgresql://user:***@host/db"),
        ("mysql+pymysql://u:p%40ss@h:3306/x", "mysql+pymysql://u:***@h:3306/x"),
        ("https://host/path?user=a", "https://host/path?user=a"),
        ("sqlite:///tmp/mlflow.db", "sqlite:///tmp/mlflow.db"),
        ("password: hunter2\nkeep: this", "password: ***\nkeep: this"),
        ('{"api_key": "xyz", "n": 1}', '{"api_key": "***", "n": 1}'),
        ("MLFLOW_TRACKING_TOKEN=abc def", "MLFLOW_TRACKING_TOKEN=*** def"),
        ("db_secret = 's3'", "db_secret = '***'"),
        ("Authorization: Bearer eyJhbGc.x-y", "Authorization: Bearer ***"),
        ("n_trials: 100", "n_trials: 100"),
    ],
)
def test_mask_secrets(text, expected):
    assert mask_secrets(text) == expected


def test_mask_secrets_hides_credential_environment_values(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-123456")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")  # not a credential: left alone
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")  # "TOKEN" only inside a word
    monkeypatch.setenv("GITHUB_TOKEN_FILE", "/run/secrets/gh")  # a path, not the token
    assert mask_secrets("401 for alice with tok-123456") == "401 for alice with ***"
    assert mask_secrets("resample=false, from /run/secrets/gh") == "resample=false, from /run/secrets/gh"


def test_search_params_flattens_the_settings(tracked):
    params = tracked[1].settings.as_params()
    assert params["cv_folds"] == 3 and params["metric"] == ["pr_auc"] and params["space"] == "fast"


def test_oversized_payloads_are_split_within_mlflow_limits():
    batches = list(_batches(list(range(1500)), list(range(150)), list(range(20))))
    assert [(len(m), len(p), len(t)) for m, p, t in batches] == [(880, 100, 20), (620, 50, 0)]
    assert list(_batches([], [], [])) == []


def test_fail_logs_the_trials_no_callback_saw(store):
    tracker = SearchTracker(tracking_uri=store, experiment="interrupted")
    parent = tracker.start(run_name="interrupted", params={}, tags={})
    study = optuna.create_study()
    study.add_trials(_synthetic_trials())
    tracker.fail("KILLED", study=study)  # e.g. after Ctrl-C: Optuna skips callbacks for that trial
    client = MlflowClient(store)
    assert client.get_run(parent).info.status == "KILLED"
    assert sorted(r.info.status for r in _children(client, parent)) == ["FAILED", "FINISHED"]


def test_the_background_writer_survives_failing_writes_even_with_warnings_as_errors(store):
    import warnings

    tracker = SearchTracker(tracking_uri=store, experiment="writer")
    tracker.start(run_name="writer", params={}, tags={})
    pruned, failed = _synthetic_trials()
    real_log_trial = tracker._log_trial

    def flaky(trial):
        if trial.number == pruned.number:
            raise ConnectionError("tracking server went away")
        real_log_trial(trial)

    tracker._log_trial = flaky
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker(None, pruned)
        tracker(None, failed)
        with pytest.raises(UserWarning, match=f"logging of trial {pruned.number} failed .*went away"):
            tracker.flush()  # reported here, on the caller's thread
    assert tracker._writer._thread.is_alive()
    assert tracker.trial_run_id(failed.number) is not None  # written after the failure
    tracker._log_trial = real_log_trial
    study = optuna.create_study()
    study.add_trials([pruned, failed])
    tracker.fail("KILLED", study=study)  # logs what the writer could not
    client = MlflowClient(store)
    assert sorted(r.info.status for r in _children(client, tracker.parent_run_id)) == ["FAILED", "FINISHED"]


def test_the_python_api_tracks_shows_progress_and_exports(small_numeric, tmp_path, capsys):
    from strategy_search.export import load_model

    X, y = small_numeric
    store = f"sqlite:///{tmp_path / 'api.db'}"
    result = strategy_search.search(
        X, y, space="fast", n_trials=4, cv_folds=3, n_jobs=1, progress=True, tracking_uri=store, experiment="api"
    )
    err = capsys.readouterr().err
    assert "trial" in err and "4/4" in err and "best PR-AUC" in err
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("api")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("strategy_search.kind") == "search"]
    children = [r for r in runs if r.data.tags.get("strategy_search.kind") == "trial"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED" and len(children) == 4
    assert {f.name for f in dataclasses.fields(strategy_search.SearchSettings)} <= set(parents[0].data.params)
    model = load_model(result.export(tmp_path / "model"))
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], result.best_pipeline().predict_proba(X)[:, 1])


def test_a_failed_trial_says_one_line_and_keeps_its_traceback_for_mlflow(small_numeric, tmp_path, capfd, caplog):
    X, y = small_numeric
    space = {
        "models": {"lightgbm": {"n_estimators": 10, "min_child_samples": -1}, "logistic_regression": {}},
        "portfolio": [{"name": "broken", "model": "lightgbm"}, {"name": "fine", "model": "logistic_regression"}],
    }
    store = f"sqlite:///{tmp_path / 'fail.db'}"
    strategy_search.search(X, y, space=space, n_trials=2, cv_folds=3, n_jobs=2, tracking_uri=store, experiment="f")
    warned = [r.getMessage() for r in caplog.records if r.name == "strategy_search"]
    assert len(warned) == 1 and warned[0].startswith("trial 0 failed: LightGBMError: Check failed"), warned
    err = capfd.readouterr().err  # the worker processes' stderr too
    assert "Traceback" not in err and "[LightGBM] [Fatal]" not in err, err
    client = MlflowClient(store)
    [failed] = client.search_runs([client.get_experiment_by_name("f").experiment_id], "attributes.status = 'FAILED'")
    assert failed.info.run_name == "#0 lightgbm (failed)"
    traceback = client.download_artifacts(failed.info.run_id, "traceback.txt", str(tmp_path))
    text = Path(traceback).read_text()
    assert "Traceback" in text and "LightGBMError" in text


def test_the_choice_importances_are_drawn_only_when_they_say_something():
    """fANOVA over one varied choice gives it 1.0 by construction, and over a handful of trials
    it is noise: neither is drawn (no ``param_importances.png``)."""
    from types import SimpleNamespace

    import pandas as pd

    from strategy_search.plots import MIN_TRIALS_FOR_IMPORTANCE, slot_importances

    n = MIN_TRIALS_FOR_IMPORTANCE + 2
    rng = np.random.default_rng(0)

    def result(**choices: list[str]) -> SimpleNamespace:
        board = pd.DataFrame(
            {
                "state": ["COMPLETE"] * n,
                "pr_auc": rng.uniform(0.5, 0.9, n),
                "resampler": ["none"] * n,
                "weighting": ["none"] * n,
                "objective": ["logloss"] * n,
                "model": ["lightgbm"] * n,
            }
        )
        for slot, values in choices.items():
            board[slot] = [values[i % len(values)] for i in range(n)]
        return SimpleNamespace(leaderboard=board, settings=SimpleNamespace(primary_metric="pr_auc"))

    assert slot_importances(result(model=["lightgbm", "random_forest"])) == {}  # one varied choice
    two = slot_importances(result(model=["lightgbm", "random_forest"], resampler=["none", "smote", "random_under"]))
    assert set(two) == {"model", "resampler"} and abs(sum(two.values()) - 1) < 1e-6
    few = result(model=["lightgbm", "random_forest"], resampler=["none", "smote"])
    few.leaderboard = few.leaderboard.head(MIN_TRIALS_FOR_IMPORTANCE - 1)
    assert slot_importances(few) == {}  # too few trials
