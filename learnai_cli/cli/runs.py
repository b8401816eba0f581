"""`learnai runs`, `show`, `rm` and `gc`: looking at and tidying the runs root."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.text import Text

from learnai_cli.cli._shared import (
    JsonOption,
    RunIdArgument,
    RunsDirOption,
    complete_from,
    complete_run_id,
    confirm,
    emit,
    metrics_text,
    reporting_errors,
    stdout,
)
from learnai_cli.cli.table_fit import Layout, print_table
from learnai_cli.errors import UsageError, clip
from learnai_cli.numbers import is_number
from learnai_cli.rundir.status import STATUSES

YesOption = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (scripts).", metavar="")


def list_runs(
    status: Optional[str] = typer.Option(
        None,
        "--status",
        help="Only runs with this status: running, starting, completed, pruned, failed, diverged, interrupted, "
        "crashed, damaged.",
        metavar="STATUS",
        autocompletion=complete_from(STATUSES),
    ),
    name: Optional[str] = typer.Option(
        None, "--name", help="Only runs whose name or id contains this.", metavar="TEXT"
    ),
    filters: Optional[List[str]] = typer.Option(
        None,
        "--filter",
        help="Only runs whose KEY equals VALUE (repeatable): sweep=ID, study=ID, label=..., optimizer.name=adam, "
        "any meta.json field, config key or column.",
        metavar="KEY=VALUE",
    ),
    columns: Optional[str] = typer.Option(
        None,
        "--columns",
        help="Comma-separated columns after the id: last-epoch metrics (val_accuracy), test_<metric> once "
        "evaluated, duration (seconds of training), epochs, status, best, config keys (optimizer.lr), meta.json "
        "fields (sweep).",
        metavar="A,B,...",
    ),
    sort: Optional[str] = typer.Option(
        None, "--sort", help="Sort by this column (any name --columns takes); runs without it last.", metavar="KEY"
    ),
    descending: bool = typer.Option(False, "--desc", help="Sort from the largest value down.", metavar=""),
    runs_dir: Optional[Path] = RunsDirOption,
    json_output: bool = JsonOption,
) -> None:
    """List runs: id, name, status, epochs, best metric, test result, training time, start time (or --columns)."""
    from learnai_cli import rundir
    from learnai_cli.commands.runs import filtered_summaries

    with reporting_errors(json_output):
        root = rundir.runs_root(runs_dir)
        chosen = [c.strip() for c in (columns or "").split(",") if c.strip()]
        if columns is not None and not chosen:
            raise UsageError("--columns needs one or more names, e.g. --columns val_accuracy,test_accuracy,duration")
        rows = filtered_summaries(root, status, name, filters or [], chosen, sort, descending)
        result = {"runs_dir": str(root), "runs": rows, **({"columns": chosen} if chosen else {})}
        asked = [*(["--status", status] if status else []), *(["--name", name] if name else [])]
        asked += [part for spec in filters or [] for part in ("--filter", spec)]
        if asked and not rows:  # say that the selection matched nothing, not that there are no runs
            result["selection"] = clip(shlex.join(asked), 200)
            result["unfiltered"] = len(rundir.all_runs(root))
        emit(result, json_output, _render_runs)


def _render_runs(result: dict[str, Any]) -> None:
    if not result["runs"]:
        missing = (
            "" if Path(result["runs_dir"]).is_dir() else " (it does not exist yet: `learnai train CONFIG` makes it)"
        )
        if result.get("selection") and result.get("unfiltered"):
            total = f"{result['unfiltered']} run{'s' * (result['unfiltered'] != 1)}"
            stdout.print(
                f"no run in {result['runs_dir']} matches {result['selection']} ({total} there: `learnai runs` lists "
                "them all)",
                highlight=False,
            )
            return
        stdout.print(f"no runs in {result['runs_dir']}{missing}", highlight=False)
        return
    if result.get("columns"):
        _render_columns(result)
        return
    headers = ("id", "name", "status", "epochs", "best", "test", "train time", "started")
    rows = []
    for row in result["runs"]:
        best = f"{row['best_metric']} {row['best_value']:.4g}" if row["best_value"] is not None else ""
        status = f"damaged: {row['problem']}" if row["status"] == "damaged" else row["status"]
        test = _test_text(row.get("test"), row.get("test_stale", False))
        rows.append(
            (
                row["id"],
                str(row["name"]),
                status,
                str(row["epochs"] or 0),
                best,
                test,
                seconds_text(row["duration_s"]),
                str(row["started"] or ""),
            )
        )
    # a narrow terminal loses first what the id already says (its name, its start), then the least read
    drop_order = ("name", "started", "train time", "test", "epochs", "best")
    print_table(f"runs in {result['runs_dir']}", headers, rows, Layout(drop_order=drop_order))


def seconds_text(seconds: Any) -> str:
    """A duration for a table cell: 0.047s, 12.3s, 1234s (a sub-second run is not 0.0s)."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return ""
    return f"{seconds:.3g}s" if seconds < 100 else f"{seconds:.0f}s"


