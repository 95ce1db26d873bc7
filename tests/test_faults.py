"""Bad input and faults through the CLI: clear messages, the right exit code, no traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml

import strategy_search
from strategy_search.cli import main
from strategy_search.data import data_notes
from strategy_search.errors import SearchFailed
from strategy_search.stopping import FAIL_FAST_TRIALS


def _config(folder: Path, frame: pd.DataFrame, **search) -> Path:
    frame.to_csv(folder / "table.csv", index=False)
    config = {
        "name": "faults",
        "data": {"path": "table.csv", "target": "target"},
        "search": {"space": "fast", "n_trials": 3, "n_jobs": 1, **search},
        "cv": {"folds": 3},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _frame(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = (rng.random(n) < 0.2).astype(int)
    return pd.DataFrame({"a": rng.normal(size=n) + y, "b": rng.normal(size=n), "target": y})


def _run(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    return code, output


def test_a_damaged_study_file_is_reported_not_replaced(tmp_path, monkeypatch, capsys):
    config = _config(tmp_path, _frame())
    (tmp_path / "optuna.db").write_bytes(b"this is not a sqlite database")
    monkeypatch.chdir(tmp_path)
    code, output = _run(["run", str(config)], capsys)
    assert code == 2 and "optuna.db" in output and "not a database" in output
    assert (tmp_path / "optuna.db").read_bytes() == b"this is not a sqlite database"


def test_a_search_where_everything_fails_stops_early_with_the_reasons(small_numeric):
    X, y = small_numeric
    broken = {"models": {"logistic_regression": {"C": -1.0}}}
    with pytest.raises(SearchFailed) as raised:
        strategy_search.search(X, y, space=broken, n_trials=50, cv_folds=3, n_jobs=1)
    # The search stops once its first FAIL_FAST_TRIALS trials all failed; the next one, asked
    # for while the last of them ran, finishes (and fails) too.
    tried = FAIL_FAST_TRIALS + 1
    assert len(raised.value.study.trials) == tried
    assert "InvalidParameterError" in str(raised.value) and f"{tried} x" in str(raised.value)


def test_everything_failing_through_the_cli_exits_1_with_the_summary(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump({"models": {"logistic_regression": {"C": -1.0}}}))
    config = _config(tmp_path, _frame(), space="broken.yaml", n_trials=20)
    monkeypatch.chdir(tmp_path)
    code, output = _run(["run", str(config)], capsys)
    assert code == 1 and "All 6 trials failed" in output and "InvalidParameterError" in output


def test_profile_notes_constant_duplicated_and_id_like_columns(tmp_path, monkeypatch, capsys):
    frame = _frame()
    frame["constant"] = 7
    frame["a_copy"] = frame["a"]
    frame["customer"] = [f"c{i}" for i in range(len(frame))]
    notes = " ".join(data_notes(frame.drop(columns="target")))
    for column in ("constant", "a_copy", "customer"):
        assert column in notes
    config = _config(tmp_path, frame, n_trials=2)
    monkeypatch.chdir(tmp_path)
    code, output = _run(["run", str(config)], capsys)
    assert code == 0 and "look like identifiers" in output and "constant" in output


def test_an_unreachable_tracking_server_fails_fast_naming_the_uri(tmp_path, monkeypatch, capsys):
    import socket
    import time

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _config(tmp_path, _frame())
    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    code, output = _run(["run", str(config), "--set", f"tracking.uri=http://alice:s3cret@127.0.0.1:{port}"], capsys)
    assert code == 2 and time.monotonic() - started < 20
    assert f"127.0.0.1:{port}" in output and "unreachable" in output
    assert "s3cret" not in output
    assert not (tmp_path / "optuna.db").exists()


def _private_mounts_work() -> bool:
    import shutil
    import subprocess

    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _private_mounts_work(), reason="needs `unshare -rm` and tmpfs mounts for a real full disk")
def test_a_full_disk_during_export_keeps_the_earlier_export_and_the_study(tmp_path, monkeypatch, capsys):
    """A real full disk: the export folder lives on a tmpfs (in a private mount namespace)
    with room for one export but not for a second one staged beside it."""
    import shlex
    import subprocess
    import sys

    config = _config(tmp_path, _frame(), n_trials=2)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config)]) == 0
    assert main(["export", str(config), "--out", "reference"]) == 0
    size_kb = sum(p.stat().st_size for p in (tmp_path / "reference").rglob("*") if p.is_file()) // 1024
    (tmp_path / "full").mkdir()
    cli = f"{shlex.quote(sys.executable)} -m strategy_search"
    script = (
        f"mount -t tmpfs -o size={int(size_kb * 1.5) + 64}k tmpfs full || exit 99\n"
        f"{cli} export config.yaml --out full/model >/dev/null 2>&1 || exit 98\n"
        "cp full/model/strategy.yaml first.yaml\n"
        f"{cli} export config.yaml --out full/model 2>second.err; echo $? > second.rc\n"
        "ls -A full > listing.txt\n"
        f"{cli} predict full/model table.csv --out predictions.csv 2>/dev/null; echo $? > predict.rc\n"
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    error = (tmp_path / "second.err").read_text()
    assert (tmp_path / "second.rc").read_text().strip() == "1"
    assert "no space left on the device" in error and "Traceback" not in error
    assert (tmp_path / "listing.txt").read_text().split() == ["model"], "no staging folder left behind"
    assert (tmp_path / "predict.rc").read_text().strip() == "0", "the earlier export still loads and predicts"
    assert len(pd.read_csv(tmp_path / "predictions.csv")) == 120
    # The study and the MLflow store are untouched: exporting elsewhere still works.
    assert main(["export", str(config), "--out", "again"]) == 0
    assert (tmp_path / "again" / "strategy.yaml").read_text().split("created_at")[0] == (
        tmp_path / "first.yaml"
    ).read_text().split("created_at")[0]


# A fresh process (not a fork of the test's, whose loky executor and pytest capture it would
# inherit): the CLI with a fixed study-name stamp, waiting just before it first opens the (new)
# MLflow store until both processes got there, so the two create the stores and the study at once.
BARRIER_THEN_RUN = """
import sys, time
from pathlib import Path
import strategy_search.cli.search_commands as search_commands
import strategy_search.tracking as tracking
from strategy_search import cli

