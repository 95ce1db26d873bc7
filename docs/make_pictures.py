"""The README's pictures, made from a real quickstart run (never drawn by hand).

    python docs/make_pictures.py                  # runs the quickstart in a temporary folder first
    python docs/make_pictures.py --folder DIR     # DIR holds quickstart.yaml and its finished search

Writes to docs/images/:

* ``mlflow-ui-runs.png``: the trials view `strategy-search ui` prints (every trial named after its
  strategy, sorted by PR-AUC);
* ``mlflow-ui-plots.png``: the search's parent run in the MLflow UI, its plots among the artifacts;
* ``report-top.png``: the top of `strategy-search report`'s HTML file;
* ``pr_curves.png``, ``choices.png`` and ``feature_importance.png``: three of the plots the
  search logged, as logged.

Needs the `strategy-search` command, selenium (the test extra) and Debian's `chromium` and
`chromium-driver`: the same browser code as tests/test_browser.py.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
EXPERIMENT = "yeast5-quick"
sys.path.insert(0, str(ROOT / "tests"))

from browser_helpers import browser_problem, chromium, mlflow_ui, printed_trials_link, wait_for_text  # noqa: E402


def quickstart(folder: Path) -> None:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "experiments" / "quickstart.yaml", folder / "quickstart.yaml")
    shutil.copy(ROOT / "experiments" / "data" / "yeast5.csv", folder / "data" / "yeast5.csv")
    subprocess.run(["strategy-search", "run", str(folder / "quickstart.yaml")], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="a folder with quickstart.yaml and its finished search")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    problem = browser_problem()
    if problem:
        raise SystemExit(f"cannot make the pictures: {problem}")
    folder = args.folder or Path(tempfile.mkdtemp(prefix="pictures-"))
    if args.folder is None:
        quickstart(folder)
    args.out.mkdir(parents=True, exist_ok=True)
    from mlflow.tracking import MlflowClient

    from strategy_search.tracking import experiment_id

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(uri)
    found = experiment_id(tracking_uri=uri, experiment=EXPERIMENT) or "1"
    runs = client.search_runs([found], max_results=1000)
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    trials = [r.info.run_name for r in runs if "mlflow.parentRunId" in r.data.tags]
    for name in ("pr_curves.png", "choices.png", "feature_importance.png"):
        shutil.copy(client.download_artifacts(parent.info.run_id, name, tempfile.mkdtemp()), args.out / name)
    report = folder / "report.html"
    subprocess.run(["strategy-search", "report", str(folder / "quickstart.yaml"), "--out", str(report)], check=True)
    with mlflow_ui(folder / "quickstart.yaml") as base, chromium(1900, 620) as driver:
        driver.get(printed_trials_link(folder / "quickstart.yaml"))  # the link `ui` prints, as a first visit
        wait_for_text(driver, [*trials[:3], "pr_auc", "f1"])
        time.sleep(2)  # let the table finish its layout
        driver.save_screenshot(str(args.out / "mlflow-ui-runs.png"))
        driver.set_window_size(1500, 860)
        driver.get(
            f"{base}/#/experiments/{found}/runs/{parent.info.run_id}/artifacts/pr_curves.png?workflowType=machine_learning"
        )
        wait_for_text(driver, ["pr_curves.png", "choices.png"])
        time.sleep(3)  # the preview image loads after the tree
        driver.save_screenshot(str(args.out / "mlflow-ui-plots.png"))
    with chromium(1200, 900) as driver:
        driver.get(report.as_uri())
        wait_for_text(driver, ["Answer", "Plots"])
        driver.save_screenshot(str(args.out / "report-top.png"))
    print(f"wrote {', '.join(sorted(p.name for p in args.out.glob('*.png')))} to {args.out}")


if __name__ == "__main__":
    main()
