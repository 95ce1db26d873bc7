"""What a user sees: the MLflow UI (served by `strategy-search ui`) and the HTML report, in a
real headless Chromium. Screenshots go to the test's folder (docs/make_pictures.py saves the
same views for the README)."""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

import pytest
from browser_helpers import (
    add_columns,
    browser_problem,
    chromium,
    column_headers,
    images_loaded,
    mlflow_ui,
    open_mlflow,
    printed_trials_link,
    wait_for_text,
    workflow,
)
from mlflow.tracking import MlflowClient

from strategy_search.cli import main
from strategy_search.mlflow_app import runs_view_url
from strategy_search.tracking import experiment_id

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = "yeast5-quick"

pytestmark = pytest.mark.skipif(browser_problem() is not None, reason=f"no browser to drive: {browser_problem()}")


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """The quickstart (12 trials) run through the CLI in a fresh folder."""
    folder = tmp_path_factory.mktemp("quickstart")
    (folder / "data").mkdir()
    shutil.copy(ROOT / "experiments" / "quickstart.yaml", folder / "quickstart.yaml")
    shutil.copy(ROOT / "experiments" / "data" / "yeast5.csv", folder / "data" / "yeast5.csv")
    with contextlib.chdir(folder):
        code = main(["run", "quickstart.yaml", "--set", "search.n_trials=12", "--set", "search.timeout=null"])
    assert code == 0
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    found = experiment_id(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", experiment=EXPERIMENT)
    runs = client.search_runs([found], max_results=100)
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    plots = sorted(a.path for a in client.list_artifacts(parent.info.run_id) if a.path.endswith(".png"))
    assert len(plots) >= 9 and "param_importances.png" in plots, plots  # 10+ complete trials: importances too
    return folder, found, parent, children, plots


def test_the_mlflow_ui_lists_the_search_its_strategy_named_trials_and_their_plots(searched, tmp_path):
    folder, found, parent, children, plots = searched
    assert len(children) == 12
    with mlflow_ui(folder / "quickstart.yaml") as base, chromium() as driver:
        # The experiment's runs: the search's parent run, in the model-training view.
        open_mlflow(driver, base, f"{base}/#/experiments/{found}/runs?workflowType=machine_learning")
        wait_for_text(driver, [parent.info.run_name, "Model training"])
        driver.save_screenshot(str(tmp_path / "experiment.png"))
        # The trials view `strategy-search ui` prints: every trial by its strategy, best first,
        # with the search's metrics as visible columns.
        driver.get(runs_view_url(base, found))
        names = [c.info.run_name for c in children]
        wait_for_text(driver, names[:5])
        assert workflow(driver) == "machine_learning"
        add_columns(driver, ["pr_auc", "f1"])  # the plain runs view: the user ticks the metrics
        wait_for_text(driver, ["pr_auc", "f1"])
        assert {"Run Name", "pr_auc", "f1"} <= column_headers(driver), column_headers(driver)
        body = driver.find_element("tag name", "body").text
        assert sum(name in body for name in names) >= 10, body[:2000]
        assert all(re.match(r"#\d+ \w+", name) for name in names), names
        best = max(children, key=lambda c: c.data.metrics.get("pr_auc", -1))
        assert f"{best.data.metrics['pr_auc']:.4f}"[:5] in body  # its PR-AUC, in the table
        driver.save_screenshot(str(tmp_path / "trials.png"))
        # The parent run's artifacts: every plot of the search.
        driver.get(f"{base}/#/experiments/{found}/runs/{parent.info.run_id}/artifacts?workflowType=machine_learning")
        wait_for_text(driver, plots)
        driver.save_screenshot(str(tmp_path / "artifacts.png"))
    assert (tmp_path / "trials.png").stat().st_size > 10_000


def test_the_printed_link_opens_the_trials_with_their_metrics_in_a_fresh_browser(searched):
    """A first visit, as a new user makes it: a fresh profile opens the link `strategy-search ui`
    printed (only once the server answers) and sees the trials with pr_auc and f1 columns,
    best first, in the model-training view, with no column ticked by hand."""
    folder, found, _, children, _ = searched
    config = folder / "quickstart.yaml"
    with mlflow_ui(config) as base, chromium() as driver:
        link = printed_trials_link(config)
        assert link.startswith(f"{base}/strategy-search/open?experiment={found}")
        driver.get(link)
        names = [c.info.run_name for c in children]
        wait_for_text(driver, names[:5])
        headers = column_headers(driver)
        assert {"Run Name", "pr_auc", "f1"} <= headers, headers
        assert workflow(driver) == "machine_learning"
        assert driver.execute_script("return localStorage.getItem('mlflow.assistant.panelOpen_v1')") == "false"
        # Best first: the best trial's row comes before every trial with a lower PR-AUC.
        best = max(children, key=lambda c: c.data.metrics.get("pr_auc", -1))
        top = best.data.metrics["pr_auc"]
        worse = [c.info.run_name for c in children if c.data.metrics.get("pr_auc", -1) < top]
        body = driver.find_element("tag name", "body").text
        assert body.index(best.info.run_name) < min(body.index(n) for n in worse if n in body)


def test_the_report_opens_with_its_plots_in_a_browser(searched, tmp_path):
    folder, _, parent, _, plots = searched
    out = tmp_path / "report.html"
    assert main(["report", str(folder / "quickstart.yaml"), "--out", str(out)]) == 0
    with chromium() as driver:
        driver.get(out.as_uri())
        wait_for_text(driver, ["Answer", "Plots", "Leaderboard", "Data", "Settings", "Timings", parent.info.run_id])
        assert images_loaded(driver) == len(plots)
        driver.save_screenshot(str(tmp_path / "report.png"))
