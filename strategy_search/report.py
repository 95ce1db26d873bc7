"""One self-contained HTML file about a finished search: what it found, how, and on what data.

Built only from what the search stored (the study, its trials' out-of-fold scores, the
config), so any process can write it, and readable anywhere: images are embedded as data URIs,
styles are inline, and nothing is loaded from outside the file.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from strategy_search._version import __version__
from strategy_search.do_nothing import TABLE_HEADER, TREATMENT_HEADER
from strategy_search.plots import FIGURE_CAPTIONS, search_figures
from strategy_search.result import SearchResult
from strategy_search.scoring import METRIC_LABELS, METRICS
from strategy_search.slots import slot_names
from strategy_search.thresholds import format_decision

if TYPE_CHECKING:  # matplotlib is imported by plots, when a figure is drawn
    from matplotlib.figure import Figure

LEADERBOARD_ROWS = 25
IMPORTANCE_ROWS = 25
# PR-AUC appears in two forms: the search's metric (each fold's average precision, averaged) and
# the curves' legends (the average precision of all out-of-fold scores pooled).
AP_NOTE = (
    "PR-AUC here is the mean over the CV folds of each fold's average precision (the metric the search "
    "ranks by); the precision-recall plot's legend gives the pooled AP, the average precision of all "
    "out-of-fold scores taken together, which differs slightly."
)
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem;
       color: #1f2933; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #d9dee3; padding-bottom: 0.2rem; }
.sub { color: #52606d; margin-top: 0; } table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #d9dee3; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f5f7fa; } .answer { background: #fff4f4; border-left: 4px solid #d9534f; padding: 0.6rem 1rem; }
figure { display: inline-block; margin: 0.5rem; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; border: 1px solid #e4e7eb; } figcaption { font-size: 0.8rem; color: #52606d; }
pre { background: #f5f7fa; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
"""


def build_report(result: SearchResult, *, title: str, config_text: str | None = None, run_id: str | None = None) -> str:
    """The report as one HTML document (see the module docstring)."""
    parts = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">strategy-search {_e(__version__)} &middot; study <code>{_e(result.study.study_name)}</code>'
        + (f" &middot; MLflow run <code>{_e(run_id)}</code>" if run_id else "")
        + f" &middot; written {dt.datetime.now():%Y-%m-%d %H:%M}</p>",
        _answer_section(result),
        _do_nothing_section(result),
        _importance_section(result),
        _plots_section(search_figures(result)),
        _leaderboard_section(result),
        _data_section(result),
        _settings_section(result, config_text),
        _timings_section(result),
    ]
    body = "\n".join(p for p in parts if p)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def _e(value: Any) -> str:
    return html.escape(str(value))


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _key_value_table(rows: Sequence[Sequence[Any]]) -> str:
    """A two-column table of named values: each row's name is its header cell (no header row)."""
    body = "".join(f'<tr><th scope="row">{_e(name)}</th><td>{_e(value)}</td></tr>' for name, value in rows)
    return f"<table><tbody>{body}</tbody></table>"


