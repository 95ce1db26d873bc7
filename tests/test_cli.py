"""The user's loop through the real CLI, in-process, against temporary MLflow and Optuna
sqlite stores in a fresh working directory."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from strategy_search.cli import STUDY_NAME_TAG, main
from strategy_search.config import load_config, validate_config
from strategy_search.prepared import prepare_data
from strategy_search.result import load_result
from strategy_search.settings import SearchSettings

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "experiments" / "quickstart.yaml"
DATA = ROOT / "experiments" / "data"


def _runs(tracking_uri: str, experiment: str):
    # Absolute sqlite URIs only: MLflow caches one store per URI string, so a relative one
    # would keep pointing at the first test's working directory.
    client = MlflowClient(tracking_uri)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    runs = client.search_runs([experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def _write_config(folder: Path, **changes) -> Path:
    config = {
        "name": "tiny",
        "data": {"path": str(DATA / "haberman.csv"), "target": "target"},
        "search": {"space": "fast", "n_trials": 4, "seed": 0, "n_jobs": 1},
        "cv": {"folds": 3, "repeats": 1},
    }
    for key, value in changes.items():
        section, name = key.split("__")
        config[section][name] = value
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    """The quickstart config and its data copied to a fresh folder, then `strategy-search run
    <folder>/quickstart.yaml --set search.n_trials=8` from ANOTHER working directory: the stores
    land beside the config, where every later command finds them."""
    folder = tmp_path_factory.mktemp("fresh")
    (folder / "data").mkdir()
    shutil.copy(QUICKSTART, folder / "quickstart.yaml")
    shutil.copy(DATA / "yeast5.csv", folder / "data" / "yeast5.csv")
    output = io.StringIO()
    with contextlib.chdir(tmp_path_factory.mktemp("elsewhere")), contextlib.redirect_stdout(output):
        code = main(
            ["run", str(folder / "quickstart.yaml"), "--set", "search.n_trials=8", "--set", "search.timeout=null"]
        )
    (folder / "run-output.txt").write_text(output.getvalue())
    return folder, code


def test_run_logs_one_parent_and_a_child_run_per_trial(quickstart_run):
    folder, code = quickstart_run
    assert code == 0
    parents, children = _runs(f"sqlite:///{folder / 'mlflow.db'}", "yeast5-quick")
    assert len(parents) == 1 and len(children) == 8
    for child in children:
        assert {"model", "resampler", "weighting"} <= set(child.data.params)
        assert {"pr_auc", "f1", "pr_auc_std", "f1_std"} <= set(child.data.metrics)
        if child.data.tags["state"] == "COMPLETE":  # how far its scores are from probabilities, too
            assert {"brier", "log_loss", "ece", "brier_std"} <= set(child.data.metrics)
    assert parents[0].data.tags["best_trial_run_id"] in {c.info.run_id for c in children}
    # The answer's trials are marked, so the runs table can be filtered to what export deploys.
    marked = {int(c.data.tags["trial_number"]) for c in children if c.data.tags.get("in_answer") == "true"}
    assert marked == {int(n) for n in parents[0].data.tags["answer_trial_numbers"].split(",")}
    # Every search setting reaches MLflow (they all change what the search does).
    settings = {f.name for f in dataclasses.fields(SearchSettings)}
    assert settings <= set(parents[0].data.params), settings - set(parents[0].data.params)
    assert parents[0].data.params["ensemble_size"] == "8"


# The plots a binary search logs to its parent run (plots.search_figures).
PLOTS = {
    "class_distribution.png",
    "pr_curves.png",
    "roc_curves.png",
    "confusion_matrix.png",
    "threshold_curves.png",
    "calibration.png",
    "optimization_history.png",
    "pareto_front.png",
    "choices.png",
    "feature_importance.png",
}


def _decodes_to_a_real_picture(path: Path) -> bool:
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    return min(pixels.shape[:2]) >= 200 and colours >= 20  # not blank, not a stub


def test_the_parent_run_holds_every_plot_of_the_search(quickstart_run, tmp_path):
    folder, _ = quickstart_run
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    parents, _ = _runs(f"sqlite:///{folder / 'mlflow.db'}", "yeast5-quick")
    names = {a.path for a in client.list_artifacts(parents[0].info.run_id)}
    assert names >= PLOTS, PLOTS - names
    for name in PLOTS:
        local = client.download_artifacts(parents[0].info.run_id, name, str(tmp_path))
        assert _decodes_to_a_real_picture(Path(local)), name


def test_report_writes_one_self_contained_html_file(quickstart_run, tmp_path, capsys):
    folder, _ = quickstart_run
    out = tmp_path / "out" / "report.html"
    assert main(["report", str(folder / "quickstart.yaml"), "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    text = out.read_text()
    sections = (
        "Answer",
        "Did treating the imbalance help?",
        "Why the answer decides",
        "Plots",
        "Leaderboard",
        "Data",
        "Settings",
        "Timings",
    )
    for section in sections:
        assert f">{section}</h2>" in text, section
    # Nothing outside the file: every src/href is inline data or a link within the page.
    references = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', text)
    assert references and all(r.startswith(("data:", "#")) for r in references), references[:5]
    assert "<script" not in text and "@import" not in text and "url(" not in text
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(embedded) >= len(PLOTS)
    import base64
    import io

    from PIL import Image

    for image in embedded:
        with Image.open(io.BytesIO(base64.b64decode(image))) as decoded:
            assert min(decoded.size) >= 200
    _check_report_cells(text)
    # The importance table lists every column of the table, a PR-AUC loss beside each.
    importance = text[text.index(">Why the answer decides</h2>") : text.index(">Plots</h2>")]
    columns = re.findall(r"<tr><td>([^<]+)</td><td>(-?[0-9.]+)</td><td>([0-9.]+)</td></tr>", importance)
    assert {c for c, _, _ in columns} == set(pd.read_csv(folder / "data" / "yeast5.csv").columns) - {"target"}


def _check_report_cells(text: str) -> None:
    """The cells a reader sees: no ``nan`` for a missing note, no empty header row, member
    weights as shares (as export and the model card give them), both AP definitions named."""
    cells = re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", text)
    assert "nan" not in cells and "<th></th>" not in text
    members = text[text.index("Members (") : text.index("</table>", text.index("Members ("))]
    shares = [float(x) for x in re.findall(r"<td>\d+</td><td>([0-9.]+)</td>", members)]
    assert shares and abs(sum(shares) - 1) < 0.02, members
    assert "pooled AP" in text and "mean over the CV folds" in text


def test_every_search_says_whether_treating_the_imbalance_helped(quickstart_run, tmp_path):
    """The do-nothing comparison reaches the run's output, the parent run and the model card."""
    folder, _ = quickstart_run
    output = (folder / "run-output.txt").read_text()
    assert "answer against doing nothing (" in output and "corrected paired t-test" in output, output[-2000:]
    parents, _ = _runs(f"sqlite:///{folder / 'mlflow.db'}", "yeast5-quick")
    metrics = parents[0].data.metrics
    for metric in ("pr_auc", "f1"):
        assert {f"do_nothing_{metric}", f"gain_{metric}", f"gain_{metric}_p_value"} <= set(metrics)
        assert metrics[f"gain_{metric}"] == pytest.approx(metrics[f"best_{metric}"] - metrics[f"do_nothing_{metric}"])
        assert 0 <= metrics[f"gain_{metric}_p_value"] <= 1
    assert "against doing nothing" in parents[0].data.tags["do_nothing"]
    assert main(["export", str(folder / "quickstart.yaml"), "--out", str(tmp_path / "model")]) == 0
    card = (tmp_path / "model" / "model_card.md").read_text()
    assert "## Did treating the imbalance help?" in card and "| do nothing |" in card


