"""A search on a big generated table (issue 15): memory, the deadline, trials per fidelity, and
the answer's PR-AUC on held-out rows against LightGBM with default settings.

The table comes from ``experiments/make_fraud_data.py`` (card-fraud-like: 30 features, 4 text
categories with up to 5,000 levels, missing values, 0.2 % positives). A stratified 80 % trains
both the search (``strategy_search.search``, n_jobs=2, seed 0) and the reference model
(``lightgbm.LGBMClassifier()`` with its defaults, text columns as pandas categories, threshold
0.5); both are scored on the other 20 %. The answer is fitted on the 80 % as ``export`` would
fit it (``SearchResult.best_pipeline()``).

Peak memory is the largest sum of the resident set sizes (RSS) of this process and all its
child processes (the worker processes), sampled every 0.2 s by a thread; pages the workers
share through the memory-mapped table count once per process, so the sum overstates what the
machine used. The same samples also sum the proportional set sizes (PSS, from
``/proc/<pid>/smaps_rollup``: a page shared by n processes counts 1/n in each), which is what
the processes together hold; the 4 GB target is judged on the RSS sum all the same.

    .venv/bin/python benchmarks/big_tables.py --rows 1000000 --budget 600
    .venv/bin/python benchmarks/big_tables.py --rows 100000 --budget 300 --fidelity off

Each run adds (or replaces) its entry in ``results/big_tables.json`` and rewrites
``results/big_tables.md`` from all entries. Needs ``psutil`` (``pip install ".[benchmark]"``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import threading
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from lightgbm import LGBMClassifier
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "experiments"))

from make_fraud_data import make_fraud_table  # noqa: E402

import strategy_search  # noqa: E402
from strategy_search.study_budget import Budget  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TARGETS = (
    "peak RSS of all processes under 4 GB; the deadline kept within a few seconds; the answer's PR-AUC above LightGBM's"
)


class PeakMemory:
    """The largest RSS (and PSS) sum of this process and its descendants, sampled on a thread."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak, self.peak_main, self.peak_pss = interval, 0, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = proportional = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                    proportional += _pss(process.pid)
                except (psutil.Error, OSError):
                    continue  # a worker that just ended
            self.peak = max(self.peak, total)
            self.peak_pss = max(self.peak_pss, proportional)
            self.peak_main = max(self.peak_main, me.memory_info().rss)
            self._stop.wait(self.interval)


def _pss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def _lightgbm_default(X_tr: pd.DataFrame, y_tr: pd.Series, X_te: pd.DataFrame) -> np.ndarray:
    text = [c for c in X_tr.columns if not pd.api.types.is_numeric_dtype(X_tr[c])]
    levels = {c: pd.CategoricalDtype(sorted(X_tr[c].dropna().unique())) for c in text}

    def categories(frame: pd.DataFrame) -> pd.DataFrame:
        # Levels the training rows never had are missing values, as LightGBM would treat them.
        known = {c: frame[c].where(frame[c].isin(levels[c].categories)) for c in text}
        return frame.assign(**known).astype(levels)

    model = LGBMClassifier(verbose=-1, n_jobs=2).fit(categories(X_tr), y_tr)
    return model.predict_proba(categories(X_te))[:, 1]


def _fidelity_counts(result: Any) -> dict[str, int]:
    board = result.leaderboard
    counts: dict[str, int] = {}
    for (state, fidelity), n in board.groupby(["state", board["fidelity"].fillna(-1)]).size().items():
        where = "not scored" if fidelity < 0 else f"fidelity {fidelity:.3g}"
        counts[f"{state.lower()} at {where}"] = int(n)
    return counts


