"""`learnai runs`, `show`, `rm` and `gc`: reading, filtering and removing run directories."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Optional, Sequence

from learnai_cli.atomic import read_json
from learnai_cli.errors import UsageError
from learnai_cli.rundir import DamagedRun, RunDir, RunInUse, all_runs
from learnai_cli.rundir.lock import lock_holder
from learnai_cli.rundir.status import IN_USE, STATUSES, iter_summaries, made_by_learnai, run_status


def show(run: RunDir) -> dict[str, Any]:
    """Everything about one run: meta (with its effective status), config, last epoch, files. A damaged run is
    refused (DamagedRun says what is wrong and what to do)."""
    status, problem = run_status(run)
    if status == "damaged":
        raise DamagedRun(run, problem)
    records = run.epoch_records()
    files = sorted(p for p in run.path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return {
        "run_id": run.id,
        "run_dir": str(run.path),
        "status": status,
        "problem": None,
        "meta": run.meta(strict=False),
        "config": run.read_config(),
        "last_epoch": records[-1] if records else None,
        "evaluations": [_evaluation(run, report) for report in run.eval_reports()],
        "files": [{"path": str(p.relative_to(run.path)), "bytes": p.stat().st_size} for p in files],
    }


def _evaluation(run: RunDir, report: Path) -> dict[str, Any]:
    """One `learnai eval` result in brief: split, checkpoint, metrics, and whether the checkpoint has moved on."""
    from learnai_cli.rundir.status import stale_evaluation

    result = read_json(report)
    metrics = result.get("metrics")  # a damaged result shows what of it is readable: names with numbers
    metrics = (
        {str(k): v for k, v in metrics.items() if isinstance(v, (int, float))} if isinstance(metrics, dict) else {}
    )
    return {
        "split": result.get("split") if isinstance(result.get("split"), str) else None,
        "checkpoint": result.get("checkpoint") if isinstance(result.get("checkpoint"), str) else None,
        "checkpoint_epoch": result.get("checkpoint_epoch"),
        "metrics": metrics,
        "stale": stale_evaluation(run, result, run.meta(strict=False)),
    }


def filtered_summaries(
    root: Path,
    status: Optional[str],
    name: Optional[str],
    filters: Sequence[str] = (),
    columns: Sequence[str] = (),
    sort: Optional[str] = None,
    descending: bool = False,
) -> list[dict[str, Any]]:
    """`learnai runs` rows, keeping a status, names containing `name` and runs matching every KEY=VALUE filter;
    with `columns`, each row's values under those names; sorted by `sort` (selection.py says what a name means)."""
    from learnai_cli.rundir import selection

    rows = list(iter_summaries(root))
    if status:
        _check_status(status, rows, "--status ")
        rows = [r for r in rows if r["status"] == status]
    if name:
        rows = [r for r in rows if name in str(r["name"]) or name in r["id"]]
    if not (filters or columns or sort):
        return rows
    values = [selection.RunValues(row) for row in rows]
    wanted = [selection.parse_filter(spec) for spec in filters]
    for key, text in wanted:
        if key == "status":
            _check_status(text, rows, "--filter status=")
    selection.check_known(values, [key for key, _ in wanted], "--filter")
    selection.check_known(values, columns, "--columns")
    selection.check_known(values, [sort] if sort else [], "--sort")
    values = [v for v in values if all(selection.matches(v.get(key), text) for key, text in wanted)]
    if sort:
        values = selection.sort_values(values, sort, descending)
    return [
        {**v.row, "columns": {c: selection.shown(v.get(c)) for c in columns}, **_labels(v, columns)} for v in values
    ]


def _labels(values, columns: Sequence[str]) -> dict[str, Any]:
    """{"labels": {column: metric}} for the columns whose bare numbers need their metric said (`baseline`)."""
    labels = {c: values.label(c) for c in columns if values.label(c)}
    return {"labels": labels} if labels else {}


def _check_status(status: str, rows: list[dict[str, Any]], option: str) -> None:
    """Refuse a status no run can have (a typo would otherwise list no runs and exit 0)."""
    from learnai_cli.errors import did_you_mean

    known = list(dict.fromkeys([*STATUSES, *(str(row["status"]) for row in rows)]))
    if status not in known:
        raise UsageError(
            f"{option}{status}: not a status a run can have.{did_you_mean(status, known)} Valid: {', '.join(known)}"
        )


def remove(run: RunDir) -> None:
    """Delete a run that no live process owns: its lock is taken for the deletion, so no resume can start meanwhile."""
    _refuse_in_use(run)
    with run.lock():
        _refuse_in_use(run, locked=True)
        try:
            shutil.rmtree(run.path)
        except OSError as error:  # stopped part-way: what is left is still listed (as damaged, if need be)
            raise UsageError(
                f"cannot remove run {run.id}: {error.strerror or error} ({error.filename or run.path})"
            ) from None


def _refuse_in_use(run: RunDir, locked: bool = False) -> None:
    holder = None if locked else lock_holder(run.lock_path)
    if holder is not None:
        raise RunInUse(f"run {run.id} is in use (locked by pid {holder.get('pid', '?')} on {holder.get('host', '?')})")
    status = run_status(run, own_lock=locked)[0]
    if status in IN_USE:
        meta = run.meta(strict=False)
        pid = f" (pid {meta['pid']} on {meta.get('host', '?')})" if isinstance(meta.get("pid"), int) else ""
        raise RunInUse(f"run {run.id} is still {status}{pid}; stop it before removing it")


def gc_candidates(root: Path, keep_last: int) -> list[RunDir]:
    """Runs beyond the newest `keep_last`, never one that is running or starting, nor a folder that is only named
    like a run (no file of learnai's in it: not a run, and maybe someone's data)."""
    if keep_last < 0:
        raise UsageError("--keep-last must be 0 or more")
    runs = [run for run in all_runs(root) if made_by_learnai(run)]
    older = runs[: max(0, len(runs) - keep_last)]
    return [run for run in older if run_status(run)[0] not in IN_USE]


def collect(runs: list[RunDir]) -> tuple[list[str], list[str], list[str]]:
    """Remove each run unless it turned out to be in use meanwhile: (removed ids, ids in use, why others could not
    be removed: a read-only folder, a file the user may not delete)."""
    removed, in_use, failed = [], [], []
    for run in runs:
        try:
            remove(run)
            removed.append(run.id)
        except RunInUse:
            in_use.append(run.id)
        except UsageError as error:
            failed.append(error.message)
    return removed, in_use, failed