def test_the_search_reads_well_in_the_mlflow_ui(quickstart_run):
    """What the UI shows comes from the store: a model-training experiment (not MLflow 3's GenAI
    pages), children named after their strategies, pruned trials apart from failed ones."""
    folder, _ = quickstart_run
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("yeast5-quick")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    _, children = _runs(f"sqlite:///{folder / 'mlflow.db'}", "yeast5-quick")
    for child in children:
        number, state = child.data.tags["trial_number"], child.data.tags["state"]
        assert child.info.run_name.startswith(f"#{number} {child.data.params['model']}"), child.info.run_name
        if state == "PRUNED":
            assert child.info.status == "FINISHED" and child.info.run_name.endswith("(pruned)")
        elif state == "FAIL":
            assert child.info.status == "FAILED" and child.info.run_name.endswith("(failed)")


def test_export_then_predict_reproduces_the_in_process_best_pipeline(quickstart_run, capsys):
    folder, _ = quickstart_run
    previous = Path.cwd()
    os.chdir(folder)
    try:
        assert main(["export", "quickstart.yaml", "--out", "model"]) == 0
        assert main(["predict", "model", str(DATA / "yeast5.csv"), "--out", "predictions.csv"]) == 0
        config = load_config("quickstart.yaml")
        parents, _ = _runs(f"sqlite:///{folder / 'mlflow.db'}", "yeast5-quick")
        data = prepare_data(*_table(DATA / "yeast5.csv"), positive_label=1)
        settings = SearchSettings.create(space="fast", n_trials=8, cv_folds=5)
        result = load_result(
            data, settings, storage=config.storage_url, study_name=parents[0].data.tags[STUDY_NAME_TAG]
        )
        in_process = result.best_pipeline()
        expected = in_process.predict_proba(data.X)[:, 1]
        own_scores = in_process.decision_scores(data.X)
    finally:
        os.chdir(previous)
    model_dir = folder / "model"
    for name in ("MLmodel", "strategy.yaml", "model_card.md"):
        assert (model_dir / name).is_file()
    predictions = pd.read_csv(folder / "predictions.csv")
    np.testing.assert_allclose(predictions["score"], expected, rtol=0, atol=1e-9)
    threshold = yaml.safe_load((model_dir / "strategy.yaml").read_text())["threshold"]
    # `score` may be calibrated; the decision is the threshold on the model's own score (model card).
    np.testing.assert_array_equal(predictions["prediction"], (own_scores >= threshold).astype(int))
    pyfunc = mlflow.pyfunc.load_model(str(model_dir)).predict(data.X)
    np.testing.assert_allclose(np.asarray(pyfunc["score"], float), expected, atol=1e-9)


