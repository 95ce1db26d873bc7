"""Many workers, one study, on a real PostgreSQL server: three worker processes share a budget
of 30 trials, one of them is killed (SIGKILL) in the middle of a trial, and nothing is lost or
counted twice: its trial is failed by the heartbeat and retried once, every trial has one MLflow
child run under the study's one parent, and `export` in a fresh process gives the answer the
finishing process chose."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from postgres_server import PostgresServer, server_binaries

from strategy_search.cli import STUDY_NAME_TAG, main
from strategy_search.config import load_config
from strategy_search.ensemble import select_ensemble
from strategy_search.prepared import PreparedData, prepare_data
from strategy_search.result import load_result

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 30

pytestmark = pytest.mark.skipif(
    server_binaries() is None, reason="PostgreSQL server binaries missing (.ci/run installs Debian's postgresql)"
)

# Runs the CLI with the first fit of the process blocked forever; once two trials have been
# started in full (this worker is the only one yet: its first trial, and the next one, asked for
# while the first fits: each with all its parameters suggested) and both beat in the database,
# it writes its process id to a file: the test then knows for certain that this worker is in the
# middle of two beating trials whose strategies are stored.
HOLD_FIRST_FIT = """
import os, sys, threading, time
from pathlib import Path
import sqlalchemy as sa
import strategy_search.scoring as scoring
import strategy_search.trial_loop as trial_loop
signal_file, storage = Path(sys.argv.pop(1)), sys.argv.pop(1)
started, start = threading.Semaphore(0), trial_loop._start
def counted_start(*args, **kwargs):
    try:
        return start(*args, **kwargs)
    finally:
        started.release()
trial_loop._start = counted_start
def held(task):
    for _ in range(2):
        started.acquire()
    engine = sa.create_engine(storage)
    while True:
        with engine.connect() as connection:
            if connection.execute(sa.text("SELECT count(*) FROM trial_heartbeats")).scalar() >= 2:
                break
        time.sleep(0.05)
    signal_file.write_text(str(os.getpid()))
    while True:
        time.sleep(60)
scoring.run_fit = held
from strategy_search.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer("w0rkers-pw").start()
    yield server
    server.stop()


