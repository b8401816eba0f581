"""`learnai eval`, `predict`, `export` and `plot`: the commands that use a trained run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.table import Table
from rich.text import Text

from learnai_cli.cli._shared import (
    CheckpointOption,
    JsonOption,
    RunIdArgument,
    RunsDirOption,
    emit,
    reporting_errors,
    stdout,
)


def evaluate(
    run_id: str = RunIdArgument,
    checkpoint: str = CheckpointOption,
    split: str = typer.Option("test", "--split", help="The split to evaluate.", metavar="test|val|train"),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Evaluate a run's checkpoint on a split; writes eval/<split>-<checkpoint>.json (and a confusion matrix)."""
    from learnai_cli import rundir
    from learnai_cli.commands.evaluate import evaluate_run

    with reporting_errors(json_output):
        run = rundir.resolve(rundir.runs_root(runs_dir), run_id)
        emit(evaluate_run(run, checkpoint=checkpoint, split=split), json_output, _render_eval)


def _render_eval(report: dict[str, Any]) -> None:
    samples, epoch = report["samples"], report["checkpoint_epoch"]
    table = Table(title=f"{report['run_id']} — {report['split']} split ({samples} samples, epoch {epoch})")
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


def predict(
    run_id: str = RunIdArgument,
    text: str = typer.Argument(
        ...,
        metavar="INPUT",
        help="A surname (names models), an image file (image models) or a comma-separated row of numbers "
        "(tabular and regression models).",
    ),
    checkpoint: str = CheckpointOption,
    top: int = typer.Option(3, "--top", min=1, help="How many classes to show."),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Run one input through a trained model: the top classes with probabilities, or the predicted value."""
    from learnai_cli import rundir
    from learnai_cli.commands.predict import predict as run_prediction

    with reporting_errors(json_output):
        run = rundir.resolve(rundir.runs_root(runs_dir), run_id)
        emit(run_prediction(run, text, checkpoint, top), json_output, _render_prediction)


def _render_prediction(result: dict[str, Any]) -> None:
    if "prediction" in result:
        stdout.print(Text(f"{result['input']} -> {', '.join(f'{v:.4g}' for v in result['prediction'])}"))
        return
    for rank, entry in enumerate(result["top"], start=1):
        stdout.print(Text(f"{rank}. {entry['class']:<14} {entry['probability']:.1%}"))


def export(
    run_id: str = RunIdArgument,
    fmt: str = typer.Option(
        "torchscript",
        "--format",
        help="torchscript, onnx (needs the onnx and onnxscript packages) or state_dict.",
        metavar="torchscript|onnx|state_dict",
    ),
    checkpoint: str = CheckpointOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Export a run's model to the run's export/ folder: TorchScript, ONNX or a state_dict."""
    from learnai_cli import rundir
    from learnai_cli.commands.export import export as export_model

    with reporting_errors(json_output):
        result = export_model(rundir.resolve(rundir.runs_root(runs_dir), run_id), fmt, checkpoint)
        emit(result, json_output, lambda r: stdout.print(Text(f"wrote {r['path']} ({r['format']})")))


def plot(
    run_ids: Optional[List[str]] = typer.Argument(
        None,
        help="Run ids (directory name, unique prefix or 'latest'); with --landscape, an optional config.",
        show_default=False,
    ),
    compare: bool = typer.Option(
        False, "--compare", help="Overlay the loss curves of all the runs given in one chart.", metavar=""
    ),
    animate: bool = typer.Option(
        False,
        "--animate",
        help="plots/training.gif (and .mp4 with ffmpeg) of the fit converging, and plots/fit.png; "
        "needs train.record_predictions.",
        metavar="",
    ),
    landscape: bool = typer.Option(
        False,
        "--landscape",
        help="MSE as a function of w, and of (w, b), for y = w·x + b on the curriculum's x=1,2,3 / y=2,4,6 "
        "(or a given config's 1-D data).",
        metavar="",
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Where --compare / --landscape write their PNG (default: in the runs root)."
    ),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """(Re)draw plots from run files, without importing torch: loss curves, confusion matrix, --compare, --animate,
    --landscape."""
    from learnai_cli import rundir
    from learnai_cli.commands.plot import plot_landscape, plot_runs

    with reporting_errors(json_output):
        root = rundir.runs_root(runs_dir)
        if landscape:
            written = [plot_landscape(run_ids or [], output or root / rundir.LANDSCAPE_PLOT)]
        else:
            written = plot_runs(root, run_ids or [], compare, animate, output)
        emit({"plots": [str(p) for p in written]}, json_output, _render_written)


def _render_written(result: dict[str, Any]) -> None:
    for path in result["plots"]:
        stdout.print(f"wrote {path}", highlight=False)
