"""`learnai diff RUN_A RUN_B`: the config keys that differ and both runs' results side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from learnai_cli.cli._shared import (
    JsonOption,
    RunsDirOption,
    complete_run_id,
    emit,
    reporting_errors,
    stdout,
)
from learnai_cli.cli.runs import cell_text
from learnai_cli.numbers import is_number


def diff(
    run_a: str = typer.Argument(
        ..., help="The first run (id, unique prefix or 'latest').", autocompletion=complete_run_id, metavar="RUN_A"
    ),
    run_b: str = typer.Argument(..., help="The second run.", autocompletion=complete_run_id, metavar="RUN_B"),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Compare two runs: the config keys that differ (both values), and their results side by side."""
    from learnai_cli import rundir
    from learnai_cli.commands.diff import diff_runs

    with reporting_errors(json_output):
        root = rundir.runs_root(runs_dir)
        emit(diff_runs(rundir.resolve(root, run_a), rundir.resolve(root, run_b)), json_output, _render_diff)


def _render_diff(result: dict[str, Any]) -> None:
    run_a, run_b = result["runs"]
    stdout.print(Text(f"A: {run_a}\nB: {run_b}"))
    if result["config"]:
        table = Table(title="config keys that differ")
        for column in ("key", "A", "B"):
            table.add_column(column)
        for row in result["config"]:
            cells = [_config_text(row, side) for side in ("a", "b")]
            table.add_row(Text(row["key"]), *map(Text, cells))
        stdout.print(table)
    else:
        stdout.print(Text("the configs are the same"))
    table = Table(title="results")
    for column, justify in (("metric", "left"), ("A", "right"), ("B", "right"), ("B - A", "right")):
        table.add_column(column, justify=justify)
    for row in result["metrics"]:
        a, b = row["a"], row["b"]
        numbers = all(map(is_number, (a, b)))
        table.add_row(*map(Text, (row["metric"], cell_text(a), cell_text(b), cell_text(b - a) if numbers else "")))
    stdout.print(table)


def _config_text(row: dict[str, Any], side: str) -> str:
    import json

    if row.get("missing_in") == side:
        return "(absent)"
    value = row[side]
    return value if isinstance(value, str) else json.dumps(value)
