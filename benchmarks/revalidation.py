"""Less selection noise (issue 25, item 2): the answer's ensemble chosen on a second CV repeat
that the search's choice of candidates never saw.

A search ranks its trials on one CV split; the best few are the luckiest as much as the best
(the winner's curse), and Caruana's selection, run on the same out-of-fold scores, inherits the
luck. Here every table's every outer fold (stratified 5-fold, seed 0) runs one search at the
benchmark's budget (``search(X_tr, y_tr, timeout=15, seed=0, n_jobs=2)``, as ``compare.py``),
takes the engine's pool (the 8 best trials), and cross-validates each of them again on the
*second* repeat of the search's own repeated split (``RepeatedStratifiedKFold(5, 2, seed)``: the
first repeat is the search's split, the second one new), thresholds chosen as the search chose
them. Each pool trial is also fitted as the engine deploys it, bagged on the first repeat's
folds and on both repeats' folds, and scored on the outer test fold (``--cache``, one pickle per
fold, so the rules are compared without refitting). Rules:

* ``engine``: Caruana's selection (``strategy_search.ensemble.select_ensemble``) on the first
  repeat, its fold models deployed (what the engine does);
* ``engine, 10 fold models``: the same members and weights, deployed bagged on both repeats'
  folds (what deploying more fold models alone brings);
* ``fresh repeat``: the selection on the second repeat alone (unbiased for the choice among
  the pool), deployed bagged on both repeats;
* ``both repeats``: the selection on both repeats' folds together (ten folds), deployed bagged
  on both repeats.

The extra CVs cost about as many fits as 8 more trials; what that time would buy as trials is
not measured here (the search's budget is the same for every rule).

    .venv/bin/python benchmarks/revalidation.py --tables keel --out benchmarks/results/revalidation-keel.md

Writes ``<out>.csv`` (one row per table, fold and rule) and ``<out>`` (means, W/T/L and the
Wilcoxon p against the engine's rule, per-table PR-AUC and F1, with the command, commit and machine).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ensemble_pool import (  # noqa: E402
    POOL,
    TABLE_SETS,
    _markdown,
    per_table_sections,
    rule_table,
    run_tables,
    test_scores_of,
    weighted_scores,
)
from provenance import provenance_lines  # noqa: E402

import strategy_search  # noqa: E402
from strategy_search.ensemble import select_ensemble  # noqa: E402
from strategy_search.parallel import TaskRunner  # noqa: E402
from strategy_search.ranking import best_first  # noqa: E402
from strategy_search.scoring import CVResult, score_pipeline  # noqa: E402
from strategy_search.strategy import Bagging, build_pipeline  # noqa: E402

ENGINE = "engine"
FOLDS, SEED = 5, 0


def collect(path: Path, fold: int, train: np.ndarray, test: np.ndarray, budget: float) -> dict[str, Any]:
    """One outer fold's search, its pool's CVs on the second repeat and the pool's test scores."""
    frame = pd.read_csv(path)
    X, y = frame.drop(columns="target"), frame["target"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = strategy_search.search(X.iloc[train], y[train], timeout=budget, seed=SEED, n_jobs=2)
    ranked = result.trials.ranked()
    pool = [t.number for t in ranked[:POOL]]
    first = result.stored_cvs(pool)
    codes = result.data.codes
    second_split = list(RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=2, random_state=SEED).split(codes, codes))
    assert all((a == b).all() for (a, _), (b, _) in zip(second_split[:FOLDS], first[pool[0]].splits, strict=True)), (
        "the first repeat must be the search's own split"
    )
    second, test_one, test_both, info = {}, {}, {}, {}
    for number in first:
        strategy = result.strategy_of(result.study.trials[number])
        info[number] = (strategy.key("model"), strategy.key("resampler"), strategy.key("weighting"))
        try:
            second[number], test_both[number] = _fresh(strategy, result, codes, second_split[FOLDS:], X.iloc[test])
        except ValueError as error:  # e.g. a resampler with nothing to do on a fresh fold: out of the fresh pool
            print(f"  trial {number} left out of the fresh pool: {error}", flush=True)
        test_one[number] = test_scores_of(strategy, result, Bagging(FOLDS, 1, SEED), X.iloc[test])
    return {
        "table": path.stem, "fold": fold, "pool": list(first), "first": first, "second": second, "codes": codes,
        "y_test": (y[test] == 1).astype(int), "test_one": test_one, "test_both": test_both, "info": info,
        "n_trials": len(ranked),
    }  # fmt: skip


