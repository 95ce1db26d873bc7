"""Figures, drawn on bare matplotlib Figures (Agg canvas): no pyplot state, no display needed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from strategy_search.data import DataProfile
from strategy_search.explain import FeatureImportance
from strategy_search.result import SearchResult
from strategy_search.slots import slot_names


def class_distribution_figure(profile: DataProfile) -> Figure:
    """Bar plot of the class counts (horizontal, one bar per class, for more than two). Built
    on a bare Figure with the Agg canvas so it never touches pyplot's global state or needs a
    display."""
    if profile.multiclass:
        return _multiclass_figure(profile)
    figure = Figure(figsize=(4, 3), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [str(profile.negative_label), str(profile.positive_label)]
    counts = [profile.class_counts.get(label, 0) for label in labels]
    bars = axes.bar([f"{labels[0]}\n(negative)", f"{labels[1]}\n(positive)"], counts, color=["#9aa5b1", "#d9534f"])
    axes.bar_label(bars, labels=[f"{c} ({c / max(sum(counts), 1):.1%})" for c in counts])
    axes.set_ylabel("rows")
    axes.set_title(f"Class distribution (imbalance {profile.imbalance_ratio:.1f}:1)")
    axes.margins(y=0.15)
    figure.tight_layout()
    return figure


def _multiclass_figure(profile: DataProfile) -> Figure:
    names, counts = list(profile.class_counts), list(profile.class_counts.values())
    figure = Figure(figsize=(6, 1.2 + 0.4 * len(names)), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    smallest = min(counts)
    bars = axes.barh(names, counts, color=["#d9534f" if c == smallest else "#9aa5b1" for c in counts])
    axes.bar_label(bars, labels=[f" {c} ({c / max(sum(counts), 1):.1%})" for c in counts])
    axes.invert_yaxis()  # the first class on top
    axes.set_xlabel("rows")
    axes.set_title(f"{len(names)} classes (largest : smallest = {profile.imbalance_ratio:.1f} : 1)")
    axes.margins(x=0.25)
    figure.tight_layout()
    return figure


# -- the search's figures ---------------------------------------------------------------------
# Logged to the parent MLflow run and embedded in the report, from what the search stored (the
# leaderboard and each trial's out-of-fold scores): nothing is refitted.
TOP_STRATEGIES = 4  # curves of the answer plus this many of the best trials
ANSWER_COLOR, OTHER_COLORS = "#d9534f", ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf")
MIN_TRIALS_FOR_IMPORTANCE = 10


# Many classes: the curves' legend lists this many, the confusion matrix labels its cells up to
# this many classes.
LEGEND_CLASSES = 12
LABELLED_CLASSES = 15


def _figure(width: float = 5.5, height: float = 4.0) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def curves_figure(
    y: np.ndarray, scored: list[tuple[str, np.ndarray]], *, kind: str, class_names: Sequence[str] = ()
) -> Figure:
    """Out-of-fold PR (``kind="pr"``) or ROC (``"roc"``) curves. Binary: one curve per scored
    strategy (the answer first). Multi-class: one one-vs-rest curve per class of the first."""
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    figure = _figure()
    axes = figure.add_subplot()
    if class_names:
        name, scores = scored[0]
        lines = [(f"class {c}", (y == k).astype(int), scores[:, k]) for k, c in enumerate(class_names)]
        title = f"{name}: one-vs-rest per class"
    else:
        lines = [(label, y, scores) for label, scores in scored]
        title = "out-of-fold, answer and best trials"
    for i, (label, truth, scores) in enumerate(lines):
        seen = ~np.isnan(scores)
        truth, scores = truth[seen], scores[seen]
        color = ANSWER_COLOR if i == 0 and not class_names else OTHER_COLORS[i % len(OTHER_COLORS)]
        listed = i < LEGEND_CLASSES
        if kind == "pr":
            precision, recall, _ = precision_recall_curve(truth, scores)
            value = average_precision_score(truth, scores)
            shown = f"{label} (pooled AP {value:.3f})" if listed else "_"
            axes.step(recall, precision, where="post", color=color, label=shown)
        else:
            fpr, tpr, _ = roc_curve(truth, scores)
            axes.plot(fpr, tpr, color=color, label=f"{label} (AUC {auc(fpr, tpr):.3f})" if listed else "_")
    if kind == "pr":
        prevalence = float(np.mean(y == 1)) if not class_names else None
        if prevalence is not None:
            axes.axhline(prevalence, color="#999999", linestyle=":", label=f"chance ({prevalence:.3f})")
        axes.set_xlabel("recall")
        axes.set_ylabel("precision")
        axes.set_title(f"Precision-recall, {title}", fontsize=10)
    else:
        axes.plot([0, 1], [0, 1], color="#999999", linestyle=":")
        axes.set_xlabel("false positive rate")
        axes.set_ylabel("true positive rate")
        axes.set_title(f"ROC, {title}", fontsize=10)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    # A legend of every class would not fit the figure.
    legend_title = f"the first {LEGEND_CLASSES} of {len(lines)} classes" if len(lines) > LEGEND_CLASSES else None
    axes.legend(fontsize=7, loc="lower left" if kind == "pr" else "lower right", title=legend_title, title_fontsize=7)
    figure.tight_layout()
    return figure


def confusion_figure(matrix: np.ndarray, class_names: Sequence[str], *, decision: str) -> Figure:
    """The confusion matrix, each cell with its count and its share of the true class's rows
    (beyond :data:`LABELLED_CLASSES` classes only the colours: the cells would be unreadable,
    and thousands of labels take seconds to draw)."""
    labelled = len(class_names) <= LABELLED_CLASSES
    size = 3.2 + 0.45 * min(len(class_names), LABELLED_CLASSES)
    figure = _figure(size + 0.6, size)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    if labelled:
        _label_cells(axes, matrix)
    else:
        figure.colorbar(image, ax=axes, label="rows")
    ticks = range(len(class_names))
    tick_size = None if labelled else 5
    axes.set_xticks(ticks, [str(c) for c in class_names], fontsize=tick_size, rotation=0 if labelled else 90)
    axes.set_yticks(ticks, [str(c) for c in class_names], fontsize=tick_size)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"Confusion matrix (out-of-fold), {decision}", fontsize=9)
    figure.tight_layout()
    return figure


def _label_cells(axes: Axes, matrix: np.ndarray) -> None:
    """Each cell's count and its share of the true class's rows."""
    top = matrix.max() or 1
    for (i, j), count in np.ndenumerate(matrix):
        share = count / max(matrix[i].sum(), 1)
        axes.text(
            j,
            i,
            f"{count}\n{share:.0%}",
            ha="center",
            va="center",
            fontsize=8,
            color="white" if count > top / 2 else "black",
        )


def threshold_figure(y: np.ndarray, scores: np.ndarray, threshold: float) -> Figure:
    """Precision, recall and F1 of the out-of-fold scores against the threshold."""
    from sklearn.metrics import precision_recall_curve

    seen = ~np.isnan(scores)
    precision, recall, cuts = precision_recall_curve(y[seen], scores[seen])
    precision, recall = precision[:-1], recall[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    figure = _figure()
    axes = figure.add_subplot()
    axes.plot(cuts, precision, label="precision", color="#1f77b4")
    axes.plot(cuts, recall, label="recall", color="#2ca02c")
    axes.plot(cuts, f1, label="F1", color=ANSWER_COLOR)
    axes.axvline(threshold, color="black", linestyle="--", label=f"chosen threshold {threshold:.3g}")
    axes.set_xlabel("threshold on the answer's score")
    axes.set_ylim(0, 1.02)
    axes.set_title("Precision / recall / F1 against the threshold (out-of-fold)", fontsize=10)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def history_figure(board: pd.DataFrame, metric: str) -> Figure:
    """Each complete trial's score in order, the best so far, and where trials were pruned or failed."""
    figure = _figure(6.5, 3.8)
    axes = figure.add_subplot()
    board = board.sort_values("trial")
    done = board[board["state"] == "COMPLETE"]
    axes.scatter(done["trial"], done[metric], s=14, color="#1f77b4", label="complete trial")
    axes.step(done["trial"], done[metric].cummax(), where="post", color=ANSWER_COLOR, label="best so far")
    low = float(np.nanmin(done[metric])) if len(done) else 0.0
    for state, marker, color in (("PRUNED", "|", "#999999"), ("FAIL", "x", "#000000")):
        rows = board[board["state"] == state]
        if len(rows):
            axes.scatter(rows["trial"], [low] * len(rows), marker=marker, color=color, label=f"{state.lower()} trial")
    axes.set_xlabel("trial")
    axes.set_ylabel(metric)
    axes.set_title(f"Optimisation history ({len(done)} complete of {len(board)} trials)", fontsize=10)
    axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    return figure


