"""`learnai diagnose RUN`: a run's findings (problems first), each with the numbers it rests on and what to try."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from rich.text import Text

from learnai_cli.cli._shared import JsonOption, RunIdArgument, RunsDirOption, emit, reporting_errors, stdout
from learnai_cli.numbers import is_number

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
    from learnai_cli.diagnose.report import NOT_JUDGED

    status = result.get("status")
    stdout.print(Text(f"{result['run_id']} ({status or 'status unknown'})"))
    render_baseline(result.get("baseline"))
    if status in NOT_JUDGED and not result.get("findings"):  # its rules did not run: no verdict to give
        stdout.print(Text(f"  not judged yet: {NOT_JUDGED[status]}; learnai diagnose {result['run_id']} once it ends"))
        return
    render_findings(result.get("findings") or [], result.get("baseline"))


def render_baseline(baseline: Optional[dict[str, Any]]) -> None:
    """The baseline's val scores; only numbers are shown (a damaged meta.json's other values are left out)."""
    scores = (baseline or {}).get("val")
    shown = ", ".join(
        f"{key} {value:.4g}" for key, value in (scores or {}).items() if key != "samples" and is_number(value)
    )
    if not isinstance(scores, dict) or not shown:
        return
    predictor = baseline.get("predictor") if isinstance(baseline.get("predictor"), str) else "the trivial predictor"
    stdout.print(Text(f"  baseline (val): {shown}: {predictor}"))


def render_findings(findings: list[dict[str, Any]], baseline: Optional[dict[str, Any]]) -> None:
    """The findings, problems first; none at all claims a comparison with the baseline only where one was recorded."""
    if not findings:
        compared = isinstance((baseline or {}).get("val"), dict)
        said = (
            "no problem found: it beats the trivial baseline and its curves look healthy"
            if compared
            else "no problem found in what it recorded (no baseline was recorded to compare with)"
        )
        stdout.print(Text(f"  {said}"))
        return
    for finding in findings:
        stdout.print(f"  {MARKS.get(finding['severity'], finding['severity'])} {finding['code']}: ", end="")
        stdout.print(Text(finding["message"]))
        if finding.get("fix"):
            stdout.print(Text(f"      try: {finding['fix']}"))
