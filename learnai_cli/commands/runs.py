"""`learnai runs`, `show`, `rm` and `gc`: reading, filtering and removing run directories."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Optional

from learnai_cli.errors import UsageError
from learnai_cli.rundir import RunDir, all_runs, effective_status, iter_summaries


def show(run: RunDir) -> dict[str, Any]:
    """Everything about one run: meta (with its effective status), config, last epoch, files."""
    meta = run.meta()
    records = run.epoch_records()
    files = sorted(p for p in run.path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return {
        "run_id": run.id,
        "run_dir": str(run.path),
        "status": effective_status(meta),
        "meta": meta,
        "config": run.read_config(),
        "last_epoch": records[-1] if records else None,
        "files": [{"path": str(p.relative_to(run.path)), "bytes": p.stat().st_size} for p in files],
    }


def filtered_summaries(root: Path, status: Optional[str], name: Optional[str]) -> list[dict[str, Any]]:
    """`learnai runs` rows, keeping a status and names containing `name`."""
    rows = list(iter_summaries(root))
    if status:
        rows = [r for r in rows if r["status"] == status]
    if name:
        rows = [r for r in rows if name in r["name"] or name in r["id"]]
    return rows


def remove(run: RunDir) -> None:
    if effective_status(run.meta()) == "running":
        raise UsageError(f"run {run.id} is still running; stop it before removing it")
    shutil.rmtree(run.path)


def gc_candidates(root: Path, keep_last: int) -> list[RunDir]:
    """Runs beyond the newest `keep_last`, never one that is still running."""
    if keep_last < 0:
        raise UsageError("--keep-last must be 0 or more")
    runs = all_runs(root)
    older = runs[: max(0, len(runs) - keep_last)]
    return [run for run in older if effective_status(run.meta()) != "running"]
