"""The engine against fixed imbalance strategies, FLAML and AutoGluon, at the same time budget (issues 4, 14).

Protocol (nested evaluation):

* Outer ``RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)``: the same outer
  folds for every method. Everything a method learns (preprocessing, resampling, its model, its
  threshold, the engine's whole search) sees the outer training part only; it is scored once
  on the untouched outer test fold: PR-AUC (average precision) from ``predict_proba[:, 1]``,
  F1 from the method's own hard predictions.
* engine: ``strategy_search.search(X_tr, y_tr, timeout=BUDGET, seed=0, n_jobs=2)`` (its own
  inner CV), then ``best_pipeline()`` (its answer: by default an ensemble of its best trials,
  each member's inner-CV fold models averaged (``search.answer: bagged``), its probabilities
  recalibrated on out-of-fold scores where that lowers CV log-loss); F1 from ``predict`` (its
  tuned threshold). Wall time = search + building the answer + predict.
* eight fixed peers, each an imbalanced-learn Pipeline (median impute + standard scale the
  numeric columns, one-hot encode string columns with ``handle_unknown="ignore"``, fitted on
  the training part), single-threaded, seed 0. Each is reported twice: ``<peer>@0.5`` (F1 at
  threshold 0.5) and ``<peer>@tuned`` (F1 at the best-F1 threshold of 3-fold out-of-fold
  ``cross_val_predict`` scores on the training part, placed halfway to the next lower score).
  PR-AUC is the same for both.
* FLAML: ``AutoML().fit(X_tr, y_tr, task="classification", metric="ap", time_budget=BUDGET,
  n_jobs=2, seed=0, verbose=0)`` on the raw frame (string columns as pandas ``category``);
  F1 from ``predict``. Skipped with a note if ``flaml`` cannot be imported.
* AutoGluon 1.6: ``TabularPredictor(eval_metric="average_precision").fit(presets="best_quality",
  time_limit=BUDGET, dynamic_stacking=False, num_cpus=2)`` on the raw frame, then the F1
  threshold calibrated on its own validation data (``calibrate_decision_threshold(metric="f1")``);
  F1 from ``predict``. It needs pandas < 2.4, so it runs in its own environment
  (``.venv-autogluon``, made as ``benchmarks/autogluon_peer.py`` says) through that script;
  skipped with a note when that environment is missing (``--autogluon-python`` names another).

A method that raises on a fold gets NaN for that fold (the error is in the CSV) and the run
goes on; means skip NaN and the tables count the failed folds.

    .venv/bin/python benchmarks/compare.py                      # 16 datasets x 10 outer folds, budget 15 s
    .venv/bin/python benchmarks/compare.py --quick              # 4 datasets x 5 folds -> compare-quick.md
    .venv/bin/python benchmarks/compare.py --quick --budget 3 --datasets glass4 --repeats 1 --no-flaml --no-autogluon
    .venv/bin/python benchmarks/compare.py --report-only benchmarks/results/compare.csv   # report from saved rows
    .venv/bin/python benchmarks/compare.py --reuse-others OLD.csv   # rerun the engine only, peers from OLD.csv
    .venv/bin/python benchmarks/compare.py --quick --space deep --reuse-others benchmarks/results/compare-quick.csv \
        --out benchmarks/results/compare-quick-deep.md                # the engine on another search space
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# After the sys.path line above. best_f1_threshold: the engine's rule (best F1, cut halfway to the next lower score).
import strategy_search  # noqa: E402
from strategy_search.thresholds import best_f1_threshold  # noqa: E402

DATA_DIR = ROOT / "benchmarks" / "data" / "keel"
RESULTS = ROOT / "benchmarks" / "results"
QUICK_DATASETS = ("yeast5", "abalone9-18", "glass4", "vehicle0")
ENGINE, FLAML, AUTOGLUON = "engine", "flaml", "autogluon"
# The AutoML peers: one row per fold, F1 from their own predict (no @0.5 / @tuned pair).
AUTOML = (FLAML, AUTOGLUON)
AUTOGLUON_PYTHON = ROOT / ".venv-autogluon" / "bin" / "python"
TIE = 0.001
SEED = 0


# -- data -------------------------------------------------------------------------------------
def dataset_names(data_dir: Path) -> list[str]:
    return sorted(p.stem for p in data_dir.glob("*.csv"))


def load(data_dir: Path, name: str) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(data_dir / f"{name}.csv")
    return frame.drop(columns="target"), frame["target"].to_numpy(dtype=int)


def string_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


# -- scoring ----------------------------------------------------------------------------------
def pr_auc(y: np.ndarray, scores: np.ndarray) -> float:
    return float(average_precision_score(y, scores))


def f1(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(f1_score(y, np.asarray(predicted).astype(int), zero_division=0))


# -- the fixed peers --------------------------------------------------------------------------
def preprocessing(X: pd.DataFrame) -> ColumnTransformer:
    strings = string_columns(X)
    numeric = [c for c in X.columns if c not in strings]
    numeric_steps = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    string_steps = make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    )
    return ColumnTransformer([("num", numeric_steps, numeric), ("str", string_steps, strings)])


def peer_models() -> dict[str, Callable[[], list[tuple[str, Any]]]]:
    """Peer name -> the steps after preprocessing (a fresh list per call)."""
    from imblearn.ensemble import BalancedRandomForestClassifier
    from imblearn.over_sampling import SMOTE
    from lightgbm import LGBMClassifier
    from xgboost import XGBClassifier

    def lgbm(**kw: Any) -> Any:
        return LGBMClassifier(random_state=SEED, n_jobs=1, verbose=-1, **kw)

    def logreg() -> Any:
        return LogisticRegression(max_iter=2000, random_state=SEED)

    return {
        "lightgbm": lambda: [("model", lgbm())],
        "lightgbm_balanced": lambda: [("model", lgbm(class_weight="balanced"))],
        "xgboost": lambda: [("model", XGBClassifier(random_state=SEED, n_jobs=1, verbosity=0))],
        "random_forest": lambda: [("model", RandomForestClassifier(n_estimators=300, random_state=SEED, n_jobs=1))],
        "balanced_random_forest": lambda: [
            ("model", BalancedRandomForestClassifier(n_estimators=300, random_state=SEED, n_jobs=1))
        ],
        "logreg_balanced": lambda: [
            ("model", LogisticRegression(class_weight="balanced", max_iter=2000, random_state=SEED))
        ],
        "smote_logreg": lambda: [("smote", SMOTE(random_state=SEED)), ("model", logreg())],
        "smote_lightgbm": lambda: [("smote", SMOTE(random_state=SEED)), ("model", lgbm())],
    }


def peer_pipeline(X: pd.DataFrame, steps: list[tuple[str, Any]]) -> Any:
    from imblearn.pipeline import Pipeline

    return Pipeline([("prep", preprocessing(X)), *steps])


@dataclass
class Row:
    """One method on one outer fold (a row of the CSV)."""

    method: str
    pr_auc: float = np.nan
    f1: float = np.nan
    threshold: float = np.nan
    seconds: float = np.nan
    strategy: str = ""
    n_trials: float = np.nan
    note: str = ""
    error: str = ""


def _error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {Path(last.filename).name}:{last.lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"[:500].replace("\n", " ")


def run_peer(name: str, steps: Callable[[], list], X_tr, y_tr, X_te, y_te) -> list[Row]:
    """``<name>@0.5`` and ``<name>@tuned`` on one outer fold (one refit shared by both)."""
    at_half, tuned = Row(f"{name}@0.5"), Row(f"{name}@tuned")
    try:
        started = time.perf_counter()
        model = peer_pipeline(X_tr, steps()).fit(X_tr, y_tr)
        scores = model.predict_proba(X_te)[:, 1]
        fit_seconds = time.perf_counter() - started
        at_half.pr_auc = tuned.pr_auc = pr_auc(y_te, scores)
        at_half.f1, at_half.threshold, at_half.seconds = f1(y_te, scores >= 0.5), 0.5, fit_seconds
    except Exception as exc:
        at_half.error = tuned.error = _error(exc)
        return [at_half, tuned]
    try:
        started = time.perf_counter()
        inner = StratifiedKFold(n_splits=3, shuffle=True, random_state=SEED)
        oof = cross_val_predict(peer_pipeline(X_tr, steps()), X_tr, y_tr, cv=inner, method="predict_proba")[:, 1]
        tuned.threshold = best_f1_threshold(y_tr, oof)
        tuned.f1 = f1(y_te, scores >= tuned.threshold)
        tuned.seconds = fit_seconds + time.perf_counter() - started
    except Exception as exc:
        tuned.pr_auc, tuned.error = np.nan, _error(exc)
    return [at_half, tuned]


# -- the engine and FLAML ---------------------------------------------------------------------
def run_engine(X_tr, y_tr, X_te, y_te, *, budget: float, space: str = "default", cv_repeats: int | str = 1) -> Row:
    row = Row(ENGINE)
    started = time.perf_counter()
    try:
        result = strategy_search.search(
            X_tr, y_tr, space=space, timeout=budget, seed=SEED, n_jobs=2, cv_repeats=cv_repeats
        )
        searched = time.perf_counter() - started
        model = result.best_pipeline()
        row.pr_auc = pr_auc(y_te, model.predict_proba(X_te)[:, 1])
        row.f1 = f1(y_te, model.predict(X_te))
        row.strategy = result.best_strategy.describe()
        row.threshold = result.best_strategy.threshold
        row.n_trials = sum(t.state.is_finished() for t in result.study.trials)  # not the WAITING portfolio
        row.note = _engine_note(result, searched, budget)
    except Exception as exc:
        row.error = _error(exc)
    row.seconds = time.perf_counter() - started
    return row


def _engine_note(result: Any, searched: float, budget: float) -> str:
    """Trial states, failure reasons and the time past the budget (oddities worth a look)."""
    board = result.leaderboard
    states = board["state"].value_counts().to_dict() if len(board) else {}
    parts = [" ".join(f"{k.lower()}={v}" for k, v in sorted(states.items())), f"search={searched:.1f}s"]
    if searched > budget + 2:
        parts.append(f"OVER_BUDGET+{searched - budget:.1f}s")
    failed = board.loc[board["state"] == "FAIL", "fail_reason"].dropna() if len(board) else []
    for reason, count in pd.Series(failed, dtype=object).value_counts().head(3).items():
        parts.append(f"FAIL x{count}: {str(reason)[:150]}")
    return "; ".join(parts)


def flaml_available() -> str | None:
    """None when FLAML can be used, else why not."""
    try:
        import flaml.automl  # noqa: F401
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def run_flaml(X_tr, y_tr, X_te, y_te, *, budget: float) -> Row:
    from flaml import AutoML

    row = Row(FLAML)
    started = time.perf_counter()
    try:
        strings = string_columns(X_tr)
        categories = {c: pd.CategoricalDtype(sorted(X_tr[c].dropna().astype(str).unique())) for c in strings}
        as_category = lambda X: X.astype({c: str for c in strings}).astype(categories)
        automl = AutoML()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            automl.fit(
                as_category(X_tr),
                y_tr,
                task="classification",
                metric="ap",
                time_budget=budget,
                n_jobs=2,
                seed=SEED,
                verbose=0,
            )
            row.pr_auc = pr_auc(y_te, automl.predict_proba(as_category(X_te))[:, 1])
            row.f1 = f1(y_te, automl.predict(as_category(X_te)))
        row.strategy = str(automl.best_estimator)
    except Exception as exc:
        row.error = _error(exc)
    row.seconds = time.perf_counter() - started
    return row


class AutoGluonPeer:
    """``benchmarks/autogluon_peer.py`` running in AutoGluon's own environment, one fold per request."""

    def __init__(self, python: Path):
        import subprocess

        self.process = subprocess.Popen(
            [str(python), str(ROOT / "benchmarks" / "autogluon_peer.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"compare-autogluon-{os.getpid()}"
        self.folder.mkdir(exist_ok=True)

    @staticmethod
    def available(python: Path) -> str | None:
        """None when AutoGluon can be used, else why not."""
        import subprocess

        if not python.exists():
            return f"no AutoGluon environment at {python} (make it as benchmarks/autogluon_peer.py says)"
        done = subprocess.run([str(python), "-c", "import autogluon.tabular"], capture_output=True, text=True)
        return None if done.returncode == 0 else done.stderr.strip().splitlines()[-1][:300]

    def ask(self, X_tr, y_tr, X_te, y_te, *, budget: float, **options: Any) -> dict:
        """Fit one outer fold in AutoGluon's process; its answer (``error`` when it failed)."""
        import json

        paths = {"train": self.folder / "train.csv", "test": self.folder / "test.csv"}
        X_tr.assign(target=y_tr).to_csv(paths["train"], index=False)
        X_te.assign(target=y_te).to_csv(paths["test"], index=False)
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {**{k: str(v) for k, v in paths.items()}, "budget": budget, **options}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline() or '{"error": "the AutoGluon process ended"}')

    def run(self, X_tr, y_tr, X_te, y_te, *, budget: float) -> Row:
        row = Row(AUTOGLUON)
        started = time.perf_counter()
        try:
            answer = self.ask(X_tr, y_tr, X_te, y_te, budget=budget)
            if "error" in answer:
                row.error = answer["error"]
            else:
                row.pr_auc = pr_auc(y_te, np.asarray(answer["scores"]))
                row.f1 = f1(y_te, np.asarray(answer["predicted"]))
                row.threshold, row.strategy = answer["threshold"], answer["model"]
                row.note = f"fit={answer['fit_seconds']:.1f}s"
        except Exception as exc:
            row.error = _error(exc)
        row.seconds = time.perf_counter() - started
        return row

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def autogluon_version(python: Path) -> str:
    import subprocess

    try:
        done = subprocess.run(
            [str(python), "-c", "from importlib.metadata import version; print(version('autogluon.tabular'))"],
            capture_output=True,
            text=True,
        )
    except OSError:  # no such environment (a run with --no-autogluon needs none)
        return "(not installed)"
    return done.stdout.strip() if done.returncode == 0 else "(not installed)"


# -- the loop ---------------------------------------------------------------------------------
def outer_folds(y: np.ndarray, repeats: int) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    splitter = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=0)
    return [(i // 5, i % 5, tr, te) for i, (tr, te) in enumerate(splitter.split(np.zeros(len(y)), y))]


def reused_rows(saved: pd.DataFrame, name: str, repeat: int, fold: int) -> list[Row]:
    """The peers' and FLAML's rows for one outer fold from an earlier run's CSV (same folds:
    outer splits depend only on the seed), so a change to the engine can be re-measured in
    the time its own searches take."""
    here = saved[
        (saved["dataset"] == name) & (saved["repeat"] == repeat) & (saved["fold"] == fold) & (saved["method"] != ENGINE)
    ]
    if here.empty:
        raise SystemExit(f"--reuse-others has no rows for {name} repeat {repeat} fold {fold}; run without it.")
    fields = Row.__dataclass_fields__
    return [
        Row(**{k: (fields[k].default if pd.isna(v) else v) for k, v in r.items() if k in fields})
        for r in here.to_dict("records")
    ]


def run_dataset(
    name: str,
    args: argparse.Namespace,
    use_flaml: bool,
    log: Callable[[str], None],
    autogluon: AutoGluonPeer | None = None,
) -> list[dict]:
    from threadpoolctl import threadpool_limits

    X, y = load(args.data_dir, name)
    rows: list[dict] = []
    for repeat, fold, tr, te in outer_folds(y, args.repeats)[: args.max_folds]:
        X_tr, X_te = X.iloc[tr].reset_index(drop=True), X.iloc[te].reset_index(drop=True)
        y_tr, y_te = y[tr], y[te]
        fold_rows = [
            run_engine(X_tr, y_tr, X_te, y_te, budget=args.budget, space=args.space, cv_repeats=args.cv_repeats)
        ]
        if args.reuse_others is not None:
            fold_rows += reused_rows(args.reuse_others, name, repeat, fold)
        else:
            with threadpool_limits(limits=1), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for peer, steps in peer_models().items():
                    fold_rows += run_peer(peer, steps, X_tr, y_tr, X_te, y_te)
            if use_flaml:
                fold_rows.append(run_flaml(X_tr, y_tr, X_te, y_te, budget=args.budget))
            if autogluon is not None:
                fold_rows.append(autogluon.run(X_tr, y_tr, X_te, y_te, budget=args.budget))
        for row in fold_rows:
            rows.append({"dataset": name, "repeat": repeat, "fold": fold, **row.__dict__})
        engine = fold_rows[0]
        log(
            f"{name} r{repeat} f{fold}: engine PR-AUC {engine.pr_auc:.3f} F1 {engine.f1:.3f} "
            f"({engine.seconds:.1f}s, {engine.strategy or engine.error}) | "
            + " ".join(f"{r.method}={r.pr_auc:.3f}" for r in fold_rows[1:] if not r.method.endswith("@tuned"))
        )
    return rows


# -- the report -------------------------------------------------------------------------------
def peer_names(methods: list[str]) -> list[str]:
    return [m.removesuffix("@0.5") for m in methods if m.endswith("@0.5")]


def pr_auc_methods(methods: list[str]) -> list[str]:
    """One name per distinct PR-AUC (a peer's @0.5 and @tuned share theirs)."""
    return [ENGINE, *peer_names(methods), *[m for m in AUTOML if m in methods]]


def _pr_column(method: str) -> str:
    return method if method in (ENGINE, *AUTOML) else f"{method}@0.5"


def per_dataset_means(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(PR-AUC, F1) as dataset x method tables of outer-fold means."""
    pr = rows.pivot_table(index="dataset", columns="method", values="pr_auc", aggfunc="mean", dropna=False)
    f = rows.pivot_table(index="dataset", columns="method", values="f1", aggfunc="mean", dropna=False)
    return pr, f


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in body)]


def dataset_section(name: str, rows: pd.DataFrame, methods: list[str]) -> list[str]:
    part = rows[rows["dataset"] == name]
    body = []
    for method in methods:
        r = part[part["method"] == method]
        errors = int((r["error"].fillna("") != "").sum())
        body.append(
            [
                method,
                _fmt(r["pr_auc"].mean()),
                _fmt(r["f1"].mean()),
                f"{r['seconds'].sum():.0f}",
                str(errors) if errors else "",
            ]
        )
    winners = part.loc[part["method"] == ENGINE, "strategy"].replace("", np.nan).dropna().value_counts()
    lines = [f"### {name}", "", *_table(["method", "PR-AUC", "F1", "wall s", "failed folds"], body), ""]
    if len(winners):
        lines += ["Engine's winning strategies: " + "; ".join(f"{s} (x{n})" for s, n in winners.items()), ""]
    return lines


def wilcoxon_p(a: pd.Series, b: pd.Series) -> float:
    from scipy.stats import wilcoxon

    diff = (a - b).dropna()
    if len(diff) < 2 or np.allclose(diff, 0):
        return np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(wilcoxon(diff).pvalue)


def overall_section(rows: pd.DataFrame, methods: list[str]) -> tuple[list[str], dict[str, Any]]:
    pr, f = per_dataset_means(rows)
    ranked = pr_auc_methods(methods)
    pr_rank = pr[[_pr_column(m) for m in ranked]].rank(axis=1, ascending=False, method="average")
    pr_rank.columns = ranked
    peers = [m for m in ranked if m != ENGINE]
    best_peer = max(peers, key=lambda m: pr[_pr_column(m)].mean())
    body = []
    for method in methods:
        key = method.removesuffix("@0.5").removesuffix("@tuned")
        share_pr = method.endswith("@tuned")  # its PR-AUC / rank / W-T-L are the @0.5 row's
        errors = int((rows.loc[rows["method"] == method, "error"].fillna("") != "").sum())
        cells = [
            method,
            _fmt(pr[method].mean()),
            _fmt(f[method].mean()),
            "" if share_pr else _fmt(pr_rank[key].mean(), 2),
        ]
        if method == ENGINE or share_pr:
            cells += ["", ""]
        else:
            diff = pr[ENGINE] - pr[method]
            wins, losses = int((diff >= TIE).sum()), int((diff <= -TIE).sum())
            ties = int(diff.notna().sum()) - wins - losses
            cells += [f"{wins}/{ties}/{losses}", _fmt(wilcoxon_p(pr[ENGINE], pr[method]), 4)]
        cells += [f"{rows.loc[rows['method'] == method, 'seconds'].sum():.0f}", str(errors) if errors else ""]
        body.append(cells)
    header = [
        "method",
        "mean PR-AUC",
        "mean F1",
        "mean rank (PR-AUC)",
        "engine W/T/L (PR-AUC)",
        "Wilcoxon p (engine vs)",
        "total wall s",
        "failed folds",
    ]
    p_best = wilcoxon_p(pr[ENGINE], pr[_pr_column(best_peer)])
    lines = [
        f"## Overall ({pr.shape[0]} datasets)",
        "",
        (
            "Means over datasets of the per-dataset means over outer folds. Rank: among the "
            f"{len(ranked)} distinct PR-AUCs per dataset (1 = best; a peer's @0.5 and @tuned share one). "
            f"W/T/L: datasets where the engine's mean PR-AUC is higher / within {TIE} / lower. Wilcoxon: "
            "signed-rank test over datasets of the per-dataset mean PR-AUC, two-sided."
        ),
        "",
        *_table(header, body),
        "",
        f"Best peer by mean PR-AUC: **{best_peer}** ({_fmt(pr[_pr_column(best_peer)].mean())}); engine vs it: "
        f"Wilcoxon p = {_fmt(p_best, 4)} over {pr.shape[0]} datasets"
        + (" (too few datasets for the test to mean much)." if pr.shape[0] < 6 else "."),
        "",
    ]
    return lines, {"pr": pr, "f": f, "best_peer": best_peer}


def _verdict(ok: bool, *values: float) -> str:
    if not all(np.isfinite(v) for v in values):
        return "**NOT ESTABLISHED** (missing results)"
    return "**HOLDS**" if ok else "**DOES NOT HOLD**"


def targets_section(
    rows: pd.DataFrame, methods: list[str], tables: dict[str, Any], skipped: dict[str, str]
) -> list[str]:
    """Issue 14's targets: PR-AUC above each AutoML peer and at least the per-dataset best fixed
    peer chosen with hindsight; mean F1 above every peer's (each fixed peer at 0.5 and tuned)."""
    pr, f = tables["pr"], tables["f"]
    fixed = [f"{p}@0.5" for p in peer_names(methods)]
    engine_pr, engine_f1 = pr[ENGINE].mean(skipna=False), f[ENGINE].mean(skipna=False)
    hindsight = pr[fixed].max(axis=1).mean()
    t1 = [engine_pr >= hindsight]
    values = [engine_pr, hindsight]
    lines = [
        "## Targets",
        "",
        (
            f"1. Engine mean PR-AUC >= mean over datasets of the per-dataset best fixed peer (chosen with "
            f"hindsight): {_fmt(engine_pr, 4)} vs {_fmt(hindsight, 4)} -> {_verdict(t1[0], engine_pr, hindsight)}."
        ),
    ]
    for peer in AUTOML:
        if peer in methods:
            peer_pr = pr[peer].mean(skipna=False)
            t1.append(engine_pr > peer_pr)
            values.append(peer_pr)
            lines.append(
                f"   Engine mean PR-AUC > {peer}: {_fmt(engine_pr, 4)} vs {_fmt(peer_pr, 4)} -> "
                f"{_verdict(t1[-1], engine_pr, peer_pr)}."
            )
        else:
            t1.append(False)
            values.append(float("nan"))
            lines.append(f"   Engine mean PR-AUC > {peer}: not measured ({skipped.get(peer, 'not run')}).")
    lines.append(f"   Target 1 as a whole: {_verdict(all(t1), *values)}.")
    others = [m for m in methods if m != ENGINE]
    best_f1_peer = max(others, key=lambda m: f[m].mean())
    best_f1 = f[best_f1_peer].mean()
    missing = [p for p in AUTOML if p not in methods]
    lines += [
        (
            f"2. Engine mean F1 > every peer's mean F1 (fixed peers at 0.5 and tuned, the AutoML peers from their "
            f"own predict): {_fmt(engine_f1, 4)} vs the best, {best_f1_peer} {_fmt(best_f1, 4)} -> "
            + (
                _verdict(engine_f1 > best_f1, engine_f1, best_f1)
                if not missing
                else f"**NOT ESTABLISHED** ({', '.join(missing)} not measured)"
            )
            + "."
        ),
        "",
    ]
    failed = rows[rows["error"].fillna("") != ""].groupby("method").size()
    if len(failed):
        lines += [
            "Caveat: failed folds are left out of the means (see Errors): "
            + ", ".join(f"{m} {n}" for m, n in failed.items())
            + ". A method with a failed fold on every fold of a dataset has no mean there, and a "
            "target that needs it is NOT ESTABLISHED.",
            "",
        ]
    return lines


def commit_line() -> str:
    """The commit measured, and whether the working tree differed from it."""

    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        # The results this run writes are not a change to what was measured.
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/results"))
    except (OSError, subprocess.CalledProcessError):
        return "Commit: unknown (not a git checkout)."
    return f"Commit: `{commit}`" + (" plus uncommitted changes." if dirty else ".")


def machine_lines(autogluon_python: Path) -> list[str]:
    cpu = "unknown"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    packages = [
        "strategy-search",
        "optuna",
        "scikit-learn",
        "imbalanced-learn",
        "lightgbm",
        "xgboost",
        "flaml",
        "numpy",
        "pandas",
        "scipy",
    ]
    versions = []
    for package in packages:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    versions.append(f"autogluon.tabular {autogluon_version(autogluon_python)} (own environment)")
    return [
        f"Machine: `nproc` = {len(os.sched_getaffinity(0))}, CPU {cpu}, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; " + ", ".join(versions) + "."
    ]


def report(
    rows: pd.DataFrame,
    args: argparse.Namespace,
    *,
    command: str,
    started: dt.datetime,
    elapsed: float,
    skipped: dict[str, str],
    csv_path: Path,
) -> str:
    methods = [m for m in rows["method"].drop_duplicates()]
    datasets = list(rows["dataset"].drop_duplicates())
    overall, tables = overall_section(rows, methods)
    lines = [
        "# Engine vs fixed strategies, FLAML and AutoGluon",
        "",
        f"Command: `{command}`",
        "",
        (
            f"Date: {started:%Y-%m-%d %H:%M} (report rewritten from saved rows; pass the run's --budget)."
            if args.report_only
            else f"Date: {started:%Y-%m-%d %H:%M} (total wall time {elapsed / 60:.1f} min)."
        ),
        "",
        commit_line(),
        "",
        *machine_lines(args.autogluon_python),
        "",
        (
            f"Budget: {args.budget:g} s per outer fold for the engine (`search(timeout=...)`, n_jobs=2, search "
            f"space `{getattr(args, 'space', 'default')}`, cv_repeats={getattr(args, 'cv_repeats', 1)}), FLAML "
            "(`time_budget`, n_jobs=2) and AutoGluon (`time_limit`, num_cpus=2, `best_quality`, "
            "`eval_metric='average_precision'`, dynamic stacking off, F1 threshold calibrated on its own validation "
            f"data); fixed peers single-threaded. Outer CV: 5 folds x {args.repeats} repeat(s), "
            f"random_state=0, the same folds for every method. `<peer>@tuned`: best-F1 threshold on 3-fold "
            "out-of-fold scores of the training part (halfway to the next lower score); engine F1 at its own tuned "
            f"threshold, FLAML's and AutoGluon's F1 from `predict`. Raw per-fold rows: `{csv_path.name}`."
        ),
        "",
    ]
    if getattr(args, "reuse_others_path", None) is not None:
        lines += [
            f"**Only the engine ran in this run.** The fixed peers' and FLAML's rows were copied from "
            f"`{args.reuse_others_path}` (an earlier run of this script on the same outer folds; see "
            "'Run conditions').",
            "",
        ]
    for peer, why in skipped.items():
        lines += [f"**{peer} skipped**: {why}", ""]
    lines += [*targets_section(rows, methods, tables, skipped), *overall, "## Per dataset", ""]
    for name in datasets:
        lines += dataset_section(name, rows, methods)
    errors = rows[rows["error"].fillna("") != ""]
    if len(errors):
        lines += [
            "## Errors",
            "",
            *_table(
                ["dataset", "fold", "method", "error"],
                [
                    [r.dataset, f"r{r.repeat} f{r.fold}", r.method, str(r.error)[:200].replace("|", "/")]
                    for r in errors.itertuples()
                ],
            ),
            "",
        ]
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{', '.join(QUICK_DATASETS)}; one repeat")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per outer fold (engine and FLAML)")
    parser.add_argument("--datasets", type=str, default=None, help="comma-separated names (default: all)")
    parser.add_argument("--repeats", type=int, default=None, help="outer CV repeats (default 2, --quick 1)")
    parser.add_argument("--no-flaml", action="store_true")
    parser.add_argument("--no-autogluon", action="store_true")
    parser.add_argument(
        "--autogluon-python",
        type=Path,
        default=AUTOGLUON_PYTHON,
        help="the Python of AutoGluon's own environment (default .venv-autogluon/bin/python)",
    )
    parser.add_argument("--space", default="default", help="the engine's search space (a built-in name or a YAML)")
    parser.add_argument(
        "--cv-repeats",
        type=lambda v: v if v == "auto" else int(v),
        default=1,
        help="the engine's cv_repeats (an integer or auto; default 1, the engine's default)",
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--max-folds", type=int, default=None, help="only the first N outer folds (smoke tests)")
    parser.add_argument("--report-only", type=Path, default=None, help="rewrite the report from this per-fold CSV")
    parser.add_argument("--out", type=Path, default=None, help="default results/compare.md (compare-quick.md)")
    parser.add_argument(
        "--reuse-others",
        type=Path,
        default=None,
        help="take the peers' and FLAML's rows from this earlier per-fold CSV; run only the engine",
    )
    args = parser.parse_args(argv)
    args.reuse_others_path = args.reuse_others
    if args.reuse_others is not None:
        args.reuse_others = pd.read_csv(args.reuse_others)
    available = dataset_names(args.data_dir)
    if args.datasets:
        args.names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    else:
        args.names = list(QUICK_DATASETS) if args.quick else available
    unknown = [n for n in args.names if n not in available]
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; available: {available}")
    args.repeats = args.repeats or (1 if args.quick else 2)
    args.out = args.out or RESULTS / ("compare-quick.md" if args.quick else "compare.md")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    command = ".venv/bin/python " + " ".join(
        shlex.quote(a) for a in [f"benchmarks/{Path(__file__).name}", *(sys.argv[1:] if argv is None else argv)]
    )
    skipped: dict[str, str] = {}
    flaml_note = "--no-flaml" if args.no_flaml else flaml_available()
    if flaml_note:
        if not args.no_flaml:
            flaml_note = f"flaml could not be imported ({flaml_note}); install it with `pip install 'flaml[automl]'`"
            print(f"WARNING: FLAML skipped: {flaml_note}", file=sys.stderr)
        skipped[FLAML] = flaml_note
    autogluon_note = "--no-autogluon" if args.no_autogluon else AutoGluonPeer.available(args.autogluon_python)
    if autogluon_note:
        if not args.no_autogluon:
            print(f"WARNING: AutoGluon skipped: {autogluon_note}", file=sys.stderr)
        skipped[AUTOGLUON] = autogluon_note
    started, clock = dt.datetime.now(), time.perf_counter()
    csv_path = args.out.with_suffix(".csv")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        frame = pd.read_csv(args.report_only)
        skipped = {peer: why for peer, why in skipped.items() if peer not in set(frame["method"])}
        csv_path = args.report_only
        args.repeats = int(frame["repeat"].nunique())
    else:
        autogluon = None if autogluon_note or args.reuse_others is not None else AutoGluonPeer(args.autogluon_python)
        rows: list[dict] = []
        try:
            for name in args.names:
                rows += run_dataset(
                    name, args, use_flaml=flaml_note is None, log=lambda s: print(s, flush=True), autogluon=autogluon
                )
                pd.DataFrame(rows).to_csv(csv_path, index=False)  # partial results survive an interruption
        finally:
            if autogluon is not None:
                autogluon.close()
        frame = pd.DataFrame(rows)
    text = report(
        frame,
        args,
        command=command,
        started=started,
        elapsed=time.perf_counter() - clock,
        skipped=skipped,
        csv_path=csv_path,
    )
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