def _table(path: Path):
    frame = pd.read_csv(path)
    return frame.drop(columns="target"), frame["target"]


def test_predict_names_missing_columns(quickstart_run, tmp_path, capsys):
    folder, _ = quickstart_run
    if not (folder / "model").is_dir():
        pytest.skip("needs the export of the previous test")
    frame = pd.read_csv(DATA / "yeast5.csv").drop(columns=["Mcg", "Gvh"])
    frame.to_csv(tmp_path / "partial.csv", index=False)
    assert main(["predict", str(folder / "model"), str(tmp_path / "partial.csv")]) == 2
    err = capsys.readouterr().err
    assert "Mcg" in err and "Gvh" in err and "Traceback" not in err


def test_predict_reads_parquet_and_csv_gz_and_writes_by_the_out_files_name(quickstart_run, tmp_path, capsys):
    folder, _ = quickstart_run
    if not (folder / "model").is_dir():
        pytest.skip("needs the export of an earlier test")
    features = pd.read_csv(DATA / "yeast5.csv").drop(columns="target")
    features.to_parquet(tmp_path / "rows.parquet", index=False)
    features.to_csv(tmp_path / "rows.csv.gz", index=False)
    model = str(folder / "model")
    assert main(["predict", model, str(tmp_path / "rows.parquet"), "--out", str(tmp_path / "out.parquet")]) == 0
    assert main(["predict", model, str(tmp_path / "rows.csv.gz"), "--out", str(tmp_path / "out.csv")]) == 0
    assert "(parquet)" in capsys.readouterr().err
    from_parquet = pd.read_parquet(tmp_path / "out.parquet")  # a real Parquet file, not CSV text
    from_csv = pd.read_csv(tmp_path / "out.csv")
    assert len(from_parquet) == len(features) and list(from_parquet.columns) == list(from_csv.columns)
    np.testing.assert_allclose(from_parquet["score"], from_csv["score"], atol=1e-12)

    assert main(["predict", model, str(tmp_path / "rows.parquet"), "--out", str(tmp_path / "out.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "out.xlsx" in err and ".csv or .parquet" in err and not (tmp_path / "out.xlsx").exists()


@pytest.mark.parametrize("name", ["table.parquet", "table.csv.gz"])
def test_a_search_reads_its_table_from_parquet_or_gzip_compressed_csv(name, tmp_path, capsys, monkeypatch):
    table = pd.read_csv(DATA / "haberman.csv")
    table.to_parquet(tmp_path / name, index=False) if name.endswith(".parquet") else table.to_csv(
        tmp_path / name, index=False
    )
    config = _write_config(tmp_path, data__path=name, search__n_trials=1)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config)]) == 0
    printed = capsys.readouterr()
    assert f"data: {len(table)} rows, {table.shape[1] - 1} features" in printed.out + printed.err
    assert main(["export", str(config), "--out", "model"]) == 0
    assert (tmp_path / "model" / "strategy.yaml").is_file()


