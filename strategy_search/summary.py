"""One summary of a finished search, computed once (:meth:`SearchResult.summary
<strategy_search.result.SearchResult.summary>`) and rendered by the console, the report, the
model card and the MLflow tags: the answer and its members, the trial counts and failure
reasons, the timings, and the do-nothing comparison. It is plain data (:meth:`to_dict`), so an
export folder keeps it for its model card."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from strategy_search.data import plain
from strategy_search.do_nothing import DoNothingComparison
from strategy_search.scoring import METRIC_LABELS
from strategy_search.thresholds import format_decision

__all__ = ["STATE_WORDS", "Member", "SearchSummary", "Timings"]

# Trial states as the summary counts them, in the order every view lists them.
STATE_WORDS = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running"}


@dataclass(frozen=True)
class Member:
    """One trial of the answer: its share of the averaged probability (shares sum to 1)."""

    trial: int
    share: float
    strategy: str
    score: float  # its own CV mean of the primary metric


@dataclass(frozen=True)
class Timings:
    started: str | None  # ISO times of the first trial's start and the last one's end
    ended: str | None
    wall_seconds: float
    median_trial_seconds: float | None
    fit_seconds: float  # all fits, summed over worker processes


@dataclass(frozen=True)
class SearchSummary:
    """A finished search in one record (see the module docstring)."""

    study: str
    answer: str
    decision: Any
    threshold_rule: str
    metrics: tuple[str, ...]
    scores: dict[str, float]
    scores_std: dict[str, float]
    best_trial: int
    best_score: float  # the best single trial's CV mean of the primary metric
    members: tuple[Member, ...]  # empty: the best trial answers alone
    counts: dict[str, int]  # state word -> trials (surplus trials, which never ran, left out)
    failures: tuple[tuple[str, int], ...]  # the most common failure reasons, with their counts
    left_out: dict[str, str] = field(default_factory=dict)
    not_fitted: dict[str, str] = field(default_factory=dict)  # model -> why its trials stopped being fitted
    timings: Timings | None = None
    do_nothing: DoNothingComparison | None = None
    classes: tuple[str, ...] = ()  # multi-class: the labels in code order, shown beside decision weights
    cv: str = ""  # the split the trials were scored on (splits.SplitBy.describe); empty in older exports

    @property
    def primary_metric(self) -> str:
        return self.metrics[0]

    @property
    def is_ensemble(self) -> bool:
        return bool(self.members)

    def counts_text(self) -> str:
        """``17 complete, 2 pruned, 1 failed``."""
        return ", ".join(f"{n} {word}" for word, n in self.counts.items() if n)

    def scores_text(self, metrics: tuple[str, ...] | None = None) -> str:
        shown = metrics or self.metrics
        return ", ".join(
            f"{METRIC_LABELS[m]} {self.scores[m]:.4f} ± {self.scores_std.get(m, float('nan')):.3f}"
            for m in shown
            if m in self.scores
        )

    def answer_text(self, metrics: tuple[str, ...] | None = None) -> str:
        """One line: what is deployed, its CV scores and decision, and the best single trial."""
        decision = format_decision(self.decision, classes=self.classes)
        if not self.is_ensemble:
            return f"answer: trial {self.best_trial}, {self.answer} ({self.scores_text(metrics)}, threshold {decision})"
        members = ", ".join(str(m.trial) for m in self.members)
        return (
            f"answer: the average of trials {members} ({self.scores_text(metrics)}, threshold {decision}); "
            f"best single trial {METRIC_LABELS[self.primary_metric]} {self.best_score:.4f}"
        )

    def do_nothing_text(self) -> str | None:
        if self.do_nothing is None:
            return None
        return f"{'' if self.do_nothing.skipped else 'answer '}{self.do_nothing.summary(METRIC_LABELS)}"

    def tags(self) -> dict[str, str]:
        """The parent run's tags (metrics are logged beside them: :meth:`counts`, scores)."""
        tags = {
            "best_trial_number": str(self.best_trial),
            "best_strategy": self.answer,
            "answer_trial_numbers": ",".join(str(n) for n in self.answer_trials),
            "trial_counts": self.counts_text(),
        }
        if self.members:
            tags["ensemble_trial_numbers"] = tags["answer_trial_numbers"]
            tags["ensemble_shares"] = ",".join(f"{m.share:.4f}" for m in self.members)
        if self.left_out:
            tags["left_out"] = "; ".join(f"{component}: {why}" for component, why in self.left_out.items())
        if self.do_nothing is not None:
            tags["do_nothing"] = self.do_nothing.summary(METRIC_LABELS)
        if self.cv:
            tags["cv"] = self.cv
        return tags

    @property
    def answer_trials(self) -> list[int]:
        return [m.trial for m in self.members] if self.members else [self.best_trial]

    def markdown(self) -> str:
        """The model card's "Search" section."""
        lines = [f"- study: `{self.study}`", f"- trials: {self.counts_text()}"]
        if self.cv:
            lines.append(f"- scored by: {self.cv}")
        if self.timings is not None:
            lines.append(
                f"- search wall time: {self.timings.wall_seconds:.1f} s "
                f"(model fitting {self.timings.fit_seconds:.1f} s summed over worker processes)"
            )
        lines += [f"- {count} failed: {reason}" for reason, count in self.failures]
        lines += [f"- {reason}" for reason in self.not_fitted.values()]
        if self.members:
            lines.append(
                "- answer: the weighted average of "
                + ", ".join(f"trial {m.trial} ({m.share:.0%}, {m.strategy})" for m in self.members)
            )
        else:
            lines.append(f"- answer: trial {self.best_trial} ({self.answer})")
        if self.left_out:
            lines.append("- left out for the table's size: " + ", ".join(self.left_out))
        return "## Search\n\n" + "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["do_nothing"] = None if self.do_nothing is None else self.do_nothing.to_attr()
        return plain(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSummary:
        timings = data.get("timings")
        do_nothing = data.get("do_nothing")
        return cls(
            **{
                k: v
                for k, v in data.items()
                if k not in ("members", "timings", "do_nothing", "metrics", "failures", "classes")
            },
            metrics=tuple(data["metrics"]),
            classes=tuple(str(c) for c in data.get("classes") or ()),
            members=tuple(Member(**m) for m in data.get("members") or ()),
            failures=tuple((str(r), int(n)) for r, n in data.get("failures") or ()),
            timings=Timings(**timings) if timings else None,
            do_nothing=DoNothingComparison.from_attr(do_nothing) if do_nothing else None,
        )
