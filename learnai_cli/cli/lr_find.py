"""`learnai lr-find`: a learning-rate range test of a config; prints the suggested lr and the override to use."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from learnai_cli.cli._shared import (
    OVERRIDES_HELP,
    JsonOption,
    PluginOption,
    RunsDirOption,
    emit,
    reporting_errors,
    stdout,
)
from learnai_cli.rundir import runs_root

__all__ = ["lr_find"]


def lr_find(
    config_path: Path = typer.Argument(..., help="Experiment YAML file.", metavar="CONFIG"),
    overrides: Optional[List[str]] = typer.Argument(None, help=OVERRIDES_HELP, metavar="KEY=VALUE"),
    start: float = typer.Option(1e-7, "--start", help="The lr of the first step.", metavar="LR"),
    end: float = typer.Option(10.0, "--end", help="The lr of the last step.", metavar="LR"),
    steps: int = typer.Option(200, "--steps", help="Optimizer steps of the sweep (20 to 10,000).", metavar="N"),
    plugin: Optional[List[str]] = PluginOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Learning-rate range test: from the config's initial weights, raise the lr exponentially from --start to
    --end while training, then suggest the lr where the smoothed loss falls fastest (or say why it cannot). Writes
    the curve to runs/lr_find/; trains no run."""
    from learnai_cli.commands.lr_find.run import check_request
    from learnai_cli.commands.lr_find.run import lr_find as run_lr_find

    with reporting_errors(json_output):
        check_request(start, end, steps)
        result = run_lr_find(
            config_path, list(overrides or []), list(plugin or []), runs_root(runs_dir), start, end, steps
        )
        emit(result, json_output, _render)


def _render(result: dict[str, Any]) -> None:
    ended = {"exploded": ", then the loss exploded", "nonfinite": ", then the loss became nan/inf", "end": ""}
    lrs = result["lrs"]
    swept = f"lr {lrs[0]:.2g} to {lrs[-1]:.2g}" if lrs else "no step"
    stdout.print(f"swept {swept} in {result['steps_run']} steps{ended[result['stopped']]}", highlight=False)
    if result["suggested_lr"] is None:
        stdout.print(f"no suggestion: {result['reason']}", highlight=False, markup=False)
    else:
        stdout.print(f"suggested lr: {result['suggested_lr']:g}: {result['reason']}", highlight=False, markup=False)
        stdout.print(f"override: {result['override']}", highlight=False, markup=False)
        stdout.print(f"try: {result['command']}", highlight=False, markup=False)
    stdout.print(f"plot: {result['plot']}", highlight=False, markup=False)
