"""Model families that cannot fit this table: after their first trials all failed, the search
stops fitting them.

Optuna's samplers ignore failed trials, so a family whose every fit fails on this table keeps
being proposed as if it had never been tried: a RUSBoost whose first stump, fitted on a
balanced sample, is worse than random on the full training part failed 65-104 times in one
15 s search on glass-0-1-6_vs_2 and yeast-2_vs_8 (benchmarks/results/space-ablation-default.csv).
Such a trial is closed as pruned before any fit, which the sampler does count, as a bad trial,
so it turns to other families. Any process reads the same answer from the stored trials.
"""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from strategy_search.trial_record import TrialRecord

__all__ = ["FAILURES_BEFORE_RETIRING", "retired_model"]

# Enough failures to tell a family that cannot fit this table from an unlucky combination of
# resampler and parameters, few enough to cost a fraction of a short search.
FAILURES_BEFORE_RETIRING = 3


def retired_model(study: optuna.Study, model: str) -> str | None:
    """Why trials of ``model`` are no longer fitted on this study's table, or None: at least
    :data:`FAILURES_BEFORE_RETIRING` of its trials failed, none of them ran (completed, or was
    pruned after scoring a fold), and another family's trial completed. While no trial has
    completed, failures may be the setup's, not the family's: they go on, and the search stops
    when its first trials all failed (:class:`~strategy_search.stopping.FailFast`)."""
    failures: list[str] = []
    others_completed = False
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)):
        record = TrialRecord.of(trial)
        if record.strategy.get("model") != model:
            others_completed = others_completed or trial.state == TrialState.COMPLETE
        elif trial.state == TrialState.COMPLETE or (trial.state == TrialState.PRUNED and trial.intermediate_values):
            return None
        elif trial.state == TrialState.FAIL:
            failures.append(record.fail_reason or "unknown error")
    if len(failures) < FAILURES_BEFORE_RETIRING or not others_completed:
        return None
    return (
        f"{model} not fitted: its {len(failures)} trials on this table all failed, none ran (the last: {failures[-1]})"
    )
