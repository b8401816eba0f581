"""Figures drawn from a run's files with matplotlib (headless Agg); no torch needed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display
import matplotlib.pyplot as plt  # noqa: E402

from learnai_cli.runs import RunDir, read_json, write_atomic  # noqa: E402


def save_figure(figure, path: Path) -> Path:
    """Render to PNG bytes first, then write atomically, so a plot is never half-written."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buffer.getvalue())
    return path


def loss_figure(records: list[dict[str, Any]], title: str):
    """Train and val loss per epoch; a second panel for the validation metrics, if any."""
    metric_keys = [k for k in dict.fromkeys(k for r in records for k in r) if k.startswith("val_") and k != "val_loss"]
    panels = 2 if metric_keys else 1
    figure, axes = plt.subplots(1, panels, figsize=(6 * panels, 4), squeeze=False)
    loss_axis = axes[0][0]
    for key, label in (("train_loss", "train"), ("val_loss", "val")):
        points = [(r["epoch"], r[key]) for r in records if r.get(key) is not None]
        if points:
            loss_axis.plot(*zip(*points), marker="o", markersize=3, label=label)
    loss_axis.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    if _all_positive(records, ("train_loss", "val_loss")):
        loss_axis.set_yscale("log")
    loss_axis.legend()
    loss_axis.grid(alpha=0.3)
    if metric_keys:
        metric_axis = axes[0][1]
        for key in metric_keys:
            points = [(r["epoch"], r[key]) for r in records if r.get(key) is not None]
            if points:
                metric_axis.plot(*zip(*points), marker="o", markersize=3, label=key)
        metric_axis.set(xlabel="epoch", title=f"{title}: validation metrics")
        metric_axis.legend()
        metric_axis.grid(alpha=0.3)
    return figure


def _all_positive(records, keys) -> bool:
    values = [r[k] for r in records for k in keys if isinstance(r.get(k), (int, float))]
    return bool(values) and all(v > 0 for v in values) and max(values) / min(values) > 20


def confusion_figure(matrix: list[list[int]], labels: list[str], title: str):
    """Counts of true class (rows) against predicted class (columns)."""
    size = max(4.0, 0.45 * len(labels) + 2)
    figure, axis = plt.subplots(figsize=(size, size))
    image = axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    axis.set_yticks(range(len(labels)), labels, fontsize=8)
    axis.set(xlabel="predicted", ylabel="true", title=title)
    if len(labels) <= 20:
        peak = max(max(row) for row in matrix) or 1
        for i, row in enumerate(matrix):
            for j, count in enumerate(row):
                color = "white" if count > peak / 2 else "black"
                axis.text(j, i, str(count), ha="center", va="center", fontsize=7, color=color)
    figure.colorbar(image, ax=axis, fraction=0.046)
    return figure


def plot_run(run: RunDir) -> list[Path]:
    """(Re)draw every plot a run's files allow; returns the paths written."""
    written = []
    records = run.epoch_records()
    if records:
        written.append(save_figure(loss_figure(records, run.meta().get("name", run.id)), run.plots / "loss.png"))
    evaluation = read_json(run.eval_path)
    if evaluation.get("confusion_matrix"):
        figure = confusion_figure(evaluation["confusion_matrix"], evaluation["class_names"], f"{run.id} ({evaluation['split']})")
        written.append(save_figure(figure, run.plots / "confusion_matrix.png"))
    return written