folder, me = Path(sys.argv[1]), sys.argv[2]
search_commands.new_study_stamp = lambda: "20260101-000000"
original = tracking.SearchTracker.__init__

def synchronised(self, **kwargs):
    (folder / f"arrived-{me}").touch()
    deadline = time.monotonic() + 120
    while len(list(folder.glob("arrived-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    original(self, **kwargs)

tracking.SearchTracker.__init__ = synchronised
sys.exit(cli.main(sys.argv[3:]))
"""


def test_two_runs_of_one_config_started_together_get_a_study_each(tmp_path):
    """Same config, same second, a new store: each run creates its own study (the second takes
    the next free name) and its own MLflow parent, and neither dies creating the stores."""
    import subprocess

    from mlflow.tracking import MlflowClient

    config = _config(tmp_path, _frame())
    (tmp_path / "barrier").mkdir()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", BARRIER_THEN_RUN, str(tmp_path / "barrier"), str(i), "run", str(config)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [child.communicate(timeout=300)[0] for child in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    assert not any("Traceback" in o for o in outputs), outputs
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(f"sqlite:///{tmp_path / 'optuna.db'}"))
    assert names == ["faults-20260101-000000", "faults-20260101-000000-2"]
    for name in names:
        study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'optuna.db'}")
        assert len([t for t in study.trials if t.state.is_finished()]) == 3  # each its own budget
        assert sum(name in o for o in outputs) >= 1
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("faults").experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert sorted(r.info.run_name for r in parents) == names
    assert len(runs) == 2 + 6


# A fresh process running the CLI's search, whose trial 2 signals readiness (a file) once its
# folds are with the workers and then never finishes: the test kills it mid-trial, certainly.
HANG_IN_TRIAL_2 = """
import os, sys, time
from pathlib import Path
import strategy_search.objective as objective
from strategy_search import cli

ready = Path(sys.argv[1])
original = objective.Objective._finish

def finish(self, trial, strategy, pending):
    if trial.number == 2:
        ready.write_text(str(os.getpid()))
        while True:
            time.sleep(1)
    return original(self, trial, strategy, pending)

objective.Objective._finish = finish
sys.exit(cli.main(sys.argv[2:]))
"""


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_killed_search_leaves_no_worker_and_resumes_to_its_budget(tmp_path, capsys):
    """``kill -9`` mid-trial: the workers end within seconds; ``--resume`` retries the killed
    trial once (its portfolio strategy is still tried), reaches the budget of complete trials, and
    the killed trial's MLflow run is named after its strategy."""
    import subprocess
    import time

    from mlflow.tracking import MlflowClient

    config = _config(tmp_path, _frame(300), n_trials=8, n_jobs=2)
    ready = tmp_path / "ready"
    with (tmp_path / "killed.txt").open("w") as printed:
        child = subprocess.Popen(
            [sys.executable, "-c", HANG_IN_TRIAL_2, str(ready), "run", str(config)],
            cwd=tmp_path,
            stdout=printed,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 180
    while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready.exists(), (tmp_path / "killed.txt").read_text()
    workers = _children(child.pid)
    assert len(workers) >= 2, workers  # the loky workers (and their resource tracker)
    child.kill()  # SIGKILL: no clean-up runs in the search's process
    child.wait()
    gone_by = time.monotonic() + 5
    while any(_alive(p) for p in workers) and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)], "worker processes outlived their search by more than 5 s"

    code, output = _run(["run", str(config), "--resume"], capsys)
    assert code == 0, output
    study = optuna.load_study(
        study_name=optuna.get_all_study_names(f"sqlite:///{tmp_path / 'optuna.db'}")[0],
        storage=f"sqlite:///{tmp_path / 'optuna.db'}",
    )
    killed = study.trials[2]
    assert killed.state == optuna.trial.TrialState.FAIL
    retries = [t for t in study.trials if t.user_attrs.get("retry_of") == 2]
    assert len(retries) == 1 and retries[0].params == killed.params
    finished = [t for t in study.trials if t.state.is_finished() and t.number != 2 and not t.user_attrs.get("surplus")]
    ran = [t for t in finished if t.state != optuna.trial.TrialState.FAIL]
    assert len(ran) == 8, [(t.number, t.state.name) for t in study.trials]
    portfolio = {t.user_attrs.get("portfolio") for t in ran} - {None}
    queued = {t.user_attrs.get("portfolio") for t in study.trials} - {None}
    assert portfolio == queued  # the killed trial's portfolio strategy was tried after all
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("faults").experiment_id])
    named = {r.info.run_name for r in runs}
    assert any(n.startswith("#2 balanced_random_forest") and n.endswith("(failed)") for n in named), named
    assert not any("no strategy" in n for n in named), named


