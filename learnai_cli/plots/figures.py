"""Figures drawn from a run's files with matplotlib (headless Agg); no torch needed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from learnai_cli.atomic import read_json, read_jsonl
from learnai_cli.log import logger
from learnai_cli.numbers import is_finite_number
from learnai_cli.plots.diagnosis import draw_marks, health_figure, loss_marks
from learnai_cli.plots.saving import rendered, save_figure, set_margins
from learnai_cli.rundir import RunDir

# Fewer epochs than this, and a loss curve per epoch is a couple of dots: plot the logged steps instead.
FEW_EPOCHS = 5
# Largest class over smallest above this, and a confusion matrix of counts hides the small classes: normalise rows.
IMBALANCE_RATIO = 3.0


def _epoch_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("type", "epoch") == "epoch"]


def _step_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        r
        for r in records
        if r.get("type") == "step" and is_finite_number(r.get("step")) and is_finite_number(r.get("train_loss"))
    ]


def _by_steps(records: list[dict[str, Any]]) -> bool:
    """Few epochs but several logged steps: a per-step curve says more than a per-epoch one."""
    epochs, steps = len(_epoch_records(records)), len(_step_records(records))
    return epochs < FEW_EPOCHS and steps >= 2 and steps > epochs


def _points(records: list[dict[str, Any]], x_key: str, key: str) -> list[tuple[float, float]]:
    return [(r[x_key], r[key]) for r in records if is_finite_number(r.get(x_key)) and is_finite_number(r.get(key))]


def _loss_series(records: list[dict[str, Any]], by_steps: bool) -> tuple[str, list, list, str]:
    """(x axis, train points, val points, train legend): per logged step, or per epoch.

    Per step, val is drawn at each epoch's last step (validation runs at the end of an epoch).
    """
    epochs = _epoch_records(records)
    if by_steps:
        steps = _step_records(records)
        train = _points(steps, "step", "train_loss")
        every = train[1][0] - train[0][0] if len(train) > 1 else 1
        label = "train (each step)" if every == 1 else f"train (mean of every {every:g} steps)"
        return "step", train, _points(epochs, "step", "val_loss"), label
    return "epoch", _points(epochs, "epoch", "train_loss"), _points(epochs, "epoch", "val_loss"), "train"


def _integer_ticks(axis) -> None:
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))


def loss_figure(records: list[dict[str, Any]], title: str, marks: dict[str, Any] | None = None):
    """Train and val loss per epoch (per logged step for runs of few epochs); a second panel for validation metrics.

    records: a run's metrics.jsonl records, epoch and step ones (records without a type are epoch records); marks:
    what `learnai diagnose` found (plots/diagnosis.py: the best epoch, where overfitting began, the baseline's loss).
    """
    epochs = _epoch_records(records)
    by_steps = _by_steps(records)
    x_key, train, val, train_label = _loss_series(records, by_steps)
    metric_keys = [k for k in dict.fromkeys(k for r in epochs for k in r) if k.startswith("val_") and k != "val_loss"]
    panels = 2 if metric_keys else 1
    figure, axes = plt.subplots(1, panels, figsize=(6 * panels, 4), squeeze=False)
    loss_axis = axes[0][0]
    if train:
        many = by_steps and len(train) > 60
        loss_axis.plot(*zip(*train), marker=None if many else "o", markersize=3, label=train_label)
    if val:
        loss_axis.plot(
            *zip(*val), marker="o", markersize=6 if by_steps else 3, label="val (end of epoch)" if by_steps else "val"
        )
    loss_axis.set(xlabel=x_key, ylabel="loss", title=f"{title}: loss")
    if _wide_positive([y for _, y in train + val]):
        loss_axis.set_yscale("log")
    _integer_ticks(loss_axis)
    draw_marks(loss_axis, x_key, marks or {})
    loss_axis.legend()
    loss_axis.grid(alpha=0.3)
    if metric_keys:
        metric_axis = axes[0][1]
        if by_steps:  # the same step axis as the loss, so a dot at the end of epoch 1 reads as such
            metric_axis.sharex(loss_axis)
        for key in metric_keys:
            points = _points(epochs, x_key, key)
            if points:
                metric_axis.plot(*zip(*points), marker="o", markersize=6 if len(points) < 3 else 3, label=key)
                if len(points) < 3:  # a dot or two: write the value next to it
                    for x, y in points:
                        metric_axis.annotate(
                            f"{y:.4g}", (x, y), textcoords="offset points", xytext=(-6, 6), ha="right", fontsize=8
                        )
        ylabel = metric_keys[0].removeprefix("val_") if len(metric_keys) == 1 else "metric value"
        metric_axis.set(xlabel=x_key, ylabel=ylabel, title=f"{title}: validation metrics")
        _integer_ticks(metric_axis)
        metric_axis.legend()
        metric_axis.grid(alpha=0.3)
    # room for tick labels of six characters and the axis labels; the gap between panels is matplotlib's default
    set_margins(figure, left=0.8, right=0.15, bottom=0.55, top=0.35, gap=0.85)
    return figure


def _wide_positive(values) -> bool:
    """All positive and spanning more than a factor 20: a log scale shows the whole curve."""
    values = [v for v in values if is_finite_number(v)]
    return bool(values) and all(v > 0 for v in values) and max(values) / min(values) > 20


def _is_imbalanced(support: list[float]) -> bool:
    present = [n for n in support if n > 0]
    return bool(present) and (len(present) < len(support) or max(present) > IMBALANCE_RATIO * min(present))


def confusion_figure(matrix: list[list[int]], labels: list[str], title: str, normalize: bool | None = None):
    """True class (rows) against predicted class (columns): counts, or fractions of each true class.

    normalize: True shows each row as fractions summing to 1 (the recall of each class on the diagonal),
    False shows counts, None (default) normalises when the classes are imbalanced (largest > 3x smallest),
    where counts would paint every small class white.
    """
    support = [sum(row) for row in matrix]
    if normalize is None:
        normalize = _is_imbalanced(support)
    shown = (
        [[count / total if total else 0.0 for count in row] for row, total in zip(matrix, support)]
        if normalize
        else matrix
    )
    size = max(4.0, 0.45 * len(labels) + 2)
    figure, axis = plt.subplots(figsize=(size + (1 if normalize else 0), size))
    image = axis.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    row_labels = [f"{label} (n={total:g})" for label, total in zip(labels, support)] if normalize else labels
    # class names drawn as written ("a$_$b" is a class, not maths); the numbers on other axes keep their maths
    axis.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8, parse_math=False)
    axis.set_yticks(range(len(labels)), row_labels, fontsize=8, parse_math=False)
    suffix = " — fraction of each true class" if normalize else ""
    axis.set(xlabel="predicted", ylabel="true", title=f"{title}{suffix}")
    if len(labels) <= 20:
        peak = 1.0 if normalize else (max(max(row) for row in matrix) or 1)
        for i, row in enumerate(shown):
            for j, value in enumerate(row):
                color = "white" if value > peak / 2 else "black"
                text = (f"{value:.2f}" if value else "0") if normalize else str(value)
                axis.text(j, i, text, ha="center", va="center", fontsize=7, color=color)
    colorbar = figure.colorbar(image, ax=axis, fraction=0.046)
    colorbar.set_label("fraction of the true class" if normalize else "count")
    return figure


def warm_up() -> None:
    """Draw a throwaway loss chart: a process's first figure also loads fonts and renderers (about 0.1 s)."""
    records = [
        {"type": "epoch", "epoch": e, "train_loss": 1.0 / e, "val_loss": 1.0 / e, "val_mae": 0.5} for e in (1, 2)
    ]
    figure = loss_figure(records, "warm-up")
    rendered(figure, "png", margins_set=True)
    plt.close(figure)


def plot_run(run: RunDir, normalize: bool | None = None, health: bool = False) -> list[Path]:
    """(Re)draw every plot a run's files allow; returns the paths written. `normalize` is confusion_figure's;
    `health`: also the health chart (`learnai plot` draws it; the end of training does not wait for it)."""
    written = []
    records, meta = run.metrics(), run.meta(strict=False)
    name = meta.get("name", run.id)
    if _epoch_records(records) or _by_steps(records):
        marks = loss_marks(meta, read_json(run.diagnosis_path) or {})
        written.append(save_figure(loss_figure(records, name, marks), run.loss_plot, margins_set=True))
    chart = health_figure([r for r in records if r.get("type") == "health"], name) if health else None
    if chart is not None:
        written.append(save_figure(chart, run.health_plot))
    for report in run.eval_reports():
        written += plot_evaluation(run, report, normalize)
    return written


def plot_evaluation(run: RunDir, report: Path, normalize: bool | None = None) -> list[Path]:
    """The confusion matrix of one evaluation result (eval/<split>-<checkpoint>.json); none for a regression, and
    none, with a warning, for a damaged result (its matrix or class names of the wrong shape)."""
    evaluation = read_json(report)
    if not evaluation.get("confusion_matrix"):
        return []
    matrix, names = evaluation["confusion_matrix"], evaluation.get("class_names")
    problem = confusion_problem(matrix, names)
    if problem:
        logger.warning(
            f"{report} is damaged ({problem}): its confusion matrix is not drawn; `learnai eval {run.id}` "
            "writes the result again"
        )
        return []
    title = f"{run.id} ({_text(evaluation.get('split'))} split, {Path(_text(evaluation.get('checkpoint'))).stem})"
    figure = confusion_figure(matrix, [str(name) for name in names], title, normalize)
    return [save_figure(figure, run.confusion_plot(report))]


def _text(value: Any) -> str:
    return value if isinstance(value, str) and value else "?"


def _count(value: Any) -> bool:
    return is_finite_number(value) and value >= 0


def confusion_problem(matrix: Any, names: Any) -> str | None:
    """What makes an eval result's confusion matrix undrawable, or None: it must be a square list of lists of
    counts with one class name per row."""
    if not isinstance(matrix, list) or not all(isinstance(row, list) for row in matrix):
        return "confusion_matrix is not a list of rows"
    if any(len(row) != len(matrix) for row in matrix):
        return f"confusion_matrix is not square ({len(matrix)} rows of {sorted({len(row) for row in matrix})} counts)"
    if not all(_count(value) for row in matrix for value in row):
        return "confusion_matrix holds a value that is not a count"
    if not isinstance(names, list) or len(names) != len(matrix):
        return f"class_names is not a list of {len(matrix)} names, one per row"
    if not all(isinstance(name, (str, int, float)) and not isinstance(name, bool) for name in names):
        return "class_names holds a value that is not a name"
    return None


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


def read_predictions(run: RunDir) -> tuple[dict | None, list[dict]]:
    """The grid and data header, and one record per epoch, from predictions.jsonl (train.record_predictions); a
    damaged header (no usable grid) or epoch record (no curve over the grid) is left out with a warning."""
    records = read_jsonl(run.predictions_path)
    header = next((r for r in records if r.get("type") == "grid"), None)
    if header is not None and _header_problem(header):
        logger.warning(f"{run.predictions_path}: its grid record is damaged ({_header_problem(header)}): no animation")
        return None, []
    epochs = [r for r in records if r.get("type") == "epoch"]
    width = len(header["x"]) if header else 0
    usable = [r for r in epochs if _numbers(r.get("y"), width) and isinstance(r.get("epoch"), int)]
    if len(usable) < len(epochs):
        logger.warning(
            f"{run.predictions_path}: {len(epochs) - len(usable)} epoch record(s) are damaged (no epoch number, or "
            f"not {width} predictions over the grid) and were left out"
        )
    return header, usable


def _numbers(values: Any, count: int | None = None) -> bool:
    """A list of finite numbers (of `count` of them, when given)."""
    if not isinstance(values, list) or (count is not None and len(values) != count):
        return False
    return all(map(is_finite_number, values))


def _header_problem(header: dict) -> str | None:
    for key in ("x", "data_x", "data_y"):
        if not _numbers(header.get(key)):
            return f"'{key}' is not a list of numbers"
    if len(header["data_x"]) != len(header["data_y"]):
        return "data_x and data_y differ in length"
    return None


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
    axis.set_title(f"{run.meta(strict=False).get('name', run.id)}: fit after epoch {epochs[-1]['epoch']}")
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
    written.append(_save_movie(movie, gif, animation.PillowWriter(fps=10)))
    if shutil.which("ffmpeg"):
        written.append(_save_movie(movie, mp4, animation.FFMpegWriter(fps=10)))
    plt.close(figure)
    return written


def _save_movie(movie, path: Path, writer) -> Path:
    """A movie written under a temp name beside `path`, then renamed over it: never half-written, and a symbolic
    link at `path` is replaced, not written through."""
    temp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        movie.save(temp, writer=writer)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path
