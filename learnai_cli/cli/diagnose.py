"""`learnai diagnose RUN`: a run's findings (problems first), each with the numbers it rests on and what to try."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from rich.text import Text

from learnai_cli.cli._shared import JsonOption, RunIdArgument, RunsDirOption, emit, reporting_errors, stdout

MARKS = {"problem": "[bold red]problem[/]", "warning": "[yellow]warning[/]", "info": "[cyan]info[/]"}


def diagnose(run_id: str = RunIdArgument, runs_dir: Optional[Path] = RunsDirOption, json_output: bool = JsonOption):
    """Tell whether a run learned, and why not: compares it with the trivial baseline and reads its curves (lr too
    high or low, not converged, overfitting, ...); each finding says what to try."""
    from learnai_cli import rundir
    from learnai_cli.commands.diagnose import diagnose as diagnose_run

    with reporting_errors(json_output):
        run = rundir.resolve(rundir.runs_root(runs_dir), run_id)
        emit(diagnose_run(run), json_output, render_diagnosis)


def render_diagnosis(result: dict[str, Any]) -> None:
    stdout.print(Text(f"{result['run_id']} ({result.get('status') or 'status unknown'})"))
    render_baseline(result.get("baseline"))
    render_findings(result.get("findings") or [])


def render_baseline(baseline: Optional[dict[str, Any]]) -> None:
    scores = (baseline or {}).get("val")
    if not scores:
        return
    shown = ", ".join(f"{key} {value:.4g}" for key, value in scores.items() if key != "samples")
    stdout.print(Text(f"  baseline (val): {shown}: {baseline.get('predictor', 'the trivial predictor')}"))


def render_findings(findings: list[dict[str, Any]]) -> None:
    if not findings:
        stdout.print(Text("  no problem found: it beats the trivial baseline and its curves look healthy"))
        return
    for finding in findings:
        stdout.print(f"  {MARKS.get(finding['severity'], finding['severity'])} {finding['code']}: ", end="")
        stdout.print(Text(finding["message"]))
        if finding.get("fix"):
            stdout.print(Text(f"      try: {finding['fix']}"))
