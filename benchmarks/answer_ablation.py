"""What the deployed answer is, on and off (issue 25, items 1, 5 and 6): one search per outer
fold, its answer deployed six ways, each scored on the outer test fold it never saw.

For every table and every outer fold (stratified 5-fold, seed 0) it runs
``search(X_tr, y_tr, n_trials=N, seed=0, n_jobs=2, ...)`` once: a fixed number of trials, so the
search is the same whatever the machine's load (unlike a time budget, see ``same_leaderboard.py``)
and this is a measurement even beside other work. The one answer is then built as

* ``refit``: fitted once on all of the outer training part (``answer: refit``);
* ``bagged``: the search's fold models, refitted on its own CV splits, averaged (``answer: bagged``);
* ``refit+cal`` and ``bagged+cal``: the same, with the calibration chosen on the answer's
  out-of-fold scores (``calibration: auto``; it moves probabilities, never decisions);
* ``bagged+tuned``: bagged, its decision always the rule's on the out-of-fold scores (the
  engine keeps 0.5 / argmax instead when that had at least the tuned F1 on the folds);
* ``single``: the search's best trial alone, bagged, its own tuned threshold (from its CV),
  uncalibrated: against ``bagged+tuned`` the ensemble of the best trials is the only difference
  when the answer is an ensemble (the same model when the best trial answers alone),

and scored on the outer test fold: PR-AUC, F1 at the deployed decision, Brier score, log-loss and
ECE. ``--repeats R`` sets the search's ``cv_repeats`` (item 2's repeated CV, measured the same way).

    .venv/bin/python benchmarks/answer_ablation.py --tables portfolio --trials 16 \\
        --out benchmarks/results/answer-ablation.md

Writes ``<out>.csv`` (one row per table, fold and variant) and ``<out>`` (means per variant and
per table, with the command, commit and machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import strategy_search  # noqa: E402
from strategy_search.scoring import calibration_metrics, threshold_free_metrics  # noqa: E402
from strategy_search.strategy import build_classifier  # noqa: E402
from strategy_search.thresholds import confusion_metrics, scored_rows  # noqa: E402

TABLE_SETS = {
    "keel": ROOT.parent / "shared" / "data" / "keel",
    "portfolio": ROOT.parent / "shared" / "data" / "keel-portfolio",
}
VARIANTS = ("refit", "bagged", "refit+cal", "bagged+cal", "bagged+tuned", "single")
SHOWN = ("pr_auc", "f1", "brier", "log_loss", "ece")


def _deployed(result: Any, variant: str) -> Any:
    """The search's answer built as ``variant`` (see the module's docstring), fitted."""
    calibration = result.calibration if variant.endswith("+cal") else None
    strategy = result.strategy_of(result.best_trial) if variant == "single" else result.best_strategy
    classifier = build_classifier(
        strategy,
        result.profile.schema,
        positive_label=result.profile.positive_label,
        task=result.data.task,
        bagging=None if variant.startswith("refit") else result.bagging,
        calibration=None if calibration is None else calibration.map_params(),
    )
    if variant == "bagged+tuned":
        cv = result.answer_cv()
        oof = cv.oof
        seen = scored_rows(oof)
        classifier.threshold = cv.rule.choose(result.data.codes[seen], oof[seen])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return classifier.fit(result.data.X, result.data.y)


def _scores(model: Any, X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    proba, labels = model.proba_and_labels(X)
    positive = (y == model.classes_[1]).astype(int)
    metrics = threshold_free_metrics(positive, proba[:, 1])
    metrics.update(calibration_metrics(positive, proba[:, 1]))
    metrics["f1"] = confusion_metrics(positive, labels == model.classes_[1])["f1"]
    return {m: float(metrics[m]) for m in SHOWN}


def one_table(path: Path, *, n_trials: int, repeats: int | str) -> list[dict[str, Any]]:
    frame = pd.read_csv(path)
    X, y = frame.drop(columns="target"), frame["target"].to_numpy()
    rows = []
    for fold, (train, test) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)):
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = strategy_search.search(
                X.iloc[train], y[train], n_trials=n_trials, seed=0, n_jobs=2, cv_repeats=repeats
            )
        searched = time.perf_counter() - started
        method = result.calibration.method if result.calibration else "none"
        for variant in VARIANTS:
            started = time.perf_counter()
            model = _deployed(result, variant)
            fitted = time.perf_counter() - started
            scores = _scores(model, X.iloc[test], y[test])
            rows.append(
                {
                    "table": path.stem,
                    "fold": fold,
                    "variant": variant,
                    **scores,
                    "calibration": method,
                    "search_s": round(searched, 1),
                    "fit_s": round(fitted, 2),
                    "positives": int((y[train] == 1).sum()),
                    "cv_splits": len(result.plan.splits),
                    "answer_members": len(result.answer_trials),
                }
            )
        print(path.stem, fold, {r["variant"]: round(r["f1"], 3) for r in rows[-len(VARIANTS) :]}, flush=True)
    return rows


def _markdown(table: pd.DataFrame, digits: int) -> str:
    header = [str(table.index.name or ""), *map(str, table.columns)]
    body = [
        [str(index), *(f"{v:.{digits}f}" for v in row)]
        for index, row in zip(table.index, table.to_numpy(), strict=True)
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def _report(frame: pd.DataFrame, command: str) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "strategy_search"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    means = frame.groupby("variant")[list(SHOWN)].mean().reindex(list(VARIANTS))
    per_table = frame.pivot_table(index="table", columns="variant", values="f1").reindex(columns=list(VARIANTS))
    per_table_pr = frame.pivot_table(index="table", columns="variant", values="pr_auc").reindex(columns=list(VARIANTS))
    answers = frame[frame.variant == "bagged"]
    chosen = answers.calibration.value_counts().to_dict()
    ensembles = (
        f"; answers that were ensembles: {int((answers.answer_members > 1).sum())} of {len(answers)}"
        if "answer_members" in answers
        else ""
    )
    lines = [
        "# The deployed answer on and off (issue 25, items 1, 5 and 6)",
        "",
        "Written by `benchmarks/answer_ablation.py` (its docstring says what is measured). One fixed-trial search "
        f"per outer fold; its one answer deployed {frame.variant.nunique()} ways and scored on the outer test fold.",
        "",
        f"Command: `{command}` at commit `{commit.strip()}`{' (with uncommitted changes)' if dirty.strip() else ''}, "
        f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}.",
        "",
        f"Machine: `nproc` = {os.cpu_count()}, {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}; strategy-search {strategy_search.__version__}.",
        "",
        f"Tables: {frame.table.nunique()}, outer folds: {frame.fold.nunique()}; "
        f"calibration chosen: {chosen}{ensembles}.",
        "",
        "## Means over tables and folds",
        "",
        _markdown(means, 4),
        "",
        "## F1 per table (mean over folds)",
        "",
        _markdown(per_table, 3),
        "",
        "## PR-AUC per table (mean over folds)",
        "",
        _markdown(per_table_pr, 3),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", choices=sorted(TABLE_SETS), default="portfolio")
    parser.add_argument("--names", nargs="*", default=None, help="only these tables (file stems)")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument(
        "--repeats", type=lambda v: v if v == "auto" else int(v), default=1, help="the search's cv_repeats (or auto)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "answer-ablation.md")
    args = parser.parse_args()
    paths = sorted(TABLE_SETS[args.tables].glob("*.csv"))
    if args.names:
        paths = [p for p in paths if p.stem in set(args.names)]
    rows: list[dict[str, Any]] = []
    for path in paths:  # the rows so far written after every table, so a long run can be read early
        rows += one_table(path, n_trials=args.trials, repeats=args.repeats)
        pd.DataFrame(rows).to_csv(args.out.with_suffix(".csv"), index=False)
    frame = pd.DataFrame(rows)
    command = ".venv/bin/python benchmarks/answer_ablation.py " + shlex.join(sys.argv[1:])
    args.out.write_text(_report(frame, command))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
