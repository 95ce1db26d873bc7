"""A portfolio learned across tables (issue 25, item 4): which strategies a search tries first.

A zero-shot portfolio as AutoGluon's and TabRepo's (Salinas & Erickson, "TabRepo: A Large Scale
Repository of Tabular Model Evaluations and its AutoML Applications", 2023) are built:

1. **Candidates**: ``--candidates N`` strategies drawn at random from the space (Optuna's
   ``RandomSampler``, seed 0, the same ``SearchSpace.suggest`` a search uses), plus the space's
   current portfolio entries, so the learned portfolio can keep a hand-picked one if it earns it.
2. **The matrix**: every candidate scored on every table exactly as a search scores a trial
   (the engine's CV splits, folds and threshold folds; PR-AUC and F1 at the tuned threshold).
   No time budget is involved (a candidate slower than ``--max-seconds`` counts as failed), so
   the matrix is the same whatever else the machine runs. Rows are appended to
   ``<out>-matrix.csv`` as they finish; a rerun skips the pairs already there.
3. **Greedy selection**: on each table a candidate's PR-AUC becomes a normalised error,
   ``(best - score) / (best - median)`` clipped to [0, 1] (TabRepo's rescaling: 0 = the table's
   best candidate, 1 = its median or worse; a failed or unusable candidate scores 1). Starting
   from nothing, each step adds the candidate that most lowers the mean over tables of the
   portfolio's best (lowest) error; ties go to the cheaper candidate.
4. **Leave one dataset out**: for each table, the portfolio is chosen on the other tables only
   and judged on the one left out, so no table votes for its own portfolio. The report shows
   these figures beside the in-sample ones (every table voting) and beside the space's
   current hand-picked portfolio and random portfolios of the same size.

The portfolio chosen on all tables is written to ``--write`` (default
``search_spaces/portfolios/learned.yaml``); a space uses it with
``portfolio: portfolios/learned.yaml`` (the default space does not yet: see the report). The
candidates' hand-picked entries are ``search_spaces/portfolios/hand-picked.yaml``, the default
space's portfolio.

    .venv/bin/python benchmarks/portfolio.py --candidates 100 --size 10

Writes ``<out>`` (default ``benchmarks/results/portfolio.md``) with the command, commit and
machine, ``<out>-matrix.csv`` and the portfolio file.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import yaml
from joblib import Parallel, delayed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from provenance import provenance_lines  # noqa: E402

from strategy_search.prepared import prepare_data, scoring_plan  # noqa: E402
from strategy_search.scoring import score_pipeline  # noqa: E402
from strategy_search.settings import SearchSettings  # noqa: E402
from strategy_search.slots import all_slots  # noqa: E402
from strategy_search.space import load_space  # noqa: E402
from strategy_search.strategy import Strategy, build_pipeline  # noqa: E402

TABLE_DIRS = (ROOT.parent / "shared" / "data" / "keel", ROOT.parent / "shared" / "data" / "keel-portfolio")
OUT = ROOT / "benchmarks" / "results" / "portfolio.md"
WRITE = ROOT / "search_spaces" / "portfolios" / "learned.yaml"
HAND_PICKED = ROOT / "search_spaces" / "portfolios" / "hand-picked.yaml"
NEUTRAL = {slot.name: slot.neutral for slot in all_slots() if slot.neutral is not None}


# -- candidates -------------------------------------------------------------------------------
def candidates(space_name: str, n_random: int, seed: int) -> dict[str, dict[str, Any]]:
    """Name -> strategy fields (``Strategy.to_dict`` without threshold and seed): the hand-picked
    portfolio first (``current:<name>``), then ``n_random`` distinct random draws from the space."""
    space = load_space(space_name)
    hand_picked = yaml.safe_load(HAND_PICKED.read_text())["portfolio"]
    found: dict[str, dict[str, Any]] = {}
    for entry in hand_picked:
        found[f"current:{entry['name']}"] = _fields(Strategy.from_dict({k: v for k, v in entry.items() if k != "name"}))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    seen = {repr(sorted(f.items())) for f in found.values()}
    while len(found) < len(hand_picked) + n_random:
        strategy = space.suggest(study.ask(), has_categorical=False)
        fields = _fields(strategy)
        if repr(sorted(fields.items())) not in seen:
            seen.add(repr(sorted(fields.items())))
            found[f"random:{len(found) - len(hand_picked):03d}"] = fields
    return found


def _fields(strategy: Strategy) -> dict[str, Any]:
    fields = strategy.to_dict()
    fields.pop("threshold"), fields.pop("seed")
    return {k: v for k, v in fields.items() if v not in ({}, None)}


# -- the matrix -------------------------------------------------------------------------------
def _table(path: str) -> Any:
    frame = pd.read_csv(path)
    settings = SearchSettings()
    data = prepare_data(frame.drop(columns="target"), frame["target"], settings=settings)
    return data, scoring_plan(data, settings), settings.threshold_folds


def evaluate(name: str, fields: dict[str, Any], path: str, max_seconds: float) -> dict[str, Any]:
    """One candidate on one table, scored as a search scores a trial."""
    data, plan, threshold_folds = _table(path)
    row: dict[str, Any] = {"candidate": name, "table": Path(path).stem}
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline = build_pipeline(Strategy.from_dict(fields), data.profile.schema)
            cv = score_pipeline(
                pipeline,
                data.X,
                data.codes,
                splits=plan.splits,
                threshold_folds=threshold_folds,
                deadline=time.monotonic() + max_seconds,
            )
        if not cv.complete:
            raise TimeoutError(f"not done in {max_seconds:.0f} s")
        means = cv.mean()
        row.update(pr_auc=means["pr_auc"], f1=means["f1"], error="")
    except Exception as error:  # a candidate that cannot run on a table is a result too
        row.update(pr_auc=np.nan, f1=np.nan, error=f"{type(error).__name__}: {str(error)[:200]}")
    row["seconds"] = round(time.perf_counter() - started, 2)
    return row


def matrix(found: dict[str, dict[str, Any]], tables: list[Path], csv: Path, max_seconds: float) -> pd.DataFrame:
    done = pd.read_csv(csv, keep_default_na=False, na_values=[""]) if csv.exists() else pd.DataFrame()
    have = set(zip(done.get("candidate", []), done.get("table", []), strict=True))
    todo = [(n, f, str(t)) for t in tables for n, f in found.items() if (n, t.stem) not in have]
    print(f"{len(have)} pairs already scored, {len(todo)} to go", flush=True)
    rows = list(done.to_dict("records"))
    # Tables in the outer loop and batches per table, so the CSV grows table by table.
    for start in range(0, len(todo), 64):
        batch = todo[start : start + 64]
        rows += Parallel(n_jobs=2)(delayed(evaluate)(n, f, p, max_seconds) for n, f, p in batch)
        pd.DataFrame(rows).to_csv(csv, index=False)
        print(f"{start + len(batch)}/{len(todo)} {Path(batch[-1][2]).stem}", flush=True)
    frame = pd.DataFrame(rows)
    return frame[frame.candidate.isin(found) & frame.table.isin({t.stem for t in tables})]


# -- selection --------------------------------------------------------------------------------
def normalised_errors(scores: pd.DataFrame) -> pd.DataFrame:
    """Tables x candidates PR-AUC -> TabRepo's rescaled error in [0, 1] (NaN -> 1)."""
    best = scores.max(axis=1)
    median = scores.median(axis=1)
    spread = (best - median).where(best - median > 1e-12, 1.0)
    errors = scores.rsub(best, axis=0).div(spread, axis=0).clip(0, 1)
    return errors.fillna(1.0)


