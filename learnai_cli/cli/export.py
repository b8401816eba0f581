"""`learnai export`: a trained run's model written in a deployable format, checked against the trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.text import Text

from learnai_cli.cli._shared import (
    CheckpointOption,
    JsonOption,
    RunIdArgument,
    RunsDirOption,
    complete_from,
    emit,
    reporting_errors,
    stdout,
)
from learnai_cli.rundir.layout import EXPORT_FILES


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
        autocompletion=complete_from(tuple(EXPORT_FILES)),
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
    from learnai_cli.commands.export.run import check_format
    from learnai_cli.commands.export.run import export as export_model

    with reporting_errors(json_output):
        check_format(fmt)  # before the run id: a wrong format is the mistake to report
        result = export_model(rundir.resolve(rundir.runs_root(runs_dir), run_id), fmt, checkpoint, verbose)
        emit(result, json_output, _render_export)


def _render_export(result: dict[str, Any]) -> None:
    checked, checkpoint = result["checked_inputs"], Path(result["checkpoint"])
    run_dir = Path(result["path"]).parent.parent
    shown = checkpoint.relative_to(run_dir) if checkpoint.is_relative_to(run_dir) else checkpoint
    stdout.print(Text(f"wrote {result['path']} ({result['format']}, from {shown}, {result['bytes']:,} bytes)"))
    _render_input(result)
    if not checked:  # a weights format: its tensors were compared, no data was needed
        stdout.print(Text(f"loaded back and matched the trained model's {result['checked_tensors']} tensors exactly"))
        return
    stdout.print(
        Text(
            f"loaded back and matched the trained model on {len(checked)} inputs of the run's data "
            f"(max abs difference {result['max_abs_diff']:.2g})"
        )
    )


def _render_input(result: dict[str, Any]) -> None:
    """What the file takes and gives: raw inputs with the run's preprocessing inside it, or weights needing it
    applied; its outputs and their classes."""
    _render_outputs(result)
    prepared = result.get("preprocessing")
    if not prepared:
        stdout.print(Text(f"input: {result['input']}"))
        return
    statistics = f"mean {_numbers(prepared['mean'])}, std {_numbers(prepared['std'])}"
    if result.get("preprocessing_inside"):
        stdout.print(Text(f"input: {prepared['input']}; the model {prepared['kind']}s them itself ({statistics})"))
        return
    where = "" if result.get("format") == "state_dict" else " (also in the file's metadata)"
    said = f"input: these weights expect {prepared['input']} {prepared['kind']}d first: (x - mean) / std with"
    stdout.print(Text(f"{said} {statistics}{where}"))


def _render_outputs(result: dict[str, Any]) -> None:
    names, count = result.get("class_names") or [], result.get("outputs_count")
    if len(names) == 2 and count == 1:
        stdout.print(Text(f"output ({result['outputs']}): one, for '{names[1]}' against '{names[0]}'"))
    elif names:
        classes = ", ".join(map(str, names))
        stdout.print(Text(f"outputs ({result['outputs']}), one per class, in this order: {classes}"))


def _numbers(values: list[float]) -> str:
    shown = ", ".join(f"{v:.4g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
    return f"[{shown}]"
