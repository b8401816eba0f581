"""Figures drawn from a run's files with matplotlib (headless Agg); no torch needed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display
import matplotlib.pyplot as plt  # noqa: E402

from learnai_cli.atomic import read_json, read_jsonl, write_atomic  # noqa: E402
from learnai_cli.rundir import RunDir  # noqa: E402


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
        written.append(save_figure(loss_figure(records, run.meta().get("name", run.id)), run.loss_plot))
    evaluation = read_json(run.eval_path)
    if evaluation.get("confusion_matrix"):
        figure = confusion_figure(
            evaluation["confusion_matrix"], evaluation["class_names"], f"{run.id} ({evaluation['split']})"
        )
        written.append(save_figure(figure, run.confusion_plot))
    return written


def compare_figure(runs: list[RunDir]):
    """Several runs' loss curves on one chart (train solid, val dashed), e.g. the learning-rate lesson."""
    figure, axis = plt.subplots(figsize=(8, 5))
    for run in runs:
        records = run.epoch_records()
        label = run.meta().get("label") or run.id
        for key, style in (("train_loss", "-"), ("val_loss", "--")):
            points = [(r["epoch"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
            if points:
                axis.plot(*zip(*points), style, label=f"{label} ({key.split('_')[0]})")
        if run.meta().get("status") == "diverged" and records:
            axis.annotate("diverged", (records[-1]["epoch"], records[-1].get("train_loss") or 0), color="red")
    axis.set(xlabel="epoch", ylabel="loss", yscale="log", title="loss by run")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return figure


# The curriculum's loss-landscape data: y = 2x on three points.
LANDSCAPE_X, LANDSCAPE_Y = (1.0, 2.0, 3.0), (2.0, 4.0, 6.0)


def landscape_figure(x, y, title: str):
    """MSE of y = w·x as a function of w, and of y = w·x + b as a surface over (w, b)."""
    import numpy as np

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    best_w, best_b = np.polyfit(x, y, 1)
    ws = np.linspace(best_w - 4, best_w + 4, 161)
    bs = np.linspace(best_b - 4, best_b + 4, 161)
    mse_w = ((ws[:, None] * x[None, :] - y[None, :]) ** 2).mean(axis=1)
    grid_w, grid_b = np.meshgrid(ws, bs)
    surface = ((grid_w[..., None] * x + grid_b[..., None] - y) ** 2).mean(axis=-1)
    figure = plt.figure(figsize=(13, 5))
    line = figure.add_subplot(1, 2, 1)
    line.plot(ws, mse_w)
    line.set(xlabel="w", ylabel="MSE", title=f"{title}: MSE of y = w·x")
    line.grid(alpha=0.3)
    ax3d = figure.add_subplot(1, 2, 2, projection="3d")
    ax3d.plot_surface(grid_w, grid_b, surface, cmap="viridis", linewidth=0, antialiased=True, alpha=0.9)
    ax3d.set(xlabel="w", ylabel="b", zlabel="MSE", title="MSE of y = w·x + b")
    return figure


def read_predictions(run: RunDir) -> tuple[dict, list[dict]]:
    """The grid and data header, and one record per epoch, from predictions.jsonl (train.record_predictions)."""
    records = read_jsonl(run.predictions_path)
    header = next((r for r in records if r.get("type") == "grid"), None)
    return header, [r for r in records if r.get("type") == "epoch"]


def _fit_axes(axis, header: dict, epoch: dict):
    axis.scatter(header["data_x"], header["data_y"], s=4, alpha=0.3, color="gray", label="data")
    (line,) = axis.plot(header["x"], epoch["y"], color="crimson", linewidth=2, label="model")
    axis.set(xlabel="x", ylabel="y")
    axis.legend(loc="upper left")
    return line


def animate_run(run: RunDir) -> list[Path]:
    """plots/fit.png (the final fit) and plots/training.gif (+ .mp4 with ffmpeg): the curve converging over the data."""
    import shutil

    from matplotlib import animation

    header, epochs = read_predictions(run)
    if header is None or not epochs:
        return []
    figure, axis = plt.subplots(figsize=(7, 5))
    _fit_axes(axis, header, epochs[-1])
    axis.set_title(f"{run.meta().get('name', run.id)}: fit after epoch {epochs[-1]['epoch']}")
    written = [save_figure(figure, run.fit_plot)]

    figure, axis = plt.subplots(figsize=(7, 5))
    line = _fit_axes(axis, header, epochs[0])
    shown = epochs[:: max(1, len(epochs) // 100)]  # at most ~100 frames

    def draw(frame):
        line.set_ydata(frame["y"])
        axis.set_title(f"epoch {frame['epoch']}")
        return (line,)

    movie = animation.FuncAnimation(figure, draw, frames=shown, blit=False)
    run.plots.mkdir(exist_ok=True)
    gif, mp4 = run.animation_paths
    movie.save(gif, writer=animation.PillowWriter(fps=10))
    written.append(gif)
    if shutil.which("ffmpeg"):
        movie.save(mp4, writer=animation.FFMpegWriter(fps=10))
        written.append(mp4)
    plt.close(figure)
    return written
