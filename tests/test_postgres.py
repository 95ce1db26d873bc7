"""Optuna storage on a real PostgreSQL server with a password: the search runs and resumes
there, and the password (given through an environment variable) never reaches MLflow or the
console."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from postgres_server import PostgresServer, server_binaries
from tracking_helpers import everything_logged

from strategy_search.cli import STUDY_NAME_TAG, main

ROOT = Path(__file__).resolve().parent.parent
# URI-special characters, in a variable whose name says nothing about secrets.
PASSWORD = "pg@Pa55:w0rd/x7%"

pytestmark = pytest.mark.skipif(
    server_binaries() is None, reason="PostgreSQL server binaries missing (.ci/run installs Debian's postgresql)"
)


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer(PASSWORD).start()
    yield server
    server.stop()


def test_a_search_stored_in_postgresql_resumes_and_never_shows_the_password(postgres, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PG_STUDY_PASS", PASSWORD)
    config = {
        "name": "pg",
        "data": {"path": str(ROOT / "experiments" / "data" / "haberman.csv"), "target": "target"},
        "search": {"space": "fast", "n_trials": 3, "n_jobs": 1, "storage": postgres.url("${PG_STUDY_PASS}")},
        "cv": {"folds": 3},
    }
    (tmp_path / "pg.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "pg.yaml"]) == 0
    assert main(["run", "pg.yaml", "--resume", "--set", "search.n_trials=5"]) == 0
    printed = capsys.readouterr()

    tracking = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent = next(
        r
        for r in tracking.search_runs([tracking.get_experiment_by_name("pg").experiment_id])
        if "mlflow.parentRunId" not in r.data.tags
    )
    study = optuna.load_study(study_name=parent.data.tags[STUDY_NAME_TAG], storage=postgres.url())
    assert len([t for t in study.trials if t.state.is_finished()]) == 5
    assert not (tmp_path / "optuna.db").exists(), "the study went to PostgreSQL, not the sqlite default"

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    logged = everything_logged(tracking, "pg", downloads)
    assert f"searcher:***@127.0.0.1:{postgres.port}" in logged
    for text in (logged, printed.out, printed.err):
        assert PASSWORD not in text and urllib.parse.quote(PASSWORD, safe="") not in text