def greedy(errors: pd.DataFrame, cost: pd.Series, size: int) -> list[str]:
    """Candidates in the order greedy forward selection adds them (see the module's docstring)."""
    chosen: list[str] = []
    best_so_far = pd.Series(np.inf, index=errors.index)
    for _ in range(min(size, errors.shape[1])):
        gains = {c: float(np.minimum(best_so_far, errors[c]).mean()) for c in errors.columns if c not in chosen}
        pick = min(gains, key=lambda c: (round(gains[c], 9), cost[c]))
        chosen.append(pick)
        best_so_far = np.minimum(best_so_far, errors[pick])
    return chosen


@dataclass
class Judged:
    """A portfolio's figures on some tables: the mean over them of its best PR-AUC, the F1 of
    that best candidate, and the best normalised error."""

    pr_auc: float
    f1: float
    error: float


def judge(portfolio: list[str], pr: pd.DataFrame, f1: pd.DataFrame, errors: pd.DataFrame) -> Judged:
    sub = pr[portfolio]
    best = sub.fillna(-1).to_numpy().argmax(axis=1)
    rows = np.arange(len(sub))
    return Judged(
        float(np.nanmean(sub.to_numpy()[rows, best])),
        float(np.nanmean(f1[portfolio].to_numpy()[rows, best])),
        float(errors[portfolio].min(axis=1).mean()),
    )


