"""`learnai eval`: a run's checkpoint evaluated on a split, its metrics and confusion matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from learnai_cli.cli._shared import (
    CheckpointOption,
    DeviceOption,
    JsonOption,
    RunIdArgument,
    RunsDirOption,
    emit,
    reporting_errors,
    stdout,
)
from learnai_cli.errors import counted


def evaluate(
    run_id: str = RunIdArgument,
    checkpoint: str = CheckpointOption,
    split: str = typer.Option("test", "--split", help="The split to evaluate.", metavar="test|val|train"),
    device: Optional[str] = DeviceOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Evaluate a run's checkpoint on a split; writes eval/<split>-<checkpoint>.json (and a confusion matrix)."""
    from learnai_cli import rundir
    from learnai_cli.commands.evaluate import evaluate_run

    with reporting_errors(json_output):
        run = rundir.resolve(rundir.runs_root(runs_dir), run_id)
        emit(evaluate_run(run, checkpoint=checkpoint, split=split, device=device), json_output, render_eval)


def render_eval(report: dict[str, Any]) -> None:
    samples, epoch = report["samples"], report["checkpoint_epoch"]
    table = Table(title=f"{report['run_id']} — {report['split']} split ({counted(samples, 'sample')}, epoch {epoch})")
    baseline = report.get("baseline") or {}
    table.add_column("metric")
    table.add_column("value", justify="right")
    if baseline:
        table.add_column("baseline", justify="right")
    for name, value in report["metrics"].items():
        beside = [f"{baseline[name]:.4f}" if isinstance(baseline.get(name), (int, float)) else ""] if baseline else []
        table.add_row(name, f"{value:.4f}", *beside)
    for name, values in report.get("parameters", {}).items():
        table.add_row(name, ", ".join(f"{v:.4f}" for v in values))
    stdout.print(table)
    if baseline.get("predictor"):
        stdout.print(Text(f"baseline: {baseline['predictor']}"))
    if "predicted_text" in report:
        info = report["data_info"]
        stdout.print(Text(f"input: {info['source']}  predicted: {report['predicted_text']}  target: {info['target']}"))
    if "per_class" in report:  # every classifier: a label per time step (rnn_hello) too
        _render_classes(report)
    _render_examples(report)
    scaling = report.get("data_info", {}).get("standardization")
    if scaling:
        pairs = zip(scaling["features"], scaling["mean"], scaling["std"])
        listed = ", ".join(f"{name} {mean:.4g}±{std:.4g}" for name, mean, std in pairs)
        stdout.print(Text(f"features standardised by the training split's mean±std: {listed}"))
    if "learned_polynomial" in report:
        stdout.print(Text(f"learned: {report['learned_polynomial']}\ntrue:    {report['true_polynomial']}"))
    for path in report.get("plots", []):
        stdout.print(f"wrote {path}", highlight=False)


SHOWN_EXAMPLES = 5  # of the highest-loss examples (the JSON has all it kept)
MANY_CLASSES, SHOWN_CLASSES = 30, 15  # more classes than this, and the text shows the weakest


def _score(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def _render_classes(report: dict[str, Any]) -> None:
    """Precision, recall (the accuracy on each class), F1 and support per class, their macro average, and the
    class pairs most often confused."""
    classes = list(report["per_class"].items())
    title = "per class (recall = accuracy on that class; - : never predicted, or not in the split)"
    if len(classes) > MANY_CLASSES:  # the weakest only: a thousand rows would bury the rest
        classes = sorted(classes, key=lambda item: item[1].get("f1") if item[1].get("f1") is not None else 2.0)
        title = f"the {SHOWN_CLASSES} classes of lowest F1 (all {len(classes)} in the JSON); - : never predicted"
        classes = classes[:SHOWN_CLASSES]
    table = Table(title=title)
    for column in ("class", "precision", "recall", "F1", "n"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, scores in classes:
        row = [_score(scores.get(key)) for key in ("precision", "recall", "f1")]
        table.add_row(Text(name), *row, str(scores.get("support", "")))
    macro = report.get("macro_average") or {}
    table.add_row(
        Text("macro average", style="bold"), *(_score(macro.get(k)) for k in ("precision", "recall", "f1")), ""
    )
    stdout.print(table)
    confused = report.get("most_confused") or []
    if confused:
        lines = [
            f"  {p['true']} -> {p['predicted']}: {p['count']} ({p['fraction']:.0%} of {p['true']})" for p in confused
        ]
        stdout.print(Text("\n".join(["most confused (true -> predicted):", *lines])))
    elif "most_confused" in report:
        stdout.print(Text("most confused (true -> predicted): none: no prediction was another class"))


def _render_examples(report: dict[str, Any]) -> None:
    """The first few highest-loss examples (classifiers) or largest errors (regression)."""
    if report.get("highest_loss"):
        examples = report["highest_loss"]
        shown = f"{min(SHOWN_EXAMPLES, len(examples))} of {len(examples)}, all in the JSON and the gallery"
        table = Table(title=f"most wrong: highest loss ({shown})")
        columns = ["index", "true", "predicted", "p(predicted)", "loss"] + (["input"] if "input" in examples[0] else [])
        for column in columns:
            table.add_column(
                column, justify="right" if column in ("index", "p(predicted)", "loss") else "left", overflow="fold"
            )
        for example in examples[:SHOWN_EXAMPLES]:
            cells = [str(example["index"]), example["true"], example["predicted"], _score(example["probability"])]
            cells += [_score(example["loss"])] + ([example.get("input", "")] if "input" in columns else [])
            table.add_row(*(Text(str(cell)) for cell in cells))
        stdout.print(table)
    if report.get("largest_errors"):
        errors = report["largest_errors"]
        shown = f"{min(SHOWN_EXAMPLES, len(errors))} of {len(errors)}, all in the JSON"
        table = Table(title=f"furthest off: largest errors ({shown})")
        for column in ("index", "target", "prediction", "|error|"):
            table.add_column(column, justify="right")
        for row in errors[:SHOWN_EXAMPLES]:
            cells = [row["index"], row["target"], row["prediction"], row["absolute_error"]]
            table.add_row(*(_value(cell) for cell in cells))
        stdout.print(table)


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
