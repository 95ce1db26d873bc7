"""Bad input and faults through the CLI: clear messages, the right exit code, no traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