def pareto_front_mask(points: np.ndarray) -> np.ndarray:
    """Rows of ``points`` (both columns maximised) that no other row beats in both."""
    front = np.ones(len(points), dtype=bool)
    for i, p in enumerate(points):
        beaten = np.all(points >= p, axis=1) & np.any(points > p, axis=1)
        front[i] = not beaten.any()
    return front


def pareto_figure(board: pd.DataFrame, answer: tuple[float, float] | None) -> Figure:
    done = board[(board["state"] == "COMPLETE")].dropna(subset=["pr_auc", "f1"])
    points = done[["pr_auc", "f1"]].to_numpy(dtype=float)
    front = pareto_front_mask(points) if len(points) else np.zeros(0, dtype=bool)
    figure = _figure()
    axes = figure.add_subplot()
    axes.scatter(points[~front, 0], points[~front, 1], s=14, color="#9aa5b1", label="trial")
    order = np.argsort(points[front, 0])
    axes.plot(points[front, 0][order], points[front, 1][order], "o-", color="#1f77b4", ms=5, label="Pareto front")
    if answer is not None:
        axes.scatter([answer[0]], [answer[1]], marker="*", s=220, color=ANSWER_COLOR, zorder=5, label="answer")
    axes.set_xlabel("PR-AUC (CV mean)")
    axes.set_ylabel("F1 (CV mean)")
    axes.set_title("PR-AUC x F1: the Pareto front", fontsize=10)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def choices_figure(board: pd.DataFrame, metric: str) -> Figure:
    """The complete trials' scores by each slot's choice: which resampler, weighting,
    objective and model help."""
    done = board[board["state"] == "COMPLETE"]
    slots = slot_names()
    rows = (len(slots) + 1) // 2
    figure = _figure(10, 3.25 * rows)
    for i, slot in enumerate(slots):
        axes = figure.add_subplot(rows, 2, i + 1)
        groups = done.groupby(done[slot].fillna("none").astype(str))[metric]
        ordered = sorted(groups, key=lambda g: -float(np.nanmedian(g[1])) if len(g[1]) else 0.0)
        names = [name for name, _ in ordered]
        values = [v.dropna().to_numpy() for _, v in ordered]
        if any(len(v) for v in values):
            axes.boxplot([v if len(v) else [np.nan] for v in values], orientation="horizontal", widths=0.6)
        rng = np.random.default_rng(0)
        for k, v in enumerate(values):
            axes.scatter(v, k + 1 + rng.uniform(-0.15, 0.15, len(v)), s=8, color="#1f77b4", alpha=0.6)
        axes.set_yticks(range(1, len(names) + 1), [f"{n} ({len(v)})" for n, v in zip(names, values, strict=True)])
        axes.invert_yaxis()
        axes.tick_params(axis="y", labelsize=7)
        axes.set_title(f"{metric} by {slot}", fontsize=9)
    figure.suptitle("Which choices help (complete trials; count in brackets)", fontsize=10)
    figure.tight_layout()
    return figure


