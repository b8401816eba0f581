"""`learnai eval`, `predict`, `export` and `plot`: the commands that use a trained run."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, List, Optional

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


def predict(
    run_id: str = RunIdArgument,
    text: str = typer.Argument(
        ...,
        metavar="INPUT",
        help="A surname (names models), a string of the training text's characters (character RNNs), an image "
        "file (image models) or a comma-separated row of numbers (tabular and regression models).",
    ),
    checkpoint: str = CheckpointOption,
    top: Optional[int] = typer.Option(
        None, "--top", min=1, help="How many classes to show (default 3; classifiers only).", metavar="N"
    ),
    device: Optional[str] = DeviceOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Run one input through a trained model: the top classes with probabilities, or the predicted value."""
    from learnai_cli import rundir
    from learnai_cli.commands.predict import predict as run_prediction

    with reporting_errors(json_output):
        run = rundir.resolve(rundir.runs_root(runs_dir), run_id)
        result = run_prediction(run, text, checkpoint, top, device)
        emit(result, json_output, functools.partial(_render_prediction, each_position=top is not None))


def _render_prediction(result: dict[str, Any], each_position: bool = False) -> None:
    if "prediction" in result:
        stdout.print(Text(f"{result['input']} -> {', '.join(f'{v:.4g}' for v in result['prediction'])}"))
        return
    if "predicted_text" in result:
        stdout.print(Text(f"{result['input']} -> {result['predicted_text']}"))
        for place, ranked in enumerate(result["positions"] if each_position else [], start=1):  # --top asked
            stdout.print(Text(f"  {place}: " + "  ".join(f"{e['class']} {e['probability']:.1%}" for e in ranked)))
        return
    width = len(str(len(result["top"])))  # ranks line up past 9
    for rank, entry in enumerate(result["top"], start=1):
        stdout.print(Text(f"{rank:>{width}}. {entry['class']:<14} {entry['probability']:.1%}"))


def export(
    run_id: str = RunIdArgument,
    fmt: str = typer.Option(
        "pt2",
        "--format",
        help="pt2: a torch.export program (torch.export.load), dynamic batch and sequence length; "
        "onnx: dynamo exporter, dynamic axes (pip install 'learnai\\[onnx]'); "
        "safetensors: the weights only, readable without pickle (pip install 'learnai\\[export]'); "
        "torchscript: for old consumers, deprecated by PyTorch (use pt2); state_dict: the weights, torch.save'd.",
        metavar="pt2|onnx|safetensors|torchscript|state_dict",
    ),
    checkpoint: str = CheckpointOption,
    verbose: bool = typer.Option(
        False, "--verbose", help="Show the exporter's own progress lines and warnings (on stderr).", metavar=""
    ),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Export a run's model to its export/ folder, proven first: the file is loaded back and must match the trained
    model, else exit 1 and nothing is written. pt2, onnx and torchscript are run on real inputs of the run's data,
    at other batch sizes (and sequence lengths) than the export's example; safetensors and state_dict are compared
    tensor by tensor and need no data."""
    from learnai_cli import rundir
    from learnai_cli.commands.export import check_format
    from learnai_cli.commands.export import export as export_model

    with reporting_errors(json_output):
        check_format(fmt)  # before the run id: a wrong format is the mistake to report
        result = export_model(rundir.resolve(rundir.runs_root(runs_dir), run_id), fmt, checkpoint, verbose)
        emit(result, json_output, _render_export)


def _render_export(result: dict[str, Any]) -> None:
    checked, checkpoint = result["checked_inputs"], Path(result["checkpoint"])
    run_dir = Path(result["path"]).parent.parent
    shown = checkpoint.relative_to(run_dir) if checkpoint.is_relative_to(run_dir) else checkpoint
    stdout.print(Text(f"wrote {result['path']} ({result['format']}, from {shown}, {result['bytes']:,} bytes)"))
    if not checked:  # a weights format: its tensors were compared, no data was needed
        stdout.print(Text(f"loaded back and matched the trained model's {result['checked_tensors']} tensors exactly"))
        return
    stdout.print(
        Text(
            f"loaded back and matched the trained model on {len(checked)} inputs of the run's data "
            f"(max abs difference {result['max_abs_diff']:.2g})"
        )
    )


MetricOption = typer.Option(
    None, "--metric", help="With --compare: this per-epoch metric instead of the losses, e.g. val_accuracy.",
    metavar="METRIC",
)  # fmt: skip


def plot(
    run_ids: Optional[List[str]] = typer.Argument(
        None,
        help="Run ids (directory name, unique prefix or 'latest') or sweep/study ids; with --landscape, an optional "
        "config.",
        show_default=False,
        metavar="RUN_ID",
    ),
    compare: bool = typer.Option(
        False,
        "--compare",
        help="Overlay the runs in one chart: their loss curves, or --metric. A sweep or study id stands for all "
        "its runs.",
        metavar="",
    ),
    metric: Optional[str] = MetricOption,
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
    normalize: Optional[bool] = typer.Option(
        None,
        "--normalize/--no-normalize",
        help="Confusion matrices as fractions of each true class, or as counts. Default: fractions when the classes "
        "are imbalanced (largest > 3x smallest), else counts.",
        show_default=False,
    ),
    output: Optional[Path] = typer.Option(
        None,
        "--output",
        "-o",
        help="Where --compare / --landscape write their chart (default: comparison.png / landscape.png in the runs "
        "root), in the format its suffix names: .png, .svg, .pdf, .jpg, .webp, .eps, ...",
        metavar="FILE",
    ),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """(Re)draw plots from run files, without importing torch: loss curves, confusion matrices, or see the options."""
    from learnai_cli import rundir
    from learnai_cli.commands.plot import plot_landscape, plot_runs, refuse_normalize

    with reporting_errors(json_output):
        root = rundir.runs_root(runs_dir)
        if landscape:
            refuse_normalize(normalize, "--landscape")
            written = [plot_landscape(run_ids or [], output or root / rundir.LANDSCAPE_PLOT)]
        else:
            written = plot_runs(root, run_ids or [], compare, animate, output, normalize, metric)
        emit({"plots": [str(p) for p in written]}, json_output, _render_written)


def _render_written(result: dict[str, Any]) -> None:
    for path in result["plots"]:
        stdout.print(f"wrote {path}", highlight=False)
