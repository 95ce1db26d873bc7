"""How long does SearchTracker take to log one trial to a local sqlite MLflow store?

Logs synthetic but realistically sized trials (a tuned LightGBM + SMOTE strategy, 8 metrics
with their std, per-fold metrics and thresholds; some pruned and failed trials) and times each
callback: ``create_run`` + one ``log_batch`` + ``set_terminated``. For scale it also times
the same content logged one value per call (what batching avoids) on a few trials, and the
median trial duration of a tiny real search (what logging must stay small next to).

    .venv/bin/python benchmarks/tracking_overhead.py            # writes benchmarks/results/tracking_overhead.md
    .venv/bin/python benchmarks/tracking_overhead.py --trials 50 --baseline-trials 0 --no-reference-search
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState, create_trial

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from strategy_search.run_contents import trial_params, trial_tags  # noqa: E402
from strategy_search.scoring import METRICS  # noqa: E402
from strategy_search.tracking import SearchTracker, trial_metrics  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "tracking_overhead.md"


def synthetic_trial(rng: np.random.Generator, *, folds: int, state: TrialState) -> FrozenTrial:
    params = {
        "model": "lightgbm",
        "resampler": "smote",
        "weighting": "none",
        "objective": "logloss",
        "model.lightgbm.n_estimators": int(rng.integers(30, 200)),
        "model.lightgbm.learning_rate": float(rng.uniform(0.02, 0.3)),
        "model.lightgbm.num_leaves": int(rng.integers(4, 32)),
        "model.lightgbm.min_child_samples": int(rng.integers(2, 40)),
        "resampler.smote.sampling_strategy": float(rng.uniform(0.1, 1.0)),
        "resampler.smote.k_neighbors": int(rng.integers(2, 8)),
    }
    strategy = {
        "model": "lightgbm",
        "resampler": "smote",
        "weighting": "none",
        "objective": "logloss",
        "model_params": {k.split(".")[-1]: v for k, v in params.items() if k.startswith("model.")},
        "resampler_params": {k.split(".")[-1]: v for k, v in params.items() if k.startswith("resampler.")},
        "weighting_params": {},
        "objective_params": {},
        "threshold": 0.3,
        "seed": 0,
    }
    attrs: dict[str, Any] = {"strategy": strategy}
    if state == TrialState.FAIL:
        attrs["fail_reason"] = "ValueError: Expected n_neighbors <= n_samples_fit"
        return create_trial(state=state, user_attrs=attrs)
    fold_metrics = [{m: float(rng.uniform()) for m in METRICS} for _ in range(folds)]
    attrs.update(
        {
            "threshold": float(rng.uniform()),
            "metrics": {m: float(np.mean([f[m] for f in fold_metrics])) for m in METRICS},
            "metrics_std": {m: float(np.std([f[m] for f in fold_metrics])) for m in METRICS},
            "fold_metrics": fold_metrics,
            "fold_thresholds": [float(rng.uniform()) for _ in range(folds)],
            "fit_seconds": float(rng.uniform(0.2, 3.0)),
        }
    )
    if state == TrialState.PRUNED:
        attrs["stopped"] = "pruned"
        return create_trial(state=state, user_attrs=attrs)
    return create_trial(state=state, value=attrs["metrics"]["pr_auc"], user_attrs=attrs)


def synthetic_study(n_trials: int, *, folds: int, seed: int = 0) -> optuna.Study:
    rng = np.random.default_rng(seed)
    kinds = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    states = [kinds[i] for i in rng.choice(len(kinds), size=n_trials, p=[0.85, 0.1, 0.05])]
    study = optuna.create_study(direction="maximize")
    study.add_trials([synthetic_trial(rng, folds=folds, state=s) for s in states])
    return study


def time_tracker(tracker: SearchTracker, study: optuna.Study) -> list[float]:
    seconds = []
    for trial in study.trials:
        started = time.perf_counter()
        tracker(study, trial)
        seconds.append(time.perf_counter() - started)
    return seconds


def time_per_value(tracker: SearchTracker, study: optuna.Study, n_trials: int) -> tuple[list[float], int]:
    """The naive alternative: one request per param, metric and tag (what batching avoids)."""
    client, seconds, calls = tracker.client, [], 0
    for trial in study.trials[:n_trials]:
        started = time.perf_counter()
        run = client.create_run(
            tracker.experiment_id, run_name=f"naive-{trial.number}", tags={"mlflow.parentRunId": tracker.parent_run_id}
        )
        run_id = run.info.run_id
        for key, value in trial_params(trial).items():
            client.log_param(run_id, key, value, synchronous=True)
        for metric in trial_metrics(trial):
            client.log_metric(run_id, metric.key, metric.value, step=metric.step, synchronous=True)
        for key, value in trial_tags(trial).items():
            client.set_tag(run_id, key, value, synchronous=True)
        client.set_terminated(run_id, status="FINISHED")
        seconds.append(time.perf_counter() - started)
        calls += 2 + len(trial_params(trial)) + len(trial_metrics(trial)) + len(trial_tags(trial))
    return seconds, round(calls / max(len(seconds), 1))


def reference_search_seconds(n_trials: int) -> list[float]:
    """Trial durations of a tiny real search (400 rows of yeast5, the fast space, 3 folds)."""
    import pandas as pd

    import strategy_search

    frame = pd.read_csv(ROOT / "experiments" / "data" / "yeast5.csv").head(400)
    result = strategy_search.search(
        frame.drop(columns="target"), frame["target"], space="fast", n_trials=n_trials, cv_folds=3, n_jobs=1
    )
    return [t.duration.total_seconds() for t in result.study.trials if t.duration is not None]


def summary_row(label: str, seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return (
        f"| {label} | {len(ms)} | {ms.mean():.1f} | {np.median(ms):.1f} | "
        f"{np.percentile(ms, 95):.1f} | {ms.max():.1f} |"
    )


def report(args: argparse.Namespace, rows: list[str], notes: list[str], per_trial_values: int) -> str:
    command = "python " + " ".join(shlex.quote(a) for a in [f"benchmarks/{Path(__file__).name}", *sys.argv[1:]])
    import mlflow  # only for its version; the tracker has already imported it

    return "\n".join(
        [
            "# SearchTracker logging overhead",
            "",
            f"Command: `{command}`",
            "",
            f"Machine: {os.cpu_count()} cores (`nproc` = {len(os.sched_getaffinity(0))}), {platform.machine()}, "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}; "
            f"MLflow {mlflow.__version__}; Optuna {optuna.__version__}; sqlite store on local disk.",
            "",
            f"A completed synthetic trial carries {per_trial_values} values ({args.folds} CV folds): strategy params, "
            "8 metric means and stds, per-fold metrics (`fold_<metric>`, step = fold) and thresholds, tags.",
            "",
            "| what | trials | mean ms | median ms | p95 ms | max ms |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            *notes,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--baseline-trials", type=int, default=10, help="trials logged one value per call (0: skip)")
    parser.add_argument("--no-reference-search", action="store_true", help="skip timing a tiny real search")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = synthetic_study(args.trials, folds=args.folds)
    example = next(t for t in study.trials if t.state == TrialState.COMPLETE)
    per_trial_values = len(trial_params(example)) + len(trial_metrics(example)) + len(trial_tags(example))

    with tempfile.TemporaryDirectory() as folder:
        tracker = SearchTracker(tracking_uri=f"sqlite:///{folder}/mlflow.db", experiment="overhead")
        tracker.start(run_name="benchmark", params={"n_trials": args.trials}, tags={})
        batched = time_tracker(tracker, study)
        rows = [summary_row("SearchTracker callback (create_run + 1 log_batch + set_terminated)", batched)]
        notes = [f"Total for {len(batched)} trials: {sum(batched):.2f} s."]
        if args.baseline_trials:
            naive, calls = time_per_value(tracker, study, args.baseline_trials)
            rows.append(summary_row(f"one request per value (~{calls} requests per trial), for scale", naive))
        tracker.client.set_terminated(tracker.parent_run_id, status="FINISHED")
    if not args.no_reference_search:
        fits = reference_search_seconds(5)
        rows.append(summary_row("a trial of a tiny real search (yeast5, 400 rows, fast space, 3 folds)", fits))
        notes.append(
            f"Logging a trial costs {np.median(batched) / np.median(fits):.1%} of the median trial of that "
            "tiny search; real searches (more rows, 5 folds) fit for longer, so the share only shrinks."
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = report(args, rows, notes, per_trial_values)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
