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
        emit(evaluate_run(run, checkpoint=checkpoint, split=split, device=device), json_output, _render_eval)


def _render_eval(report: dict[str, Any]) -> None:
    samples, epoch = report["samples"], report["checkpoint_epoch"]
    table = Table(title=f"{report['run_id']} — {report['split']} split ({counted(samples, 'sample')}, epoch {epoch})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report["metrics"].items():
        table.add_row(name, f"{value:.4f}")
    for name, values in report.get("parameters", {}).items():
        table.add_row(name, ", ".join(f"{v:.4f}" for v in values))
    stdout.print(table)
    if "predicted_text" in report:
        info = report["data_info"]
        stdout.print(Text(f"input: {info['source']}  predicted: {report['predicted_text']}  target: {info['target']}"))
    if len(report.get("per_class_accuracy", {})) > 2 and "predicted_text" not in report:
        per_class = Table(title="accuracy per class")
        per_class.add_column("class")
        per_class.add_column("accuracy", justify="right")
        for name, value in report["per_class_accuracy"].items():
            per_class.add_row(Text(name), "" if value is None else f"{value:.3f}")
        stdout.print(per_class)
    scaling = report.get("data_info", {}).get("standardization")
    if scaling:
        pairs = zip(scaling["features"], scaling["mean"], scaling["std"])
        listed = ", ".join(f"{name} {mean:.4g}±{std:.4g}" for name, mean, std in pairs)
        stdout.print(Text(f"features standardised by the training split's mean±std: {listed}"))
    if "learned_polynomial" in report:
        stdout.print(Text(f"learned: {report['learned_polynomial']}\ntrue:    {report['true_polynomial']}"))
    for path in report.get("plots", []):
        stdout.print(f"wrote {path}", highlight=False)