def leave_one_out(pr: pd.DataFrame, cost: pd.Series, size: int) -> pd.DataFrame:
    """Per table: the portfolio chosen on the other tables, judged on this one."""
    rows = []
    errors_all = normalised_errors(pr)
    for table in pr.index:
        others = pr.drop(index=table)
        chosen = greedy(normalised_errors(others), cost, size)
        best = pr.loc[table, chosen].max()
        rows.append(
            {
                "table": table,
                "lodo_pr_auc": best,
                "lodo_error": errors_all.loc[table, chosen].min(),
                "oracle_pr_auc": pr.loc[table].max(),
            }
        )
    return pd.DataFrame(rows).set_index("table")


def random_portfolios(pr: pd.DataFrame, f1: pd.DataFrame, size: int, draws: int = 200) -> Judged:
    errors = normalised_errors(pr)
    rng = np.random.default_rng(0)
    random_only = [c for c in pr.columns if c.startswith("random:")]
    judged = [judge(list(rng.choice(random_only, size, replace=False)), pr, f1, errors) for _ in range(draws)]
    return Judged(*(float(np.mean([getattr(j, k) for j in judged])) for k in ("pr_auc", "f1", "error")))


# -- output -----------------------------------------------------------------------------------
def portfolio_yaml(chosen: list[str], found: dict[str, dict[str, Any]], source: str) -> str:
    entries = []
    for i, name in enumerate(chosen):
        fields = found[name]
        parts = [fields["model"]] + [fields[k] for k in ("resampler", "weighting", "objective") if k in fields]
        label = "_".join(p for p in parts if p not in ("none", "logloss"))
        kept = {k: v for k, v in fields.items() if k not in NEUTRAL or v != NEUTRAL[k]}
        entries.append({"name": f"p{i + 1:02d}_{label}", **kept})
    header = (
        "# A portfolio (strategies a search tries first, in this order) learned across tables by\n"
        f"# benchmarks/portfolio.py ({source});\n"
        "# benchmarks/results/portfolio.md says how, and how well it holds on tables left out. A space\n"
        "# uses it with `portfolio: portfolios/learned.yaml`. Regenerate it with that script; do not edit.\n"
    )
    return header + yaml.safe_dump({"portfolio": entries}, sort_keys=False, width=120)