def importance_figure(importances: dict[str, float], metric: str) -> Figure:
    names = list(importances)[::-1]
    figure = _figure(5.5, 1.2 + 0.35 * len(names))
    axes = figure.add_subplot()
    axes.barh(names, [importances[n] for n in names], color="#1f77b4")
    axes.set_xlabel(f"importance for {metric} (fANOVA, share)")
    axes.set_title("Which choices matter most (Optuna's parameter importances)", fontsize=9)
    figure.tight_layout()
    return figure


def feature_importance_figure(importance: FeatureImportance) -> Figure:
    ranked = importance.ranked(IMPORTANCE_COLUMNS_DRAWN)[::-1]
    figure = _figure(6.0, 1.4 + 0.3 * len(ranked))
    axes = figure.add_subplot()
    axes.barh([c for c, _, _ in ranked], [m for _, m, _ in ranked], xerr=[s for _, _, s in ranked], color="#1f77b4")
    axes.axvline(0.0, color="#52606d", linewidth=0.8)
    axes.set_xlabel("PR-AUC lost when the column is shuffled (out of fold)")
    axes.set_title(f"Why the answer decides: permutation importance over {importance.folds} folds", fontsize=9)
    figure.tight_layout()
    return figure


def reliability_figure(y: np.ndarray, curves: list[tuple[str, np.ndarray]], *, multiclass: bool = False) -> Figure:
    """A reliability diagram: in equal-width bins of the predicted probability (multi-class: the
    most probable class's), the observed rate (the share of rows of that class) against the mean
    prediction, one line per ``(label, scores)``; the diagonal is perfect calibration."""
    from strategy_search.scoring import ECE_BINS, calibration_metrics

    figure = _figure(5.5, 4.4)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1, label="perfectly calibrated")
    for (label, scores), color in zip(curves, (OTHER_COLORS[0], ANSWER_COLOR), strict=False):
        confidence = scores.max(axis=1) if multiclass else scores
        outcome = (scores.argmax(axis=1) == y) if multiclass else y
        bins = np.minimum((np.clip(confidence, 0, 1) * ECE_BINS).astype(int), ECE_BINS - 1)
        used = np.unique(bins)
        predicted = [confidence[bins == b].mean() for b in used]
        observed = [outcome[bins == b].mean() for b in used]
        metrics = calibration_metrics(y, scores)
        shown = f"{label} (Brier {metrics['brier']:.4f}, ECE {metrics['ece']:.4f})"
        axes.plot(predicted, observed, marker="o", color=color, label=shown)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("predicted probability" + (" of the most probable class" if multiclass else ""))
    axes.set_ylabel("observed rate" if not multiclass else "share predicted right")
    axes.set_title("Reliability of the answer's probabilities (out-of-fold)", fontsize=9)
    axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    return figure


