"""`learnai plot`: a run's plots redrawn from its files, runs overlaid, a fit animated, a loss landscape."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from learnai_cli.cli._shared import (
    JsonOption,
    RunsDirOption,
    complete_run_id,
    emit,
    reporting_errors,
    stdout,
)

RunIdsArgument = typer.Argument(
    None,
    help="Run ids (directory name, unique prefix or 'latest') or sweep/study ids; with --landscape, an optional "
    "config.",
    show_default=False,
    metavar="RUN_ID",
    autocompletion=complete_run_id,
)

CompareOption = typer.Option(
    False,
    "--compare",
    help="Overlay the runs in one chart: their loss curves, or --metric. A sweep or study id stands for all its runs.",
    metavar="",
)

AnimateOption = typer.Option(
    False,
    "--animate",
    help="plots/training.gif (and .mp4 with ffmpeg) of the fit converging, and plots/fit.png; "
    "needs train.record_predictions.",
    metavar="",
)

LandscapeOption = typer.Option(
    False,
    "--landscape",
    help="MSE as a function of w, and of (w, b), for y = w·x + b on the curriculum's x=1,2,3 / y=2,4,6 "
    "(or a given config's 1-D data).",
    metavar="",
)

NormalizeOption = typer.Option(
    None,
    "--normalize/--no-normalize",
    help="Confusion matrices as fractions of each true class, or as counts. Default: fractions when the classes "
    "are imbalanced (largest > 3x smallest), else counts.",
    show_default=False,
)

OutputOption = typer.Option(
    None,
    "--output",
    "-o",
    help="Where --compare / --landscape write their chart (default: comparison.png / landscape.png in the runs "
    "root), in the format its suffix names: .png, .svg, .pdf, .jpg, .webp, .eps, ...",
    metavar="FILE",
)
MetricOption = typer.Option(
    None,
    "--metric",
    help="With --compare: this per-epoch metric instead of the losses, e.g. val_accuracy.",
    metavar="METRIC",
)


def plot(
    run_ids: Optional[List[str]] = RunIdsArgument,
    compare: bool = CompareOption,
    metric: Optional[str] = MetricOption,
    animate: bool = AnimateOption,
    landscape: bool = LandscapeOption,
    normalize: Optional[bool] = NormalizeOption,
    output: Optional[Path] = OutputOption,
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
