"""`learnai report`: one self-contained HTML page of a run, a comparison of runs, or a study or sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from learnai_cli.cli._shared import JsonOption, RunsDirOption, complete_run_id, emit, reporting_errors, stdout

TargetsArgument = typer.Argument(
    None,
    help="A run id (directory name, unique prefix or 'latest'), several to compare, or one study or sweep id.",
    show_default=False,
    metavar="RUN_ID|STUDY",
    autocompletion=complete_run_id,
)
OutputOption = typer.Option(
    None,
    "--output",
    "-o",
    help="Where to write the page (default: report.html in the run's folder; comparison.html in the runs root for "
    "several runs; report.html in a study's or sweep's folder).",
    metavar="FILE.html",
)
OpenOption = typer.Option(False, "--open", help="Open the page in your web browser once written.", metavar="")


def report(
    targets: Optional[List[str]] = TargetsArgument,
    output: Optional[Path] = OutputOption,
    open_page: bool = OpenOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """One self-contained HTML page (works offline, no server): status and findings, results beside the baseline,
    interactive curves, evaluations, config and environment; of one run, several side by side, or a study/sweep."""
    from learnai_cli import rundir
    from learnai_cli.commands.report import report as make_report

    with reporting_errors(json_output):
        result = make_report(rundir.runs_root(runs_dir), targets or [], output, open_page)
        emit(result, json_output, _render)


def _render(result: dict[str, Any]) -> None:
    stdout.print(f"wrote {result['report']}", highlight=False)
    if result["opened"] is False:
        stdout.print("no web browser could be opened here: open the file in one yourself", highlight=False)