def _text(value: Any) -> str:
    """A cell's text: empty for a missing value (None or NaN), which a table shows as blank."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _number(value: Any, digits: int = 4) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    return "" if np.isnan(number) else f"{number:.{digits}f}"


def _answer_section(result: SearchResult) -> str:
    summary = result.summary
    scores, stds = summary.scores, summary.scores_std
    rows = [[METRIC_LABELS[m], _number(scores.get(m)), _number(stds.get(m))] for m in METRICS if m in scores]
    members = ""
    if summary.members:
        member_rows = [[m.trial, f"{m.share:.2f}", m.strategy] for m in summary.members]
        members = "<p>Members (each scored by the same CV, averaged with these shares):</p>" + _table(
            member_rows, ["trial", "share", "strategy"]
        )
    return (
        '<h2 id="answer">Answer</h2><div class="answer">'
        f"<p><strong>{_e(summary.answer)}</strong></p>"
        f"<p>Decision: {_e(format_decision(summary.decision, digits=4, classes=summary.classes))} "
        f"(rule <code>{_e(summary.threshold_rule)}</code>)</p>"
        f"{members}{_table(rows, ['metric', 'CV mean', 'CV std'])}"
        f"<p>{_e(AP_NOTE)}</p></div>"
    )


def _do_nothing_section(result: SearchResult) -> str:
    comparison = result.summary.do_nothing
    if comparison is None:
        return ""
    text = comparison.summary(METRIC_LABELS)
    rows, treatment = comparison.table_rows(METRIC_LABELS), comparison.treatment_rows(METRIC_LABELS)
    return (
        f'<h2 id="do-nothing">Did treating the imbalance help?</h2><p>{_e(text[0].upper() + text[1:])}</p>'
        + (_table(rows, TABLE_HEADER) if rows else "")
        + (_table(treatment, TREATMENT_HEADER) if treatment else "")
    )


def _importance_section(result: SearchResult) -> str:
    importance = result.feature_importance
    if importance is None:
        return ""
    text = importance.describe()
    rows = [[column, _number(mean), _number(std)] for column, mean, std in importance.ranked(IMPORTANCE_ROWS)]
    more = len(importance.columns) - IMPORTANCE_ROWS
    return (
        f'<h2 id="importance">Why the answer decides</h2><p>{_e(text[0].upper() + text[1:])}.</p>'
        + (_table(rows, ["column", "PR-AUC lost (mean)", "std over folds"]) if rows else "")
        + (f"<p>... and {more} more columns.</p>" if more > 0 else "")
    )


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots_section(figures: Mapping[str, Figure]) -> str:
    order = [name for name in FIGURE_CAPTIONS if name in figures] + [n for n in figures if n not in FIGURE_CAPTIONS]
    items = [
        f'<figure><img alt="{_e(name)}" src="data:image/png;base64,{_png(figures[name])}">'
        f"<figcaption>{_e(FIGURE_CAPTIONS.get(name, name))}</figcaption></figure>"
        for name in order
    ]
    return '<h2 id="plots">Plots</h2>' + "".join(items)


def _leaderboard_section(result: SearchResult) -> str:
    board = result.leaderboard
    metric = result.settings.primary_metric
    shown = board.head(LEADERBOARD_ROWS)
    columns = ["trial", "state", *slot_names(), "pr_auc", "f1", "threshold", "duration_s", "fail_reason"]
    rows = []
    answer = set(result.summary.answer_trials)
    for record in shown[[c for c in columns if c in shown.columns]].to_dict("records"):
        mark = " (answer)" if record["trial"] in answer else ""
        rows.append(
            [
                f"{record['trial']}{mark}",
                record["state"],
                *[_text(record.get(slot)) for slot in slot_names()],
                _number(record.get("pr_auc")),
                _number(record.get("f1")),
                _decision_text(record.get("threshold")),
                _number(record.get("duration_s"), 1),
                _text(record.get("fail_reason")),
            ]
        )
    header = ["trial", "state", *slot_names(), "PR-AUC", "F1", "threshold", "seconds", "note"]
    summary = result.summary.counts_text()
    return (
        f'<h2 id="leaderboard">Leaderboard</h2><p>{_e(summary)}; best first by {_e(METRIC_LABELS[metric])}, '
        f"the first {min(len(board), LEADERBOARD_ROWS)} shown.</p>" + _table(rows, header)
    )


def _decision_text(value: Any) -> str:
    return format_decision(value, digits=3) if isinstance(value, (list, tuple)) else _number(value, 3)


def _data_section(result: SearchResult) -> str:
    profile = result.profile
    rows: list[list[Any]] = [
        ["rows", profile.n_rows],
        ["task", profile.the_task.kind],
        ["numeric columns", len(profile.schema.numeric)],
        ["categorical columns", len(profile.schema.categorical)],
        ["class counts", ", ".join(f"{k}: {v}" for k, v in profile.class_counts.items())],
        ["imbalance (largest : smallest)", f"{profile.imbalance_ratio:.1f} : 1"],
    ]
    if not profile.multiclass:
        rows.append(["positive class", profile.positive_label])
    rows += [["note", note] for note in profile.notes]
    return '<h2 id="data">Data</h2>' + _key_value_table(rows)


def _settings_section(result: SearchResult, config_text: str | None) -> str:
    settings = result.settings
    rows: list[list[Any]] = [
        ["space", settings.space.name],
        ["metric", ", ".join(settings.metrics)],
        ["threshold rule", settings.threshold],
        ["CV", f"{result.plan.describe()}, seed {settings.seed}"],
        ["budget", _budget_text(settings.n_trials, settings.timeout)],
    ]
    config = f"<p>Config:</p><pre>{_e(config_text)}</pre>" if config_text else ""
    return '<h2 id="settings">Settings</h2>' + _key_value_table(rows) + config


def _budget_text(n_trials: int | None, timeout: float | None) -> str:
    parts = ([f"{n_trials} trials"] if n_trials else []) + ([f"{timeout:g} s"] if timeout else [])
    return " or ".join(parts) + (", whichever ends first" if len(parts) == 2 else "")


def _timings_section(result: SearchResult) -> str:
    timings = result.summary.timings
    if timings is None:
        return ""
    median = timings.median_trial_seconds
    rows: list[list[Any]] = [
        ["first trial started", timings.started],
        ["last trial finished", timings.ended],
        ["search wall time", f"{timings.wall_seconds:.1f} s"],
        ["trials", result.summary.counts_text()],
        ["median trial duration", f"{median:.2f} s" if median is not None else ""],
        ["model fitting (all fits, summed over worker processes)", f"{timings.fit_seconds:.1f} s"],
    ]
    return '<h2 id="timings">Timings</h2>' + _key_value_table(rows)