def _calibration_figures(result: SearchResult, y: np.ndarray, answer: np.ndarray) -> dict[str, Figure]:
    """The answer's out-of-fold probabilities before and after its calibration, each row mapped
    by a calibration fitted without it (what calibrating does to rows it never saw)."""
    from strategy_search.calibration import cross_validated

    calibration = result.calibration
    if calibration is None:
        return {}
    from strategy_search.thresholds import scored_rows

    multiclass = answer.ndim == 2
    seen = scored_rows(answer)
    y, raw = y[seen], answer[seen]
    curves = [("as the model gives them", raw)]
    if calibration.method != "none":
        after = cross_validated(calibration.method, y, raw, seed=result.settings.seed, groups=result.data.groups)
        curves.append((f"calibrated ({calibration.method})", after))
    return {"calibration.png": reliability_figure(y, curves, multiclass=multiclass)}


# What each figure of search_figures shows, in the order the report shows them.
FIGURE_CAPTIONS = {
    "class_distribution.png": "Class distribution of the searched table.",
    "pr_curves.png": (
        "Out-of-fold precision-recall curves (multi-class: the answer's, one per class); the legend's "
        "pooled AP is over all out-of-fold scores together, the PR-AUC elsewhere the mean over folds."
    ),
    "roc_curves.png": "Out-of-fold ROC curves (multi-class: the answer's, one per class).",
    "confusion_matrix.png": "The answer's out-of-fold predictions at its chosen decision.",
    "threshold_curves.png": "Precision, recall and F1 of the answer against its threshold (binary only).",
    "calibration.png": "Reliability of the answer's out-of-fold probabilities, before and after its calibration.",
    "optimization_history.png": "Each trial's score as the search went on.",
    "pareto_front.png": "PR-AUC against F1 for every complete trial; the answer is the star.",
    "choices.png": "Scores of the complete trials by each choice of resampler, weighting, objective and model.",
    "param_importances.png": "How much each choice explains the score (Optuna's fANOVA importances).",
    "feature_importance.png": (
        "Which columns the answer's scores rest on: the PR-AUC it loses when a column is shuffled, each fold "
        "model on its own validation part (mean and spread over the folds)."
    ),
}
# The columns drawn in feature_importance.png (the report's and the model card's tables list more).
IMPORTANCE_COLUMNS_DRAWN = 20


