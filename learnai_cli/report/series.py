"""The data of the interactive charts: every metric a run recorded, per epoch (and its train loss per logged step),
or one chart per metric with every run of a comparison; values that are not finite numbers are gaps (null)."""

from __future__ import annotations

from typing import Any

from learnai_cli.report.collect import finite, metric_names

LOSSES = ("train_loss", "val_loss")
WIDE = 20.0  # largest over smallest positive value above this: the chart starts on a log scale
MAX_STEPS = 5000  # logged steps charted at most (a page of a long run stays a few MB)


def chart(title: str, x_label: str, x: list, series: list[dict[str, Any]], y_label: str = "") -> dict[str, Any]:
    values = [v for s in series for v in s["values"] if v is not None]
    log = bool(values) and min(values) > 0 and max(values) / min(values) > WIDE
    return {"title": title, "x_label": x_label, "y_label": y_label, "x": x, "series": series, "log": log}


def _series(label: str, values: list, dashed: bool = False) -> dict[str, Any]:
    return {"label": label, "values": values, "dashed": dashed}


def constant_metrics(runs_records: list[list[dict[str, Any]]]) -> dict[str, float]:
    """Metrics other than the losses and validation results that hold one value at every epoch of every run
    (`samples`, an unscheduled `lr`): a flat line says nothing a number does not, so they are named instead of
    charted. A flat val metric is a result (the model did not improve): it keeps its chart."""
    names = dict.fromkeys(name for records in runs_records for name in metric_names(records))
    found = {}
    for name in names:
        values = [finite(r.get(name)) for records in runs_records for r in records]
        result = name in LOSSES or name.startswith("val_")
        if not result and len(values) >= 2 and None not in values and len(set(values)) == 1:
            found[name] = values[0]
    return found


def run_charts(records: list[dict[str, Any]], steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The loss chart (train and val per epoch), the train loss per logged step, then one chart per other metric
    that changes."""
    epochs = [r["epoch"] for r in records]
    constant = constant_metrics([records])
    names = [name for name in metric_names(records) if name not in constant]
    found = []
    losses = [name for name in LOSSES if name in names]
    if losses:
        series = [_series(n, [finite(r.get(n)) for r in records], n.startswith("val")) for n in losses]
        found.append(chart("loss per epoch", "epoch", epochs, series, "loss"))
    stepped = [s for s in steps if finite(s.get("step")) is not None and finite(s.get("train_loss")) is not None]
    stepped = stepped[:: -(-len(stepped) // MAX_STEPS)] if stepped else []  # every k-th of a very long run
    if len(stepped) >= 2:
        x = [s["step"] for s in stepped]
        found.append(
            chart("train loss per logged step", "step", x, [_series("train_loss", [s["train_loss"] for s in stepped])])
        )
    for name in names:
        if name not in LOSSES:
            found.append(chart(name, "epoch", epochs, [_series(name, [finite(r.get(name)) for r in records])], name))
    return found


def comparison_charts(labels: list[str], runs_records: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One chart per metric any run recorded and not the same everywhere, a line per run, on the epochs of all."""
    epochs = sorted({r["epoch"] for records in runs_records for r in records})
    constant = constant_metrics(runs_records)
    names = list(dict.fromkeys(name for records in runs_records for name in metric_names(records)))
    names = [name for name in names if name not in constant]
    names = [n for n in LOSSES if n in names] + [n for n in names if n not in LOSSES]
    found = []
    for name in names:
        series = []
        for label, records in zip(labels, runs_records):
            by_epoch = {r["epoch"]: finite(r.get(name)) for r in records}
            series.append(_series(label, [by_epoch.get(epoch) for epoch in epochs]))
        found.append(chart(f"{name} by run", "epoch", epochs, series, name))
    return found
