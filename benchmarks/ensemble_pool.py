"""What the ensemble draws from (issue 25, item 5): the answer's ensemble rules compared on outer
test folds the searches never saw.

For every table and every outer fold (stratified 5-fold, seed 0) it runs one search at the
benchmark's budget (``search(X_tr, y_tr, timeout=15, seed=0, n_jobs=2)``, as ``compare.py``),
then fits, bagged on the search's own folds, each of the best 20 trials and the best trial of
every model family, and keeps their CV results and their scores on the outer test fold
(``--cache``, one pickle per fold, so the rules below are compared without refitting). Every rule
then answers from the same trials, so the machine's load changes which trials a search found,
never which rule wins on them. An ensemble's test scores are its members' bagged test scores
averaged with its weights (exactly what the deployed average predicts); its decision is the
threshold the engine deploys (``CVResult.deployment_threshold`` of the averaged CV). Rules:

* ``best trials``: Caruana's selection (``strategy_search.ensemble.select_ensemble``) from the
  8 best trials, the engine's rule;
* ``families``: the same selection from the best trial of each of the 8 best model families
  (as AutoGluon's weighted ensemble combines one model per family);
* ``families, pooled``: the family pool, selection on the PR-AUC of the pooled out-of-fold
  scores instead of the mean of the folds' PR-AUCs;
* ``stacking``: a logistic regression with non-negative weights on the log-odds of the family
  pool's out-of-fold scores (L2, C = 1), its threshold the best-F1 one on its own 5-fold
  cross-validated predictions (0.5 when that does as well);
* ``best trial``: the best trial alone, its own deployed threshold;
* ``wide pool``: the engine's selection from the best 20 trials instead of 8;
* ``bagged selection``: Caruana et al. 2006 ("Getting the most out of ensemble selection"): the
  engine's selection run on 20 random halves of the best 20 trials, each bag's weights summed
  (each bag's weights sum to one), so one lucky trial cannot take the whole ensemble;
* ``greedy 25``: AutoGluon's weighted ensemble: forward selection with replacement from nothing,
  25 picks from the best 20 trials, cut where the CV metric was best;
* ``top 5 equal``: the plain average of the 5 best trials.

    .venv/bin/python benchmarks/ensemble_pool.py --tables portfolio --out benchmarks/results/ensemble-pool-portfolio.md
    .venv/bin/python benchmarks/ensemble_pool.py --tables keel --out benchmarks/results/ensemble-pool-keel.md
    .venv/bin/python benchmarks/ensemble_pool.py --combine benchmarks/results/ensemble-pool-portfolio.csv \\
        benchmarks/results/ensemble-pool-keel.csv --out benchmarks/results/ensemble-pool.md

Writes ``<out>.csv`` (one row per table, fold and rule) and ``<out>`` (means, W/T/L against the
engine's rule, per-table PR-AUC and F1, with the command, commit and machine); ``--combine``
tables several runs' CSVs together, with the Wilcoxon p over all their tables.
"""

from __future__ import annotations

import argparse
import pickle
import shlex
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from compare import wilcoxon_p  # noqa: E402
from provenance import provenance_lines  # noqa: E402

import strategy_search  # noqa: E402
from strategy_search.ensemble import _greedy_picks, _value, average_cv, select_ensemble  # noqa: E402
from strategy_search.strategy import build_classifier  # noqa: E402
from strategy_search.thresholds import confusion_metrics  # noqa: E402

TABLE_SETS = {
    "keel": ROOT.parent / "shared" / "data" / "keel",
    "portfolio": ROOT.parent / "shared" / "data" / "keel-portfolio",
}
POOL = 8
WIDE_POOL = 20
BAGS = 20
ENGINE = "best trials"