def test_a_gzip_file_named_csv_says_so(tmp_path, capsys):
    import gzip

    (tmp_path / "rows.csv").write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert main(["predict", str(tmp_path / "no-model"), str(tmp_path / "rows.csv")]) == 2
    assert "gzip-compressed" in capsys.readouterr().err


class _BudgetClock:
    """The budget's clock (``study_budget.time``): it stands still until :meth:`run_out`, then
    reads a day later, so a search's timeout passes exactly when a test says, however long the
    machine takes to read the table and create the stores."""

    def __init__(self) -> None:
        self.start, self.ran_out = time.time(), False

    def time(self) -> float:
        return self.start + (86_400.0 if self.ran_out else 0.0)

    def monotonic(self) -> float:
        return time.monotonic()

    def run_out(self) -> None:
        self.ran_out = True


def test_the_console_says_when_the_timeout_ended_the_search(tmp_path, monkeypatch, capfd):
    # The timeout passes once the first trial has completed (a fixed 6 s timeout left a loaded
    # machine no time for one: creating the MLflow store took 5 s of it).
    from strategy_search import stopping, study_budget

    clock = _BudgetClock()
    monkeypatch.setattr(study_budget, "time", clock)
    stop_at_budget = stopping.StopAtBudget.__call__

    def after_each_trial(self, study, trial):
        if trial.state == optuna.trial.TrialState.COMPLETE:
            clock.run_out()
        stop_at_budget(self, study, trial)

    monkeypatch.setattr(stopping.StopAtBudget, "__call__", after_each_trial)
    config = _write_config(tmp_path, search__n_trials=10_000, search__timeout=60)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config)]) == 0
    out = "".join(capfd.readouterr())
    found = re.search(r"the timeout \(60 s\) ended the search after (\d+) trials of the 10000 asked for", out)
    assert found and 0 < int(found.group(1)) < 10_000, out

    monkeypatch.undo()  # the real clock again
    (tmp_path / "second").mkdir()
    config = _write_config(tmp_path / "second", search__n_trials=2, search__timeout=600)
    monkeypatch.chdir(tmp_path / "second")
    assert main(["run", str(config)]) == 0
    out = "".join(capfd.readouterr())
    assert "trials: 2 complete" in out and "ended the search" not in out  # the trials ran out first


def test_a_timeout_that_ends_the_search_before_any_trial_says_so(tmp_path, monkeypatch, capfd):
    # 0.01 s from the run's start: reading the table and creating the stores take longer, so no
    # trial starts on any machine. It printed an empty table and a KeyError: 'state'.
    config = _write_config(tmp_path, search__n_trials=10_000, search__timeout=0.01)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config)]) == 1
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "KeyError" not in out + err and "Top strategies" not in out
    assert "No trial completed: none had started" in err
    assert "The timeout (0.01 s) ended the search before a trial could finish: give search.timeout more time" in err


def test_a_run_well_past_its_timeout_says_where_the_time_went():
    from types import SimpleNamespace

    from strategy_search.cli.finished_search import OVERRUN_NOTE_SECONDS, overrun_text

    def result(timeout: float | None) -> Any:
        timings = SimpleNamespace(wall_seconds=31.0)
        return SimpleNamespace(settings=SimpleNamespace(timeout=timeout), summary=SimpleNamespace(timings=timings))

    text = overrun_text(result(30.0), elapsed=75.0)
    assert text is not None and "75 s for search.timeout 30 s" in text and "the trials ran 31 s" in text
    assert "ended 10% of the timeout early" in text and "figures and the MLflow logging" in text
    assert overrun_text(result(30.0), elapsed=30.0 + OVERRUN_NOTE_SECONDS - 1) is None  # within the margin
    assert overrun_text(result(None), elapsed=500.0) is None  # no timeout, nothing to overrun


