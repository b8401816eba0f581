"""`learnai runs`, `show`, `rm` and `gc`: looking at and tidying the runs root."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from learnai_cli.cli._shared import (
    JsonOption,
    RunIdArgument,
    RunsDirOption,
    complete_run_id,
    confirm,
    emit,
    metrics_text,
    reporting_errors,
    stdout,
)

YesOption = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (scripts).", metavar="")


def list_runs(
    status: Optional[str] = typer.Option(
        None,
        "--status",
        help="Only runs with this status: running, starting, completed, failed, diverged, interrupted, crashed, "
        "damaged.",
    ),
    name: Optional[str] = typer.Option(None, "--name", help="Only runs whose name or id contains this."),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """List runs: id, name, status, epochs, best metric, duration, start time."""
    from learnai_cli import rundir
    from learnai_cli.commands.runs import filtered_summaries

    with reporting_errors(json_output):
        root = rundir.runs_root(runs_dir)
        emit({"runs_dir": str(root), "runs": filtered_summaries(root, status, name)}, json_output, _render_runs)


def _render_runs(result: dict[str, Any]) -> None:
    if not result["runs"]:
        stdout.print(f"no runs in {result['runs_dir']}", highlight=False)
        return
    table = Table(title=f"runs in {result['runs_dir']}")
    for column in ("id", "name", "status", "epochs", "best", "test", "duration", "started"):
        table.add_column(column)
    for row in result["runs"]:
        best = f"{row['best_metric']} {row['best_value']:.4g}" if row["best_value"] is not None else ""
        duration = f"{row['duration_s']:.1f}s" if row["duration_s"] is not None else ""
        status = f"damaged: {row['problem']}" if row["status"] == "damaged" else row["status"]
        cells = (
            row["id"],
            str(row["name"]),
            status,
            str(row["epochs"] or 0),
            best,
            _test_text(row.get("test")),
            duration,
            str(row["started"] or ""),
        )
        table.add_row(*map(Text, cells))
    stdout.print(table)


def _test_text(metrics: dict[str, float] | None) -> str:
    """The test result's headline: accuracy for classifiers, else mse, else the loss."""
    if not metrics:
        return ""
    name = next((k for k in ("accuracy", "mse", "loss") if k in metrics), next(iter(metrics)))
    return f"{name} {metrics[name]:.4g}"


def show(run_id: str = RunIdArgument, runs_dir: Optional[Path] = RunsDirOption, json_output: bool = JsonOption) -> None:
    """One run in full: status, best metric, the last epoch, its config and its files."""
    from learnai_cli import rundir
    from learnai_cli.commands.runs import show as show_run

    with reporting_errors(json_output):
        emit(show_run(rundir.resolve(rundir.runs_root(runs_dir), run_id)), json_output, _render_show)


def _render_show(result: dict[str, Any]) -> None:
    import yaml

    meta, best = result["meta"], result["meta"].get("best") or {}
    epochs, seconds = meta.get("epochs_completed", 0), meta.get("duration_s", 0)
    stdout.print(Text(f"{result['run_id']}  {result['status']}  {epochs} epochs  {seconds} s  ({result['run_dir']})"))
    if meta.get("message"):
        stdout.print(Text(f"  {meta['message']}"))
    if best.get("value") is not None:
        stdout.print(Text(f"  best {best['metric']} {best['value']:.4g} at epoch {best['epoch']}"))
    if result["last_epoch"]:
        stdout.print(Text(f"  last epoch: {metrics_text(result['last_epoch'])}"))
    for evaluation in result.get("evaluations", []):
        scores = "  ".join(f"{k} {v:.4g}" for k, v in (evaluation["metrics"] or {}).items() if isinstance(v, float))
        stdout.print(Text(f"  eval {evaluation['split']} ({evaluation['checkpoint']}): {scores}"))
    stdout.print(Text(yaml.safe_dump(result["config"], sort_keys=False)))
    for entry in result["files"]:
        stdout.print(Text(f"  {entry['path']}  ({entry['bytes']:,} bytes)"))


def remove(
    run_id: str = typer.Argument(
        ...,
        help="Run directory name or unique prefix ('latest' works too).",
        autocompletion=complete_run_id,
        metavar="RUN_ID",
    ),
    yes: bool = YesOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Delete a run directory (asks first; --yes in scripts)."""
    from learnai_cli import rundir
    from learnai_cli.commands.runs import remove as remove_run

    with reporting_errors(json_output):
        run = rundir.resolve(rundir.runs_root(runs_dir), run_id)
        confirm(f"Delete {run.path}?", yes)
        remove_run(run)
        emit({"removed": [run.id]}, json_output, lambda r: stdout.print(Text(f"removed {run.id}")))


def gc(
    keep_last: int = typer.Option(
        ..., "--keep-last", help="Keep this many of the newest runs; delete the older ones (never running ones)."
    ),
    yes: bool = YesOption,
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """Delete old runs, keeping the newest N."""
    from learnai_cli import rundir
    from learnai_cli.commands.runs import collect, gc_candidates

    with reporting_errors(json_output):
        doomed = gc_candidates(rundir.runs_root(runs_dir), keep_last)
        if doomed and not yes and not json_output:  # say exactly what would go before asking
            stdout.print(Text("\n".join(f"  {run.id}" for run in doomed)))
        if doomed:
            confirm(f"Delete these {len(doomed)} run(s)?", yes)
        removed, skipped = collect(doomed)
        emit({"removed": removed, "skipped_in_use": skipped}, json_output, _render_removed)


def _render_removed(result: dict[str, Any]) -> None:
    skipped = f"; kept {len(result['skipped_in_use'])} that started meanwhile" if result["skipped_in_use"] else ""
    stdout.print(Text(f"removed {len(result['removed'])} run(s){skipped}"))