def collect(path: Path, fold: int, train: np.ndarray, test: np.ndarray, budget: float) -> dict[str, Any]:
    frame = pd.read_csv(path)
    X, y = frame.drop(columns="target"), frame["target"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = strategy_search.search(X.iloc[train], y[train], timeout=budget, seed=0, n_jobs=2)
    ranked = result.trials.ranked()
    firsts: dict[str, int] = {}
    for trial in ranked:
        firsts.setdefault(result.strategy_of(trial).key("model"), trial.number)
    cvs = result.stored_cvs(list(dict.fromkeys([t.number for t in ranked[:20]] + list(firsts.values()))))
    test_scores, info = {}, {}
    for number in cvs:
        strategy = result.strategy_of(result.study.trials[number])
        test_scores[number] = test_scores_of(strategy, result, result.bagging, X.iloc[test])
        info[number] = (strategy.key("model"), strategy.key("resampler"), strategy.key("weighting"))
    return {
        "table": path.stem, "fold": fold, "ranked": [t.number for t in ranked], "keep": list(cvs), "cvs": cvs,
        "codes": result.data.codes, "y_test": (y[test] == 1).astype(int), "test_p": test_scores, "info": info,
        "answer": tuple(result.answer_trials), "n_trials": len(ranked),
    }  # fmt: skip


def test_scores_of(strategy: Any, result: Any, bagging: Any, X_test: pd.DataFrame) -> np.ndarray:
    """The minority's scores on the outer test rows of ``strategy`` deployed as the search's
    answer would be (``bagging``: its fold models; None: one fit on all the search's rows)."""
    classifier = build_classifier(
        strategy, result.profile.schema, positive_label=result.profile.positive_label,
        task=result.data.task, bagging=bagging,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classifier.fit(result.data.X, result.data.y)
    return classifier.predict_proba(X_test)[:, list(classifier.classes_).index(1)]


def weighted_scores(test_p: dict[Any, np.ndarray], members: list[Any], weights: list[float]) -> np.ndarray:
    """The members' test scores averaged with ``weights`` (what the deployed average predicts)."""
    w = np.asarray(weights) / np.sum(weights)
    return sum(wi * test_p[n] for wi, n in zip(w, members, strict=True))


def _pooled_pr_auc(y: np.ndarray, scores: np.ndarray) -> float:
    seen = ~np.isnan(scores)
    return float(average_precision_score(y[seen], scores[seen]))


def _members_and_weights(picks: list[int]) -> tuple[list[int], list[float]]:
    """Picks with repeats as distinct members (first picked first) and their pick counts."""
    counts = Counter(picks)
    return list(counts), [float(c) for c in counts.values()]


def _pooled_selection(pool: list[int], oof: dict[int, np.ndarray], y: np.ndarray) -> tuple[list[int], list[float]]:
    """Caruana's selection as in strategy_search.ensemble, on the pooled out-of-fold PR-AUC."""
    ranked = sorted(pool, key=lambda n: -_pooled_pr_auc(y, oof[n]))
    picks = ranked[:3]
    current = _pooled_pr_auc(y, np.mean([oof[n] for n in picks], axis=0))
    while len(picks) < 10:
        value, best = max((_pooled_pr_auc(y, np.mean([oof[n] for n in [*picks, j]], axis=0)), j) for j in ranked)
        if value <= current + 1e-9:
            break
        picks, current = [*picks, best], value
    return _members_and_weights(picks)


def _log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _non_negative_logistic(F: np.ndarray, y: np.ndarray, C: float = 1.0) -> np.ndarray:
    k = F.shape[1]

    def loss(v: np.ndarray) -> float:
        p = np.clip(1 / (1 + np.exp(-(F @ v[:k] + v[k]))), 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + 0.5 / (C * len(y)) * np.sum(v[:k] ** 2))

    bounds = [(0, None)] * k + [(None, None)]
    return minimize(loss, np.r_[np.full(k, 1.0 / k), 0.0], bounds=bounds, method="L-BFGS-B").x


def _stacking(d: dict[str, Any], pool: list[int]) -> tuple[np.ndarray, float]:
    y, cvs = d["codes"], d["cvs"]
    F = np.column_stack([cvs[n].oof for n in pool])
    seen = ~np.isnan(F).any(axis=1)
    F, y = _log_odds(F[seen]), y[seen]
    cross = np.zeros(len(y))
    for train, validation in StratifiedKFold(min(5, int(y.sum())), shuffle=True, random_state=0).split(F, y):
        v = _non_negative_logistic(F[train], y[train])
        cross[validation] = 1 / (1 + np.exp(-(F[validation] @ v[:-1] + v[-1])))
    threshold = cvs[pool[0]].rule.choose(y, cross)
    if confusion_metrics(y, cross >= 0.5)["f1"] >= confusion_metrics(y, cross >= threshold)["f1"]:
        threshold = 0.5
    v = _non_negative_logistic(F, y)
    test = _log_odds(np.column_stack([d["test_p"][n] for n in pool]))
    return 1 / (1 + np.exp(-(test @ v[:-1] + v[-1]))), float(threshold)


def _averaged(d: dict[str, Any], members: list[int], weights: list[float]) -> tuple[np.ndarray, Any]:
    cv = average_cv([d["cvs"][n] for n in members], weights, d["codes"])
    return weighted_scores(d["test_p"], members, weights), cv.deployment_threshold(d["codes"])


def _family_pool(ranked: list[int], families: dict[int, str]) -> list[int]:
    """The best trial of each of the POOL best model families (the best two trials when one
    family is all there is)."""
    firsts: dict[str, int] = {}
    for number in ranked:
        firsts.setdefault(families[number], number)
    pool = list(firsts.values())[:POOL]
    return pool if len(pool) > 1 else ranked[:2]


def _bagged_selection(d: dict[str, Any], pool: list[int]) -> tuple[list[int], list[float]]:
    """Caruana's selection on BAGS random halves of ``pool``, each bag's weights summed."""
    if len(pool) < 4:
        return pool[:1], [1.0]
    rng = np.random.default_rng(0)
    totals: Counter[int] = Counter()
    for _ in range(BAGS):
        bag = [pool[i] for i in sorted(rng.choice(len(pool), size=len(pool) // 2, replace=False))]
        picks = _greedy_picks([(n, d["cvs"][n]) for n in bag], d["codes"], "pr_auc")
        for index in picks:
            totals[bag[index]] += 1.0 / len(picks)
    members = [n for n in pool if n in totals]
    return members, [totals[n] for n in members]


def _greedy_25(d: dict[str, Any], pool: list[int]) -> tuple[list[int], list[float]]:
    """Forward selection with replacement from nothing, 25 picks, cut at the best prefix."""
    picks: list[int] = []
    trajectory: list[float] = []
    for _ in range(25):
        value, best = max(
            (_value(average_cv([d["cvs"][m] for m in [*picks, n]], [1.0] * (len(picks) + 1), d["codes"]), "pr_auc"), -i)
            for i, n in enumerate(pool)
        )
        picks.append(pool[-best])
        trajectory.append(value)
    return _members_and_weights(picks[: int(np.argmax(trajectory)) + 1])


def rules(d: dict[str, Any]) -> dict[str, tuple[np.ndarray, Any, int]]:
    """Each rule's (test scores, threshold, members) on one fold."""
    y, cvs = d["codes"], d["cvs"]
    ranked = [n for n in d["ranked"] if n in cvs]
    out: dict[str, tuple[np.ndarray, Any, int]] = {}

    def caruana(name: str, pool: list[int], pool_size: int = POOL) -> None:
        choice = select_ensemble([(n, cvs[n]) for n in pool], y, metric="pr_auc", pool_size=pool_size)
        members, weights = (list(choice.trials), list(choice.weights)) if choice else ([pool[0]], [1.0])
        out[name] = (*_averaged(d, members, weights), len(members))

    caruana(ENGINE, ranked)
    pool = _family_pool(ranked, {n: d["info"][n][0] for n in ranked})
    caruana("families", pool)
    members, weights = _pooled_selection(pool, {n: cvs[n].oof for n in pool}, y)
    out["families, pooled"] = (*_averaged(d, members, weights), len(members))
    out["stacking"] = (*_stacking(d, pool), len(pool))
    out["best trial"] = (*_averaged(d, [ranked[0]], [1.0]), 1)
    wide = ranked[:WIDE_POOL]
    caruana("wide pool", wide, WIDE_POOL)
    for name, chooser in (("bagged selection", _bagged_selection), ("greedy 25", _greedy_25)):
        members, weights = chooser(d, wide)
        out[name] = (*_averaged(d, members, weights), len(members))
    top = wide[:5]
    out["top 5 equal"] = (*_averaged(d, top, [1.0] * len(top)), len(top))
    return out


def table_rows(
    path: Path, *, budget: float, cache: Path, collect: Any = collect, rules: Any = rules
) -> list[dict[str, Any]]:
    """One row per outer fold and rule: ``collect`` runs each fold's search once (cached in
    ``cache``), ``rules`` answers from it (a rule answering None has no row for that fold)."""
    y = pd.read_csv(path)["target"].to_numpy()
    rows = []
    for fold, (train, test) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(y, y)):
        stored = cache / f"{path.stem}-{fold}.pkl"
        if not stored.exists():
            started = time.perf_counter()
            stored.write_bytes(pickle.dumps(collect(path, fold, train, test, budget)))
            print(path.stem, fold, f"collected in {time.perf_counter() - started:.0f} s", flush=True)
        d = pickle.loads(stored.read_bytes())
        for rule, answered in rules(d).items():
            if answered is None:
                continue
            scores, threshold, members = answered
            rows.append(
                {
                    "table": d["table"], "fold": fold, "rule": rule, "members": members, "n_trials": d["n_trials"],
                    "pr_auc": average_precision_score(d["y_test"], scores),
                    "f1": confusion_metrics(d["y_test"], scores >= threshold)["f1"],
                    "positives": int(d["codes"].sum()),
                }
            )  # fmt: skip
    return rows


def _markdown(table: pd.DataFrame, digits: int | None = None) -> str:
    """A markdown table; ``digits`` formats numbers (None: cells as they are)."""
    header = [str(table.index.name or ""), *map(str, table.columns)]
    cell = str if digits is None else (lambda v: f"{v:.{digits}f}")
    body = [[str(i), *map(cell, row)] for i, row in zip(table.index, table.to_numpy(), strict=True)]
    return "\n".join(
        ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in body]
    )


def _report(frame: pd.DataFrame, command: str, budget: float) -> str:
    order = list(dict.fromkeys(frame.rule))
    means = frame.groupby("rule")[["pr_auc", "f1", "members"]].mean().reindex(order)
    per_table = {
        m: frame.pivot_table(index="table", columns="rule", values=m).reindex(columns=order) for m in ("pr_auc", "f1")
    }
    for metric in ("pr_auc", "f1"):
        difference = per_table[metric].sub(per_table[metric][ENGINE], axis=0)
        means[f"{metric} W/T/L vs {ENGINE}"] = [
            f"{(difference[r] > 0.001).sum()}/{(difference[r].abs() <= 0.001).sum()}/{(difference[r] < -0.001).sum()}"
            for r in order
        ]
    shown = means.copy()
    for column, digits in (("pr_auc", 4), ("f1", 4), ("members", 1)):
        shown[column] = [f"{v:.{digits}f}" for v in shown[column]]
    lines = [
        "# What the ensemble draws from (issue 25, item 5)",
        "",
        "Written by `benchmarks/ensemble_pool.py` (its docstring says what is measured): one search per outer fold "
        f"({budget:g} s), every rule answering from the same trials, scored on the outer test fold.",
        "",
        *provenance_lines(command),
        f"Tables: {frame.table.nunique()}, outer folds: {frame.fold.nunique()}; trials per search: mean "
        f"{frame.n_trials.mean():.1f}. W/T/L: tables where the rule's mean is higher / within 0.001 / lower.",
        "",
        "## Means over tables and folds",
        "",
        _markdown(shown),
        "",
        *per_table_sections(per_table),
    ]  # fmt: skip
    return "\n".join(lines)


def per_table_sections(per_table: dict[str, pd.DataFrame]) -> list[str]:
    """The report's per-table PR-AUC and F1 sections (``per_table``: each metric's table x rule means)."""
    sections = []
    for metric, title in (("pr_auc", "PR-AUC"), ("f1", "F1")):
        sections += [f"## {title} per table (mean over folds)", "", _markdown(per_table[metric], 3), ""]
    return sections


def rule_table(frame: pd.DataFrame, engine: str) -> pd.DataFrame:
    """Per rule: the mean over tables of PR-AUC and F1, W/T/L and the Wilcoxon p against ``engine``."""
    rows = []
    for rule in dict.fromkeys(frame.rule):
        cells = [rule]
        for metric in ("pr_auc", "f1"):
            table = frame.pivot_table(index="table", columns="rule", values=metric)
            difference = table[rule] - table[engine]
            wins, losses = int((difference > 0.001).sum()), int((difference < -0.001).sum())
            cells += [f"{table[rule].mean():.4f}", f"{wins}/{len(difference) - wins - losses}/{losses}"]
            cells.append("" if rule == engine else f"{wilcoxon_p(table[rule], table[engine]):.3f}")
        rows.append(cells)
    columns = ["rule", "PR-AUC", f"W/T/L vs {engine}", "p", "F1", f"F1 W/T/L vs {engine}", "F1 p"]
    return pd.DataFrame(rows, columns=columns).set_index("rule")


def _combined(frame: pd.DataFrame, command: str, sources: list[Path]) -> str:
    """All tables of several runs together: means, W/T/L and the Wilcoxon p against the engine's rule."""
    shown = rule_table(frame, ENGINE)
    return "\n".join(
        [
            "# What the ensemble draws from (issue 25, item 5): every table",
            "",
            f"The tables of {', '.join(f'`{p.name}`' for p in sources)} together ({frame.table.nunique()} tables, "
            "means over their outer folds); each run's own report (`.md` beside its CSV) has the command, "
            "commit, machine and per-table figures. p: Wilcoxon signed-rank over the tables, two-sided; "
            "W/T/L: tables where the rule's mean is higher / within 0.001 / lower than the engine's rule.",
            "",
            *provenance_lines(command),
            _markdown(shown),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", choices=sorted(TABLE_SETS), default="portfolio")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per search, as compare.py")
    parser.add_argument(
        "--cache", type=Path, default=None, help="per-fold pickles (default /tmp/ensemble-pool-<tables>)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ensemble-pool-portfolio.md")
    parser.add_argument("--combine", nargs="+", type=Path, default=None, help="table these runs' CSVs together")
    args = parser.parse_args()
    command = ".venv/bin/python benchmarks/ensemble_pool.py " + shlex.join(sys.argv[1:])
    if args.combine:
        frame = pd.concat([pd.read_csv(p) for p in args.combine], ignore_index=True)
        args.out.write_text(_combined(frame, command, args.combine))
        print(args.out.read_text())
        return
    run_tables(args, command, cache=args.cache or Path(f"/tmp/ensemble-pool-{args.tables}"), report=_report)


def run_tables(
    args: argparse.Namespace, command: str, *, cache: Path, report: Any, collect: Any = collect, rules: Any = rules
) -> None:
    """Every table of ``args.tables``: its folds collected (or read from ``cache``) and answered
    by ``rules``; the rows written to ``<out>.csv``, ``report(frame, command, budget)`` to ``out``."""
    cache.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for path in sorted(TABLE_SETS[args.tables].glob("*.csv")):
        rows += table_rows(path, budget=args.budget, cache=cache, collect=collect, rules=rules)
    frame = pd.DataFrame(rows)
    frame.to_csv(args.out.with_suffix(".csv"), index=False)
    args.out.write_text(report(frame, command, args.budget))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
