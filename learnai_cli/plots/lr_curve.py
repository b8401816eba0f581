"""The curve of `learnai lr-find`: loss against the learning rate (log scale), the suggestion marked."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from learnai_cli.plots.figures import plt, save_figure


def draw_lr_curve(
    lrs: list[float],
    losses: list[float],
    smoothed: list[float],
    suggested: Optional[int],
    title: str,
    path: Path,
    note: str = "",
) -> Path:
    """Raw losses faint, the smoothed loss bold, a vertical line at the suggested step (none when declining); the
    y axis stops short of the explosion so the descent stays readable."""
    figure, axes = plt.subplots(figsize=(7, 4.2))
    axes.plot(lrs, losses, color="tab:blue", alpha=0.25, linewidth=0.8, label="loss of each step")
    axes.plot(lrs, smoothed, color="tab:blue", linewidth=2, label="smoothed loss")
    axes.set_xscale("log")
    if smoothed:
        low, high = min(smoothed), max(smoothed[0], min(max(smoothed), 2 * smoothed[0]))
        margin = 0.05 * (high - low) or 0.05 * abs(high) or 0.05
        axes.set_ylim(low - margin, high + margin)
    if suggested is not None:
        axes.axvline(lrs[suggested], color="tab:red", linestyle="--", label=f"suggested lr {lrs[suggested]:.2g}")
        axes.plot([lrs[suggested]], [smoothed[suggested]], "o", color="tab:red")
    axes.set_xlabel("learning rate (log scale)")
    axes.set_ylabel("training loss")
    axes.set_title(title + (f"\n{note}" if note else ""), fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    return save_figure(figure, path)
