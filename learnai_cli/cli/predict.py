"""`learnai predict`: one input through a trained run's model."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Optional

import typer
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
