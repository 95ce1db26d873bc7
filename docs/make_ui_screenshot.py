"""Screenshot of a search in the MLflow UI, for the README (docs/images/mlflow-ui-runs.png).

    python docs/make_ui_screenshot.py                  # runs the quickstart in a temporary folder first
    python docs/make_ui_screenshot.py --folder DIR     # DIR holds quickstart.yaml and its finished search

Needs the `strategy-search` command and a Chromium (Debian: `apt-get install chromium`). The
page is the experiment's runs table filtered to the trials and sorted by PR-AUC: the link
`strategy-search ui` users can open the same way (see the README).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images" / "mlflow-ui-runs.png"


def quickstart(folder: Path) -> None:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "experiments" / "quickstart.yaml", folder / "quickstart.yaml")
    shutil.copy(ROOT / "experiments" / "data" / "yeast5.csv", folder / "data" / "yeast5.csv")
    subprocess.run(["strategy-search", "run", str(folder / "quickstart.yaml")], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the MLflow UI did not answer at {url} within {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, help="a folder with quickstart.yaml and its finished search")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="ui-screenshot-"))
    if args.folder is None:
        quickstart(folder)
    port = free_port()
    server = subprocess.Popen(["strategy-search", "ui", str(folder / "quickstart.yaml"), "--port", str(port)])
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base)
        from strategy_search.tracking import experiment_id, runs_view_url

        found = experiment_id(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", experiment="yeast5-quick")
        url = runs_view_url(base, found or "1")
        chromium = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1500,620",
                "--virtual-time-budget=15000",
                f"--screenshot={args.out}",
                url,
            ],
            check=True,
            capture_output=True,
        )
        print(f"wrote {args.out} ({url})", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
