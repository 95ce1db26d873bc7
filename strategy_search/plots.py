"""Figures, drawn on bare matplotlib Figures (Agg canvas): no pyplot state, no display needed."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from strategy_search.data import DataProfile


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
