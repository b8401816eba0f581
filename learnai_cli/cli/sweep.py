"""`learnai sweep`: a grid of settings trained, one normal run each, and their ranked table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from learnai_cli.cli._shared import (
    JsonOption,
    NoProgressOption,
    RunsDirOption,
    emit,
    reporting_errors,
    stdout,
)
from learnai_cli.rundir import runs_root


def sweep(
    config_path: Path = typer.Argument(..., help="Experiment YAML file.", metavar="CONFIG"),
    axes: List[str] = typer.Argument(
        ...,
        help="key.path=v1,v2,v3 per axis; every combination is trained (single values act as overrides).",
        metavar="KEY=V1,V2",
    ),
    no_progress: bool = NoProgressOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Train a grid of settings, one normal run each; write summary.csv and a comparison plot, print a ranked table."""
    from learnai_cli.commands.sweep import run_sweep

    with reporting_errors(json_output):
        interactive = sys.stderr.isatty() and not json_output and not no_progress
        emit(run_sweep(config_path, axes, runs_root(runs_dir), interactive), json_output, _render_sweep)


def _render_sweep(result: dict[str, Any]) -> None:
    from learnai_cli.cli.table_fit import Layout, print_table

    rows, styles = [], []
    for row in result["rows"]:
        best = f"{row['best']:.4g}" if isinstance(row["best"], float) else ""
        loss = f"{row['final_train_loss']:.4g}" if isinstance(row["final_train_loss"], float) else ""
        rows.append((row["point"], row["status"], best, loss, row["run_id"]))
        styles.append("red" if row["status"] != "completed" else None)
    headers = ("point", "status", "best", "final train loss", "run id")
    layout = Layout(whole="run id", drop_order=("final train loss",), right_aligned=("best",), styles=styles)
    print_table(f"{result['sweep_id']} (by {result['monitor']})", headers, rows, layout)
    stdout.print(f"wrote {result['summary_csv']}\nwrote {result['plot']}", highlight=False)