@pytest.mark.skipif(not _private_mounts_work(), reason="needs `unshare -rm` and tmpfs mounts for a read-only folder")
def test_stores_that_cannot_be_written_are_named_with_their_cause_in_seconds(tmp_path):
    """A read-only folder for a new MLflow store, and a read-only artifact folder (real read-only
    mounts, which bind root too): each is refused within seconds naming the path, with no study
    and no RUNNING run left behind."""
    import shlex
    import subprocess
    import sys

    _config(tmp_path, _frame(), n_trials=2)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    (tmp_path / "ro-store.yaml").write_text(yaml.safe_dump({**config, "tracking": {"uri": "sqlite:///ro/mlflow.db"}}))
    cli = f"{shlex.quote(sys.executable)} -m strategy_search"
    script = (
        "mkdir ro mlartifacts && mount -t tmpfs -o ro,size=64k tmpfs ro && "
        "mount -t tmpfs -o ro,size=64k tmpfs mlartifacts || exit 99\n"
        f"{cli} run ro-store.yaml 2>store.err; echo $? > store.rc\n"
        f"{cli} run config.yaml 2>artifacts.err; echo $? > artifacts.rc\n"
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    store_error = (tmp_path / "store.err").read_text()
    assert (tmp_path / "store.rc").read_text().strip() == "2", store_error
    assert f"{tmp_path / 'ro'}" in store_error and "read-only" in store_error and "Traceback" not in store_error
    artifacts_error = (tmp_path / "artifacts.err").read_text()
    assert (tmp_path / "artifacts.rc").read_text().strip() == "2", artifacts_error
    assert f"{tmp_path / 'mlartifacts'}" in artifacts_error and "read-only" in artifacts_error
    assert not optuna.get_all_study_names(f"sqlite:///{tmp_path / 'optuna.db'}")  # no empty study left
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiments = client.search_experiments()
    assert not [r for e in experiments for r in client.search_runs([e.experiment_id])]  # no run left RUNNING


def test_a_copied_store_warns_that_its_artifacts_still_go_to_the_original_folder(tmp_path, monkeypatch, capsys):
    import shutil

    original = tmp_path / "original"
    original.mkdir()
    config = _config(original, _frame(), n_trials=1)
    monkeypatch.chdir(original)
    code, output = _run(["run", str(config)], capsys)
    assert code == 0 and "keeps its artifacts" not in output
    copy = tmp_path / "copy"
    shutil.copytree(original, copy, ignore=shutil.ignore_patterns("mlartifacts"))
    monkeypatch.chdir(copy)
    code, output = _run(["run", str(copy / "config.yaml")], capsys)
    assert code == 0, output
    assert "warning: MLflow experiment 'faults' keeps its artifacts in" in output
    assert str(original / "mlartifacts") in output and "tracking.experiment" in output


def test_a_sqlite_study_held_by_a_live_process_is_refused_with_its_pid(tmp_path):
    import subprocess

    from strategy_search.errors import StorageError
    from strategy_search.study_holder import _start_time, _this_process, hold_sqlite_study
    from strategy_search.trial_record import StudyAttr, set_study_attr

    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'optuna.db'}", study_name="held")
    other = subprocess.Popen(["sleep", "60"])
    try:
        holder = {**_this_process(), "pid": other.pid, "started": _start_time(other.pid)}
        set_study_attr(study, StudyAttr.HOLDER, holder)
        with pytest.raises(StorageError, match=rf"searched by process {other.pid} on this machine"):
            hold_sqlite_study(study)
    finally:
        other.kill()
        other.wait()
    hold_sqlite_study(study)  # the holder is gone: this process takes the study
    assert study.user_attrs["holder"] == _this_process()
    hold_sqlite_study(study)  # and holding it again is no conflict