def test_a_run_of_50_classes_in_200_rows_keeps_its_timeout(tmp_path, monkeypatch, capfd):
    """#27 case 5: 50 classes in 200 rows ran 75 s for `timeout: 30` (a 30 s do-nothing allowance
    on top, figures of 2,500 labelled cells). The timeout now counts from the run's start, the
    trials end a tenth of it early, and what follows them gets what is left."""
    from strategy_search.study_budget import Budget

    rng = np.random.default_rng(0)
    codes = np.arange(200) % 50
    frame = pd.DataFrame(rng.normal(size=(200, 4)) + codes[:, None] * 0.05, columns=["a", "b", "c", "d"])
    frame.assign(target=codes).to_csv(tmp_path / "t.csv", index=False)
    timeout = 24.0  # room for a trial of 50 models to finish on a machine twice as loaded
    config = {"name": "many", "data": {"path": "t.csv", "target": "target"}, "search": {"timeout": timeout}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path)
    started_at, started = time.time(), time.monotonic()
    assert main(["run", "c.yaml"]) == 0
    elapsed = time.monotonic() - started
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    storage = "sqlite:///optuna.db"
    study = optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)
    budget = Budget.of(study)
    assert budget.finish_by is not None and budget.deadline is not None
    assert started_at <= budget.finish_by - timeout <= started_at + 1  # counted from the start, not the study
    assert budget.finish_by - budget.deadline == pytest.approx(0.1 * timeout)
    ended = max(t.datetime_complete.timestamp() for t in study.trials if t.datetime_complete)
    assert ended <= budget.deadline + 3  # a trial cut at the deadline: a worker kill's time
    # How many trials ran depends on the machine's load, so whether the answer is one trial or an
    # ensemble (only an ensemble gets an "answer:" line) is not asserted; what follows the trials is.
    assert "Top strategies" in out
    # The do-nothing CV and the importance ran, or say they had no time; nothing waits 30 s.
    assert "against doing nothing" in out or "Do-nothing comparison not made" in out
    assert "columns it rests on" in out or "feature importance not measured" in out
    assert elapsed < timeout + 20, elapsed


def test_an_unquoted_yes_label_gets_the_yaml_hint(tmp_path):
    frame = pd.DataFrame({"a": range(40), "target": ["yes"] * 10 + ["no"] * 30})
    frame.to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "c.yaml").write_text("name: t\ndata: {path: t.csv, target: target, positive_label: yes}\n")
    errors = dict(validate_config(tmp_path / "c.yaml"))
    assert "True" in errors["data.positive_label"] and 'positive_label: "yes"' in errors["data.positive_label"]


def test_a_failed_trial_is_a_child_run_with_its_reason(tmp_path, monkeypatch, capfd):
    space = {
        "models": {"logistic_regression": {"C": -1.0}, "lightgbm": {"n_estimators": 20}},
        "portfolio": [{"name": "broken", "model": "logistic_regression"}],
    }
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(space))
    config = _write_config(tmp_path, search__space="space.yaml", search__n_trials=3)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config)]) == 0
    _, children = _runs(f"sqlite:///{tmp_path / 'mlflow.db'}", "tiny")
    failed = [c for c in children if c.info.status == "FAILED"]
    assert len(children) == 3 and failed
    assert "InvalidParameterError" in failed[0].data.tags["fail_reason"]
    assert failed[0].data.tags["state"] == "FAIL"
    # On the console: one line per failed trial and the count in the summary, no traceback.
    out, err = capfd.readouterr()
    lines = [line for line in err.splitlines() if "failed:" in line]
    assert len(lines) == len(failed) and lines[0].startswith("warning: trial 0 failed: InvalidParameterError"), err
    assert "Traceback" not in err and "Trial 0 failed with parameters" not in err
    assert f"{len(failed)} failed" in out.split("trials: ")[1].splitlines()[0]


def test_validate_reports_every_mistake_without_a_traceback(tmp_path, capsys):
    config = _write_config(tmp_path, search__n_trials=-3, cv__folds="five")
    text = config.read_text().replace("seed: 0", "seed: 0\n  metrik: f1")
    config.write_text(text)
    assert main(["validate", str(config)]) == 2
    err = capsys.readouterr().err
    for expected in ("search.n_trials", "cv.folds", "search.metrik"):
        assert expected in err
    assert "3 error(s)" in err and "Traceback" not in err
    assert main(["validate", str(QUICKSTART)]) == 0