def search_figures(result: SearchResult) -> dict[str, Figure]:
    """Every figure of a finished search, by artifact file name, drawn from what the study
    stored (its leaderboard and the trials' out-of-fold scores). A figure whose inputs are
    missing (no stored scores, a single complete trial) is left out."""
    profile, y = result.profile, np.asarray(result.data.codes, dtype=int)
    metric = result.settings.primary_metric
    board = result.leaderboard
    figures: dict[str, Figure] = {"class_distribution.png": class_distribution_figure(profile)}
    class_names = [str(c) for c in profile.the_task.classes] if profile.multiclass else []
    answer = result.oof_scores
    if answer is not None:
        ensemble = result.ensemble
        named = f"ensemble of {len(ensemble.trials)}" if ensemble else result.best_strategy.describe()
        scored = [(f"answer: {named}"[:60], answer)]
        if not profile.multiclass:
            top = [n for n in board.loc[board["state"] == "COMPLETE", "trial"].head(TOP_STRATEGIES)]
            stored = result.stored_cvs(top)
            scored += [
                (f"#{n} {result.strategy_of(result.study.trials[n]).describe()}"[:60], stored[n].oof)
                for n in top
                if n in stored
            ]
        figures["pr_curves.png"] = curves_figure(y, scored, kind="pr", class_names=class_names)
        figures["roc_curves.png"] = curves_figure(y, scored, kind="roc", class_names=class_names)
        figures.update(_decision_figures(result, y, answer, class_names))
        figures.update(_calibration_figures(result, y, answer))
    figures["optimization_history.png"] = history_figure(board, metric)
    best = result.best_scores
    figures["pareto_front.png"] = pareto_figure(board, (best.get("pr_auc", np.nan), best.get("f1", np.nan)))
    figures["choices.png"] = choices_figure(board, metric)
    importances = slot_importances(result)
    if importances:
        figures["param_importances.png"] = importance_figure(importances, metric)
    importance = result.feature_importance
    if importance is not None and importance.columns:
        figures["feature_importance.png"] = feature_importance_figure(importance)
    return figures


def _decision_figures(
    result: SearchResult, y: np.ndarray, answer: np.ndarray, class_names: list[str]
) -> dict[str, Figure]:
    from strategy_search.task import predict_classes
    from strategy_search.thresholds import confusion_matrix, format_decision

    decision = result.best_strategy.threshold
    if class_names:
        seen = ~np.isnan(answer).any(axis=1)
        predicted = predict_classes(answer[seen], decision)
        names = class_names
        described = f"class weights {format_decision(decision, digits=2, classes=class_names)}"
    else:
        seen = ~np.isnan(answer)
        predicted = (answer[seen] >= float(decision)).astype(int)  # type: ignore[arg-type]
        names = [str(result.profile.negative_label), str(result.profile.positive_label)]
        described = f"threshold {float(decision):.3g}"  # type: ignore[arg-type]
    matrix = confusion_matrix(y[seen], predicted, n_classes=len(names)).astype(int)
    figures = {"confusion_matrix.png": confusion_figure(matrix, names, decision=described)}
    if not class_names:
        figures["threshold_curves.png"] = threshold_figure(y, answer, float(decision))  # type: ignore[arg-type]
    return figures


def slot_importances(result: SearchResult) -> dict[str, float]:
    """fANOVA importances of the strategy choices (resampler, weighting, objective, model) over
    the complete trials, when there are enough trials and at least two choices varied; empty
    otherwise (importances of a handful of trials, or of one choice, mean nothing).

    The choices are read from the leaderboard, where every trial has all four: Optuna's own
    parameters lack a slot a trial's model never asked for (a balanced random forest takes no
    weighting) or name it per model, so few would be common to every trial."""
    import optuna

    board = result.leaderboard
    metric = result.settings.primary_metric
    done = board[(board["state"] == "COMPLETE") & board[metric].notna()]
    varied = [s for s in slot_names() if s in done.columns and done[s].nunique() > 1]
    if len(done) < MIN_TRIALS_FOR_IMPORTANCE or len(varied) < 2:
        return {}
    distributions: dict[str, optuna.distributions.BaseDistribution] = {
        s: optuna.distributions.CategoricalDistribution(sorted(map(str, done[s].unique()))) for s in varied
    }
    choices = optuna.create_study(direction="maximize")
    for row in done.to_dict("records"):
        params = {s: str(row[s]) for s in varied}
        choices.add_trial(
            optuna.trial.create_trial(params=params, distributions=distributions, value=float(row[metric]))
        )
    try:
        # fANOVA: a variance decomposition, the same for maximised and minimised scores.
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        found = optuna.importance.get_param_importances(choices, evaluator=evaluator)
        return {name: float(value) for name, value in found.items()}
    except (RuntimeError, ValueError):
        return {}
