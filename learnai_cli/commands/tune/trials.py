"""Which run a study's trial trained, and how it ended, read back from the runs root (meta.json's study/trial tags).

A trial is told to the study after its run has ended; when that telling is cut short (a Ctrl-C between the two, a
killed process), the run on disk is what says how the trial really ended.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from learnai_cli.rundir import RunDir

__all__ = ["trial_run", "ending"]


def trial_run(root: Path, study: str, number: int, since: Optional[float] = None) -> Optional[tuple[str, dict]]:
    """(run id, meta) of the run that trial `number` of `study` trained, or None. `since`: skip older directories."""
    if not root.is_dir():
        return None
    for entry in os.scandir(root):
        if not entry.is_dir() or entry.name[:1].isalpha() or (since and entry.stat().st_mtime < since - 5):
            continue  # a study folder, or a run older than the trial
        meta = RunDir(Path(entry.path)).meta(strict=False)  # {} when missing or damaged
        if meta.get("study") == study and meta.get("trial") == number:
            return entry.name, meta
    return None


def ending(meta: dict[str, Any]) -> tuple[str, Optional[float]]:
    """(status, value) the study should record for a trial whose run says this: the run's status as readers see it
    (a run whose process is gone is crashed), and the best monitored value of a completed run."""
    from learnai_cli.rundir.status import effective_status

    status = effective_status(meta)
    best = meta.get("best") if isinstance(meta.get("best"), dict) else {}
    value = best.get("value") if status == "completed" else None
    return status, value if isinstance(value, (int, float)) else None
