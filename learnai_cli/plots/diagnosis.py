"""What `learnai diagnose` found, drawn: the loss chart's marks (the best epoch, where overfitting began, the
trivial baseline's loss) and the health chart (each weight layer's gradient norm over the run's log intervals)."""

from __future__ import annotations

import math
from typing import Any, Optional

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display
import matplotlib.pyplot as plt


def loss_marks(meta: dict[str, Any], diagnosis: dict[str, Any]) -> dict[str, Any]:
    """{"best_epoch", "overfitting_since", "baseline_loss"}: what the loss chart marks, from the run's files (each
    left out when the files do not say it)."""
    marks: dict[str, Any] = {}
    best = meta.get("best") if isinstance(meta.get("best"), dict) else {}
    if isinstance(best.get("epoch"), int):
        marks["best_epoch"] = best["epoch"]
    findings = diagnosis.get("findings") if isinstance(diagnosis.get("findings"), list) else []
    for finding in (f for f in findings if isinstance(f, dict)):
        evidence = finding.get("evidence")
        if finding.get("code") == "overfitting" and isinstance(evidence, dict):
            marks["overfitting_since"] = evidence.get("rising_since_epoch")
    baseline = meta.get("baseline") if isinstance(meta.get("baseline"), dict) else {}
    loss = (baseline.get("val") or {}).get("loss") if isinstance(baseline.get("val"), dict) else None
    if isinstance(loss, (int, float)) and math.isfinite(loss):
        marks["baseline_loss"] = float(loss)
    return marks


def draw_marks(axis, x_key: str, marks: dict[str, Any]) -> None:
    """The marks on a loss axis drawn per epoch (a per-step axis gets the baseline line only)."""
    if "baseline_loss" in marks:
        axis.axhline(marks["baseline_loss"], color="grey", linestyle=":", label="baseline (val)")
    if x_key != "epoch":
        return
    if isinstance(marks.get("best_epoch"), int):
        axis.axvline(
            marks["best_epoch"], color="green", linestyle="--", alpha=0.6, label=f"best (epoch {marks['best_epoch']})"
        )
    if isinstance(marks.get("overfitting_since"), int):
        last_epoch = axis.dataLim.intervalx[1]  # the band ends with the curves, not in the axis' margin
        axis.axvspan(marks["overfitting_since"], last_epoch, color="red", alpha=0.08, label="val loss rising")


def health_figure(records: list[dict[str, Any]], title: str) -> Optional[Any]:
    """Each weight tensor's gradient norm per log interval (log scale), from the `type: "health"` records."""
    series: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        step = record.get("step")
        layers = record.get("layers") if isinstance(record.get("layers"), list) else []
        for layer in layers:
            if not isinstance(layer, dict) or not str(layer.get("name", "")).endswith("weight"):
                continue
            norm = layer.get("grad_norm")
            if isinstance(step, (int, float)) and isinstance(norm, (int, float)) and norm > 0 and math.isfinite(norm):
                series.setdefault(str(layer["name"]), []).append((step, norm))
    if not series:
        return None
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, points in list(series.items())[:12]:  # the first twelve layers, input side first
        axis.plot(*zip(*points), label=name)
    axis.set(xlabel="step", ylabel="gradient norm", title=f"{title}: gradient norm per layer", yscale="log")
    axis.legend(fontsize=7, ncol=2)
    axis.grid(alpha=0.3)
    return figure
