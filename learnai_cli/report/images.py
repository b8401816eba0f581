"""The static images of a page, drawn in memory by the plots package as `learnai plot` draws them (nothing is
written into a run): the loss chart, the health chart, a confusion matrix a run has no PNG of, the comparison
charts, a study's objective over its trials. They are what a reader sees with JavaScript off, and what prints."""

from __future__ import annotations

import io
from typing import Any

from learnai_cli.log import logger

DPI = 80  # small enough that a page of a dozen charts stays a few hundred KB
MAX_COMPARED_METRICS = 8  # a comparison's static charts beyond the losses (the interactive ones show every metric)


def png(figure) -> bytes:
    """A matplotlib figure rendered as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def _drawn(what: str, draw) -> bytes | None:
    """draw()'s figure as PNG, or None (with a note in the log) when the files do not give one."""
    try:
        figure = draw()
    except Exception as error:  # a record of a shape the plots never saw: the page shows the rest
        logger.warning(f"report: the {what} could not be drawn ({type(error).__name__}: {error})")
        return None
    return png(figure) if figure is not None else None


def loss_png(collected: dict[str, Any]) -> bytes | None:
    from learnai_cli.plots.diagnosis import loss_marks
    from learnai_cli.plots.figures import loss_figure

    records = collected["records"] + collected["steps"]
    if not collected["records"] and len(collected["steps"]) < 2:
        return None
    marks = loss_marks(collected["meta"], collected["diagnosis"] or {})
    return _drawn("loss chart", lambda: loss_figure(records, collected["name"], marks))


def health_png(collected: dict[str, Any]) -> bytes | None:
    from learnai_cli.plots.diagnosis import health_figure

    if not collected["health"]:
        return None
    return _drawn("health chart", lambda: health_figure(collected["health"], collected["name"]))


def confusion_png(evaluation: dict[str, Any], title: str) -> bytes | None:
    """The evaluation's confusion matrix: the PNG `learnai eval` drew, else drawn now from its numbers."""
    if evaluation.get("confusion_png"):
        return evaluation["confusion_png"]
    from learnai_cli.plots.figures import confusion_figure, confusion_problem

    matrix, names = evaluation.get("confusion_matrix"), evaluation.get("class_names")
    if not matrix or confusion_problem(matrix, names):
        return None
    return _drawn("confusion matrix", lambda: confusion_figure(matrix, [str(n) for n in names], title))


def comparison_pngs(runs, metrics: list[str]) -> list[tuple[str, bytes]]:
    """(what, PNG) of the runs' losses overlaid, then of each other metric (the first few)."""
    from learnai_cli.plots.compare import compare_figure, compare_metric_figure

    drawn = [("loss", _drawn("comparison chart", lambda: compare_figure(runs)))]
    others = [m for m in metrics if m not in ("train_loss", "val_loss")][:MAX_COMPARED_METRICS]
    drawn += [(m, _drawn(f"{m} chart", lambda m=m: compare_metric_figure(runs, m))) for m in others]
    return [(what, image) for what, image in drawn if image]


def objective_png(numbers: list[int], values: list[float | None], best: list[float | None], label: str):
    """The objective of each finished trial (dots) and the best so far (a line), by trial number."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    def draw():
        figure, axis = plt.subplots(figsize=(7, 3.6))
        shown = [(n, v) for n, v in zip(numbers, values) if v is not None]
        if shown:
            axis.plot(*zip(*shown), "o", label=label)
        kept = [(n, b) for n, b in zip(numbers, best) if b is not None]
        if kept:
            axis.step(*zip(*kept), where="post", label="best so far")
        axis.set(xlabel="trial", ylabel=label, title=f"{label} over trials")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.legend()
        axis.grid(alpha=0.3)
        return figure

    return _drawn("objective chart", draw)


def importance_png(importances: list[tuple[str, float]]) -> bytes | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def draw():
        if not importances:
            return None
        figure, axis = plt.subplots(figsize=(7, 0.5 * len(importances) + 1.2))
        names = [name for name, _ in importances][::-1]
        axis.barh(names, [value for _, value in importances][::-1])
        axis.set(xlabel="importance", title="parameter importance")
        axis.grid(alpha=0.3, axis="x")
        return figure

    return _drawn("importance chart", draw)