def test_validate_reports_a_missing_data_file_together_with_config_mistakes(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("name: c\ndata: {path: nowhere.csv, target: y}\nsearch: {n_trials: 0, metrik: f1}\n")
    assert main(["validate", str(config)]) == 2
    err = capsys.readouterr().err
    assert "3 error(s)" in err, err
    assert "search.n_trials: got 0" in err and "search.metrik: unknown key" in err
    assert f"data.path: data file {tmp_path / 'nowhere.csv'} not found" in err


def test_run_with_a_bad_config_exits_2_before_any_work(tmp_path, monkeypatch, capsys):
    config = _write_config(tmp_path, data__target="nope")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config)]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "available columns" in err and "Traceback" not in err
    assert not (tmp_path / "mlflow.db").exists()


GATE_AFTER_TWO_TRIALS = """
import pathlib, signal, sys, time

import strategy_search.cli as cli

# A process started in the background by a non-interactive shell inherits SIGINT ignored, and
# Python then leaves it ignored; a user's Ctrl-C is what this test stands for.
signal.signal(signal.SIGINT, signal.default_int_handler)

reached = pathlib.Path(sys.argv[1])
draw = cli.search_commands.ProgressCallback.__call__


def draw_then_wait(self, study, trial):
    draw(self, study, trial)
    if len([t for t in study.trials if t.state.is_finished()]) >= 2:
        reached.touch()
        while True:  # until the test's signal interrupts the search here
            time.sleep(0.05)


cli.search_commands.ProgressCallback.__call__ = draw_then_wait
sys.exit(cli.main(sys.argv[2:]))
"""


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_resume_after_an_interrupted_run_reaches_the_budget(stop_signal, tmp_path, monkeypatch):
    """Stop a real `run` after two trials (Ctrl-C or SIGTERM), then `--resume`: the same study
    ends with exactly the budget of trials, no strategy was run twice, and the interrupted
    MLflow parent run is reopened rather than duplicated."""
    config = _write_config(tmp_path, search__n_trials=6)
    # The run blocks after its second trial until the signal arrives, so the signal always
    # lands mid-search, however loaded the machine is (no race with the remaining trials).
    gate = tmp_path / "gate.py"
    gate.write_text(GATE_AFTER_TWO_TRIALS)
    process = subprocess.Popen(
        [sys.executable, str(gate), str(tmp_path / "reached"), "run", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    deadline = time.monotonic() + 180
    while not (tmp_path / "reached").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (tmp_path / "reached").exists(), process.stderr.read().decode() if process.poll() is not None else "timeout"
    process.send_signal(stop_signal)
    assert process.wait(timeout=60) == 130, process.stderr.read().decode()
    # Two trials done; the third, asked for while the second ran, is closed as interrupted.
    assert _finished_trials(storage) == 3
    interrupted = [t for t in _trials(storage) if t.state.name == "FAIL"]
    assert [t.user_attrs["fail_reason"] for t in interrupted] == ["interrupted (Ctrl-C or SIGTERM)"]
    parents, _ = _runs(f"sqlite:///{tmp_path / 'mlflow.db'}", "tiny")
    assert [p.info.status for p in parents] == ["KILLED"]
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config), "--resume"]) == 0
    studies = optuna.get_all_study_summaries(storage)
    assert len(studies) == 1
    trials = optuna.load_study(study_name=studies[0].study_name, storage=storage).trials
    assert len(trials) == 6 and all(t.state.is_finished() for t in trials)
    completed = [str(sorted(t.params.items())) for t in trials if t.state.name == "COMPLETE"]
    assert len(completed) == len(set(completed))
    parents, children = _runs(f"sqlite:///{tmp_path / 'mlflow.db'}", "tiny")
    assert len(parents) == 1 and len(children) == 6
    assert parents[0].info.status == "FINISHED"


def _trials(storage: str) -> list[optuna.trial.FrozenTrial]:
    try:
        summaries = optuna.get_all_study_summaries(storage)
    except Exception:
        return []
    if not summaries:
        return []
    return optuna.load_study(study_name=summaries[0].study_name, storage=storage).trials


def _finished_trials(storage: str) -> int:
    return len([t for t in _trials(storage) if t.state.is_finished()])