def run(rows: int, budget: float, fidelity: str, seed: int) -> dict[str, Any]:
    clock = time.perf_counter()
    table = make_fraud_table(rows, seed=seed)
    generated = time.perf_counter() - clock
    X, y = table.drop(columns="target"), table["target"]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
    del table, X, y  # a user's process would hold its training and test rows, not a third copy
    with PeakMemory() as memory:
        started = time.perf_counter()
        result = strategy_search.search(X_tr, y_tr, timeout=budget, n_jobs=2, seed=seed, fidelity=fidelity)
        searched = time.perf_counter() - started
        peak_search, peak_search_main = memory.peak, memory.peak_main
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            answer = result.best_pipeline()
        fitted = time.perf_counter() - started
        scores = answer.predict_proba(X_te)[:, 1]
        predicted = answer.predict(X_te)
    started = time.perf_counter()
    reference = _lightgbm_default(X_tr, y_tr, X_te)
    reference_seconds = time.perf_counter() - started
    deadline = Budget.of(result.study).deadline
    ended = max((t.datetime_complete.timestamp() for t in result.study.trials if t.datetime_complete), default=0)
    positive = result.profile.positive_label
    return {
        "rows": rows,
        "budget_s": budget,
        "fidelity_setting": fidelity,
        "generated_s": round(generated, 1),
        "search_wall_s": round(searched, 1),
        "last_trial_past_deadline_s": round(ended - deadline, 1) if deadline else None,
        "answer_fit_s": round(fitted, 1),
        "peak_rss_gb_search": round(peak_search / 1e9, 2),
        "peak_rss_gb_main_search": round(peak_search_main / 1e9, 2),
        "peak_rss_gb_with_answer_fit": round(memory.peak / 1e9, 2),
        "peak_pss_gb_with_answer_fit": round(memory.peak_pss / 1e9, 2),
        "trials": _fidelity_counts(result),
        "left_out": sorted(result.left_out),
        "answer": result.best_strategy.describe(),
        "answer_cv_pr_auc": round(result.best_scores["pr_auc"], 4),
        "holdout_pr_auc": round(float(average_precision_score(y_te == positive, scores)), 4),
        "holdout_f1": round(float(f1_score(y_te == positive, predicted == positive)), 4),
        "lightgbm_default_pr_auc": round(float(average_precision_score(y_te == positive, reference)), 4),
        "lightgbm_default_f1": round(float(f1_score(y_te == positive, reference >= 0.5)), 4),
        "lightgbm_default_s": round(reference_seconds, 1),
    }


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        "unknown",
    )
    memory = psutil.virtual_memory().total / 2**30
    versions = ", ".join(
        f"{p} {metadata.version(p)}" for p in ("strategy-search", "optuna", "lightgbm", "scikit-learn")
    )
    return (
        f"`nproc` = {len(os.sched_getaffinity(0))}, CPU {cpu}, {memory:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}; {versions}"
    )


def render(entries: dict[str, dict[str, Any]]) -> str:
    lines = [
        "# Big tables: memory, deadline, fidelities and held-out PR-AUC",
        "",
        "Written by `benchmarks/big_tables.py` (its docstring says what is measured and how); one section per run.",
        f"Targets (issue 15): {TARGETS}.",
        "",
        "`search_wall_s` runs from the call to its return: the data checks before the budget's clock starts, "
        "the trials (the budget; `last_trial_past_deadline_s` says how well the deadline was kept), choosing "
        "the answer, and the do-nothing baseline's CV after the trials (at most 10 % of the timeout). "
        "The peaks are of the sum over this process and the worker processes.",
        "",
    ]
    for name, entry in entries.items():
        result = entry["result"]
        verdicts = [
            ("peak RSS under 4 GB", result["peak_rss_gb_with_answer_fit"] < 4),
            ("deadline within 5 s", (result["last_trial_past_deadline_s"] or 0) <= 5),
            ("PR-AUC above LightGBM's", result["holdout_pr_auc"] > result["lightgbm_default_pr_auc"]),
        ]
        lines += [
            f"## {name}",
            "",
            f"Command: `{entry['command']}` at commit `{entry['commit']}`, {entry['date']}.",
            "",
            f"Machine: {entry['machine']}.",
            "",
            "| measure | value |",
            "|---|---|",
            *(
                f"| {key} | {json.dumps(value) if isinstance(value, (dict, list)) else value} |"
                for key, value in result.items()
            ),
            "",
            "Targets: " + "; ".join(f"{what}: **{'HOLDS' if ok else 'MISSED'}**" for what, ok in verdicts) + ".",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--budget", type=float, default=600.0, help="the search's timeout in seconds")
    parser.add_argument("--fidelity", default="auto", choices=("auto", "on", "off"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default=None, help="the run's section (default: from rows, budget, fidelity)")
    args = parser.parse_args(argv)
    name = args.name or f"{args.rows:,} rows, {args.budget:.0f} s, fidelity {args.fidelity}"
    result = run(args.rows, args.budget, args.fidelity, args.seed)
    print(json.dumps(result, indent=2))
    store = RESULTS / "big_tables.json"
    entries = json.loads(store.read_text()) if store.exists() else {}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    command = ".venv/bin/python " + " ".join(
        shlex.quote(a) for a in ["benchmarks/big_tables.py", *(argv or sys.argv[1:])]
    )
    entries[name] = {
        "command": command,
        "commit": commit.strip(),
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "result": result,
    }
    store.write_text(json.dumps(entries, indent=2) + "\n")
    (RESULTS / "big_tables.md").write_text(render(entries))


if __name__ == "__main__":
    main()
