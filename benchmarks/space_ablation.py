"""The engine on several search spaces (or settings) at the same budget, on the same outer folds
(issue 25, items 3 and 4: does CatBoost, does the learned portfolio, pay in a whole search?; item 2:
does ``cv.repeats: auto``, with ``--cv-repeats LABEL=auto``?).

Each space is one run of ``benchmarks/compare.py`` (its protocol: nested CV, the engine's
``search(timeout=BUDGET, seed=0, n_jobs=2)`` then ``best_pipeline()``, scored on the outer test
fold), one after the other on a quiet machine, with the peers' rows taken from an earlier run of
that script on the same outer folds (``--reuse-others``) so that only the engine runs. Then the
engine's rows of every space are tabled against the first space's: mean PR-AUC and F1, per-table
means, wins / ties / losses per table (a tie within compare.py's ``TIE``) and the Wilcoxon
signed-rank p over the tables, and the mean number of trials.

    .venv/bin/python benchmarks/space_ablation.py --repeats 1 \
        --reuse-others benchmarks/results/compare.csv \
        --spaces default learned=benchmarks/spaces/default_learned_portfolio.yaml \
                 catboost=benchmarks/spaces/default_plus_catboost.yaml
    .venv/bin/python benchmarks/space_ablation.py --report-only     # the table again from the saved CSVs
    .venv/bin/python benchmarks/space_ablation.py --repeats 1 --spaces default repeats-auto=default \
        --cv-repeats repeats-auto=auto --saved default --out benchmarks/results/repeats-ablation.md

``--saved LABEL`` tables that label's saved run (``space-ablation-<label>.csv``) instead of running
it again; ``--cv-repeats LABEL=VALUE`` sets that label's engine ``cv_repeats`` (compare.py's
``--cv-repeats``; default 1).

Writes ``results/space-ablation-<label>.md`` / ``.csv`` (compare.py's own report of each run)
and ``--out`` (default ``results/space-ablation.md``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from compare import TIE, _fmt, _table, commit_line, wilcoxon_p  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
AUTOGLUON = "autogluon"


def parse_spaces(specs: list[str]) -> dict[str, str]:
    """``label=path`` or a built-in name (its own label)."""
    spaces: dict[str, str] = {}
    for spec in specs:
        label, _, space = spec.partition("=")
        spaces[label] = space or label
    return spaces


def run_space(label: str, space: str, args: argparse.Namespace) -> float:
    """One compare.py run of the engine on ``space``; its wall time in minutes."""
    command = [sys.executable, str(ROOT / "benchmarks" / "compare.py"), "--space", space]
    command += ["--budget", str(args.budget), "--reuse-others", str(args.reuse_others)]
    command += ["--out", str(RESULTS / f"space-ablation-{label}.md")]
    command += ["--cv-repeats", args.cv_repeats[label]] if label in args.cv_repeats else []
    command += ["--repeats", str(args.repeats)] if args.repeats is not None else []
    command += ["--datasets", args.datasets] if args.datasets else []
    command += ["--max-folds", str(args.max_folds)] if args.max_folds is not None else []
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, check=True)
    return (time.monotonic() - started) / 60


def engine_rows(labels: list[str]) -> pd.DataFrame:
    """Every space's engine rows, and AutoGluon's (reused, the same in every run: the first's) for reference."""
    runs = {label: pd.read_csv(RESULTS / f"space-ablation-{label}.csv") for label in labels}
    frames = [rows[rows["method"] == "engine"].assign(space=label) for label, rows in runs.items()]
    first = runs[labels[0]]
    frames.append(first[first["method"] == AUTOGLUON].assign(space=AUTOGLUON))
    return pd.concat(frames, ignore_index=True)


def report(spaces: dict[str, str], rows: pd.DataFrame, header: list[str], cv_repeats: dict[str, str]) -> str:
    base = next(iter(spaces))
    files = {
        **{k: v + (f", cv_repeats {cv_repeats[k]}" if k in cv_repeats else "") for k, v in spaces.items()},
        AUTOGLUON: "(its rows reused with the peers')",
    }
    labels = [label for label in files if label in set(rows["space"])]
    per_table = {
        m: rows.pivot_table(index="dataset", columns="space", values=m, aggfunc="mean") for m in ("pr_auc", "f1")
    }
    trials = rows.assign(trials=pd.to_numeric(rows["n_trials"], errors="coerce")).groupby("space")["trials"].mean()
    body = []
    for label in labels:
        cells = [f"`{label}`", f"`{files[label]}`" if label in spaces else files[label]]
        for metric in ("pr_auc", "f1"):
            cells.append(_fmt(per_table[metric][label].mean(), 4))
        if label == base:
            cells += ["", "", "", ""]
        else:
            for metric in ("pr_auc", "f1"):
                diff = per_table[metric][label] - per_table[metric][base]
                wins, losses = int((diff >= TIE).sum()), int((diff <= -TIE).sum())
                cells.append(f"{wins}/{int(diff.notna().sum()) - wins - losses}/{losses}")
                cells.append(_fmt(wilcoxon_p(per_table[metric][label], per_table[metric][base]), 3))
        cells.append(_fmt(trials.get(label, np.nan), 1))
        body.append(cells)
    columns = ["space", "file", "PR-AUC", "F1", f"PR-AUC W/T/L vs {base}", "p", f"F1 W/T/L vs {base}", "p", "trials"]
    lines = [*header, "## Means over tables", "", *_table(columns, body), ""]
    for metric, title in (("pr_auc", "PR-AUC"), ("f1", "F1")):
        table = per_table[metric][labels]
        lines += [f"## {title} per table (mean over outer folds)", ""]
        lines += _table(["table", *labels], [[name, *(_fmt(v) for v in table.loc[name])] for name in table.index])
        lines += [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaces", nargs="+", default=["default"], help="label=path or a built-in name; first = base")
    parser.add_argument("--budget", type=float, default=15.0)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--datasets", default=None)
    parser.add_argument("--max-folds", type=int, default=None, help="only the first N outer folds (smoke tests)")
    parser.add_argument("--reuse-others", type=Path, default=RESULTS / "compare.csv")
    parser.add_argument("--report-only", action="store_true", help="table the saved space-ablation-*.csv again")
    parser.add_argument("--saved", nargs="*", default=[], help="labels tabled from their saved CSV, not run again")
    parser.add_argument("--cv-repeats", nargs="*", default=[], help="LABEL=VALUE: that label's engine cv_repeats")
    parser.add_argument("--out", type=Path, default=RESULTS / "space-ablation.md")
    args = parser.parse_args(argv)
    spaces = parse_spaces(args.spaces)
    args.cv_repeats = dict(spec.split("=", 1) for spec in args.cv_repeats)
    out = args.out
    header = [
        "# The engine on several search spaces or settings (issue 25, items 2, 3 and 4)",
        "",
        "Written by `benchmarks/space_ablation.py` (its docstring says what is measured); each space's own "
        "compare.py report is `space-ablation-<space>.md`, with its machine and package versions.",
        "",
    ]
    if not args.report_only:
        commit = commit_line()
        minutes = {label: run_space(label, space, args) for label, space in spaces.items() if label not in args.saved}
        command = " ".join(["benchmarks/space_ablation.py", *(argv if argv is not None else sys.argv[1:])])
        header += [
            f"Command: `.venv/bin/python {command}`, finished {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
            f"budget {args.budget:g} s per outer fold; wall minutes per space: "
            + ", ".join(f"{k} {v:.1f}" for k, v in minutes.items())
            + "."
            + (f" Tabled from their saved runs (not run again): {', '.join(args.saved)}." if args.saved else ""),
            "",
            commit,
            "",
        ]
    elif out.exists():
        kept = [line for line in out.read_text().splitlines() if line.startswith(("Command:", "Commit:"))]
        header += [line for kept_line in kept for line in (kept_line, "")]
    out.write_text(report(spaces, engine_rows(list(spaces)), header, args.cv_repeats))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