def _listening_hosts(port: int) -> set[str]:
    """The IPv4 addresses with a socket listening on ``port`` (from /proc/net/tcp)."""
    hosts = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if int(local_port, 16) == port and state == "0A":  # 0A = LISTEN
            hosts.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return hosts


def _start_ui(
    config: Path, port: int, *extra: str, stderr: int = subprocess.DEVNULL, stdout: Any = subprocess.DEVNULL
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "strategy_search", "ui", str(config), "--port", str(port), *extra],
        cwd=config.parent,
        stdout=stdout,
        stderr=stderr,
        text=True,
    )


def test_ui_serves_the_tracking_store_on_localhost_only(tmp_path):
    config = _write_config(tmp_path)
    MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").create_experiment("made-before-the-ui")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    printed = tmp_path / "ui-output.txt"
    with printed.open("w") as out:
        process = _start_ui(config, port, stdout=out)
    try:
        # The deadline only guards against a hang: the link comes once the server answers, which
        # takes several times its idle 15-30 s beside a CPU-heavy neighbour.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None and "MLflow UI at" not in printed.read_text():
            time.sleep(0.2)
        assert f"MLflow UI at http://127.0.0.1:{port}" in printed.read_text(), printed.read_text()
        # The link is printed only once the server answers: one request, no retry, is served.
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).status == 200
        assert _listening_hosts(port) == {"127.0.0.1"}
        found = urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get-by-name?experiment_name=made-before-the-ui",
            timeout=10,
        )
        assert found.status == 200  # it serves the config's store
        # ... whose URI (it may hold a password) is not on the command line, which ps shows to everyone.
        command = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"mlflow.db" not in command
        assert b"\0--workers\x001\0" in command  # one server process unless --workers asks for more
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_ui_refuses_fewer_than_one_worker_before_starting_anything(tmp_path, capsys):
    config = _write_config(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["ui", str(config), "--workers", "0"])
    assert exited.value.code == 2
    assert "--workers: must be an integer >= 1; got '0'" in capsys.readouterr().err


