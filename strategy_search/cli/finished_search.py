"""The console report of a finished search, `run`'s and `finish`'s last words: what was left
out for the table's size, the samplers' adaptations to small folds, the top strategies, then
the trial counts, the answer and how it compares with doing nothing (from the search's one
summary), the MLflow run and the commands to run next."""

from __future__ import annotations

from rich.table import Table

from strategy_search.cli.console import say, stdout_console, warn_about_threshold
from strategy_search.masking import mask_secrets
from strategy_search.progress import shown_metrics
from strategy_search.result import SearchResult
from strategy_search.scoring import METRIC_LABELS
from strategy_search.study_budget import AFTER_TRIALS_SHARE, Budget
from strategy_search.thresholds import format_decision
from strategy_search.trial_record import TrialRecord

__all__ = ["print_finished_search"]


def print_finished_search(result: SearchResult, *, config: str, parent: str) -> None:
    """Everything `run` and `finish` print once the answer is chosen; ``config`` is the config path as given
    (for the next commands), ``parent`` the search's MLflow run. A search without a completed trial
    raises :class:`~strategy_search.errors.NoCompletedTrial` (saying why) before anything is printed."""
    _ = result.best_trial
    _print_left_out(result)
    _print_adaptations(result)
    _print_top(result)
    _print_trial_counts(result)
    _print_answer(result)
    _print_do_nothing(result)
    _print_importance(result)
    warn_about_threshold(result.best_strategy.threshold)
    print(f"MLflow run id: {parent}")
    print(
        f"next: strategy-search export {config}   |   strategy-search report {config}   |   strategy-search ui {config}"
    )


def _print_adaptations(result: SearchResult, examples: int = 3) -> None:
    """One line on samplers that had to adapt to small folds (the details are in each trial's
    ``notes`` user attribute and MLflow tag)."""
    trials, changes = set(), []
    for trial in result.study.trials:
        for fold_notes in TrialRecord.of(trial).notes.values():
            for name, change in (fold_notes.get("resampler_adapted") or {}).items():
                trials.add(trial.number)
                if f"{name} {change}" not in changes:
                    changes.append(f"{name} {change}")
    if trials:
        shown = "; ".join(changes[:examples]) + ("; ..." if len(changes) > examples else "")
        say(
            "note",
            f"the resampler adapted to small folds in {len(trials)} trial(s): {shown}. "
            "Each trial's MLflow run lists its changes in the `notes` tag.",
        )


def _print_left_out(result: SearchResult) -> None:
    left_out = result.left_out
    if left_out:
        say(
            "note",
            f"left out for the table's size: {', '.join(left_out)} (time that grows with the square of the rows; "
            f"the folds train on more than expensive_row_limit = {result.settings.expensive_row_limit:,} rows)",
        )


def _print_trial_counts(result: SearchResult) -> None:
    """``trials: 17 complete, 2 pruned, 1 failed``, and the most common failure reasons."""
    summary = result.summary
    print(f"trials: {summary.counts_text()}")
    ended_early = _timeout_text(result)
    if ended_early:
        say("note", ended_early)
    for reason, count in summary.failures:
        print(f"  {count} failed: {mask_secrets(reason)}")
    for reason in summary.not_fitted.values():
        print(f"  {mask_secrets(reason)}")


def _timeout_text(result: SearchResult) -> str | None:
    """Whether the timeout, not the trial count, ended the search (a loaded machine runs fewer
    trials in the same time), as one sentence; None when the trials ran out first."""
    budget = Budget.of(result.study)
    ran = sum(result.summary.counts.values())
    timeout = result.settings.timeout
    if timeout is None or not budget.ended_by_timeout(ran):
        return None
    of = f" of the {budget.n_trials} asked for" if budget.n_trials is not None else ""
    return f"the timeout ({timeout:g} s) ended the search after {ran} trials{of}"


# A run that ends this long after its timeout says where the time went.
OVERRUN_NOTE_SECONDS = 10.0


def overrun_text(result: SearchResult, *, elapsed: float) -> str | None:
    """Where the time beyond ``search.timeout`` went, as one sentence, when the whole run
    (``elapsed`` seconds) ended well after it; None otherwise."""
    timeout = result.settings.timeout
    if timeout is None or elapsed <= timeout + OVERRUN_NOTE_SECONDS:
        return None
    timings = result.summary.timings
    trials = f"the trials ran {timings.wall_seconds:.0f} s of it and " if timings is not None else "the trials "
    return (
        f"this run took {elapsed:.0f} s for search.timeout {timeout:g} s: {trials}ended "
        f"{AFTER_TRIALS_SHARE:.0%} of the timeout early to leave that time for what follows them; the rest went "
        "to reading and checking the table, choosing and calibrating the answer, its figures and the MLflow "
        "logging, which this table made slower than the time left"
    )


def _print_answer(result: SearchResult) -> None:
    """Which strategy export will deploy, when it is an ensemble rather than the top trial."""
    summary = result.summary
    if summary.is_ensemble:
        print(summary.answer_text(shown_metrics(result.settings)))


def _print_do_nothing(result: SearchResult) -> None:
    """Did treating the imbalance help: the answer against doing nothing, on the same folds."""
    text = result.summary.do_nothing_text()
    if text is not None:
        print(text)


def _print_importance(result: SearchResult, n: int = 5) -> None:
    """Which columns the answer's scores rest on (out of fold; the report and card list them all)."""
    importance = result.feature_importance
    if importance is None:
        return
    if importance.skipped:
        print(importance.describe())
        return
    ranked = ", ".join(f"{column} {mean:+.3f}" for column, mean, _ in importance.ranked(n))
    print(f"columns it rests on (PR-AUC lost when shuffled, out of fold): {ranked}")


def _print_top(result: SearchResult, n: int = 5) -> None:
    """The best ``n`` completed trials; a Pareto search also shows every front trial, marked."""
    board = result.leaderboard
    front = {t.number for t in result.pareto_front} if result.settings.multi_objective else set()
    table = Table(title=f"Top strategies ({len(board)} trials, metric: {', '.join(result.settings.metrics)})")
    metrics = shown_metrics(result.settings)
    columns = ["rank", "trial", "strategy", *(METRIC_LABELS[m] for m in metrics), "threshold"]
    columns += ["Pareto front"] if front else []
    for column in columns:
        table.add_column(column, justify="left" if column == "strategy" else "right")
    completed = board[board["state"] == "COMPLETE"]
    shown = completed[(completed.index < n) | completed["trial"].isin(front)] if front else completed.head(n)
    for rank, row in zip(shown.index.tolist(), shown.to_dict("records"), strict=True):
        strategy = result.strategy_of(result.study.trials[int(row["trial"])])
        cells = [
            str(rank + 1),
            str(row["trial"]),
            strategy.describe(),
            *(f"{row[m]:.4f} ± {row[f'{m}_std']:.3f}" for m in metrics),
            format_decision(row["threshold"], classes=result.summary.classes),
        ]
        table.add_row(*cells, *(["yes" if int(row["trial"]) in front else ""] if front else []))
    stdout_console().print(table)