def test_a_queued_trial_killed_before_drawing_is_closed_with_its_queued_strategy(tmp_path):
    """The trial loop asks for the next trial while the current one fits, so a kill can leave a
    queued (portfolio) trial RUNNING with nothing drawn: it is closed with the strategy it was
    queued with, never as "no strategy" (deterministic: the trial is asked, not raced)."""
    import strategy_search.study as study_module
    from strategy_search.answer import StoredTrials
    from strategy_search.prepared import prepare_data
    from strategy_search.settings import SearchSettings
    from strategy_search.strategy import Strategy
    from strategy_search.trial_record import TrialRecord

    table = _frame(120)
    data = prepare_data(table.drop(columns="target"), table["target"])
    settings = SearchSettings.create(space="fast", n_trials=4, n_jobs=1)
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'optuna.db'}")
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study_module._enqueue_portfolio(study, settings, data)
    queued = study.trials[0]
    asked = study.ask()
    assert asked.params == {}  # nothing drawn yet
    study_module._close_interrupted(study, storage, StoredTrials(study=study, data=data, settings=settings))
    closed = study.trials[asked.number]
    assert closed.state == optuna.trial.TrialState.FAIL
    replayed = Strategy.from_dict(TrialRecord.of(closed).strategy)
    assert replayed.model == queued.system_attrs["fixed_params"]["model"]