def test_ui_on_another_host_warns_that_mlflow_has_no_authentication(tmp_path):
    config = _write_config(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = _start_ui(config, port, "--host", "0.0.0.0", stderr=subprocess.PIPE)
    try:
        first_line = process.stderr.readline()  # printed before the command becomes MLflow's server
        assert "warning: serving on 0.0.0.0" in first_line and "no authentication" in first_line
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_inspect_prints_the_profile_and_saves_a_plot(tmp_path, capsys):
    plot = tmp_path / "classes.png"
    assert main(["inspect", str(DATA / "abalone9-18.csv"), "--target", "target", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "imbalance ratio: 16.4 : 1" in out and "Sex" in out and "categorical" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_spaces_lists_spaces_and_components(capsys):
    assert main(["spaces"]) == 0
    out = capsys.readouterr().out
    for expected in ("default", "fast", "smote", "effective_number", "focal", "balanced_random_forest"):
        assert expected in out


def test_a_pareto_search_marks_its_front_in_the_summary(tmp_path, monkeypatch, capsys):
    from strategy_search.storage import latest_study_name

    config = _write_config(tmp_path, search__metric=["pr_auc", "f1"], search__n_trials=5)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Pareto front" in out
    rows = [[cell.strip() for cell in line.strip("│ ").split("│")] for line in out.splitlines() if line.startswith("│")]
    marked = {int(row[1]) for row in rows if row[-1] == "yes"}
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.load_study(study_name=latest_study_name(storage, config_name="tiny"), storage=storage)
    assert marked == {t.number for t in study.best_trials}


def test_debug_works_before_and_after_the_command_name(tmp_path, capsys):
    from strategy_search.errors import ConfigError

    config = tmp_path / "c.yaml"
    config.write_text("name: c\ndata: {path: nowhere.csv, target: y}\n")
    assert main(["run", str(config)]) == 2  # without --debug: a message, no traceback
    for argv in (["--debug", "run", str(config)], ["run", str(config), "--debug"]):
        with pytest.raises(ConfigError):
            main(argv)
    assert main(["validate", str(QUICKSTART), "--debug"]) == 0


def test_help_texts_are_plain_and_describe_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text and "--debug" in text
    for command in ("predict", "export"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert len(text.split("\n\n")[1].strip()) > 40, text  # a description, not only usage
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "ensemble" in capsys.readouterr().out


def test_read_only_commands_never_create_a_store(quickstart_run, tmp_path, capsys):
    folder, _ = quickstart_run
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with contextlib.chdir(elsewhere):
        # From another folder the config's own stores are found...
        assert main(["export", str(folder / "quickstart.yaml"), "--out", str(tmp_path / "model")]) == 0
        # ...and a config whose stores were never written is refused without creating them.
        shutil.copy(folder / "quickstart.yaml", elsewhere / "other.yaml")
        (elsewhere / "data").mkdir()
        shutil.copy(folder / "data" / "yeast5.csv", elsewhere / "data" / "yeast5.csv")
        capsys.readouterr()
        assert main(["export", "other.yaml"]) == 2
        assert main(["ui", "other.yaml"]) == 2
    err = capsys.readouterr().err
    assert f"no search has written {elsewhere / 'mlflow.db'} yet" in err
    assert not (elsewhere / "mlflow.db").exists() and not (elsewhere / "optuna.db").exists()
    assert sorted(p.name for p in elsewhere.iterdir()) == ["data", "other.yaml"]


def test_inspect_prints_the_data_notes_that_run_prints(tmp_path, capsys):
    rows = [f"{i},{i % 7},{int(i % 10 == 0)}" for i in range(40)] + ["5,5,0"]  # one row repeated
    (tmp_path / "t.csv").write_text("customer,a,target\n" + "\n".join(rows) + "\n")
    assert main(["inspect", str(tmp_path / "t.csv"), "--target", "target", "--plot", str(tmp_path / "p.png")]) == 0
    err = capsys.readouterr().err
    assert "note: 1 duplicated feature row\n" in err, err


def test_export_and_predict_pick_a_threshold_for_a_business_target(quickstart_run, tmp_path, capsys):
    from strategy_search.thresholds import at_threshold

    folder, _ = quickstart_run
    config = str(folder / "quickstart.yaml")
    assert main(["export", config, "--out", str(tmp_path / "precise"), "--threshold", "precision>=0.9"]) == 0
    meta = yaml.safe_load((tmp_path / "precise" / "strategy.yaml").read_text())
    assert meta["threshold_rule"] == "precision>=0.9"
    oof = pd.read_csv(tmp_path / "precise" / "oof_scores.csv")
    # The stored out-of-fold scores are the study's own, and the threshold meets the target on them.
    parents, _ = _runs(f"sqlite:///{folder / 'mlflow.db'}", "yeast5-quick")
    study = optuna.load_study(
        study_name=parents[0].data.tags[STUDY_NAME_TAG], storage=f"sqlite:///{folder / 'optuna.db'}"
    )
    loaded = load_config(config)
    data = prepare_data(*_table(folder / "data" / "yeast5.csv"), positive_label=1)
    result = load_result(data, loaded.settings(), storage=loaded.storage_url, study_name=study.study_name)
    np.testing.assert_array_equal(oof["score"], result.oof_scores)
    assert at_threshold(oof["positive"], oof["score"], meta["threshold"])["precision"] >= 0.9
    assert "| `recall>=0.8` |" in (tmp_path / "precise" / "model_card.md").read_text()

    rows = tmp_path / "rows.csv"
    pd.read_csv(DATA / "yeast5.csv").drop(columns="target").to_csv(rows, index=False)
    capsys.readouterr()
    out = tmp_path / "p.csv"
    assert main(["predict", str(tmp_path / "precise"), str(rows), "--out", str(out), "--threshold", "recall>=0.8"]) == 0
    err = capsys.readouterr().err
    threshold = float(err.split("threshold ")[1].split(" ")[0])
    assert "rule recall>=0.8" in err
    assert at_threshold(oof["positive"], oof["score"], threshold)["recall"] >= 0.8
    predictions = pd.read_csv(out)
    np.testing.assert_array_equal(predictions["prediction"], (predictions["score"] >= threshold).astype(int))
    with pytest.raises(SystemExit) as refused:  # checked before any work, as every argument
        main(["predict", str(tmp_path / "precise"), str(rows), "--threshold", "recall>=2"])
    assert refused.value.code == 2 and "recall>= needs a value in (0, 1]" in capsys.readouterr().err
