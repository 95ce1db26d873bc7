"""Against a real MLflow tracking server: credentials in its URI never reach what is logged
or printed, and a server that dies mid-search and comes back loses no trial."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from tracking_helpers import everything_logged

import strategy_search
from strategy_search.cli import main
from strategy_search.prepared import prepare_data
from strategy_search.tracking import SearchTracker

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-Pa55"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MlflowServer:
    """`mlflow server` on 127.0.0.1 with a sqlite store in ``folder``; can be killed and restarted."""

    def __init__(self, folder: Path):
        self.folder, self.port, self.process = folder, _free_port(), None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MlflowServer:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--backend-store-uri",
                f"sqlite:///{self.folder / 'server.db'}",
                "--artifacts-destination",
                str(self.folder / "server-artifacts"),
                "--workers",
                "1",
            ],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{self.uri}/health", timeout=2).status == 200:
                    return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("mlflow server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def server(tmp_path):
    running = MlflowServer(tmp_path).start()
    yield running
    running.stop()


@pytest.mark.parametrize("password", [SECRET, "${TEST_TRACKING_PASSWORD}"], ids=["in-config", "from-environment"])
def test_credentials_in_uris_are_never_logged_or_printed(password, server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TEST_TRACKING_PASSWORD", SECRET)
    host_part = server.uri.removeprefix("http://")
    config = {
        "name": "secrets",
        "data": {"path": str(ROOT / "experiments" / "data" / "haberman.csv"), "target": "target"},
        "search": {"space": "fast", "n_trials": 3, "n_jobs": 1},
        "cv": {"folds": 3},
        "tracking": {"uri": f"http://alice:{password}@{host_part}"},
    }
    (tmp_path / "secrets.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "secrets.yaml"]) == 0
    printed = capsys.readouterr()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    logged = everything_logged(MlflowClient(server.uri), "secrets", downloads)
    assert f"alice:***@{host_part}" in logged  # the saved config and tags, masked
    for text in (logged, printed.out, printed.err):
        assert SECRET not in text


def test_a_tracking_server_that_dies_mid_search_loses_no_trial(server, small_numeric, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    X, y = small_numeric
    tracker = SearchTracker(tracking_uri=server.uri, experiment="outage")
    tracker.start(run_name="outage", params={}, tags={}, profile=prepare_data(X, y).profile)

    def outage(study, trial) -> None:
        if trial.number == 1:
            server.stop()  # trials 2 and 3 cannot be logged when they finish
        if trial.number == 3:
            server.start()

    with pytest.warns(UserWarning, match="MLflow logging of trial"):
        result = strategy_search.search(
            X, y, space="fast", n_trials=6, cv_folds=3, n_jobs=1, callbacks=[tracker, outage]
        )
        tracker.finish(result)  # the failed writes happen on the writer thread, before this returns
    client = MlflowClient(server.uri)
    experiment_id = client.get_experiment_by_name("outage").experiment_id
    children = [r for r in client.search_runs([experiment_id]) if "mlflow.parentRunId" in r.data.tags]
    assert sorted(int(r.data.tags["trial_number"]) for r in children) == list(range(6))
    assert all("pr_auc" in r.data.metrics or r.data.tags["state"] != "COMPLETE" for r in children)
