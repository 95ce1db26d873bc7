"""Multi-class: the engine against fixed imbalance strategies and AutoGluon, at the same folds (the multi-class
counterpart of ``compare.py``, which it imports for the shared pieces).

Protocol (nested evaluation):

* Data: every CSV in ``benchmarks/data/keel-multiclass/`` (real KEEL/UCI datasets rebuilt by
  ``experiments/make_multiclass_data.py``; last column ``target``, class names as strings).
* Outer ``RepeatedStratifiedKFold(n_splits=5, n_repeats=1, random_state=0)`` (``--folds``,
  ``--repeats``): the same outer folds for every method. Everything a method learns sees the
  outer training part only; it is scored once on the untouched outer test fold.
* Metrics on the outer test fold: macro PR-AUC = the mean over the classes of one-vs-rest
  average precision of the ``predict_proba`` column of that class (columns looked up through the
  model's ``classes_``); macro F1 = ``f1_score(average="macro")`` of the method's own ``predict``;
  balanced accuracy of the same predictions.
* engine: ``strategy_search.search(X_tr, y_tr, timeout=BUDGET, seed=0, n_jobs=2)`` then
  ``best_pipeline()``; wall time = search + refit + predict.
* fixed peers, each an imbalanced-learn Pipeline (median impute + standard scale the numeric
  columns, one-hot encode string columns, fitted on the training part), single-threaded, seed 0;
  their ``predict`` is the argmax of ``predict_proba``:
  ``lightgbm`` (LGBMClassifier defaults), ``balanced_random_forest`` (imbalanced-learn,
  ``sampling_strategy="all", replacement=True, bootstrap=False``), ``smote_lightgbm`` (SMOTE with
  ``k_neighbors = min(5, smallest training class - 1)``, then LGBMClassifier).
* AutoGluon 1.6 in its own environment (as in ``compare.py``, through
  ``benchmarks/autogluon_peer.py``): ``TabularPredictor(problem_type="multiclass")`` with its
  default metric, ``fit(presets="best_quality", time_limit=BUDGET, dynamic_stacking=False,
  num_cpus=2)``, its own ``predict``; skipped with a note when that environment is missing
  (``--no-autogluon`` skips it on purpose).

A method that raises on a fold gets NaN for that fold (the error is in the CSV) and the run goes
on; means skip NaN and the tables count the failed folds.

    .venv/bin/python benchmarks/compare_multiclass.py                     # all datasets, 5 folds, budget 15 s
    .venv/bin/python benchmarks/compare_multiclass.py --no-engine --no-autogluon  # the fixed peers only
    .venv/bin/python benchmarks/compare_multiclass.py --datasets glass,ecoli --budget 5 --max-folds 1
    .venv/bin/python benchmarks/compare_multiclass.py --report-only benchmarks/results/compare-multiclass.csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import RepeatedStratifiedKFold

# compare.py is a script, not a package module: import it from its folder. It puts the
# repository root on sys.path, so strategy_search imports after it.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare
from compare import _error, _fmt, _table, commit_line, machine_lines, peer_pipeline, wilcoxon_p

ROOT = compare.ROOT
DATA_DIR = ROOT / "benchmarks" / "data" / "keel-multiclass"
OUT_PREFIX = ROOT / "benchmarks" / "results" / "compare-multiclass"
ENGINE = "engine"
AUTOGLUON = compare.AUTOGLUON
PEERS = ("lightgbm", "balanced_random_forest", "smote_lightgbm")
TIE = compare.TIE
SEED = compare.SEED


# -- data -------------------------------------------------------------------------------------
def load(data_dir: Path, name: str) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(data_dir / f"{name}.csv")
    # Labels stay strings (object dtype) so every method sees the class names, not codes.
    return frame.drop(columns="target"), frame["target"].astype(str).to_numpy(dtype=object)


# -- scoring ----------------------------------------------------------------------------------
def macro_pr_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Mean over the test fold's classes of one-vs-rest average precision."""
    proba = np.asarray(proba, dtype=float)
    classes = np.asarray(classes)
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        raise ValueError(f"predict_proba has shape {proba.shape} for {len(classes)} classes_")
    column = {label: i for i, label in enumerate(classes.tolist())}
    scores = []
    for label in np.unique(y):
        # A class the model never saw has no column: it scores the class as 0 everywhere.
        s = proba[:, column[label]] if label in column else np.zeros(len(y))
        scores.append(average_precision_score(y == label, s))
    return float(np.mean(scores))