def _render_columns(result: dict[str, Any]) -> None:
    from learnai_cli.rundir.selection import SECONDS_COLUMNS

    headers, numeric = ["id"], []
    columns = [c for c in result["columns"] if c != "id"]  # the table starts with the id already
    for column in columns:
        headers.append(f"{column} (s)" if column in SECONDS_COLUMNS else column)  # the cells are bare numbers
        values = [row["columns"][column] for row in result["runs"] if row["columns"][column] is not None]
        if all(map(is_number, values)) and not any(column in row.get("labels", {}) for row in result["runs"]):
            numeric.append(headers[-1])  # numbers line up by their digits
    rows = [[row["id"], *(_labelled_cell(row, c) for c in columns)] for row in result["runs"]]
    print_table(f"runs in {result['runs_dir']}", headers, rows, Layout(right_aligned=numeric))  # all asked for


def _labelled_cell(row: dict[str, Any], column: str) -> str:
    """A cell, after the metric its number is where the column's name does not say it (baseline: "val_loss 0.69")."""
    text, label = cell_text(row["columns"][column]), row.get("labels", {}).get(column)
    return f"{label} {text}" if label and text else text


def cell_text(value: Any) -> str:
    """A value in a table cell: numbers to 4 significant digits, lists and mappings as JSON (as `diff` shows them,
    and as --filter takes them), nothing for a missing value."""
    import json

    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else json.dumps(value)


def _test_text(metrics: dict[str, float] | None, stale: bool = False) -> str:
    """The test result's headline: accuracy for classifiers, else mse, else the loss; marked when best.pt has
    moved on since it was evaluated."""
    if not metrics:
        return ""
    name = next((k for k in ("accuracy", "mse", "loss") if k in metrics), next(iter(metrics)))
    return f"{name} {metrics[name]:.4g}" + (" (stale)" if stale else "")


def show(run_id: str = RunIdArgument, runs_dir: Optional[Path] = RunsDirOption, json_output: bool = JsonOption) -> None:
    """One run in full: status, best metric, the last epoch, its config and its files."""
    from learnai_cli import rundir
    from learnai_cli.commands.runs import show as show_run

    with reporting_errors(json_output):
        emit(show_run(rundir.resolve(rundir.runs_root(runs_dir), run_id)), json_output, _render_show)


def _render_show(result: dict[str, Any]) -> None:
    import yaml

    from learnai_cli.cli.diagnose import render_baseline
    from learnai_cli.rundir.baseline import recorded_baseline

    meta, best = result["meta"], result["meta"].get("best") or {}
    epochs, seconds = meta.get("epochs_completed", 0), seconds_text(meta.get("duration_s", 0))
    stdout.print(
        Text(f"{result['run_id']}  {result['status']}  {epochs} epochs in {seconds} of training  ({result['run_dir']})")
    )
    if meta.get("message"):
        stdout.print(Text(f"  {meta['message']}"))
    if best.get("value") is not None:
        stdout.print(Text(f"  best {best['metric']} {best['value']:.4g} at epoch {best['epoch']}"))
    if result["last_epoch"]:
        stdout.print(Text(f"  last epoch: {metrics_text(result['last_epoch'])}"))
    render_baseline(recorded_baseline(meta))  # its sound part: a damaged meta.json's other values are left out
    for evaluation in result.get("evaluations", []):
        scores = "  ".join(f"{k} {v:.4g}" for k, v in (evaluation["metrics"] or {}).items() if isinstance(v, float))
        stale = (
            "  (stale: the checkpoint holds newer weights now; run learnai eval again)" if evaluation["stale"] else ""
        )
        stdout.print(Text(f"  eval {evaluation['split']} ({evaluation['checkpoint']}): {scores}{stale}"))
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
        ...,
        "--keep-last",
        help="Keep this many of the newest runs; delete the older ones (never running ones).",
        metavar="N",
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
        removed, skipped, failed = collect(doomed)
        if failed:  # e.g. a read-only runs folder: not "kept because they started meanwhile"
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            error = UsageError(f"removed {len(removed)} run(s); could not remove {len(failed)}: {failed[0]}{more}")
            error.details = {"removed": removed, "skipped_in_use": skipped, "not_removed": failed}  # for --json
            raise error
        emit({"removed": removed, "skipped_in_use": skipped}, json_output, _render_removed)


def _render_removed(result: dict[str, Any]) -> None:
    skipped = f"; kept {len(result['skipped_in_use'])} that started meanwhile" if result["skipped_in_use"] else ""
    stdout.print(Text(f"removed {len(result['removed'])} run(s){skipped}"))
