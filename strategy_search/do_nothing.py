"""Did treating the imbalance help? The answer against doing nothing about it, on the same folds.

"Doing nothing" is the model family of the search's best trial, with the hyperparameters that
trial found, but no resampling, no class weights, the plain log-loss and the untuned decision
(threshold 0.5; multi-class: the most probable class). Only the treatment of the imbalance
differs from the answer's best member, so the difference is what treating it bought. When the
best trial's model balances the classes itself (balanced random forest, EasyEnsemble,
RUSBoost, the self-paced and cascade ensembles) or is an anomaly detector, the best trial with a
model that is neither is used instead.

That difference mixes what the treatment bought with what the choice of models, averaging
and a tuned threshold bought. So the answer is also compared, on the same folds, with its *own
members untreated*: each member's model and hyperparameters with no resampler, no class weights
and the log-loss, averaged with the same weights, its threshold chosen the same way. The gap
between the two is the treatment's part alone. A member whose model balances the classes
itself is untreated as its plain twin (a balanced random forest as a random forest with the
same parameters), or left out when it has none (EasyEnsemble, RUSBoost, ...).

Both comparisons are cross-validated on the search's own folds, so each fold gives a
paired difference. Folds share most of their training rows, which makes the ordinary paired
t-test far too confident; the corrected resampled t-test of Nadeau and Bengio ("Inference for
the generalization error", Machine Learning 52, 2003) widens the variance by the test-to-train
ratio: ``t = mean(d) / sqrt((1/J + n_test/n_train) * var(d))`` with J - 1 degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from strategy_search.data import plain
from strategy_search.slots import MODEL, all_slots, get_slot
from strategy_search.strategy import Strategy

# Below this two-sided p-value a difference counts as real.
SIGNIFICANCE = 0.05
# The metrics compared (when the search has them): ranking quality and the deployed decision.
COMPARED = ("pr_auc", "f1")
TABLE_HEADER = ("metric", "answer", "do nothing", "difference", "p-value", "verdict")
TREATMENT_HEADER = ("metric", "answer", "its members untreated", "the treatment's part", "p-value", "verdict")


def do_nothing_strategy(strategy: Strategy) -> Strategy:
    """``strategy``'s model with its parameters, every other slot at its neutral choice, and
    the untuned decision."""
    choices = {slot.name: strategy.key(slot.name) if slot.name == MODEL else str(slot.neutral) for slot in all_slots()}
    return Strategy(choices, {MODEL: strategy.params_for(MODEL)}, threshold=0.5, seed=strategy.seed)


def untreated_strategy(strategy: Strategy) -> Strategy | None:
    """``strategy`` with the treatment of the imbalance removed but the threshold rule's decision
    kept: its model (or the model's ``untreated_twin``) and the model's parameters, every other
    slot neutral. None when the model balances the classes itself and has no twin, or is an
    anomaly detector."""
    model = get_slot(MODEL).component(strategy.model)
    treats_itself = model.tag("balances_itself") or model.tag("anomaly_detector")
    key = model.tag("untreated_twin") or (None if treats_itself else model.key)
    if key is None:
        return None
    choices = {slot.name: key if slot.name == MODEL else str(slot.neutral) for slot in all_slots()}
    return Strategy(choices, {MODEL: strategy.params_for(MODEL)}, threshold=strategy.threshold, seed=strategy.seed)


def is_untreated(strategy: Strategy) -> bool:
    """Whether ``strategy`` does nothing about the imbalance already (its own untreated form)."""
    untreated = untreated_strategy(strategy)
    return untreated is not None and untreated.choices == dict(strategy.choices)


def corrected_t_test(differences: Sequence[float], *, test_share: float) -> float:
    """Two-sided p-value of the corrected resampled t-test (module notes) for per-fold
    ``differences``; ``test_share`` is n_test / n_train of a fold. NaN with fewer than 2 folds;
    1 when every difference is 0, 0 when they are all equal and not 0."""
    d = np.asarray([x for x in differences if np.isfinite(x)], dtype=float)
    if len(d) < 2:
        return float("nan")
    variance = float(d.var(ddof=1))
    if variance == 0.0:
        return 1.0 if float(d.mean()) == 0.0 else 0.0
    t = float(d.mean()) / np.sqrt((1.0 / len(d) + test_share) * variance)
    return float(2 * stats.t.sf(abs(t), df=len(d) - 1))


@dataclass(frozen=True)
class MetricDifference:
    metric: str
    answer: float
    do_nothing: float
    difference: float
    p_value: float

    @property
    def verdict(self) -> str:
        if not np.isfinite(self.p_value) or self.p_value >= SIGNIFICANCE:
            return "not significant"
        return "better" if self.difference > 0 else "worse"


def _verdict_of(differences: Sequence[MetricDifference]) -> bool | None:
    """True: significantly better on some metric and worse on none; False: significantly worse
    on one; None: no difference is clear."""
    verdicts = {d.verdict for d in differences}
    if "worse" in verdicts:
        return False
    return True if "better" in verdicts else None


def _difference_text(d: MetricDifference, labels: Mapping[str, str]) -> str:
    return (
        f"{labels.get(d.metric, d.metric)} {d.answer:.4f} vs {d.do_nothing:.4f} ({d.difference:+.4f}, "
        f"p = {d.p_value:.3g}: {d.verdict})"
    )


def _rows(differences: Sequence[MetricDifference], labels: Mapping[str, str]) -> list[list[str]]:
    return [
        [
            labels.get(d.metric, d.metric),
            f"{d.answer:.4f}",
            f"{d.do_nothing:.4f}",
            f"{d.difference:+.4f}",
            f"{d.p_value:.3g}",
            d.verdict,
        ]
        for d in differences
    ]


@dataclass(frozen=True)
class DoNothingComparison:
    """The do-nothing strategy, the trial it came from, and each compared metric's difference
    (answer minus do-nothing) with its p-value; ``skipped`` says why there is none.

    ``treatment``: the same against the answer's members untreated (the treatment's part, see
    the module notes); ``untreated_answer`` says how they were untreated ("" when every member
    was untreated already), ``treatment_skipped`` why that comparison is missing."""

    strategy: dict[str, Any] = field(default_factory=dict)
    trial: int | None = None
    answer_trials: tuple[int, ...] = ()
    differences: tuple[MetricDifference, ...] = ()
    n_folds: int = 0
    skipped: str | None = None
    treatment: tuple[MetricDifference, ...] = ()
    untreated_answer: str = ""
    treatment_skipped: str | None = None

    @property
    def helped(self) -> bool | None:
        """Did the answer beat doing nothing (:func:`_verdict_of`), for whatever reason."""
        return _verdict_of(self.differences)

    @property
    def treatment_helped(self) -> bool | None:
        """Did the treatment itself help: the answer against its own members untreated."""
        return _verdict_of(self.treatment)

    @property
    def all_untreated(self) -> bool:
        """Every member of the answer does nothing about the imbalance."""
        return not self.treatment_skipped and not self.untreated_answer and bool(self.treatment)

    def conclusion(self) -> str:
        """What the numbers show, in words that claim no more than that."""
        power = f"at the {SIGNIFICANCE:.0%} level over {self.n_folds} folds (cv.repeats adds folds and power)"
        gain = {True: "the answer beats doing nothing", False: "the answer is worse than doing nothing", None: ""}
        overall = gain[self.helped]
        if self.all_untreated:
            return (
                (overall + "; " if overall else "no difference from doing nothing is significant " + power + "; ")
                + "no member of the answer treats the imbalance, so any gain is the choice of models, averaging "
                "and the threshold, not a treatment"
            )
        if not self.treatment:
            fallback = {True: "the answer helped", False: "the answer made things worse", None: ""}[self.helped]
            return fallback or f"no difference is significant {power}"
        if self.treatment_helped is True:
            return "treating the imbalance helped: the answer beats its own members untreated"
        if self.treatment_helped is False:
            return "treating the imbalance made things worse than the same members untreated"
        if self.helped:
            return (
                "the answer beats doing nothing, but the treatment itself made no significant difference: "
                "the gain came from the choice of models, averaging and the threshold"
            )
        return f"no difference is significant {power}"

    def summary(self, labels: Mapping[str, str]) -> str:
        """One paragraph for the command line, the model card and the report."""
        if self.skipped:
            return f"Do-nothing comparison not made: {self.skipped}"
        described = Strategy.from_dict(self.strategy).describe()
        parts = "; ".join(_difference_text(d, labels) for d in self.differences)
        text = (
            f"against doing nothing ({described} as tuned, no resampling, no class weights, log-loss, untuned "
            f"threshold, same folds): {parts}"
        )
        if self.treatment and not self.all_untreated:
            how = f" ({self.untreated_answer})" if self.untreated_answer else ""
            treated = "; ".join(_difference_text(d, labels) for d in self.treatment)
            text += f". Against its own members untreated{how}: {treated}"
        elif self.treatment_skipped:
            text += f". The treatment's part alone is not measured: {self.treatment_skipped}"
        return text + f"; corrected paired t-test: {self.conclusion()}."

    def table_rows(self, labels: Mapping[str, str]) -> list[list[str]]:
        """Rows under :data:`TABLE_HEADER`, one per compared metric."""
        return _rows(self.differences, labels)

    def treatment_rows(self, labels: Mapping[str, str]) -> list[list[str]]:
        """Rows under :data:`TREATMENT_HEADER` (none when every member is untreated already)."""
        return [] if self.all_untreated else _rows(self.treatment, labels)

    def to_attr(self) -> dict[str, Any]:
        return plain(
            {
                "strategy": self.strategy,
                "trial": self.trial,
                "answer_trials": list(self.answer_trials),
                "differences": [vars(d) for d in self.differences],
                "n_folds": self.n_folds,
                "skipped": self.skipped,
                "treatment": [vars(d) for d in self.treatment],
                "untreated_answer": self.untreated_answer,
                "treatment_skipped": self.treatment_skipped,
            }
        )

    @classmethod
    def from_attr(cls, data: Mapping[str, Any]) -> DoNothingComparison:
        return cls(
            strategy=dict(data.get("strategy") or {}),
            trial=data.get("trial"),
            answer_trials=tuple(data.get("answer_trials") or ()),
            differences=tuple(MetricDifference(**d) for d in data.get("differences") or ()),
            n_folds=int(data.get("n_folds") or 0),
            skipped=data.get("skipped"),
            treatment=tuple(MetricDifference(**d) for d in data.get("treatment") or ()),
            untreated_answer=str(data.get("untreated_answer") or ""),
            treatment_skipped=data.get("treatment_skipped"),
        )


def compare_folds(
    answer: Mapping[str, np.ndarray], do_nothing: Mapping[str, np.ndarray], *, test_share: float
) -> tuple[MetricDifference, ...]:
    """Each compared metric's mean difference and p-value from per-fold values."""
    found = []
    for metric in COMPARED:
        if metric not in answer or metric not in do_nothing:
            continue
        a, b = np.asarray(answer[metric], dtype=float), np.asarray(do_nothing[metric], dtype=float)
        found.append(
            MetricDifference(
                metric,
                float(np.nanmean(a)),
                float(np.nanmean(b)),
                float(np.nanmean(a - b)),
                corrected_t_test(a - b, test_share=test_share),
            )
        )
    return tuple(found)