def _fresh(
    strategy: Any, result: Any, codes: np.ndarray, splits: list, X_test: pd.DataFrame
) -> tuple[CVResult, np.ndarray]:
    """The strategy's CV on the fresh repeat and its test scores bagged on both repeats."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = score_pipeline(
            build_pipeline(strategy, result.profile.schema),
            result.data.X,
            codes,
            splits=splits,
            threshold_folds=result.settings.threshold_folds,
            seed=result.settings.seed,
            runner=TaskRunner(n_jobs=2),
        )
    return cv, test_scores_of(strategy, result, Bagging(FOLDS, 2, SEED), X_test)


def _joined(a: CVResult, b: CVResult) -> CVResult:
    """Two CVs of one strategy on two repeats as one CV of both repeats' folds."""
    return CVResult(a.folds + b.folds, list(a.splits) + list(b.splits), a.n_rows, rule=a.rule, weights=a.weights)


def _chosen(cvs: dict[int, CVResult], pool: list[int], y: np.ndarray) -> tuple[list[int], list[float], Any]:
    """Caruana's selection from ``pool`` on ``cvs``: members, weights and the deployed threshold."""
    choice = select_ensemble([(n, cvs[n]) for n in pool], y, metric="pr_auc", pool_size=len(pool))
    if choice is None:
        best = min(pool, key=lambda n: best_first(cvs[n].mean()["pr_auc"], n))
        return [best], [1.0], cvs[best].deployment_threshold(y)
    return list(choice.trials), list(choice.weights), choice.threshold


def rules(d: dict[str, Any]) -> dict[str, tuple[np.ndarray, Any, int] | None]:
    """Each rule's (test scores, threshold, members) on one fold."""
    y, pool = d["codes"], d["pool"]
    fresh = [n for n in pool if n in d["second"]]  # a trial that failed on the fresh repeat is left out
    both = {n: _joined(d["first"][n], d["second"][n]) for n in fresh}

    def deployed(members: list[int], weights: list[float], threshold: Any, test: str) -> tuple[np.ndarray, Any, int]:
        return weighted_scores(d[test], members, weights), threshold, len(members)

    engine = _chosen(d["first"], pool, y)
    return {
        ENGINE: deployed(*engine, "test_one"),
        "engine, 10 fold models": deployed(*engine, "test_both") if set(engine[0]) <= set(fresh) else None,
        "fresh repeat": deployed(*_chosen(d["second"], fresh, y), "test_both"),
        "both repeats": deployed(*_chosen(both, fresh, y), "test_both"),
    }


def _report(frame: pd.DataFrame, command: str, budget: float) -> str:
    order = list(dict.fromkeys(frame.rule))
    per_table = {
        m: frame.pivot_table(index="table", columns="rule", values=m).reindex(columns=order) for m in ("pr_auc", "f1")
    }
    shown = rule_table(frame, ENGINE)
    shown["members"] = [f"{frame[frame.rule == rule].members.mean():.1f}" for rule in order]
    return "\n".join(
        [
            "# Less selection noise: the ensemble chosen on a fresh CV repeat (issue 25, item 2)",
            "",
            "Written by `benchmarks/revalidation.py` (its docstring says what is measured): one search per outer "
            f"fold ({budget:g} s), every rule answering from the same pool, scored on the outer test fold.",
            "",
            *provenance_lines(command),
            f"Tables: {frame.table.nunique()}, outer folds: {frame.fold.nunique()}; trials per search: mean "
            f"{frame.n_trials.mean():.1f}. W/T/L: tables where the rule's mean is higher / within 0.001 / lower "
            "than the engine's; p: Wilcoxon signed-rank over the tables, two-sided.",
            "",
            "## Means over tables",
            "",
            _markdown(shown),
            "",
            *per_table_sections(per_table),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", choices=sorted(TABLE_SETS), default="keel")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per search, as compare.py")
    parser.add_argument("--cache", type=Path, default=None, help="per-fold pickles (default /tmp/revalidation-TABLES)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "revalidation-keel.md")
    args = parser.parse_args()
    command = ".venv/bin/python benchmarks/revalidation.py " + shlex.join(sys.argv[1:])
    cache = args.cache or Path(f"/tmp/revalidation-{args.tables}")
    run_tables(args, command, cache=cache, report=_report, collect=collect, rules=rules)


if __name__ == "__main__":
    main()