def _config(folder: Path, postgres: PostgresServer, *, name: str = "shared") -> Path:
    (folder / "data").mkdir()
    (folder / "data" / "haberman.csv").write_text((ROOT / "experiments" / "data" / "haberman.csv").read_text())
    config = {
        "name": name,
        "data": {"path": "data/haberman.csv", "target": "target"},
        "search": {
            "space": "fast",
            "n_trials": BUDGET,
            "seed": 0,
            "n_jobs": 1,
            "pruning": False,
            "heartbeat_interval": 1,
            "storage": postgres.url(),
        },
        "cv": {"folds": 3},
        "tracking": {"uri": postgres.create_database(f"mlflow_{name.replace('-', '_')}")},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _cli(*argv: str, hold: tuple[Path, str] | None = None) -> subprocess.Popen:
    prefix = (
        [sys.executable, "-c", HOLD_FIRST_FIT, *map(str, hold)] if hold else [sys.executable, "-m", "strategy_search"]
    )
    return subprocess.Popen([*prefix, *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < end, "the held worker never started a trial"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def shared_search(postgres, tmp_path_factory):
    folder = tmp_path_factory.mktemp("workers")
    config = _config(folder, postgres)
    held = folder / "held-worker.pid"
    first = _cli("worker", str(config), "--create", "--index", "1", hold=(held, postgres.url()))
    _wait_for(held, first)  # the study exists and worker 1 is in the middle of its first trial
    others = [_cli("worker", str(config), "--index", str(k)) for k in (2, 3)]
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    outputs = [w.communicate(timeout=600)[0] for w in others]
    assert [w.returncode for w in others] == [0, 0], outputs
    assert main(["finish", str(config)]) == 0
    return folder, config


def _study(config: Path) -> optuna.Study:
    return _study_named(config, "shared")


def test_the_budget_is_met_exactly_and_the_dead_workers_trials_are_retried_once(shared_search):
    _, config = shared_search
    trials = _study(config).get_trials(deepcopy=False)
    surplus = [t for t in trials if t.user_attrs.get("surplus")]
    retries = [t for t in trials if "retry_of" in t.user_attrs]
    # The killed worker held two trials: the one it was fitting and the one asked for meanwhile.
    assert len(retries) == 2, [t.user_attrs for t in retries]
    dead = [trials[r.user_attrs["retry_of"]] for r in retries]
    assert sorted(t.number for t in dead) == [0, 1]
    for retry, died in zip(retries, dead, strict=True):
        assert died.state == optuna.trial.TrialState.FAIL  # failed by the heartbeat, not by another worker
        assert retry.state == optuna.trial.TrialState.COMPLETE
        assert retry.params == died.params
    counted = [t for t in trials if t not in surplus and t not in dead]
    assert Counter(t.state.name for t in counted) == {"COMPLETE": BUDGET}
    assert all(t.state == optuna.trial.TrialState.PRUNED for t in surplus)  # asked for at once, never run
    assert len(surplus) <= 2, "at most one per other worker asking at the same moment"
    assert not any(t.state == optuna.trial.TrialState.RUNNING for t in trials)


def test_every_trial_has_one_child_run_under_one_parent(shared_search):
    _, config = shared_search
    loaded = load_config(config)
    client = MlflowClient(loaded.tracking_uri)
    experiment = client.get_experiment_by_name(loaded.experiment_name)
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    numbers = Counter(int(c.data.tags["trial_number"]) for c in children)
    assert max(numbers.values()) == 1, "a trial was logged twice"
    trials = _study(config).get_trials(deepcopy=False)
    assert set(numbers) == {t.number for t in trials if not t.user_attrs.get("surplus")}
    assert parents[0].data.tags[STUDY_NAME_TAG] == _study(config).study_name


def test_a_fresh_process_exports_the_answer_the_finishing_process_chose(shared_search):
    folder, config = shared_search
    exported = subprocess.run(
        [sys.executable, "-m", "strategy_search", "export", str(config), "--out", str(folder / "model")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert exported.returncode == 0, exported.stderr
    meta = yaml.safe_load((folder / "model" / "strategy.yaml").read_text())
    loaded = load_config(config)
    data: PreparedData = prepare_data(*_table(loaded))
    result = load_result(data, loaded.settings(), storage=loaded.storage_url, study_name=_study(config).study_name)
    assert meta["cv_metrics"]["mean"] == result.best_scores
    assert meta["source"]["trials"] == result.answer_trials
    # And that answer is what the stored scores give, recomputed here.
    stored = result.stored_cvs([t.number for t in result.completed_trials()])
    choice = select_ensemble(list(stored.items()), data.codes, metric="pr_auc", pool_size=8)
    assert result.answer_trials == (list(choice.trials) if choice else [result.best_trial.number])


def _table(config):
    from strategy_search.config_table import load_table

    return load_table(config)


def test_run_with_workers_shares_one_budget_and_reports_one_answer(postgres, tmp_path, capsys):
    path = _config(tmp_path, postgres, name="local-workers")
    assert main(["run", str(path), "--workers", "2", "--set", "search.n_trials=6"]) == 0
    assert "trials: 6 complete" in capsys.readouterr().out
    study = _study_named(path, "local-workers")
    counted = [t for t in study.trials if not t.user_attrs.get("surplus")]
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in counted) == 6


def test_several_workers_on_sqlite_are_refused_with_what_to_use(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "haberman.csv").write_text((ROOT / "experiments" / "data" / "haberman.csv").read_text())
    path = tmp_path / "lite.yaml"
    path.write_text(yaml.safe_dump({"name": "lite", "data": {"path": "data/haberman.csv", "target": "target"}}))
    assert main(["run", str(path), "--workers", "2"]) == 2
    assert main(["worker", str(path)]) == 2
    err = capsys.readouterr().err
    assert "sqlite" in err.lower() and "PostgreSQL" in err
    assert not (tmp_path / "optuna.db").exists() and not (tmp_path / "mlflow.db").exists()


def _study_named(config: Path, name: str) -> optuna.Study:
    loaded = load_config(config)
    names = [n for n in optuna.get_all_study_names(loaded.storage_url) if n.startswith(name)]
    assert len(names) == 1, names
    return optuna.load_study(study_name=names[0], storage=loaded.storage_url)
