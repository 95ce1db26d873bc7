"""Same leaderboard before and after a refactor: a fixed-trial search, repeatable by its seed.

A timed search (``compare.py``) is not repeatable: how many trials fit in 15 s depends on the
machine's load. With ``n_trials`` instead of a timeout the search is deterministic for a seed
(the overlap of trials keeps TPE's view fixed, see ``trial_loop``), so two commits that behave
the same give the same leaderboard, answer and held-out scores, whatever the machine's load.

On the first outer fold of ``compare.py``'s folds for each ``--quick`` table, it runs
``search(X_tr, y_tr, n_trials=N, seed=0, n_jobs=2)``, and writes a JSON with every trial's
state, strategy, CV metrics and threshold, the answer's trials and scores, and the answer's
held-out probabilities (rounded to 1e-9). Compare two such files with ``--diff A B``.

    .venv/bin/python benchmarks/same_leaderboard.py --out /tmp/before.json      # at the old commit
    .venv/bin/python benchmarks/same_leaderboard.py --out /tmp/after.json       # at the new one
    .venv/bin/python benchmarks/same_leaderboard.py --diff /tmp/before.json /tmp/after.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import strategy_search  # noqa: E402

DATA_DIR = ROOT / "benchmarks" / "data" / "keel"
QUICK_DATASETS = ("yeast5", "abalone9-18", "glass4", "vehicle0")


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value


def one_table(name: str, *, n_trials: int, data_dir: Path) -> dict[str, Any]:
    frame = pd.read_csv(data_dir / f"{name}.csv")
    X, y = frame.drop(columns="target"), frame["target"].to_numpy()
    train, test = next(iter(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(X, y)))
    X_tr, y_tr, X_te = X.iloc[train], y[train], X.iloc[test]
    result = strategy_search.search(X_tr, y_tr, n_trials=n_trials, seed=0, n_jobs=2)
    board = result.leaderboard
    columns = [
        c
        for c in ("trial", "state", "resampler", "weighting", "objective", "model", "pr_auc", "f1", "threshold")
        if c in board
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proba = result.best_pipeline().predict_proba(X_te)[:, 1]
    return _plain(
        {
            "leaderboard": board[columns].to_dict(orient="records"),
            "params": board["params"].tolist(),
            "answer_trials": list(result.answer_trials),
            "best_scores": dict(result.best_scores),
            "held_out_proba": [float(p) for p in proba],
        }
    )


def diff(a: Path, b: Path) -> int:
    before, after = json.loads(a.read_text()), json.loads(b.read_text())
    differences = 0
    for name in sorted(set(before) | set(after)):
        for key in sorted(set(before.get(name, {})) | set(after.get(name, {}))):
            if before.get(name, {}).get(key) != after.get(name, {}).get(key):
                differences += 1
                print(f"{name}: {key} differs")
    print("identical" if not differences else f"{differences} difference(s)")
    return 1 if differences else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--datasets", default=",".join(QUICK_DATASETS))
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--diff", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.diff:
        raise SystemExit(diff(*args.diff))
    results = {name: one_table(name, n_trials=args.trials, data_dir=args.data_dir) for name in args.datasets.split(",")}
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