def _markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    header = [str(frame.index.name or ""), *map(str, frame.columns)]
    body = [
        [str(i), *(f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row)]
        for i, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def report(scores: pd.DataFrame, found: dict[str, dict[str, Any]], size: int, command: str) -> tuple[str, list[str]]:
    pr = scores.pivot(index="table", columns="candidate", values="pr_auc")
    f1 = scores.pivot(index="table", columns="candidate", values="f1")
    cost = scores.groupby("candidate").seconds.median()
    errors = normalised_errors(pr)
    chosen = greedy(errors, cost, size)
    current = [c for c in pr.columns if c.startswith("current:")]
    lodo = leave_one_out(pr, cost, size)
    in_sample, hand = judge(chosen, pr, f1, errors), judge(current, pr, f1, errors)
    rand = random_portfolios(pr, f1, size)
    per_table = pd.DataFrame(
        {
            "learned (in-sample)": pr[chosen].max(axis=1),
            "learned (LODO)": lodo.lodo_pr_auc,
            "current": pr[current].max(axis=1),
            "best candidate": lodo.oracle_pr_auc,
        }
    )
    per_table.index.name = "table"
    curve = []
    for k in (1, 2, 3, 5, 8, 10, 12, 16):
        if k <= pr.shape[1]:
            lodo_k = leave_one_out(pr, cost, k)
            in_sample_k = judge(greedy(errors, cost, k), pr, f1, errors).error
            curve.append(
                {
                    "size": k,
                    "in-sample error": in_sample_k,
                    "LODO error": float(lodo_k.lodo_error.mean()),
                    "LODO PR-AUC": float(lodo_k.lodo_pr_auc.mean()),
                }
            )
    summary = pd.DataFrame(
        [
            {"portfolio": "learned, in-sample (every table votes)", **vars(in_sample)},
            {
                "portfolio": "learned, leave-one-dataset-out",
                "pr_auc": float(lodo.lodo_pr_auc.mean()),
                "f1": float("nan"),
                "error": float(lodo.lodo_error.mean()),
            },
            {"portfolio": f"current hand-picked ({len(current)})", **vars(hand)},
            {"portfolio": f"random {size} (mean of 200 draws)", **vars(rand)},
            {
                "portfolio": "best candidate per table (hindsight)",
                "pr_auc": float(pr.max(axis=1).mean()),
                "f1": float("nan"),
                "error": 0.0,
            },
        ]
    ).set_index("portfolio")
    failed = scores[scores.error.astype(str) != ""]
    chosen_table = pd.DataFrame(
        [
            {
                "name": c,
                "strategy": Strategy.from_dict(found[c]).describe(),
                "median s": float(cost[c]),
                "mean PR-AUC": float(pr[c].mean()),
            }
            for c in chosen
        ]
    ).set_index("name")
    lines = [
        "# A portfolio learned across tables (issue 25, item 4)",
        "",
        "Written by `benchmarks/portfolio.py` (its docstring says how candidates are drawn, scored and chosen).",
        "",
        *provenance_lines(command),
        f"Tables: {pr.shape[0]} ({', '.join(d.name for d in TABLE_DIRS)}); candidates: {pr.shape[1]} "
        f"({len(current)} current portfolio entries, the rest random draws); failed or timed-out pairs: "
        f"{len(failed)} of {len(scores)}.",
        "",
        "## Portfolios of the same size, means over tables",
        "",
        "`pr_auc`: the best candidate of the portfolio on each table (its CV PR-AUC, as a search's portfolio "
        "trials would score); `f1`: that candidate's F1; `error`: TabRepo's normalised error (0 = the table's "
        "best candidate, 1 = its median or worse). The leave-one-dataset-out row judges each table with a "
        "portfolio chosen without it.",
        "",
        _markdown(summary, 4),
        "",
        f"Left out one table at a time, the learned portfolio's best PR-AUC is "
        f"{float(lodo.lodo_pr_auc.mean()) - hand.pr_auc:+.4f} against the hand-picked one's (chosen by a person "
        "looking at the 16 keel tables, so in-sample there), its normalised error "
        f"{float(lodo.lodo_error.mean()) - hand.error:+.4f}. These are the portfolio trials alone; what a whole "
        "search gains from them at the same budget is a separate measurement.",
        "",
        "## Size: in-sample against leave-one-dataset-out",
        "",
        _markdown(pd.DataFrame(curve).set_index("size"), 4),
        "",
        f"## The learned portfolio ({size}, chosen on every table; written to the portfolio file)",
        "",
        _markdown(chosen_table, 3),
        "",
        "## Best PR-AUC per table",
        "",
        _markdown(per_table, 3),
        "",
    ]
    return "\n".join(lines), chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=100, help="random draws besides the current portfolio")
    parser.add_argument("--size", type=int, default=10, help="entries in the learned portfolio")
    parser.add_argument("--space", default="default", help="the space to draw candidates from")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="a candidate's CV slower than this fails")
    parser.add_argument("--tables", nargs="*", default=None, help="only these tables (file stems)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--write", type=Path, default=WRITE, help="the portfolio file to write ('-': none)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the matrix CSV")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    found = candidates(args.space, args.candidates, seed=0)
    tables = sorted((p for d in TABLE_DIRS for p in d.glob("*.csv")), key=lambda p: p.stem)
    if args.tables:
        tables = [t for t in tables if t.stem in set(args.tables)]
    csv = args.out.with_name(args.out.stem + "-matrix.csv")
    if args.report_only:
        scores = pd.read_csv(csv, keep_default_na=False, na_values=[""]).fillna({"error": ""})
        scores = scores[scores.candidate.isin(found) & scores.table.isin({t.stem for t in tables})]
    else:
        scores = matrix(found, tables, csv, args.max_seconds).fillna({"error": ""})
    command = ".venv/bin/python benchmarks/portfolio.py " + shlex.join(sys.argv[1:])
    text, chosen = report(scores, found, args.size, command)
    args.out.write_text(text)
    if str(args.write) != "-":
        args.write.write_text(portfolio_yaml(chosen, found, command))
    print(text)


if __name__ == "__main__":
    main()