def macro_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(f1_score(y, predicted, average="macro", zero_division=0))


def balanced_accuracy(y: np.ndarray, predicted: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true" is fine here
        return float(balanced_accuracy_score(y, predicted))


@dataclass
class Row:
    """One method on one outer fold (a row of the CSV)."""

    method: str
    pr_auc_macro: float = np.nan
    f1_macro: float = np.nan
    balanced_accuracy: float = np.nan
    seconds: float = np.nan
    strategy: str = ""
    n_trials: float = np.nan
    note: str = ""
    error: str = ""


def score(row: Row, model: Any, X_te: pd.DataFrame, y_te: np.ndarray) -> None:
    """Fill the metrics from a fitted model: PR-AUC from predict_proba, F1 and balanced accuracy
    from the model's own predict."""
    row.pr_auc_macro = macro_pr_auc(y_te, model.predict_proba(X_te), model.classes_)
    predicted = np.asarray(model.predict(X_te)).astype(str)
    row.f1_macro = macro_f1(y_te, predicted)
    row.balanced_accuracy = balanced_accuracy(y_te, predicted)


# -- the fixed peers --------------------------------------------------------------------------
def smote_neighbors(y_tr: np.ndarray) -> int:
    # SMOTE needs k_neighbors < the smallest class's size in the data it is fitted on.
    return max(1, min(5, int(pd.Series(y_tr).value_counts().min()) - 1))


def peer_steps(name: str, y_tr: np.ndarray) -> list[tuple[str, Any]]:
    """The steps after preprocessing for one peer (fresh estimators each call)."""
    from imblearn.ensemble import BalancedRandomForestClassifier
    from imblearn.over_sampling import SMOTE
    from lightgbm import LGBMClassifier

    def lgbm() -> Any:
        return LGBMClassifier(random_state=SEED, n_jobs=1, verbose=-1)

    if name == "lightgbm":
        return [("model", lgbm())]
    if name == "balanced_random_forest":
        brf = BalancedRandomForestClassifier(
            sampling_strategy="all", replacement=True, bootstrap=False, random_state=SEED, n_jobs=1
        )
        return [("model", brf)]
    if name == "smote_lightgbm":
        return [("smote", SMOTE(k_neighbors=smote_neighbors(y_tr), random_state=SEED)), ("model", lgbm())]
    raise ValueError(f"unknown peer {name!r}")


def run_peer(name: str, X_tr: pd.DataFrame, y_tr: np.ndarray, X_te: pd.DataFrame, y_te: np.ndarray) -> Row:
    row = Row(name)
    started = time.perf_counter()
    try:
        model = peer_pipeline(X_tr, peer_steps(name, y_tr)).fit(X_tr, y_tr)
        score(row, model, X_te, y_te)
    except Exception as exc:
        row = Row(name, error=_error(exc))  # no half-filled metrics from before the failure
    row.seconds = time.perf_counter() - started
    return row


# -- the engine -------------------------------------------------------------------------------
def run_engine(X_tr: pd.DataFrame, y_tr: np.ndarray, X_te: pd.DataFrame, y_te: np.ndarray, *, budget: float) -> Row:
    import strategy_search

    row = Row(ENGINE)
    started = time.perf_counter()
    try:
        result = strategy_search.search(X_tr, y_tr, timeout=budget, seed=SEED, n_jobs=2)
        searched = time.perf_counter() - started
        score(row, result.best_pipeline(), X_te, y_te)
    except Exception as exc:
        # A fresh row: no half-filled metrics from before the failure.
        return Row(ENGINE, seconds=time.perf_counter() - started, error=_error(exc))
    row.seconds = time.perf_counter() - started
    try:
        # Only descriptive: a failure here must not turn a scored fold into a failed one.
        row.strategy = result.best_strategy.describe()
        row.n_trials = sum(t.state.is_finished() for t in result.study.trials)  # not the WAITING portfolio
        row.note = compare._engine_note(result, searched, budget)
    except Exception as exc:
        row.note = f"no trial summary: {_error(exc)}"
    return row


# -- AutoGluon --------------------------------------------------------------------------------
def run_autogluon(
    peer: compare.AutoGluonPeer,
    X_tr: pd.DataFrame,
    y_tr: np.ndarray,
    X_te: pd.DataFrame,
    y_te: np.ndarray,
    *,
    budget: float,
) -> Row:
    row = Row(AUTOGLUON)
    started = time.perf_counter()
    try:
        answer = peer.ask(X_tr, y_tr, X_te, y_te, budget=budget, problem_type="multiclass", eval_metric=None)
        if "error" in answer:
            row.error = answer["error"]
        else:
            row.pr_auc_macro = macro_pr_auc(y_te, np.asarray(answer["proba"]), np.asarray(answer["classes"]))
            predicted = np.asarray(answer["predicted"]).astype(str)
            row.f1_macro, row.balanced_accuracy = macro_f1(y_te, predicted), balanced_accuracy(y_te, predicted)
            row.strategy, row.note = answer["model"], f"fit={answer['fit_seconds']:.1f}s"
    except Exception as exc:
        row = Row(AUTOGLUON, error=_error(exc))
    row.seconds = time.perf_counter() - started
    return row


# -- the loop ---------------------------------------------------------------------------------
def outer_folds(y: np.ndarray, folds: int, repeats: int) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=0)
    return [(i // folds, i % folds, tr, te) for i, (tr, te) in enumerate(splitter.split(np.zeros(len(y)), y))]


def run_fold(
    X_tr: pd.DataFrame, y_tr: np.ndarray, X_te: pd.DataFrame, y_te: np.ndarray, args: argparse.Namespace
) -> list[Row]:
    from threadpoolctl import threadpool_limits

    rows = [] if args.no_engine else [run_engine(X_tr, y_tr, X_te, y_te, budget=args.budget)]
    if args.autogluon is not None:
        rows.append(run_autogluon(args.autogluon, X_tr, y_tr, X_te, y_te, budget=args.budget))
    # The peers are meant single-threaded: cap BLAS/OpenMP pools, not only n_jobs.
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows += [run_peer(peer, X_tr, y_tr, X_te, y_te) for peer in PEERS]
    return rows


def run_dataset(name: str, args: argparse.Namespace, log: Callable[[str], None]) -> list[dict]:
    X, y = load(args.data_dir, name)
    rows: list[dict] = []
    for repeat, fold, tr, te in outer_folds(y, args.folds, args.repeats)[: args.max_folds]:
        X_tr, X_te = X.iloc[tr].reset_index(drop=True), X.iloc[te].reset_index(drop=True)
        fold_rows = run_fold(X_tr, y[tr], X_te, y[te], args)
        rows += [{"dataset": name, "repeat": repeat, "fold": fold, **r.__dict__} for r in fold_rows]
        log(
            f"{name} r{repeat} f{fold}: "
            + " | ".join(
                f"{r.method} PR-AUC {r.pr_auc_macro:.3f} F1 {r.f1_macro:.3f} ({r.seconds:.1f}s"
                + (f", {r.strategy}" if r.strategy else "")
                + (f", ERROR {r.error[:120]}" if r.error else "")
                + ")"
                for r in fold_rows
            )
        )
    return rows


# -- the report -------------------------------------------------------------------------------
TEXT_COLUMNS = ("strategy", "note", "error")


def read_rows(path: Path) -> pd.DataFrame:
    # Text columns that are empty on every row would come back as float NaN otherwise.
    frame = pd.read_csv(path, dtype=dict.fromkeys(TEXT_COLUMNS, str))
    return frame.fillna(dict.fromkeys(TEXT_COLUMNS, ""))


METRICS = {"pr_auc_macro": "macro PR-AUC", "f1_macro": "macro F1", "balanced_accuracy": "balanced acc"}


def means(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """dataset x method table of outer-fold means."""
    return rows.pivot_table(index="dataset", columns="method", values=metric, aggfunc="mean", dropna=False)


def failed(rows: pd.DataFrame, method: str) -> int:
    return int((rows.loc[rows["method"] == method, "error"].fillna("") != "").sum())


def wins_ties_losses(engine: pd.Series, other: pd.Series) -> str:
    diff = engine - other
    wins, losses = int((diff >= TIE).sum()), int((diff <= -TIE).sum())
    return f"{wins}/{int(diff.notna().sum()) - wins - losses}/{losses}"


def overall_section(rows: pd.DataFrame, methods: list[str]) -> list[str]:
    tables = {metric: means(rows, metric) for metric in METRICS}
    pr, f1 = tables["pr_auc_macro"], tables["f1_macro"]
    rank = pr[methods].rank(axis=1, ascending=False, method="average")
    has_engine = ENGINE in methods
    body = []
    for method in methods:
        cells = [method, *(_fmt(tables[m][method].mean()) for m in METRICS), _fmt(rank[method].mean(), 2)]
        if has_engine:
            versus = method == ENGINE
            cells += [
                "" if versus else wins_ties_losses(pr[ENGINE], pr[method]),
                "" if versus else wins_ties_losses(f1[ENGINE], f1[method]),
                "" if versus else _fmt(wilcoxon_p(pr[ENGINE], pr[method]), 4),
            ]
        total = rows.loc[rows["method"] == method, "seconds"].sum()
        cells += [f"{total:.1f}", str(failed(rows, method) or "")]
        body.append(cells)
    header = ["method", *(f"mean {label}" for label in METRICS.values()), "mean rank (PR-AUC)"]
    if has_engine:
        header += ["engine W/T/L (PR-AUC)", "engine W/T/L (F1)", "Wilcoxon p (PR-AUC)"]
    header += ["total wall s", "failed folds"]
    peers = [m for m in methods if m != ENGINE]
    best_peer = max(peers, key=lambda m: pr[m].mean())
    n = pr.shape[0]
    explanation = (
        "Means over datasets of the per-dataset means over outer folds. Rank: among the methods per dataset by "
        "macro PR-AUC (1 = best)."
    )
    if has_engine:
        explanation += (
            f" W/T/L: datasets where the engine's mean is higher / within {TIE} / lower. Wilcoxon: signed-rank "
            "test over datasets of the per-dataset mean macro PR-AUC, two-sided"
            + (" (too few datasets for it to mean much)." if n < 6 else ".")
        )
    lines = [f"## Overall ({n} datasets)", "", explanation, "", *_table(header, body), ""]
    best = f"Best peer by mean macro PR-AUC: **{best_peer}** ({_fmt(pr[best_peer].mean())})"
    if has_engine:
        best += f"; engine {_fmt(pr[ENGINE].mean())}, F1 {_fmt(f1[ENGINE].mean())} vs {_fmt(f1[best_peer].mean())}"
    return [*lines, best + ".", ""]


def argmax_section(rows: pd.DataFrame) -> list[str]:
    """The engine's macro F1 against argmax LightGBM per dataset, with the folds' spread: the
    decision rule must not lose to argmax by more than noise."""
    methods = set(rows["method"])
    if not {ENGINE, "lightgbm"} <= methods:
        return []
    pairs = rows[rows["method"].isin([ENGINE, "lightgbm"])].pivot_table(
        index=["dataset", "repeat", "fold"], columns="method", values="f1_macro"
    )
    diff = (pairs[ENGINE] - pairs["lightgbm"]).dropna()
    body = []
    for name, d in diff.groupby(level="dataset", sort=False):
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan
        verdict = "above" if d.mean() >= 0 else ("within noise" if d.mean() >= -2 * se else "**below**")
        body.append([str(name), _fmt(d.mean()), _fmt(d.std(ddof=1)), _fmt(se), str(len(d)), verdict])
    return [
        "## Macro F1: engine minus argmax LightGBM",
        "",
        "Per dataset over the outer folds: mean and standard deviation of the fold-wise difference, its "
        "standard error (sd / sqrt(folds)); 'within noise' = below zero by less than two standard errors.",
        "",
        *_table(["dataset", "mean diff", "fold sd", "s.e.", "folds", "engine vs argmax"], body),
        "",
    ]


def class_counts(data_dir: Path, name: str) -> str:
    path = data_dir / f"{name}.csv"
    if not path.is_file():
        return ""
    counts = pd.read_csv(path, usecols=["target"])["target"].astype(str).value_counts()
    return f" ({counts.sum()} rows; " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")"


def dataset_section(name: str, rows: pd.DataFrame, methods: list[str], data_dir: Path) -> list[str]:
    part = rows[rows["dataset"] == name]
    body = []
    for method in methods:
        r = part[part["method"] == method]
        cells = [method, *(_fmt(r[m].mean()) for m in METRICS), f"{r['seconds'].sum():.1f}"]
        body.append([*cells, str(failed(part, method) or "")])
    header = ["method", *METRICS.values(), "wall s", "failed folds"]
    lines = [f"### {name}{class_counts(data_dir, name)}", "", *_table(header, body), ""]
    winners = part.loc[part["method"] == ENGINE, "strategy"].fillna("").replace("", np.nan).dropna().value_counts()
    if len(winners):
        lines += ["Engine's winning strategies: " + "; ".join(f"{s} (x{n})" for s, n in winners.items()), ""]
    return lines


def errors_section(rows: pd.DataFrame) -> list[str]:
    errors = rows[rows["error"].fillna("") != ""]
    if errors.empty:
        return []
    body = [
        [r.dataset, f"r{r.repeat} f{r.fold}", r.method, str(r.error)[:200].replace("|", "/")]
        for r in errors.itertuples()
    ]
    return ["## Errors", "", *_table(["dataset", "fold", "method", "error"], body), ""]


def report(rows: pd.DataFrame, args: argparse.Namespace, *, command: str, started: dt.datetime, elapsed: float) -> str:
    methods = list(rows["method"].drop_duplicates())
    when = (
        f"Date: {started:%Y-%m-%d %H:%M} (report rewritten from saved rows; pass the run's --budget)."
        if args.report_only
        else f"Date: {started:%Y-%m-%d %H:%M} (total wall time {elapsed / 60:.1f} min)."
    )
    run = rows.groupby(["repeat", "fold"]).ngroups
    protocol = (
        f"Outer CV: stratified {args.folds} folds x {args.repeats} repeat(s), random_state=0 ({run} outer "
        "fold(s) run per dataset), the same folds for every method. Engine: `search(timeout=BUDGET, seed=0, n_jobs=2)` "
        f"with BUDGET = {args.budget:g} s per outer fold, then `best_pipeline()`. Fixed peers single-threaded, "
        "argmax predictions. AutoGluon (own environment): `TabularPredictor(problem_type='multiclass')` with "
        "its default metric, `fit(presets='best_quality', time_limit=BUDGET, dynamic_stacking=False, "
        "num_cpus=2)`, its own `predict`. Macro PR-AUC: mean over the test fold's classes of one-vs-rest "
        "average precision of the class's `predict_proba` column; macro F1 and balanced accuracy from "
        "each method's own `predict`. "
        f"Raw per-fold rows: `{args.csv.name}`."
    )
    lines = [
        "# Multi-class: engine vs fixed strategies and AutoGluon",
        "",
        f"Command: `{command}`",
        "",
        commit_line(),
        "",
        when,
        "",
        *machine_lines(args.autogluon_python),
        "",
        protocol,
        "",
    ]
    if getattr(args, "autogluon_note", None):
        lines += [f"**AutoGluon did not run**: {args.autogluon_note}.", ""]
    if ENGINE not in methods:
        lines += ["**The engine did not run** (`--no-engine`): peers only, no engine comparison.", ""]
    lines += [*overall_section(rows, methods), *argmax_section(rows), "## Per dataset", ""]
    for name in rows["dataset"].drop_duplicates():
        lines += dataset_section(name, rows, methods, args.data_dir)
    return "\n".join([*lines, *errors_section(rows)])


# -- main -------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget", type=float, default=15.0, help="engine and AutoGluon seconds per outer fold (default 15)"
    )
    parser.add_argument("--datasets", type=str, default=None, help="comma-separated names (default: all)")
    parser.add_argument("--folds", type=int, default=5, help="outer CV folds (default 5)")
    parser.add_argument("--repeats", type=int, default=1, help="outer CV repeats (default 1)")
    parser.add_argument("--no-engine", action="store_true", help="leave the engine out")
    parser.add_argument("--no-autogluon", action="store_true", help="leave AutoGluon out")
    parser.add_argument(
        "--autogluon-python",
        type=Path,
        default=compare.AUTOGLUON_PYTHON,
        help="the Python of AutoGluon's own environment (default .venv-autogluon/bin/python)",
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--max-folds", type=int, default=None, help="only the first N outer folds (smoke tests)")
    parser.add_argument("--report-only", type=Path, default=None, help="rewrite the report from this per-fold CSV")
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT_PREFIX,
        help="output prefix: writes PREFIX.csv and PREFIX.md (default %(default)s)",
    )
    args = parser.parse_args(argv)
    available = compare.dataset_names(args.data_dir)
    args.names = [n.strip() for n in args.datasets.split(",") if n.strip()] if args.datasets else available
    unknown = [n for n in args.names if n not in available]
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; available: {available}")
    # A prefix given with an extension ("x.md") still names both files.
    prefix = args.out.with_suffix("") if args.out.suffix in (".md", ".csv") else args.out
    args.md, args.csv = Path(f"{prefix}.md"), Path(f"{prefix}.csv")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    command = ".venv/bin/python " + " ".join(
        shlex.quote(a) for a in [f"benchmarks/{Path(__file__).name}", *(sys.argv[1:] if argv is None else argv)]
    )
    started, clock = dt.datetime.now(), time.perf_counter()
    args.md.parent.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        frame = read_rows(args.report_only)
        args.csv = args.report_only
        # The fold layout is the saved run's, not this command line's defaults.
        args.repeats, args.folds = int(frame["repeat"].nunique()), int(frame["fold"].nunique())
    else:
        args.autogluon_note = (
            "--no-autogluon" if args.no_autogluon else compare.AutoGluonPeer.available(args.autogluon_python)
        )
        if args.autogluon_note and not args.no_autogluon:
            print(f"WARNING: AutoGluon skipped: {args.autogluon_note}", file=sys.stderr)
        args.autogluon = None if args.autogluon_note else compare.AutoGluonPeer(args.autogluon_python)
        rows: list[dict] = []
        try:
            for name in args.names:
                rows += run_dataset(name, args, log=lambda s: print(s, flush=True))
                pd.DataFrame(rows).to_csv(args.csv, index=False)  # partial results survive an interruption
        finally:
            if args.autogluon is not None:
                args.autogluon.close()
        frame = pd.DataFrame(rows)
    text = report(frame, args, command=command, started=started, elapsed=time.perf_counter() - clock)
    args.md.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
