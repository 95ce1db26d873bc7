"""Trials per minute with one and two local workers on one study, and the cost per trial of
storing its fold scores (issue 13).

A throwaway PostgreSQL server (Debian's binaries, as the tests use) holds the study; MLflow logs
to a database on the same server. Each setting runs the same search (yeast5, fast space, seed 0,
pruning as configured) for a fixed wall-clock budget and counts the trials finished in it:

* ``1 worker, n_jobs=1``: one process, fits one at a time;
* ``1 worker, n_jobs=2``: one process, a fold's fits on two worker processes (the default);
* ``2 workers, n_jobs=1``: ``run --workers 2``, each worker fitting one at a time.

Then the storage cost: encoding one trial's fold scores and writing them (one row) to SQLite
and to PostgreSQL, averaged over 50 writes, next to the trial's own duration.

    .venv/bin/python benchmarks/workers.py                 # 60 s per setting (~4 min)
    .venv/bin/python benchmarks/workers.py --budget 20     # quicker, noisier
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from postgres_server import PostgresServer, server_binaries  # noqa: E402

import strategy_search  # noqa: E402
from strategy_search.trial_scores import ScoreStore, encode_scores  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "workers.md"
Speed = list[tuple[str, int, float, float, int, float]]
Cost = list[tuple[str, float, float, float]]
SETTINGS = (("1 worker, n_jobs=1", 1, 1), ("1 worker, n_jobs=2", 1, 2), ("2 workers, n_jobs=1", 2, 1))


def _config(folder: Path, name: str, *, storage: str, tracking: str, budget: float, n_jobs: int) -> Path:
    path = folder / f"{name}.yaml"
    config = {
        "name": name,
        "data": {"path": str(ROOT / "experiments" / "data" / "yeast5.csv"), "target": "target"},
        "search": {
            "space": "fast",
            "n_trials": 10_000,
            "timeout": budget,
            "seed": 0,
            "n_jobs": n_jobs,
            "storage": storage,
        },
        "cv": {"folds": 5},
        "tracking": {"uri": tracking},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def trials_per_minute(server: PostgresServer, folder: Path, budget: float) -> Speed:
    rows = []
    for i, (label, workers, n_jobs) in enumerate(SETTINGS):
        name = f"bench{i}"
        tracking = server.create_database(f"mlflow_{name}")
        config = _config(folder, name, storage=server.url(), tracking=tracking, budget=budget, n_jobs=n_jobs)
        started = time.monotonic()
        command = [sys.executable, "-m", "strategy_search", "run", str(config), "--workers", str(workers)]
        subprocess.run(command, check=True, capture_output=True, text=True)
        wall = time.monotonic() - started
        study_name = next(n for n in optuna.get_all_study_names(server.url()) if n.startswith(name))
        trials = optuna.load_study(study_name=study_name, storage=server.url()).get_trials(deepcopy=False)
        finished = [t for t in trials if t.state.is_finished() and not t.user_attrs.get("surplus")]
        pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in finished)
        fit = sum(t.user_attrs.get("fit_seconds", 0.0) for t in finished)
        rows.append((label, len(finished), 60 * len(finished) / budget, wall, pruned, fit))
        print(f"{label}: {len(finished)} trials in {budget:.0f} s ({wall:.0f} s with start-up and answer)", flush=True)
    return rows


def storage_cost(server: PostgresServer, folder: Path) -> Cost:
    import pandas as pd

    frame = pd.read_csv(ROOT / "experiments" / "data" / "yeast5.csv")
    X, y = frame.drop(columns="target"), frame["target"]
    result = strategy_search.search(X, y, n_trials=1, seed=0, space="fast", n_jobs=1)
    trial = result.completed_trials()[0]
    cv = result.stored_cvs([trial.number])[trial.number]
    rows = []
    for label, url in (("SQLite", f"sqlite:///{folder / 'scores.db'}"), ("PostgreSQL", server.url())):
        store = ScoreStore(url, f"cost-{label}")
        store.put(0, encode_scores(cv))  # creates the table: not part of a trial's cost
        started = time.perf_counter()
        for n in range(1, 51):
            payload = encode_scores(cv)
            store.put(n, payload)
        per_trial = (time.perf_counter() - started) / 50
        rows.append((label, per_trial * 1000, len(payload) / 1024, trial.duration.total_seconds()))
        print(f"{label}: {per_trial * 1000:.1f} ms per trial, {len(payload) / 1024:.1f} KiB", flush=True)
    return rows


def report(budget: float, speed: Speed, cost: Cost) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    lines = [
        "# Workers: trials per minute, and the cost of storing trial scores",
        "",
        f"Command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        "",
        f"Commit: `{commit.strip()}`. Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Machine: `nproc` = "
        f"{os.cpu_count()}, {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"optuna {optuna.__version__}.",
        "",
        f"yeast5 (1484 rows), fast space, 5 folds, seed 0, PostgreSQL study, MLflow on PostgreSQL; {budget:.0f} s "
        "of search per setting (the deadline every worker shares).",
        "",
        "| setting | trials finished | trials per minute | of them pruned | fit seconds in all | wall s (start-up, "
        "answer included) |",
        "|---|---|---|---|---|---|",
        *(
            f"| {label} | {n} | {rate:.1f} | {pruned} | {fit:.0f} | {wall:.0f} |"
            for label, n, rate, wall, pruned, fit in speed
        ),
        "",
        "| store | write per trial (ms) | size (KiB) | the trial itself (s) |",
        "|---|---|---|---|",
        *(f"| {label} | {ms:.1f} | {kib:.1f} | {seconds:.2f} |" for label, ms, kib, seconds in cost),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of search per setting")
    args = parser.parse_args()
    if server_binaries() is None:
        sys.exit("PostgreSQL server binaries are missing (apt install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="workers-bench-"))
    server = PostgresServer("bench-pw").start()
    try:
        speed = trials_per_minute(server, folder, args.budget)
        cost = storage_cost(server, folder)
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    RESULTS.write_text(report(args.budget, speed, cost))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
